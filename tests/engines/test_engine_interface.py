"""The engine interface (``engines.base.Engine``): engines are built without the
options, ``api.find`` takes an engine object or the string shortcuts, and an
object gives the same files as its shortcut."""

from __future__ import annotations

import json

import pytest

import copytrace
from copytrace.engines.base import Engine
from copytrace.engines.local import LocalEngine
from copytrace.errors import OptionError

STORY = ("The river rose three feet overnight and the council closed the old bridge to traffic. "
         "Engineers said the pillars were sound but the approach road had cracked in two places. ")


def _inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text(STORY * 3, encoding="utf-8")
    (d / "b.txt").write_text("Local news. " + STORY * 3, encoding="utf-8")
    (d / "c.txt").write_text("An unrelated note about the weather and the price of bread in the market.",
                             encoding="utf-8")
    return d


def test_engines_satisfy_the_protocol():
    assert isinstance(LocalEngine(), Engine) and LocalEngine.name == "local"
    pytest.importorskip("pyspark", reason="PySpark is not installed")
    from copytrace.engines.spark import SparkEngine

    eng = SparkEngine(master="local[1]", partitions=2)  # nothing starts until run
    assert isinstance(eng, Engine) and eng.name == "spark"


def test_find_takes_an_engine_object_like_its_shortcut(tmp_path):
    d = _inputs(tmp_path)
    by_name = copytrace.find(d, tmp_path / "by_name", engine="local", progress=False)
    eng = LocalEngine()
    by_object = copytrace.find(d, tmp_path / "by_object", engine=eng, progress=False)
    assert by_name.clusters() == by_object.clusters() and by_object.clusters()
    for name in ("documents.parquet", "pairs.parquet", "passages.parquet", "deduplicated.jsonl"):
        assert (tmp_path / "by_name" / name).read_bytes() == (tmp_path / "by_object" / name).read_bytes(), name
    summary = json.loads((tmp_path / "by_object" / "summary.json").read_text(encoding="utf-8"))
    assert summary["engine"] == "local"
    # cleanup() removed the engine's own work directory
    assert eng._state is not None and eng._state.work_dir is not None and not eng._state.work_dir.exists()


def test_spark_arguments_go_with_the_spark_engine(tmp_path):
    d = _inputs(tmp_path)
    with pytest.raises(OptionError, match="SparkEngine"):
        copytrace.find(d, engine=LocalEngine(), spark_master="local[1]", progress=False)
    with pytest.raises(OptionError, match="need engine='spark'"):
        copytrace.find(d, engine="local", spark_partitions=2, progress=False)
    with pytest.raises(OptionError, match="unknown engine"):
        copytrace.find(d, engine="dask", progress=False)
