"""Direction: which of two copies is the original — a stage, since its verdict
is ``pairs.parquet``'s ``original``, ``direction_confidence`` and
``direction_reasons`` and votes for ``documents.parquet``'s
``cluster_original`` (``engines.common.cluster_originals``).

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

``direction_reasons`` is the reasons joined by :data:`REASONS_SEPARATOR`
(:func:`join_reasons`; :func:`split_reasons` is its inverse), in every engine.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from copytrace.kernels import njit
from copytrace.stages.align import outside_runs
from copytrace.stages.normalize import Tokens, tokenize

if TYPE_CHECKING:
    from copytrace.stages.cluster import Clusters
    from copytrace.stages.verify import VerifiedPairs

__all__ = ["Direction", "direction", "wire_credits", "WIRE_PATTERNS", "REASONS_SEPARATOR", "join_reasons",
           "split_reasons", "passage_spans", "cluster_originals"]

# direction_reasons in pairs.parquet: the reasons joined by this separator
REASONS_SEPARATOR = "; "


def join_reasons(reasons: list[str]) -> str:
    """``direction_reasons`` of one pair: its reasons joined by :data:`REASONS_SEPARATOR`."""
    return REASONS_SEPARATOR.join(reasons)


def split_reasons(joined: str) -> list[str]:
    """The inverse of :func:`join_reasons` (``""``: no reasons)."""
    return joined.split(REASONS_SEPARATOR) if joined else []


_WIRE = r"(?:AP|Reuters|AFP|UPI|dpa|PA)"
WIRE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("dateline", re.compile(r"^[A-Z][A-Z .,'’-]{1,40}\(" + _WIRE + r"\)\s*[—–-]", re.M)),
    ("wire credit in parentheses", re.compile(r"\(" + _WIRE + r"\)")),
    ("wire credit after a dash", re.compile(r"[—–-]\s*" + _WIRE + r"\b(?![a-z])")),
    ("Associated Press", re.compile(r"\bAssociated Press\b")),
    ("Reuters", re.compile(r"\bReuters\b")),
    ("Agence France-Presse", re.compile(r"\bAgence France[- ]Presse\b")),
]


_WIRE_NAMES = ("AP", "Reuters", "AFP", "UPI", "dpa", "PA")
_IN_PARENS = tuple(f"({w})" for w in _WIRE_NAMES)
# per pattern above, literals one of which every match holds (empty: always scanned).  A text
# holding none is not scanned with that pattern: the result is the same, and most pages lack
# them (Chronicling America, 1916: 2.0 ms of CPU a page with six regex scans; \b before a
# literal keeps Python's regex engine from searching for the literal, and "AP" / "PA" occur in
# almost every upper-case OCR page, so one scan for any wire name did not skip them)
_NEEDS: tuple[tuple[str, ...], ...] = (
    _IN_PARENS, _IN_PARENS, (), ("Associated Press",), ("Reuters",), ("Agence France",),
)


def wire_credits(text: str) -> list[str]:
    """The wire credits and datelines found in ``text`` (as matched)."""
    found: list[str] = []
    holds: dict[tuple[str, ...], bool] = {}  # each set of literals looked for once
    for (_, pat), needs in zip(WIRE_PATTERNS, _NEEDS, strict=True):
        if needs:
            if needs not in holds:
                holds[needs] = any(lit in text for lit in needs)
            if not holds[needs]:
                continue
        found.extend(m.group(0).strip() for m in pat.finditer(text))
    return found


@dataclass(frozen=True)
class Direction:
    original: str | None  # "a" | "b" | None
    confidence: float  # 0..1
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0  # > 0: a is the original


def passage_spans(alignment: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The character spans of the aligned passages in a and in b."""
    ps = list(alignment.passages)
    return [(p.a_start, p.a_end) for p in ps], [(p.b_start, p.b_end) for p in ps]


def _coverage_and_insertions(text: str, spans: list[tuple[int, int]]) -> tuple[float, float]:
    """Share of the tokens inside the spans, and share of the tokens outside
    them but between the first and the last inside (material inserted into
    the shared text): :func:`_shares_kernel` on one side."""
    toks = tokenize(text)
    n = len(toks)
    if n == 0:
        return 0.0, 0.0
    lo = np.array([s for s, _ in spans], dtype=np.int64)
    hi = np.array([e for _, e in spans], dtype=np.int64)
    n_in, between = _shares_kernel(toks.starts, toks.ends, lo, hi)
    return float(n_in) / n, float(between) / n


@njit(cache=True, nogil=True)
def _shares_kernel(starts, ends, lo, hi):
    """(tokens inside the spans, tokens in the outside runs with tokens inside on both sides):
    the integers of :func:`_coverage_and_insertions`."""
    n = starts.shape[0]
    run_lo, run_hi, n_in = outside_runs(starts, ends, lo, hi)
    between = 0
    for k in range(run_lo.shape[0]):
        if run_lo[k] > 0 and run_hi[k] < n:
            between += run_hi[k] - run_lo[k]
    return n_in, between


@njit(cache=True, nogil=True)
def _pair_shares_kernel(a_starts, a_ends, b_starts, b_ends, spans):
    """:func:`_shares_kernel` of both sides of a pair in one call; ``spans``: (k, 4) int64
    rows (a_start, a_end, b_start, b_end)."""
    a_in, a_between = _shares_kernel(a_starts, a_ends, spans[:, 0].copy(), spans[:, 1].copy())
    b_in, b_between = _shares_kernel(b_starts, b_ends, spans[:, 2].copy(), spans[:, 3].copy())
    return a_in, a_between, b_in, b_between


def _pair_shares(alignment: Any, tok_a: Tokens, tok_b: Tokens) -> tuple[float, float, float, float]:
    """:func:`_coverage_and_insertions` of both sides (the passages' spans), in one kernel call."""
    spans = np.array([(p.a_start, p.a_end, p.b_start, p.b_end) for p in alignment.passages],
                     dtype=np.int64).reshape(-1, 4)
    a_in, a_between, b_in, b_between = _pair_shares_kernel(tok_a.starts, tok_a.ends, tok_b.starts, tok_b.ends, spans)
    na, nb = len(tok_a), len(tok_b)
    return ((float(a_in) / na, float(a_between) / na) if na else (0.0, 0.0)) + (
        (float(b_in) / nb, float(b_between) / nb) if nb else (0.0, 0.0))


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
    tok_a, tok_b = tokens if tokens is not None else (tokenize(text_a), tokenize(text_b))
    cov_a, ins_a, cov_b, ins_b = _pair_shares(alignment, tok_a, tok_b)
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


def original_votes(n: int, a: np.ndarray, b: np.ndarray, original: np.ndarray, confidence: np.ndarray
                   ) -> np.ndarray:
    """Each document's vote total (documents 0..n-1; pairs ``a``, ``b``): +c for the side a pair
    judges original, -c for the other, rounded to 9 digits (what :func:`cluster_originals` ranks)."""
    score = np.zeros(n, dtype=np.float64)
    if a.shape[0]:
        sign_a = np.where(original == 1, 1.0, np.where(original == 2, -1.0, 0.0)) * confidence
        np.add.at(score, a, sign_a)
        np.add.at(score, b, -sign_a)
    return np.round(score, 9)


def cluster_originals(
    n: int, verified: VerifiedPairs, original: np.ndarray, confidence: np.ndarray, clusters: Clusters
) -> np.ndarray:
    """The likely original of each document's cluster (a document index).

    Each pair votes with its direction confidence: +c for the side judged
    original, -c for the other. In each cluster the document with the highest
    total wins; ties (no evidence at all included) go to the representative,
    then to the smallest index.
    """
    score = original_votes(n, verified.a, verified.b, original, confidence)
    idx = np.arange(n, dtype=np.int64)
    is_rep = (clusters.representative == idx).astype(np.int64)
    order = np.lexsort((idx, -is_rep, -score, clusters.root))
    first = np.ones(n, dtype=bool)
    first[1:] = clusters.root[order][1:] != clusters.root[order][:-1]
    best_of_root = np.empty(n, dtype=np.int64)
    best_of_root[clusters.root[order][first]] = order[first]
    return best_of_root[clusters.root]
