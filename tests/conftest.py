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
# Then the files that take longest (measured with --durations), longest first, so that no long
# file starts last while the other worker idles (xdist hands a worker its next file when it is
# almost done with the last one). The rest follow in collection order.
LONG_FILES = ("test_rule.py", "test_index.py", "test_startup.py", "test_service_hardening.py", "test_service.py",
              "test_boilerplate.py", "test_resume.py", "test_query_workers.py", "test_align.py", "test_find.py",
              "test_bad_input_scale.py", "test_output_set.py")
_ORDER = {name: 0 for name in SPARK_FILES} | {name: i for i, name in enumerate(LONG_FILES, 1)}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # stable: otherwise collection order
    items.sort(key=lambda item: _ORDER.get(item.path.name, len(_ORDER)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the Spark files as one scope (see SPARK_FILES)."""
    if config.getvalue("dist") != "loadfile":
        return None
    config.option.loadscopereorder = False  # keep the order above (xdist's default: most tests first)
    from xdist.scheduler import LoadFileScheduling

    class SparkOnOneWorker(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "spark" if path.rsplit("/", 1)[-1] in SPARK_FILES else path

    return SparkOnOneWorker(config, log)
