"""WARC/WET and HTML input (copytrace.stages.web): extraction, metadata, offsets
into the extracted text, and every kind of bad page as a counted skip."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("fastwarc", reason="the web extra is not installed (pip install 'copytrace[web]')")
warcio = pytest.importorskip("warcio", reason="warcio writes the test WARC files (pip install 'copytrace[test]')")

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

import copytrace  # noqa: E402
from copytrace.errors import InputError  # noqa: E402
from copytrace.stages.read import ReadOptions, ReadStats, read_all  # noqa: E402
from copytrace.stages.web import registered_domain  # noqa: E402

from helpers import make_copy, make_story, invoke_cli, write_jsonl  # noqa: E402

NAV = "Home World Business Sport Opinion Culture Newsletters Subscribe"
FOOTER = "Copyright Daily Example Ltd. All rights reserved. Terms Privacy Cookies Contact"


def page(story: str, title: str, published: str | None = None, charset: str | None = "utf-8") -> str:
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    cs = f'<meta charset="{charset}">' if charset else ""
    paras = "".join(f"<p>{p}</p>" for p in story.split("\n\n"))
    return (f"<!doctype html><html><head>{cs}<title>{title}</title>{meta}</head><body>"
            f"<header><nav><ul>{''.join(f'<li><a href=/{w}>{w}</a></li>' for w in NAV.split())}</ul></nav></header>"
            f"<main><article><h1>{title}</h1>{paras}</article></main>"
            f"<aside><h3>Most read</h3><ul><li><a href=/x>Other story one</a></li></ul></aside>"
            f"<footer><p>{FOOTER}</p></footer></body></html>")


def write_warc(path: Path, records: list[tuple], gz: bool = True) -> Path:
    """records: (url, body bytes, content type, status) → response records; ("wet", url, text, refers)."""
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=gz)
        for r in records:
            if r[0] == "wet":
                _, url, text, refers = r
                rec = w.create_warc_record(url, "conversion", payload=io.BytesIO(text.encode()),
                                           warc_content_type="text/plain",
                                           warc_headers_dict={"WARC-Refers-To": refers})
            else:
                url, body, ctype, status = r
                hh = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
                rec = w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=hh)
            w.write_record(rec)
    return path


def read(paths, **kw):
    stats = ReadStats()
    docs = read_all([str(p) for p in paths], ReadOptions(**kw), stats)
    return docs, stats


def test_warc_pages_are_extracted_with_their_metadata(tmp_path):
    rng = random.Random(3)
    story = make_story(rng)
    warc = write_warc(tmp_path / "crawl.warc.gz", [
        ("https://news.bbc.co.uk/a/1", page(story, "Story one", "2024-03-01T10:00:00Z").encode(),
         "text/html; charset=utf-8", "200 OK"),
        ("https://www.example.com/b", page(make_copy(rng, story), "Copy").encode(), "text/html", "200 OK"),
    ])
    docs, stats = read([warc])
    assert stats.skipped_total == 0 and len(docs) == 2
    a, b = docs
    assert a.doc_id.startswith("urn:uuid:") and a.url == "https://news.bbc.co.uk/a/1"
    assert a.source == "bbc.co.uk" and b.source == "example.com"
    assert a.title == "Story one" and a.date == "2024-03-01T10:00:00Z"  # the published date
    assert b.date is not None and b.date != a.date  # the crawl date (WARC-Date)
    # main text only: the story is there, the site chrome is not
    assert story.split("\n\n")[0] in a.text
    assert "Newsletters" not in a.text and "All rights reserved" not in a.text
    by_url, _ = read([warc], id_field="url")
    assert [d.doc_id for d in by_url] == ["https://news.bbc.co.uk/a/1", "https://www.example.com/b"]
    with pytest.raises(InputError, match="record id"):
        read([warc], id_field="key")
    same, _ = read([warc], html_field="html")  # pages are extracted once, whatever html_field says
    assert [x.text for x in same] == [a.text, b.text]


def test_no_extract_keeps_the_page_chrome(tmp_path):
    story = make_story(random.Random(5))
    d = tmp_path / "pages"
    d.mkdir()
    (d / "a.html").write_text(page(story, "A"), encoding="utf-8")
    (docs, _), (whole, _) = read([d]), read([d], extract=False)
    assert "Newsletters" not in docs[0].text
    assert "Newsletters" in whole[0].text and "All rights reserved" in whole[0].text
    assert docs[0].doc_id == "a.html" and docs[0].title == "A"


def test_find_offsets_refer_to_the_extracted_text(tmp_path):
    """HTML files → find: passages slice the extracted texts (the text store,
    deduplicated.jsonl and the report hold the extracted text, not HTML)."""
    rng = random.Random(7)
    d = tmp_path / "site"
    d.mkdir()
    stories = [make_story(rng) for _ in range(3)]
    for i, s in enumerate(stories):
        (d / f"orig{i}.html").write_text(page(s, f"Orig {i}"), encoding="utf-8")
        (d / f"copy{i}.htm").write_text(page(make_copy(rng, s), f"Copy {i}"), encoding="utf-8")
    res = copytrace.find(d, tmp_path / "out", threshold=0.3, progress=False)
    assert res.pairs.num_rows == 3
    docs, _ = read([d])
    text = {x.doc_id: x.text for x in docs}
    assert all("<" not in t for t in text.values())
    pas = res.passages.to_pylist()
    assert pas
    for p in pas:
        if p["kind"] == "verbatim":
            sa = text[p["doc_a"]][p["a_start"]:p["a_end"]].split()
            sb = text[p["doc_b"]][p["b_start"]:p["b_end"]].split()
            assert [w.strip(".,").lower() for w in sa] == [w.strip(".,").lower() for w in sb]
    lengths = dict(zip(res.documents.column("doc_id").to_pylist(), res.documents.column("length").to_pylist()))
    assert lengths == {k: len(v) for k, v in text.items()}
    dedup = [json.loads(x) for x in (tmp_path / "out" / "deduplicated.jsonl").read_text().splitlines()]
    assert all(r["text"] == text[r["id"]] and r["title"] for r in dedup)
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "&lt;article&gt;" not in report and "<article><h1>" not in report


def test_html_field_in_jsonl(tmp_path):
    story = make_story(random.Random(9))
    src = write_jsonl(tmp_path / "pages.jsonl", [
        {"id": "1", "html": page(story, "T").replace("<head>", '<head><link rel="canonical" href="https://a.example.org/x">')},
        {"id": "2", "html": "<html><body><script>var x=1;</script></body></html>"},
        {"id": "3", "html": 5},
    ])
    docs, stats = read([src], html_field="html")
    assert [d.doc_id for d in docs] == ["1"]
    assert docs[0].url == "https://a.example.org/x" and docs[0].source == "example.org"
    assert "Newsletters" not in docs[0].text and story.split("\n\n")[0] in docs[0].text
    assert stats.skipped == {"no_text": 1, "bad_text_type": 1}
    r = invoke_cli("find", str(src), "--html-field", "html", "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["counts"]["documents"] == 1


def test_bad_pages_are_counted_skips_with_file_and_record(tmp_path):
    story = make_story(random.Random(2))
    good = page(story, "Good").encode()
    big = b"<html><body><p>" + b"word " * (10_000_000 + 10) + b"</p></body></html>"  # 50 MB
    latin = ("<html><body><article><p>" + "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e. " * 40
             + "</p></article></body></html>").encode("latin-1")
    warc = write_warc(tmp_path / "bad.warc.gz", [
        ("https://a.com/1", good, "text/html", "200 OK"),
        ("https://a.com/img.png", b"\x89PNG\r\n\x1a\n....", "image/png", "200 OK"),
        ("https://a.com/doc", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x00", "text/html", "200 OK"),
        ("https://a.com/big", big, "text/html; charset=utf-8", "200 OK"),
        ("https://a.com/latin", latin, "text/html", "200 OK"),
        ("https://a.com/empty", b"<html><body><script>1</script></body></html>", "text/html", "200 OK"),
        ("https://a.com/gone", b"<html><body>not found</body></html>", "text/html", "404 Not Found"),
        ("https://a.com/2", page(make_story(random.Random(4)), "Good 2").encode(), "text/html", "200 OK"),
    ])
    docs, stats = read([warc])
    assert [d.url for d in docs] == ["https://a.com/1", "https://a.com/2"]
    assert stats.skipped == {"not_html": 1, "binary": 1, "too_large": 1, "undeclared_encoding": 1,
                             "no_text": 1, "http_status": 1}
    name = str(warc)
    for n, reason in ((2, "not_html"), (3, "binary"), (4, "too_large"), (5, "undeclared_encoding"),
                      (6, "no_text"), (7, "http_status")):
        assert any(e.startswith(f"{name}:{n}: {reason}: ") for e in stats.examples), (n, reason)
    # the same page with its charset declared is read
    ok = write_warc(tmp_path / "ok.warc", [("https://a.com/l", latin, "text/html; charset=iso-8859-1", "200 OK")],
                    gz=False)
    docs, stats = read([ok])
    assert stats.skipped_total == 0 and "Caf\u00e9 cr\u00e8me" in docs[0].text


def test_truncated_warc_gz_keeps_the_records_before_the_cut(tmp_path):
    rng = random.Random(8)
    recs = [(f"https://s{i}.com/x", page(make_story(rng), f"P{i}").encode(), "text/html", "200 OK")
            for i in range(5)]
    full = write_warc(tmp_path / "full.warc.gz", recs)
    data = full.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) - 300])
    docs, stats = read([cut])
    assert [d.url for d in docs] == [r[0] for r in recs[:4]]
    assert stats.skipped == {"truncated": 1}
    assert stats.examples[0].startswith(f"{cut}:5: truncated: ")
    assert any("truncated" in w for w in stats.warnings)
    # a whole file reads clean
    docs, stats = read([full])
    assert len(docs) == 5 and stats.skipped_total == 0 and not stats.warnings


def test_wet_records_and_their_ids(tmp_path):
    text = make_story(random.Random(12))
    wet = write_warc(tmp_path / "crawl.warc.wet.gz",
                     [("wet", "https://www.news.example.co.uk/a", text, "<urn:uuid:1234>")])
    docs, stats = read([wet])
    assert stats.skipped_total == 0
    assert docs[0].doc_id == "urn:uuid:1234" and docs[0].text == text
    assert docs[0].source == "example.co.uk"


def test_registered_domain():
    assert registered_domain("https://news.bbc.co.uk/x") == "bbc.co.uk"
    assert registered_domain("http://localhost:8000/a") == "localhost"
    assert registered_domain(None) is None


def test_html_file_with_an_undeclared_encoding_is_a_counted_skip(tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    (d / "a.html").write_bytes(("<html><body><p>" + "na\u00efve " * 50 + "</p></body></html>").encode("cp1252"))
    (d / "b.html").write_bytes(page(make_story(random.Random(1)), "B").encode())
    docs, stats = read([d])
    assert [x.doc_id for x in docs] == ["b.html"]
    assert stats.skipped == {"undeclared_encoding": 1}
    assert stats.examples[0].startswith(f"{d / 'a.html'}: undeclared_encoding: ")
    gz = tmp_path / "x.html.gz"
    gz.write_bytes(gzip.compress(page(make_story(random.Random(1)), "G").encode()))
    docs, _ = read([gz])
    assert docs[0].title == "G"


def test_warc_find_end_to_end(tmp_path):
    rng = random.Random(21)
    recs = []
    for s in range(4):
        story = make_story(rng)
        recs.append((f"https://wire.com/{s}", page(story, f"W{s}").encode(), "text/html", "200 OK"))
        recs.append((f"https://paper.net/{s}", page(make_copy(rng, story), f"P{s}").encode(), "text/html", "200 OK"))
    warc = write_warc(tmp_path / "c.warc.gz", recs)
    r = invoke_cli("find", str(warc), "--out", str(tmp_path / "o"), "--id-field", "url", "-q")
    assert r.returncode == 0, r.stderr
    pairs = pq.read_table(tmp_path / "o" / "pairs.parquet").to_pylist()
    assert sorted((p["doc_a"], p["doc_b"]) for p in pairs) == sorted(
        (f"https://paper.net/{s}", f"https://wire.com/{s}") for s in range(4))
