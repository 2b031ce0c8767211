"""Reuse on the Spark executors (issue #13): reuse clusters, whole-copy edges and vote totals
are computed per component of the evidence-pair graph by the local engine's functions, and
reuse.parquet is written by the executors.  A page corpus with several stories per page,
under the test session's ``spark.driver.maxResultSize=1m``: no result a job hands the driver
holds more than a few dozen rows while reuse.parquet holds hundreds, and every table, the
counts, deduplicated-passages.jsonl and the report's reuse rows equal the local engine's.

Skips (saying why) when PySpark or Java is missing; CI installs both."""

from __future__ import annotations

import json
import random
import shutil

import pyarrow.parquet as pq
import pytest

from helpers import ResultSpy, make_copy, make_story, write_jsonl

pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'copytrace[spark]')")
if shutil.which("java") is None:
    pytest.skip("no Java runtime on PATH (the Spark engine needs Java 17+)", allow_module_level=True)

import copytrace  # noqa: E402

TABLES = ("documents.parquet", "pairs.parquet", "passages.parquet", "reuse.parquet", "boilerplate.parquet")


def _pages(n_stories: int = 24, n_pages: int = 30, per_page: int = 3, seed: int = 3) -> list[dict]:
    """Wire stories (dated, one source), pages of a few newspapers each printing ``per_page`` of
    them (some reworded) under a masthead, a few single reprints, and unrelated stories."""
    rng = random.Random(seed)
    stories = [make_story(rng, n_sentences=rng.randint(6, 12)) for _ in range(n_stories)]
    docs = [{"id": f"wire{i:02d}", "text": s, "source": "wire", "date": f"1900-01-{1 + i % 9:02d}"}
            for i, s in enumerate(stories)]
    for p in range(n_pages):
        held = rng.sample(range(n_stories), per_page)
        body = "\n\n".join(make_copy(rng, stories[i], edit=0.03) if rng.random() < 0.5 else stories[i]
                           for i in held)
        docs.append({"id": f"page{p:02d}", "text": f"THE DAILY {p % 5}\n\n{body}", "source": f"paper{p % 5}",
                     "date": f"1900-01-{10 + p % 15:02d}"})
    for i in range(6):
        docs.append({"id": f"reprint{i}", "text": make_copy(rng, stories[i]), "source": "weekly"})
    docs += [{"id": f"other{i:02d}", "text": make_story(rng)} for i in range(20)]
    rng.shuffle(docs)
    return docs


def _report_data(page: str) -> dict:
    start = page.index('id="copytrace-data">') + len('id="copytrace-data">')
    return json.loads(page[start:page.index("</script>", start)])


def test_reuse_runs_on_the_executors(spark, tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "pages.jsonl", _pages())
    opts = dict(progress=False, boilerplate=False, dedup_passages=True)
    local = copytrace.find(path, tmp_path / "local", **opts)
    counts = local.summary["counts"]
    assert counts["reuse_clusters"] >= 10 and counts["reuse_occurrences"] >= 100
    assert local.reuse.num_rows == counts["reuse_occurrences"]
    assert max(len({r["reuse_id"] for r in local.reuse.to_pylist() if r["doc_id"] == p})
               for p in (f"page{i:02d}" for i in range(30))) >= 3  # pages hold several stories
    spy = ResultSpy(monkeypatch, spark)
    dist = copytrace.find(path, tmp_path / "spark", engine="spark", spark_session=spark, **opts)
    monkeypatch.undo()
    assert spark.sparkContext.getConf().get("spark.driver.maxResultSize") == "1m"
    # the report's reuse clusters (<= REPORT_MAX_DOCS occurrences) come back, bounded: not per occurrence
    biggest = max(size for _, size in spy.sizes)
    assert biggest <= 32 < counts["reuse_occurrences"] // 3, spy.sizes
    for name in TABLES:
        assert pq.read_table(tmp_path / "spark" / name).equals(pq.read_table(tmp_path / "local" / name)), name
    assert dist.summary["counts"] == counts
    assert dist.reuse.equals(local.reuse)  # read back from the written dataset
    for name in ("deduplicated.jsonl", "deduplicated-passages.jsonl"):
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    shown = _report_data((tmp_path / "spark" / "report.html").read_text(encoding="utf-8"))
    every = _report_data((tmp_path / "local" / "report.html").read_text(encoding="utf-8"))
    assert shown["reuse"] == every["reuse"] and shown["reuse"]


def test_reuse_without_an_output_directory(production_conf, tmp_path):
    """``find`` without ``out``: the reuse table in memory, read back from the executors' write.
    With Spark's adaptive execution on, as spark_session() starts it for users (the other tests
    run without it: tests/engines/conftest.py, SMALL_CONF)."""
    spark = production_conf
    assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
    path = write_jsonl(tmp_path / "pages.jsonl", _pages(n_stories=6, n_pages=6, seed=4))
    local = copytrace.find(path, progress=False, boilerplate=False)
    dist = copytrace.find(path, engine="spark", spark_session=spark, progress=False, boilerplate=False)
    assert local.reuse.num_rows > 0 and dist.reuse.equals(local.reuse)
    assert dist.pairs.equals(local.pairs) and dist.summary["counts"] == local.summary["counts"]
