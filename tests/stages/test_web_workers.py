"""WARC pages extracted in worker processes give the same documents, skips and
messages, in the same order, as extraction in the reading thread."""

from __future__ import annotations

import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastwarc", reason="the web extra is not installed (pip install 'copytrace[web]')")
pytest.importorskip("warcio", reason="warcio writes the test WARC files (pip install 'copytrace[test]')")

from copytrace.stages import web  # noqa: E402
from copytrace.stages.read import ReadOptions, ReadStats, read_all  # noqa: E402

from helpers import make_story  # noqa: E402
from test_web import page, write_warc  # noqa: E402


def _mixed(tmp_path: Path, n: int = 120) -> Path:
    rng = random.Random(11)
    latin = ("<html><body><article><p>" + "Caf\u00e9 cr\u00e8me. " * 40 + "</p></article></body></html>").encode("latin-1")
    recs = []
    for i in range(n):
        k = i % 10
        url = f"https://site{i % 7}.example.com/news/{i}"
        if k == 3:
            recs.append((url, b"\x89PNG\r\n\x1a\n....", "image/png", "200 OK"))
        elif k == 5:
            recs.append((url, b"%PDF-1.7\n\x00\x00", "text/html", "200 OK"))
        elif k == 6:
            recs.append((url, b"<html><body><script>1</script></body></html>", "text/html", "200 OK"))
        elif k == 7:
            recs.append((url, latin, "text/html", "200 OK"))
        elif k == 8:
            recs.append((url, b"<html><body>gone</body></html>", "text/html", "404 Not Found"))
        else:
            recs.append((url, page(make_story(rng, n_sentences=4), f"Story {i}", f"2024-03-{1 + i % 28:02d}").encode(),
                         "text/html; charset=utf-8", "200 OK"))
    return write_warc(tmp_path / "mixed.warc.gz", recs)


def _read(path: Path, workers: int):
    stats = ReadStats()
    docs = read_all([str(path)], ReadOptions(id_field="url", extract_workers=workers), stats)
    rows = [(d.doc_id, d.text, d.date, d.source, d.url, d.title) for d in docs]
    return rows, stats.skipped, list(stats.examples), list(stats.warnings)


@pytest.fixture
def small_pool(monkeypatch):
    monkeypatch.setattr(web, "POOL_MIN_BYTES", 0)  # a pool for any file
    monkeypatch.setattr(web, "EXTRACT_CHUNK_PAGES", 4)


def test_workers_give_the_documents_and_skips_of_one_thread(tmp_path, small_pool):
    warc = _mixed(tmp_path)
    one = _read(warc, 1)
    assert len(one[0]) == 60 and one[1] == {"not_html": 12, "binary": 12, "no_text": 12,
                                            "undeclared_encoding": 12, "http_status": 12}
    assert _read(warc, 3) == one
    # a file cut inside its last gzip member: the same records kept, the same messages
    cut = tmp_path / "cut.warc.gz"
    data = warc.read_bytes()
    cut.write_bytes(data[: len(data) - 200])
    one_cut = _read(cut, 1)
    assert one_cut[1].get("truncated") == 1 and one_cut[3]
    assert _read(cut, 3) == one_cut


def test_a_chunk_a_worker_extracted_equals_extraction_here(tmp_path):
    rng = random.Random(2)
    jobs = [(page(make_story(rng), f"T{i}").encode(), "utf-8", True, True, 1 << 20) for i in range(5)]
    jobs.append((b"%PDF-1.7\n\x00", None, True, True, 1 << 20))
    before = web.extraction_worker_cpu_s()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        ch = web._Chunk()
        ch.jobs = list(jobs)
        ch.future = pool.submit(web._page_results, ch.jobs)
        ch.future.result()  # started and finished by the worker: not cancelled, its results used
        got = [ch.result(i) for i in range(len(jobs))]
    want = [web.page_result(*j) for j in jobs]
    assert [(g.text, g.title, g.date, g.url) if isinstance(g, web.PageText) else g for g in got] == \
           [(w.text, w.title, w.date, w.url) if isinstance(w, web.PageText) else w for w in want]
    assert got[-1][0] == "binary" and web.extraction_worker_cpu_s() > before
