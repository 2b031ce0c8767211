"""Explain a copy: what changed (and, re-exported from ``stages.direction``, which
text is the source).

``changes(source_text, copy_text, alignment, boilerplate_spans_in_copy=()) -> list[Change]``
------------------------------------------------------------------------------------------
Sentence by sentence (the align stage's :func:`split_sentences`), the copy
relative to its source.  Sentences are matched one to one, best first, by
the Dice coefficient of their normalized word sets: pairs inside the same
aligned passage need ``≥ 0.3``, other pairs ``≥ 0.5``.  Then:

* ``kept``: same normalized words in the same order;
* ``reworded``: matched, not identical; ``diff`` holds a word-level diff
  (``difflib.SequenceMatcher`` on the words, for display);
* ``moved``: matched, but out of order — not on the longest run of matched
  sentences that keeps the source order (``diff`` as for reworded, empty if
  identical);
* ``cut``: a source sentence with no match in the copy;
* ``added``: a copy sentence with no match; ``boilerplate=True`` when at
  least half of its characters lie in ``boilerplate_spans_in_copy``.

Changes come in the copy's reading order; a cut sentence comes right after
the change of the source sentence before it.
"""

from __future__ import annotations

import difflib
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from copytrace.stages.align import split_sentences
from copytrace.stages.direction import WIRE_PATTERNS, Direction, direction, passage_spans, wire_credits
from copytrace.stages.normalize import normalize_token, tokenize

__all__ = ["Direction", "Change", "direction", "changes", "wire_credits", "WIRE_PATTERNS"]


# --------------------------------------------------------------------------
# Changes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One sentence-level change of a copy relative to its source."""

    kind: str  # "kept" | "reworded" | "moved" | "cut" | "added"
    source_span: tuple[int, int] | None
    copy_span: tuple[int, int] | None
    similarity: float = 0.0  # Dice of the normalized word sets (1.0: same words)
    diff: list[tuple[str, str]] = field(default_factory=list)  # ("=", "-", "+", text)
    boilerplate: bool = False


@dataclass
class _Sent:
    span: tuple[int, int]
    words: list[str]  # as read
    norm: tuple[str, ...]  # normalized
    bag: frozenset


def _sentences(text: str) -> list[_Sent]:
    toks = tokenize(text)
    if len(toks) == 0:
        return []
    out = []
    spans = split_sentences(text, toks)
    lo = np.searchsorted(toks.starts, spans[:, 0], side="left")
    hi = np.searchsorted(toks.ends, spans[:, 1], side="right")
    starts, ends = toks.starts.tolist(), toks.ends.tolist()
    for (s, e), a, b in zip(spans.tolist(), lo.tolist(), hi.tolist(), strict=True):
        words = [text[starts[i] : ends[i]] for i in range(a, b)]
        norm = tuple(normalize_token(w) for w in words)
        out.append(_Sent((int(s), int(e)), words, norm, frozenset(norm)))
    return out


def _dice(x: frozenset, y: frozenset) -> float:
    if not x or not y:
        return 0.0
    return 2.0 * len(x & y) / (len(x) + len(y))


def _which(spans: list[tuple[int, int]], span: tuple[int, int]) -> set[int]:
    s, e = span
    return {i for i, (ps, pe) in enumerate(spans) if s < pe and ps < e}


def word_diff(a_words: Sequence[str], b_words: Sequence[str]) -> list[tuple[str, str]]:
    """Word-level diff for display: ``[(op, text)]`` with op ``=``, ``-`` (only
    in the source), ``+`` (only in the copy)."""
    a_norm = [normalize_token(w) for w in a_words]
    b_norm = [normalize_token(w) for w in b_words]
    ops: list[tuple[str, str]] = []
    sm = difflib.SequenceMatcher(a=a_norm, b=b_norm, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            ops.append(("=", " ".join(b_words[j1:j2])))
        else:
            if i2 > i1:
                ops.append(("-", " ".join(a_words[i1:i2])))
            if j2 > j1:
                ops.append(("+", " ".join(b_words[j1:j2])))
    return ops


def _lis(seq: list[int]) -> set[int]:
    """Indices (into seq) of one longest strictly increasing subsequence."""
    tails: list[int] = []
    tails_idx: list[int] = []
    prev = [-1] * len(seq)
    for i, v in enumerate(seq):
        k = bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tails_idx.append(i)
        else:
            tails[k] = v
            tails_idx[k] = i
        prev[i] = tails_idx[k - 1] if k else -1
    out: set[int] = set()
    i = tails_idx[-1] if tails_idx else -1
    while i >= 0:
        out.add(i)
        i = prev[i]
    return out


def _overlap_share(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> float:
    s, e = span
    if e <= s:
        return 0.0
    cov = sum(max(0, min(e, pe) - max(s, ps)) for ps, pe in spans)
    return cov / (e - s)


def changes(
    source_text: str,
    copy_text: str,
    alignment: Any,
    boilerplate_spans_in_copy: Sequence[tuple[int, int]] = (),
    *,
    in_passage_min: float = 0.3,
    elsewhere_min: float = 0.5,
) -> list[Change]:
    """What changed from ``source_text`` to ``copy_text`` (``alignment`` aligns
    source as *a* with copy as *b*); see the module doc."""
    src = _sentences(source_text)
    cpy = _sentences(copy_text)
    pa_spans, pb_spans = passage_spans(alignment)
    src_p = [_which(pa_spans, s.span) for s in src]
    cpy_p = [_which(pb_spans, s.span) for s in cpy]
    cands: list[tuple[float, int, int]] = []
    for i, s in enumerate(src):
        for j, c in enumerate(cpy):
            d = _dice(s.bag, c.bag)
            if d <= 0:
                continue
            same = bool(src_p[i] & cpy_p[j])
            if d >= (in_passage_min if same else elsewhere_min):
                # prefer pairs inside one passage, then the more similar, then nearer
                cands.append((d + (0.25 if same else 0.0), i, j))
    cands.sort(key=lambda t: (-t[0], t[1], t[2]))
    match_s: dict[int, int] = {}
    match_c: dict[int, int] = {}
    for _, i, j in cands:
        if i not in match_s and j not in match_c:
            match_s[i] = j
            match_c[j] = i
    pairs = sorted(match_c.items())  # by copy index
    in_order = _lis([i for _, i in pairs])
    moved = {pairs[k][0] for k in range(len(pairs)) if k not in in_order}

    out: list[tuple[float, Change]] = []
    bp = list(boilerplate_spans_in_copy)
    for j, c in enumerate(cpy):
        if j in match_c:
            i = match_c[j]
            s = src[i]
            sim = round(_dice(s.bag, c.bag), 4)
            same = s.norm == c.norm
            diff = [] if same else word_diff(s.words, c.words)
            kind = "moved" if j in moved else ("kept" if same else "reworded")
            out.append((float(j), Change(kind, s.span, c.span, 1.0 if same else sim, diff)))
        else:
            is_bp = bool(bp) and _overlap_share(c.span, bp) >= 0.5
            out.append((float(j), Change("added", None, c.span, 0.0, [], is_bp)))
    # cut sentences go right after the change of the previous source sentence
    for i, s in enumerate(src):
        if i in match_s:
            continue
        anchor = -1.0
        for k in range(i - 1, -1, -1):
            if k in match_s:
                anchor = float(match_s[k])
                break
        out.append((anchor + 0.5 + i * 1e-6, Change("cut", s.span, None)))
    out.sort(key=lambda t: t[0])
    return [c for _, c in out]
