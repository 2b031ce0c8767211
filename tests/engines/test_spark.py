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

from helpers import SEEDS, URI_CORPUS, as_uris, make_story

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
    with pytest.raises(copytrace.errors.OptionError, match="local engine"):
        copytrace.find(local.inputs, engine="spark", spark_session=spark, against=[str(local.inputs[0])],
                       progress=False)
