"""Shared fixtures (the helpers they use are in helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import make_corpus, write_jsonl

# kernels compile even on the tests' small inputs (as on real corpora); test_startup checks
# that the interpreted way (copytrace's default for tiny inputs) gives the same outputs
os.environ.setdefault("COPYTRACE_INTERPRET_MAX", "0")


@pytest.fixture
def corpus(tmp_path: Path):
    docs, truth = make_corpus()
    return write_jsonl(tmp_path / "corpus.jsonl", docs), docs, truth


# The files that use the Spark session (tests/engines/conftest.py: one per test run) run on
# ONE xdist worker, so only one JVM starts: under `--dist loadfile` they are one scope (below).
# They start first: the other worker runs the rest meanwhile, instead of both idling behind
# them at the end.
SPARK_FILES = ("test_spark.py", "test_conformance.py", "test_rules_once.py", "test_spark_scale.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in SPARK_FILES)  # stable: otherwise collection order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the Spark files as one scope (see SPARK_FILES)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SparkOnOneWorker(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "spark" if path.rsplit("/", 1)[-1] in SPARK_FILES else path

    return SparkOnOneWorker(config, log)
