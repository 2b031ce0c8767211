"""Issue #13 on the test run's one Spark session (tests/engines/conftest.py, started
with ``spark.driver.maxResultSize=1m``): the driver collects nothing per document
(every result a job hands the driver is counted, on a corpus of many documents and
few pairs), the rows equal the local engine's, 40% empty texts are counted skips, and
a Python worker killed mid-job gives the complete output or a clear error — never a
half-written output directory.

Skips (saying why) when PySpark or Java is missing; CI installs both."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import threading
import time

import pyarrow.parquet as pq
import pytest

from helpers import ResultSpy, make_corpus, make_story, write_jsonl

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'copytrace[spark]')")
if shutil.which("java") is None:
    pytest.skip("no Java runtime on PATH (the Spark engine needs Java 17+)", allow_module_level=True)

import copytrace  # noqa: E402
from copytrace.errors import CopytraceError  # noqa: E402

TABLES = ("documents.parquet", "pairs.parquet", "passages.parquet", "reuse.parquet", "boilerplate.parquet")


def _corpus(tmp_path, n_unique: int = 240, empty_share: float = 0.0):
    """Two stories with a copy each, ``n_unique`` unique documents, and empty texts making up
    ``empty_share`` of all documents."""
    docs, _ = make_corpus(n_stories=2, copies=1, uniques=n_unique, seed=5)
    n_empty = int(round(len(docs) * empty_share / (1 - empty_share))) if empty_share else 0
    docs += [{"id": f"empty{i:04d}", "text": ""} for i in range(n_empty)]
    random.Random(2).shuffle(docs)
    return write_jsonl(tmp_path / "c.jsonl", docs), len(docs), n_empty


def test_the_driver_collects_nothing_per_document(spark, tmp_path, monkeypatch):
    """244 documents with words, 2 pairs, and 40% empty texts (163): no result handed to the
    driver has more rows than a few dozen (partitions, counts, the pairs), under
    maxResultSize=1m; the rows equal the local engine's. The empty texts are counted skips,
    as on the local engine (one Spark run for both claims: Spark's per-job overhead, not the
    data, is what a run costs)."""
    path, n, n_empty = _corpus(tmp_path, empty_share=0.4)
    local = copytrace.find(path, tmp_path / "local", progress=False)
    monkeypatch.setattr("copytrace.engines.spark_output.REPORT_MAX_DOCS", 3)  # the report: 1 cluster of 2
    spy = ResultSpy(monkeypatch, spark)
    dist = copytrace.find(path, tmp_path / "spark", engine="spark", spark_session=spark, progress=False)
    monkeypatch.undo()
    assert spark.sparkContext.getConf().get("spark.driver.maxResultSize") == "1m"
    assert spy.sizes and local.summary["counts"]["verified_pairs"] == 2
    biggest = max(size for _, size in spy.sizes)
    assert biggest <= 32 < n // 4, spy.sizes  # 32: the session's shuffle partitions (4) and a few
    for name in TABLES:
        assert pq.read_table(tmp_path / "spark" / name).equals(pq.read_table(tmp_path / "local" / name)), name
    assert dist.summary["counts"] == local.summary["counts"]
    assert (tmp_path / "spark" / "deduplicated.jsonl").read_bytes() == \
        (tmp_path / "local" / "deduplicated.jsonl").read_bytes()
    assert n_empty == 163 and dist.summary["read"] == local.summary["read"]
    assert dist.summary["read"]["skipped"] == {"empty_text": n_empty}
    assert dist.summary["counts"]["documents"] == n - n_empty
    assert dist.documents.num_rows == n - n_empty  # read back from the written dataset on first use
    report = (tmp_path / "spark" / "report.html").read_text(encoding="utf-8")
    assert 'id="report-note"' in report and "2 clusters hold 4 documents" in report
    local_report = (tmp_path / "local" / "report.html").read_text(encoding="utf-8")
    assert "report-note" not in local_report
    # the pairs it draws (scanned from the written pairs/passages datasets, filtered to the
    # clusters shown): the local report's rows for those documents, passages included
    shown, every = _report_pairs(report), _report_pairs(local_report)
    assert len(shown) == 1 and len(every) == 2 and shown[0] in every


def _report_pairs(page: str) -> list:
    import json

    start = page.index('id="copytrace-data">') + len('id="copytrace-data">')
    return json.loads(page[start:page.index("</script>", start)])["pairs"]


def test_the_driver_collects_nothing_per_pair(spark, tmp_path, monkeypatch):
    """A corpus of many pairs (20 stories with 4 copies each: 200 near pairs, and 10 exact
    duplicates): no result a job hands the driver has more rows than a few dozen, whatever the
    number of pairs (the scored pairs, alignments and pair tables stay on the executors or go
    through the run's work directory, not through Spark's result channel, which
    ``spark.driver.maxResultSize=1m`` bounds); every table and the counts equal the local
    engine's.  Without boilerplate detection (its story check still brings each candidate key's
    rows to the driver: hundreds on this corpus, whose copies share every segment) and without
    the report (it reads the texts of every document holding a reused passage; the first test
    covers the report's pairs).  In the tests' session (SMALL_CONF): with Spark's adaptive
    execution on this test took 312 s of the suite (reuse's components loop and grouped step,
    one job per shuffle stage each); test_spark_reuse.py runs a find on Spark's own settings."""
    docs, _ = make_corpus(n_stories=20, copies=4, uniques=20, seed=11)
    docs += [{"id": f"exact{i:02d}", "text": docs[i]["text"]} for i in range(10)]
    path = write_jsonl(tmp_path / "c.jsonl", docs)
    local = copytrace.find(path, tmp_path / "local", progress=False, boilerplate=False, report=False)
    spy = ResultSpy(monkeypatch, spark)
    dist = copytrace.find(path, tmp_path / "spark", engine="spark", spark_session=spark, progress=False,
                          boilerplate=False, report=False)
    monkeypatch.undo()
    assert spark.sparkContext.getConf().get("spark.driver.maxResultSize") == "1m"
    n_pairs = local.summary["counts"]["verified_pairs"]
    assert n_pairs >= 200 and local.summary["counts"]["exact_duplicate_documents"] == 10
    biggest = max(size for _, size in spy.sizes)
    assert biggest <= 32 < n_pairs // 4, spy.sizes
    for name in TABLES:
        assert pq.read_table(tmp_path / "spark" / name).equals(pq.read_table(tmp_path / "local" / name)), name
    assert dist.summary["counts"] == local.summary["counts"]
    assert dist.pairs.equals(local.pairs) and dist.passages.equals(local.passages)


def _python_workers() -> list[int]:
    """This test process's PySpark Python workers (children of the workers' daemon)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{ppid}/cmdline", "rb") as fh:
                pcmd = fh.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        daemon = (b"copytrace.engines.spark" in pcmd or b"pyspark.daemon" in pcmd)
        if daemon and cmd == pcmd:  # a worker: forked by the daemon (same command line)
            out.append(int(pid))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the Python workers through /proc")
def test_a_python_worker_killed_mid_job(spark, tmp_path):
    """SIGKILL to a Python worker while the run is under way: a clear error and no output
    directory (Spark's local mode does not retry a task), or a complete output equal to the
    local engine's; the shared session works afterwards."""
    path, _, _ = _corpus(tmp_path, n_unique=60)
    copytrace.find(path, tmp_path / "local", progress=False)
    killed: list[int] = []
    killed_at: list[float] = []
    stop = threading.Event()

    def killer() -> None:
        time.sleep(1.0)  # the run under way (reading, numbering): then the first worker found
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            workers = _python_workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
                killed_at.append(time.monotonic())
                return
            time.sleep(0.02)

    t = threading.Thread(target=killer)
    t.start()
    out = tmp_path / "spark"
    try:
        copytrace.find(path, out, engine="spark", spark_session=spark, progress=False)
        error = None
        ended = time.monotonic()
    except CopytraceError as e:
        error = e
    finally:
        stop.set()
        t.join()
    if error is not None:
        assert "Spark" in str(error) and "\n" not in str(error), str(error)
        assert not out.exists() or not any(out.iterdir()), sorted(os.listdir(out))
    else:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["engine"] == "spark"
        for name in TABLES:
            assert pq.read_table(out / name).equals(pq.read_table(tmp_path / "local" / name)), name
    assert killed, "no Python worker was found to kill"
    assert spark.range(5).count() == 5  # the session still works
    if error is None:
        # the run completed after the kill: the session survived it (a second run would only repeat that)
        assert killed_at[0] < ended
        return
    copytrace.find([tmp_path / "c.jsonl"], tmp_path / "again", engine="spark", spark_session=spark, progress=False)
    assert pq.read_table(tmp_path / "again" / "documents.parquet").equals(
        pq.read_table(tmp_path / "local" / "documents.parquet"))


def test_a_missing_path_is_a_clear_error(spark, tmp_path):
    story = make_story(random.Random(3))
    (tmp_path / "a.txt").write_text(story, encoding="utf-8")
    for missing in (tmp_path / "nope.jsonl", (tmp_path / "nodir").as_uri()):
        with pytest.raises(CopytraceError, match="no such file"):
            copytrace.find([tmp_path / "a.txt", missing], tmp_path / "out", engine="spark", spark_session=spark,
                           progress=False)
        assert not (tmp_path / "out").exists()


def test_a_large_jsonl_file_is_read_in_parts(spark, tmp_path):
    """A JSONL file over ``spark.copytrace.jsonlSplitBytes`` (here 3 kB; 128 MiB by default) is
    read by one task per part, not whole: the same documents, skips (with their file:line),
    warnings and rows as the local engine, which reads it whole."""
    rng = random.Random(4)
    docs, _ = make_corpus(n_stories=3, copies=1, uniques=12, seed=7)
    lines = [json.dumps(d) for d in docs]
    lines[3:3] = ["{oops", "", json.dumps({"id": "blank", "text": "  "}), json.dumps(docs[0])]  # bad, blank, dup
    lines.insert(9, '{"id": "latin", "text": "caf\xe9 ' + make_story(rng) + '"}')
    data = ("\n".join(lines) + "\n").encode("utf-8").replace("caf\xe9".encode("utf-8"), b"caf\xe9")  # a cp1252 line
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    local = copytrace.find([path], tmp_path / "local", progress=False, date_field="date")
    spark.conf.set("spark.copytrace.jsonlSplitBytes", "3000")
    try:
        dist = copytrace.find([path], tmp_path / "spark", engine="spark", spark_session=spark, progress=False,
                              date_field="date")
    finally:
        spark.conf.unset("spark.copytrace.jsonlSplitBytes")
    assert len(data) > 5 * 3000
    assert dist.summary["read"] == local.summary["read"]
    assert local.summary["read"]["skipped"]["invalid_json"] >= 1
    assert any("no record has the date field" in w for w in local.summary["read"]["warnings"])
    for name in TABLES:
        assert pq.read_table(tmp_path / "spark" / name).equals(pq.read_table(tmp_path / "local" / name)), name
