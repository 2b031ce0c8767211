"""Explain a copy: which text is the source (direction) and what changed.

``direction(text_a, text_b, alignment, date_a=None, date_b=None) -> Direction``
----------------------------------------------------------------------------
``alignment`` is an :class:`~copytrace.stages.align.Alignment` or a
:class:`~copytrace.api.Comparison` (anything with ``passages``).  The verdict
is the sign of a score ``s`` (positive: *a* is the original), a sum of
evidence, each item also written to ``reasons``:

* **dates** (weight 3, decisive on its own): when both dates are given and
  differ, the earlier text gets +3.
* **wire credit** (weight 1): a dateline or credit of a wire service —
  ``MOSCOW (AP) —``, ``(Reuters)``, ``— AP``, ``Associated Press``, ``AFP``,
  ``Agence France-Presse``, ``UPI`` — in one text and not in the other:
  +1 for the text that has it (a reprint keeps the credit, a rewrite drops it).
* **containment asymmetry** (weight 2): ``2 × (coverage_b − coverage_a)``
  where ``coverage_x`` is the share of text x's words inside aligned
  passages.  When b is mostly inside a but a only partly inside b, a
  contains more of the other: a truncated reprint or a shorter rewrite is
  derived from the longer text.
* **insertions** (weight 1): unaligned words *between* a text's first and
  last passage (pasted-in appeals, editor's notes, local angles; cuts at the
  edges do not count) as a share of that text's words: ``insert_b −
  insert_a``.  The text with fewer insertions is likelier the original.

``original`` is ``"a"`` if ``s ≥ 0.25``, ``"b"`` if ``s ≤ −0.25``, else
``None``; ``confidence = tanh(|s|)`` (0 when undecided).

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
import math
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from copytrace.stages.align import split_sentences
from copytrace.stages.normalize import Tokens, normalize_token, tokenize

__all__ = ["Direction", "Change", "direction", "changes", "wire_credits"]


# --------------------------------------------------------------------------
# Direction
# --------------------------------------------------------------------------

_WIRE = r"(?:AP|Reuters|AFP|UPI|dpa|PA)"
WIRE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("dateline", re.compile(r"^[A-Z][A-Z .,'’-]{1,40}\(" + _WIRE + r"\)\s*[—–-]", re.M)),
    ("wire credit in parentheses", re.compile(r"\(" + _WIRE + r"\)")),
    ("wire credit after a dash", re.compile(r"[—–-]\s*" + _WIRE + r"\b(?![a-z])")),
    ("Associated Press", re.compile(r"\bAssociated Press\b")),
    ("Reuters", re.compile(r"\bReuters\b")),
    ("Agence France-Presse", re.compile(r"\bAgence France[- ]Presse\b")),
]


# every pattern above holds one of these: a text without any has no credit (one scan, not six)
_ANY_WIRE = re.compile(_WIRE + r"|Associated Press|Agence France")


def wire_credits(text: str) -> list[str]:
    """The wire credits and datelines found in ``text`` (as matched)."""
    found: list[str] = []
    if _ANY_WIRE.search(text) is None:
        return found
    for _, pat in WIRE_PATTERNS:
        found.extend(m.group(0).strip() for m in pat.finditer(text))
    return found


@dataclass(frozen=True)
class Direction:
    original: str | None  # "a" | "b" | None
    confidence: float  # 0..1
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0  # > 0: a is the original


def _passage_spans(alignment: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    ps = list(alignment.passages)
    return [(p.a_start, p.a_end) for p in ps], [(p.b_start, p.b_end) for p in ps]


def _inside(tokens: Tokens, spans: list[tuple[int, int]]) -> np.ndarray:
    inside = np.zeros(len(tokens), dtype=bool)
    for s, e in spans:
        lo = np.searchsorted(tokens.starts, s, side="left")
        hi = np.searchsorted(tokens.ends, e, side="right")
        inside[lo:hi] = True
    return inside


def _coverage_and_insertions(text: str, spans: list[tuple[int, int]], toks: Tokens | None = None) -> tuple[float, float]:
    if toks is None:
        toks = tokenize(text)
    n = len(toks)
    if n == 0:
        return 0.0, 0.0
    inside = _inside(toks, spans)
    cov = float(inside.sum()) / n
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return cov, 0.0
    between = (~inside[idx[0] : idx[-1] + 1]).sum()
    return cov, float(between) / n


def direction(
    text_a: str,
    text_b: str,
    alignment: Any,
    date_a: str | None = None,
    date_b: str | None = None,
    *,
    tokens: tuple[Tokens, Tokens] | None = None,
    credits: tuple[list[str], list[str]] | None = None,
) -> Direction:
    """Which of two copies is the original (see the module doc for the scoring).

    ``tokens`` / ``credits``: the texts' ``tokenize`` and ``wire_credits``
    when the caller has them (a document in many pairs)."""
    s = 0.0
    reasons: list[str] = []
    if date_a and date_b and str(date_a) != str(date_b):
        earlier = "a" if str(date_a) < str(date_b) else "b"
        s += 3.0 if earlier == "a" else -3.0
        reasons.append(f"{earlier} is dated earlier ({date_a} vs {date_b})")
    wa, wb = credits if credits is not None else (wire_credits(text_a), wire_credits(text_b))
    if wa and not wb:
        s += 1.0
        reasons.append(f"a carries a wire credit ({', '.join(sorted(set(wa))[:3])}); b does not")
    elif wb and not wa:
        s -= 1.0
        reasons.append(f"b carries a wire credit ({', '.join(sorted(set(wb))[:3])}); a does not")
    spans_a, spans_b = _passage_spans(alignment)
    tok_a, tok_b = tokens if tokens is not None else (None, None)
    cov_a, ins_a = _coverage_and_insertions(text_a, spans_a, tok_a)
    cov_b, ins_b = _coverage_and_insertions(text_b, spans_b, tok_b)
    d_cov = cov_b - cov_a
    if abs(d_cov) >= 0.05:
        s += 2.0 * d_cov
        more, less = ("a", "b") if d_cov > 0 else ("b", "a")
        reasons.append(
            f"{more} contains more of {less} than the reverse "
            f"(aligned: {cov_a:.0%} of a, {cov_b:.0%} of b)"
        )
    d_ins = ins_b - ins_a
    if abs(d_ins) >= 0.02:
        s += d_ins
        more = "b" if d_ins > 0 else "a"
        reasons.append(
            f"{more} has more material inserted inside the shared text "
            f"({ins_a:.0%} of a, {ins_b:.0%} of b)"
        )
    if s >= 0.25:
        orig: str | None = "a"
    elif s <= -0.25:
        orig = "b"
    else:
        orig = None
        reasons.append("the evidence is too weak to tell")
    conf = round(math.tanh(abs(s)), 3) if orig else 0.0
    return Direction(orig, conf, reasons, round(s, 4))


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
    pa_spans, pb_spans = _passage_spans(alignment)
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
