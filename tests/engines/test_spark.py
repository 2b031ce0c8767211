"""What only the Spark engine has, on the test run's one Spark session
(tests/engines/conftest.py): connected components, URI inputs, ``--engine spark``
on the CLI, bad input and file names. That it gives the local engine's files is
tested in test_conformance.py.

Skips (saying why) when PySpark or Java is missing; CI installs both."""

from __future__ import annotations

import json
import os
import random
import re
import shutil

import pyarrow.parquet as pq
import pytest

from helpers import SEEDS, URI_CORPUS, as_uris, make_copy, make_story, write_jsonl

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'copytrace[spark]')")
if shutil.which("java") is None:
    pytest.skip("no Java runtime on PATH (the Spark engine needs Java 17+)", allow_module_level=True)

import copytrace  # noqa: E402
from copytrace.errors import InputError  # noqa: E402

OUTPUTS = ("documents.parquet", "pairs.parquet", "passages.parquet", "reuse.parquet", "boilerplate.parquet",
           "deduplicated.jsonl")


def test_spark_refuses_a_file_name_that_is_not_utf8_in_one_line(spark, tmp_path):
    """Py4J cannot carry such a name to Hadoop: a clear InputError, not a broken session."""

    bad = os.path.join(os.fsencode(tmp_path), b"story-\xff.txt")
    try:
        with open(bad, "w", encoding="utf-8") as fh:
            fh.write(make_story(random.Random(1)))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    with pytest.raises(InputError, match=r"story-\\xff\.txt: the file name is not valid UTF-8"):
        copytrace.find(tmp_path, engine="spark", spark_session=spark, progress=False)
    assert spark.range(3).count() == 3  # the session still works


def test_spark_cli_and_connected_components(spark, tmp_path):
    from copytrace.engines.spark import connected_components

    # a path graph, a star, and two singletons' edges: components by their smallest vertex
    edges = [(5, 6), (6, 7), (7, 8), (8, 1), (20, 21), (20, 22), (20, 23), (30, 31)]
    df = spark.createDataFrame(edges, "a long, b long")
    got = {r.v: r.r for r in connected_components(df).collect()}
    assert got == {1: 1, 5: 1, 6: 1, 7: 1, 8: 1, 20: 20, 21: 20, 22: 20, 23: 20, 30: 30, 31: 30}


def test_spark_engine_reports_bad_input_like_the_local_engine(spark, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "one two three four five six"}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        copytrace.find([bad], engine="spark", spark_session=spark, on_error="fail", progress=False)
    assert f"{bad}:2" in str(e.value) and "invalid JSON" in str(e.value)
    with pytest.raises(InputError) as e:
        copytrace.find([tmp_path / "missing.jsonl"], engine="spark", spark_session=spark, progress=False)
    assert "no such file" in str(e.value)


def test_cli_engine_spark(spark, tmp_path):
    """``find --engine spark`` through the CLI, in this process: it runs on the active session (the
    shared one: no second JVM to start)."""
    from click.testing import CliRunner

    from copytrace.cli import main

    r = CliRunner().invoke(main, ["find", str(SEEDS), "--out", str(tmp_path / "o"), "--threshold", "0.2",
                                  "--engine", "spark", "--spark-partitions", "2", "-q"])
    assert r.exit_code == 0, (r.output[-2000:], r.exception)
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["engine"] == "spark" and summary["counts"]["clusters"] == 1


def test_uri_inputs_are_the_same_on_spark(spark, engine_run):
    """Inputs given as file:// URIs, listed through Hadoop's FileSystem (the path hdfs:// and
    s3a:// inputs take), with --pairs-within and --pairs: the local engine's files on the plain
    paths, byte for byte. The Spark run is the conformance run of the URI corpus
    (tests/engines/conftest.py: URI_CORPUS), which test_conformance.py also checks."""
    local, dist = engine_run(URI_CORPUS, "local"), engine_run(URI_CORPUS, "spark")
    assert any(u.startswith("file:") for u in as_uris(local.inputs))
    for name in OUTPUTS:
        if name.endswith(".parquet"):  # a dataset directory: the same rows in the same order
            assert pq.read_table(dist.out / name).equals(pq.read_table(local.out / name)), name
        else:
            assert (local.out / name).read_bytes() == (dist.out / name).read_bytes(), name
    dr, lr = dist.result.summary["read"], local.result.summary["read"]  # the same, but for URIs in place of paths
    assert dr["files"] == lr["files"] == 7 and dr["skipped"] == lr["skipped"]
    assert any(w.startswith("file:") for w in dr["warnings"])  # the URIs were what Spark read
    assert [re.sub(r"^file:(//)?", "", w) for w in dr["warnings"]] == lr["warnings"]
    assert dist.result.summary["counts"] == local.result.summary["counts"]


def test_against_on_spark_gives_the_local_engines_outputs(spark, tmp_path):
    """find NEW --against REF on Spark: pairs only across the sets, documents.parquet's `set`,
    deduplicated.jsonl holding the new documents that copy no reference document, summary counts:
    the local engine's files (one reference file, one reference folder; a repeated id; identical
    documents on both sides and within each; a date window on top).  Without alignment: the sides
    do not reach the aligner, which the conformance corpora check on Spark."""
    rng = random.Random(8)
    stories = [make_story(rng, n_sentences=6) for _ in range(8)]
    new = [{"id": f"new-copy{i}", "text": make_copy(rng, stories[i]), "date": f"2024-01-{i + 1:02d}"}
           for i in range(4)]
    new += [{"id": "new-exact", "text": stories[5], "date": "2024-01-05"},
            {"id": "new-exact-twin", "text": stories[5], "date": "2024-01-05"}]
    fresh = make_story(rng, n_sentences=6)
    new += [{"id": "new-fresh", "text": fresh, "date": "2024-01-02"},
            {"id": "new-fresh-copy", "text": make_copy(rng, fresh), "date": "2024-01-03"},
            {"id": "new-unique", "text": make_story(rng, n_sentences=6), "date": "2024-01-04"}]
    ref = [{"id": f"ref{i}", "text": s, "date": f"2024-01-{2 * i + 1:02d}"} for i, s in enumerate(stories[:6])]
    ref += [{"id": "ref0-copy", "text": make_copy(rng, stories[0]), "date": "2024-01-01"},
            {"id": "ref-exact5", "text": stories[5], "date": "2024-01-06"},
            {"id": "new-unique", "text": "a repeated id: skipped as a duplicate_id", "date": "2024-01-01"}]
    new_f = write_jsonl(tmp_path / "new.jsonl", new)
    ref_f = write_jsonl(tmp_path / "ref.jsonl", ref[:5] + ref[8:])
    (tmp_path / "refdir").mkdir()
    for d in ref[5:8]:  # .txt files: no date (under a date window they pair with none)
        (tmp_path / "refdir" / f"{d['id']}.txt").write_text(d["text"], encoding="utf-8")
    against = [str(ref_f), str(tmp_path / "refdir")]
    new_ids = {d["id"] for d in new}
    for k, extra in enumerate(({"date_field": "date", "pairs_within": 6},)):
        opts = dict(report=False, progress=False, threshold=0.3, align=False, against=against, **extra)
        lo = copytrace.find([new_f], tmp_path / f"local{k}", **opts)
        sp = copytrace.find([new_f], tmp_path / f"spark{k}", engine="spark", spark_session=spark, **opts)
        for name in ("documents.parquet", "pairs.parquet"):
            assert pq.read_table(tmp_path / f"spark{k}" / name).equals(pq.read_table(tmp_path / f"local{k}" / name)), name
        assert (tmp_path / f"spark{k}" / "deduplicated.jsonl").read_bytes() == \
            (tmp_path / f"local{k}" / "deduplicated.jsonl").read_bytes()
        assert sp.summary["counts"] == lo.summary["counts"]
        assert sp.summary["pair_filters"] == lo.summary["pair_filters"]
        assert sp.summary["read"]["skipped"] == lo.summary["read"]["skipped"] == {"duplicate_id": 1}
        pairs = list(zip(sp.pairs.column("doc_a").to_pylist(), sp.pairs.column("doc_b").to_pylist(), strict=True))
        assert len(pairs) >= 4 and all((a in new_ids) != (b in new_ids) for a, b in pairs)
        assert set(sp.documents.column("set").to_pylist()) == {"new", "reference"}
    kept = [json.loads(x)["id"] for x in (tmp_path / "spark0" / "deduplicated.jsonl").read_text().splitlines()]
    assert "new-fresh" in kept and "new-unique" in kept and "new-copy0" not in kept
    db = tmp_path / "ref.db"
    copytrace.Index.create(db).close()
    with pytest.raises(copytrace.errors.OptionError, match="local engine"):
        copytrace.find([new_f], engine="spark", spark_session=spark, against=[str(db)], progress=False)
