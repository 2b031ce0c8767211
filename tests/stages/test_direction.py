"""Direction: the shares of each side inside the aligned passages and inserted
between them, counted in one kernel pass."""

from __future__ import annotations

import numpy as np

from copytrace.stages.direction import _coverage_and_insertions
from copytrace.stages.normalize import tokenize


def _numpy_shares(text: str, spans: list[tuple[int, int]]) -> tuple[float, float]:
    toks = tokenize(text)
    inside = np.zeros(len(toks), dtype=bool)
    for s, e in spans:
        inside[np.searchsorted(toks.starts, s, side="left"):np.searchsorted(toks.ends, e, side="right")] = True
    idx = np.flatnonzero(inside)
    ins = float((~inside[idx[0]:idx[-1] + 1]).sum()) / len(toks) if idx.size else 0.0
    return float(inside.sum()) / len(toks), ins


def test_coverage_and_insertions_count_tokens_inside_and_between_the_passages():
    text = "one two three four five six seven eight nine ten"
    # "two three" and "seven eight" inside; four, five and six inserted between them
    spans = [(4, 13), (28, 39)]
    assert _coverage_and_insertions(text, spans) == (0.4, 0.3)
    assert _coverage_and_insertions(text, spans) == _numpy_shares(text, spans)
    # a span cutting a token in half leaves it out; overlapping spans count a token once
    for spans in ([(5, 13)], [(0, 9), (4, 18)], [(0, len(text))], [], [(48, 49)]):
        assert _coverage_and_insertions(text, spans) == _numpy_shares(text, spans), spans
    assert _coverage_and_insertions("", [(0, 3)]) == (0.0, 0.0)
