"""Fixtures shared by the engine tests: ONE local Spark session for the whole test
run (started lazily, on the first test that asks for it; tests/conftest.py keeps every
file that uses it on one xdist worker, so one JVM starts), and the conformance
corpora, each run once per engine and cached for the session (``engine_run``).

Data contract of ``engine_run(corpus, engine)``: a ``Run`` (the ``copytrace.find``
result, its output folder, its inputs) for ``corpus`` in ``CORPORA`` on ``engine``
("local" or "spark"); the same object on every call of the session."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import CORPORA, URI_CORPUS, as_uris


# Adaptive execution off for the tests' tiny corpora: with it on, Spark runs every shuffle's map
# stage as a job of its own (and re-plans after it), which on a few documents is most of a run's
# time; without it a query is one job (a Spark find of the two seed files: 168 -> 38 jobs).
# Without it, Spark 4's union output partitioning fails on candidates' union of the LSH and
# containment pairs ("Can't zip RDDs with unequal numbers of partitions: List(4, 8)"): off too.
# Outputs do not depend on either (the conformance tests compare with the local engine);
# test_spark_scale.py's many-pairs test runs with Spark's defaults, as spark_session() leaves
# them for users (PRODUCTION_CONF).
SMALL_CONF = {"spark.sql.adaptive.enabled": "false", "spark.sql.unionOutputPartitioning": "false"}
PRODUCTION_CONF = {"spark.sql.adaptive.enabled": "true", "spark.sql.unionOutputPartitioning": None}


@pytest.fixture
def production_conf(spark):
    """The session with spark_session()'s own settings (SMALL_CONF undone) for one test."""
    saved = {k: spark.conf.get(k, None) for k in PRODUCTION_CONF}
    for k, v in PRODUCTION_CONF.items():
        spark.conf.unset(k) if v is None else spark.conf.set(k, v)
    yield spark
    for k, v in saved.items():
        spark.conf.unset(k) if v is None else spark.conf.set(k, v)


@pytest.fixture(scope="session")
def spark():
    """The test run's one Spark session (local[2], 4 partitions, SMALL_CONF); skips (saying why)
    when PySpark or Java is missing. CI installs both.  ``spark.driver.maxResultSize`` is
    1 MiB (issue #13: the driver collects nothing per document; every Spark
    test runs under that limit)."""
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'copytrace[spark]')")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime on PATH (the Spark engine needs Java 17+)")
    import os

    from copytrace.engines.spark import spark_session

    # Tuned for the tests' tiny corpora, where the JVM's own work dominates: the client compiler
    # only and the serial GC (short runs never pay back C2's compile time). Measured: a
    # conformance run's JVM CPU time about halves (syndication 60 -> 30 s, mixed 41 -> 26 s, the
    # start 12.5 -> 7 s). Neither changes a result; Spark's code generation is left on (turning
    # it off saved nothing more).
    saved = os.environ.get("PYSPARK_SUBMIT_ARGS")
    if saved is None:
        os.environ["PYSPARK_SUBMIT_ARGS"] = (
            "--driver-java-options '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' pyspark-shell")
    try:
        s = spark_session("local[2]", partitions=4, conf={"spark.driver.maxResultSize": "1m", **SMALL_CONF})
    finally:
        if saved is None:
            os.environ.pop("PYSPARK_SUBMIT_ARGS", None)
    yield s
    s.stop()


@dataclass(frozen=True)
class Run:
    result: Any  # copytrace.api.Result
    out: Path
    inputs: list[Any]  # as written (paths), also for the URI corpus's Spark run
    opts: dict


@pytest.fixture(scope="session")
def corpus_inputs(tmp_path_factory):
    """corpus name → (inputs, options), written once per session."""
    cache: dict[str, tuple[list[Any], dict]] = {}

    def get(name: str) -> tuple[list[Any], dict]:
        if name not in cache:
            cache[name] = CORPORA[name](tmp_path_factory.mktemp(f"corpus-{name}"))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def engine_run(request, tmp_path_factory, corpus_inputs):
    import copytrace

    cache: dict[tuple[str, str], Run] = {}

    def get(corpus: str, engine: str) -> Run:
        key = (corpus, engine)
        if key not in cache:
            inputs, opts = corpus_inputs(corpus)
            out = tmp_path_factory.mktemp(f"out-{corpus}-{engine}") / "out"
            extra: dict = {"progress": False}
            if engine == "spark":
                extra.update(engine="spark", spark_session=request.getfixturevalue("spark"))
            given = as_uris(inputs) if (corpus, engine) == (URI_CORPUS, "spark") else inputs
            cache[key] = Run(copytrace.find(given, out, **opts, **extra), out, inputs, opts)
        return cache[key]

    return get
