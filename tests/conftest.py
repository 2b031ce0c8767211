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


# The files that take longest (a Spark session, and a second one started by the CLI) start
# first: with `-n 2 --dist loadfile` one worker takes them while the other runs the rest,
# instead of both idling behind them at the end.
LONG_FIRST = ("test_spark.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in LONG_FIRST)  # stable: otherwise collection order
