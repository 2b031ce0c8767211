"""Stage 6 — the rule: when is B a copy of A?  One definition, used everywhere.

``compare`` (its verdict), ``find`` (which candidate pairs become pairs, on the
local and the Spark engine), ``index query`` and ``POST /query`` all call
:func:`decide` (or :func:`decide_arrays`, its vectorised form); nothing else
decides whether two texts are copies.

The definition
--------------
Two kinds of evidence are measured for a pair (A, B):

* **exact shingle containment** (the *floor*): ``containment_a_in_b`` =
  |A ∩ B| / |A| over distinct word n-gram shingles (``verify`` computes it
  exactly), and ``containment_b_in_a`` likewise.  It counts only when the
  shared shingles can span ``verify.MIN_CONTAINED_WORDS`` (5) words
  (``verify.min_contained(ngram)`` shingles); otherwise the floor is the
  Jaccard similarity.
* **aligned coverage**: the share of a text's words inside the passages the
  aligner finds (verbatim *or* reworded), ``coverage_a`` / ``coverage_b``.
  Reworded text keeps the story's *anchors* — figures and names — while
  stories that only share a template (earnings briefs, eurobond issues,
  weather tables, sports results, money-market reports) share the
  template's words and its common names (the Securities and Exchange
  Commission, the Federal Reserve) but not their own figures and names.
  So the aligned coverage is weighted by **anchor agreement**: the Jaccard
  similarity of the distinct anchors that lie inside the passages on each
  side, |SA ∩ SB| / |SA ∪ SB| (1 when either side has fewer than
  ``MIN_ANCHORS``, 2: no evidence either way); the weight rises linearly
  from 0 at ``ANCHOR_DISAGREEMENT`` (0.3) to 1 at ``ANCHOR_AGREEMENT``
  (0.5).  A union, not the smaller set, is the denominator: a template
  passage's shared common names no longer outvote its differing figures.  A
  second weight does the same for the passages' mean score (their tf-idf
  cosine, 1 for verbatim; weighted by words): 0 at ``SCORE_LOW`` (0.45), 1
  at ``SCORE_HIGH`` (0.7) — template-alike stories align only weakly.
  Like the floor, aligned coverage counts only when the passages hold at
  least ``verify.MIN_CONTAINED_WORDS`` (5) words on the more-covered side: a
  text that ``find``'s boilerplate masking leaves as a bare "Reuter"
  sign-off is covered in full by one word, which is no evidence.
  Anchors are **figures**, read on the characters: a run of digits with the
  separators between them (``51.50``, ``6-3/16``, ``3,326,000``, ``1992``)
  of at least ``MIN_FIGURE_CHARS`` (2) characters — so ``1.00`` and ``1.50``
  differ, where their word tokens ``1``/``00``/``50`` would not — and
  **names**: capitalised words that do not open a sentence, never occur
  lower-case in the text, are not stopwords, weekdays or months, hold no
  digit, and do not stand in a Title Case or capitals line (a headline's
  capitals are style).

``similarity = max(floor, max(coverage_a, coverage_b) × anchor weight × score weight)``
— the share of the more-contained text found in the other, by exact shingles
or by aligned passages whose names and figures agree.

Aligned evidence counts in full only when the two texts share at least
``WORD_GATE`` (0.45) of the smaller one's distinct content words
(:func:`word_containment`: words of 4+ characters, stopwords left out): a
copy, however reworded, keeps most of its words.  Below the gate the
passages are evidence of a *shared passage* (a paragraph, a summary, lifted
into a longer text), not of a copy: they count up to the shared share of
content words, ``min(aligned, word containment)`` (:func:`gated`) — so they
rank such pairs above texts that share no passage, but never reach the
gate.  ``find`` and the index do not align a pair that neither the floor nor
this can bring to the threshold (:func:`worth_aligning`: floor below the
threshold, and word containment below both the gate and the threshold) —
except, in ``find``, to find the passages of reuse clusters
(``--reuse-min-shingles``), which makes it a copy only when the rule does.

**B is a copy of A when ``similarity >= threshold``** (``--threshold``,
default 0.5, the same option everywhere).  Exact duplicates (same words)
have similarity 1.

Without alignment (``find --no-align``, the fast path) the aligned evidence is
absent: the rule then decides on the floor alone and says so
(``summary.json``: ``parameters.align`` false, ``counts.rule`` with no pair
``paired_by_aligned_passages``); reworded copies whose shingles fall
below the threshold are not paired.  Display options (``--no-passages``)
never change the similarity: the alignment still runs to decide, its passages
are only left out of the answer.

:func:`explain` says in one line which evidence decided and against which
threshold (``compare`` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from copytrace.kernels import njit
from copytrace.stages.align import ENGLISH_STOPWORDS, Alignment
from copytrace.stages.normalize import TokenBatch, Tokens, to_codepoints, tokenize
from copytrace.stages.verify import MIN_CONTAINED_WORDS, VerifiedPairs, min_contained

__all__ = [
    "ANCHOR_AGREEMENT",
    "MIN_ANCHORS",
    "Decision",
    "Anchors",
    "anchors",
    "anchor_agreement",
    "anchor_weight",
    "score_weight",
    "aligned_evidence",
    "floor",
    "gated",
    "similarity",
    "decide",
    "decide_arrays",
    "word_containment",
    "word_containment_batch",
    "worth_aligning",
    "explain",
]

ANCHOR_AGREEMENT = 0.5  # agreement at which aligned coverage counts in full
ANCHOR_DISAGREEMENT = 0.3  # agreement at or below which aligned coverage does not count
SCORE_HIGH = 0.7  # mean passage score at which aligned coverage counts in full
SCORE_LOW = 0.45  # mean passage score at or below which it does not count
WEIGHT_MIN = 0.0  # the least a weight gives
WORD_GATE = 0.45  # aligned evidence counts only when this share of the smaller text's content words is shared
HEADLINE_CAPS = 0.6  # a line whose tokens are at least this share capitalised is set in title case
MIN_FIGURE_CHARS = 2  # a figure anchor (digits and the separators between them) has at least this many characters
MIN_ANCHORS = 2  # fewer anchors inside the passages on a side: no evidence either way
_EPS = 1e-12
_BLANKS = np.array([32, 9, 0xA0, 34, 39, 0x201C, 0x2018, 40], dtype=np.uint32)  # space, quotes, (
_ENDERS = np.array([46, 33, 63, 10, 13, 0x2026, 58], dtype=np.uint32)  # . ! ? newline … :
_FIGURE_SEPS = np.array([46, 44, 47, 45], dtype=np.uint32)  # . , / - between two digits
_FIGURE_MAX = 64  # characters of a figure that its hash reads
_FIGURE_MULT = (np.random.default_rng(16).integers(1, 2**63, size=_FIGURE_MAX, dtype=np.int64).astype(np.uint64)
                | np.uint64(1))  # fixed: hashes are the same in every process
_FIGURE_SALT = np.uint64(0x5F1E_F16E_A5C4_0B1D)  # keeps figure hashes apart from token hashes


@dataclass(frozen=True)
class Decision:
    """The rule's answer for one pair."""

    similarity: float
    is_copy: bool
    evidence: str  # "exact duplicate", "shingles", "aligned passages" or "none"
    floor: float  # exact shingle containment (or Jaccard), the floor
    aligned: float  # aligned coverage × anchor weight
    agreement: float  # anchor agreement inside the passages (1.0: not enough anchors to judge)
    threshold: float
    word_cont: float = 1.0  # shared share of content words (below WORD_GATE: aligned is capped at it)


_CALENDAR = ("monday tuesday wednesday thursday friday saturday sunday january february march april may june "
             "july august september october november december")


@lru_cache(maxsize=1)
def _common_capitals() -> np.ndarray:
    """Stopwords, weekdays and months: capitalised, but no story's own."""
    return np.unique(tokenize(" ".join(sorted(ENGLISH_STOPWORDS)) + " " + _CALENDAR).hashes)


@lru_cache(maxsize=1)
def _upper_table() -> np.ndarray:
    return np.array([chr(c).isupper() for c in range(0x800)], dtype=bool)


@njit(cache=True, nogil=True)
def _figures_kernel(cps, seps, mult, salt, min_chars):
    """:func:`_figures` compiled: one pass over the code points."""
    n = cps.shape[0]
    fig = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        c = cps[i]
        if c >= 48 and c <= 57:
            fig[i] = True
        elif 0 < i < n - 1 and n > 2:
            d0 = cps[i - 1]
            d1 = cps[i + 1]
            if d0 >= 48 and d0 <= 57 and d1 >= 48 and d1 <= 57:
                for s in range(seps.shape[0]):
                    if c == seps[s]:
                        fig[i] = True
                        break
    cap = 8
    st = np.empty(cap, dtype=np.int64)
    en = np.empty(cap, dtype=np.int64)
    hs = np.empty(cap, dtype=np.uint64)
    k = 0
    i = 0
    fmax = mult.shape[0]
    while i < n:
        if not fig[i]:
            i += 1
            continue
        j = i
        while j < n and fig[j]:
            j += 1
        if j - i >= min_chars:
            h = np.uint64(0)
            for r in range(min(j - i, fmax)):
                h += np.uint64(cps[i + r]) * mult[r]
            h ^= salt
            h = (h ^ (h >> np.uint64(31))) * np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(29)
            if k == cap:
                cap *= 2
                st2 = np.empty(cap, dtype=np.int64)
                en2 = np.empty(cap, dtype=np.int64)
                hs2 = np.empty(cap, dtype=np.uint64)
                st2[:k] = st[:k]
                en2[:k] = en[:k]
                hs2[:k] = hs[:k]
                st, en, hs = st2, en2, hs2
            st[k] = i
            en[k] = j
            hs[k] = h
            k += 1
        i = j
    return st[:k].copy(), en[:k].copy(), hs[:k].copy()


def _figures(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The figures of a text's code points: (starts, ends, hashes) of the runs
    of digits and of the separators (``. , / -``) standing between two digits,
    at least ``MIN_FIGURE_CHARS`` long; "6-3/16", "51.50", "3,326,000", "30".
    The hash of a run is a sum of its (first ``_FIGURE_MAX``) characters times
    fixed per-position multipliers, then mixed (one compiled pass)."""
    return _figures_kernel(np.asarray(cps, dtype=np.uint32), _FIGURE_SEPS, _FIGURE_MULT, _FIGURE_SALT,
                           MIN_FIGURE_CHARS)


@njit(cache=True, nogil=True)
def _anchor_mask_kernel(cps, starts, ends, hashes, upper, blanks, enders, common, headline_caps):
    """:func:`_anchor_mask` compiled (the same definition, token by token)."""
    n = starts.shape[0]
    nc = cps.shape[0]
    cap = np.zeros(n, dtype=np.bool_)
    has_digit = np.zeros(n, dtype=np.bool_)
    opener = np.ones(n, dtype=np.bool_)
    line = np.zeros(n, dtype=np.int64)
    nl = 0
    pos = 0
    for t in range(n):
        s = starts[t]
        while pos < s and pos < nc:
            if cps[pos] == 10:
                nl += 1
            pos += 1
        line[t] = nl
        f = cps[s]
        cap[t] = f < upper.shape[0] and upper[f]
        for x in range(s, ends[t]):
            if cps[x] >= 48 and cps[x] <= 57:
                has_digit[t] = True
                break
        # sentence-initial: the first non-blank character up to 3 back ends a sentence, or none is there
        for back in range(1, 4):
            p = s - back
            if p < 0:
                opener[t] = True
                break
            c = cps[p]
            blank = False
            for b in range(blanks.shape[0]):
                if c == blanks[b]:
                    blank = True
                    break
            if not blank:
                ender = False
                for e in range(enders.shape[0]):
                    if c == enders[e]:
                        ender = True
                        break
                opener[t] = ender
                break
    n_lines = line[n - 1] + 1 if n > 0 else 0
    per_line = np.zeros(n_lines, dtype=np.int64)
    caps_line = np.zeros(n_lines, dtype=np.float64)
    for t in range(n):
        per_line[line[t]] += 1
        if cap[t]:
            caps_line[line[t]] += 1.0
    # per distinct word: how often it occurs, and whether it occurs lower-case
    order = np.argsort(hashes, kind="mergesort")
    recurs = np.zeros(n, dtype=np.bool_)
    lower = np.zeros(n, dtype=np.bool_)
    g = 0
    while g < n:
        h = hashes[order[g]]
        e = g
        low = False
        while e < n and hashes[order[e]] == h:
            if not cap[order[e]]:
                low = True
            e += 1
        for x in range(g, e):
            recurs[order[x]] = e - g >= 2
            lower[order[x]] = low
        g = e
    name = np.zeros(n, dtype=np.bool_)
    for t in range(n):
        if not cap[t] or has_digit[t] or lower[t]:
            continue
        if opener[t] and not recurs[t]:
            continue
        ln = line[t]
        if per_line[ln] >= 3 and caps_line[ln] >= headline_caps * per_line[ln]:
            continue
        h = hashes[t]
        k = np.searchsorted(common, h)
        if k < common.shape[0] and common[k] == h:
            continue
        name[t] = True
    return name


def _anchor_mask(text: str, tokens: Tokens, cps: np.ndarray | None = None) -> np.ndarray:
    """Which tokens are name anchors: capitalised tokens holding no digit
    that do not merely open a sentence (the first non-blank character up to
    three back ends a sentence, or there is none) unless the word recurs,
    are not stopwords, weekdays or months, never occur lower-case in the
    text, and do not stand in a line set in Title Case or capitals (at
    least 3 tokens, ``HEADLINE_CAPS`` of them capitalised: a headline's
    capitals are style).  Figures are read on the characters
    (:func:`_figures`), not on tokens.  One compiled pass."""
    n = len(tokens)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if cps is None:
        cps = to_codepoints(text)
    return _anchor_mask_kernel(np.asarray(cps, dtype=np.uint32), tokens.starts.astype(np.int64),
                               tokens.ends.astype(np.int64), tokens.hashes, _upper_table(), _BLANKS, _ENDERS,
                               _common_capitals(), HEADLINE_CAPS)


@dataclass(frozen=True)
class Anchors:
    """A text's anchors, found once per text (:func:`anchors`) and weighed
    against any number of other texts' (a document in many pairs): the
    ``(start, end)`` character span and the hash of every name token and
    every figure."""

    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    hashes: np.ndarray  # uint64


def anchors(text: str, tokens: Tokens, cps: np.ndarray | None = None) -> Anchors:
    """The anchors (names, figures) of a text and its ``normalize.tokenize`` tokens."""
    if cps is None:
        cps = to_codepoints(text)
    names = _anchor_mask(text, tokens, cps)
    fs, fe, fh = _figures(cps)
    return Anchors(np.concatenate([tokens.starts.astype(np.int64)[names], fs]),
                   np.concatenate([tokens.ends.astype(np.int64)[names], fe]),
                   np.concatenate([tokens.hashes[names], fh]))


@njit(cache=True, nogil=True)
def _anchors_inside(starts, ends, hashes, span_lo, span_hi):
    """The distinct anchor hashes (sorted) whose span lies inside one of the
    character spans (``span_lo`` sorted): inside when some span starting at
    or before the anchor ends at or after it."""
    k = span_lo.shape[0]
    reach = np.empty(k, dtype=np.int64)
    m = np.int64(-1)
    for i in range(k):
        if span_hi[i] > m:
            m = span_hi[i]
        reach[i] = m
    out = np.empty(starts.shape[0], dtype=np.uint64)
    n = 0
    for t in range(starts.shape[0]):
        idx = np.searchsorted(span_lo, starts[t], side="right") - 1
        if idx >= 0 and ends[t] <= reach[idx]:
            out[n] = hashes[t]
            n += 1
    s = np.sort(out[:n])
    u = 0
    for x in range(n):
        if x == 0 or s[x] != s[x - 1]:
            s[u] = s[x]
            u += 1
    return s[:u]


@njit(cache=True, nogil=True)
def _agreement_kernel(a_starts, a_ends, a_hashes, a_lo, a_hi, b_starts, b_ends, b_hashes, b_lo, b_hi, min_anchors):
    """Jaccard similarity of the distinct anchors inside the spans of each side
    (1.0 when a side has fewer than ``min_anchors``)."""
    sa = _anchors_inside(a_starts, a_ends, a_hashes, a_lo, a_hi)
    sb = _anchors_inside(b_starts, b_ends, b_hashes, b_lo, b_hi)
    if min(sa.shape[0], sb.shape[0]) < min_anchors:
        return 1.0
    i = 0
    j = 0
    inter = 0
    while i < sa.shape[0] and j < sb.shape[0]:
        if sa[i] == sb[j]:
            inter += 1
            i += 1
            j += 1
        elif sa[i] < sb[j]:
            i += 1
        else:
            j += 1
    return float(inter) / float(sa.shape[0] + sb.shape[0] - inter)


def _span_arrays(spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    sp = np.asarray(sorted(spans), dtype=np.int64).reshape(-1, 2)
    return np.ascontiguousarray(sp[:, 0]), np.ascontiguousarray(sp[:, 1])


def anchor_agreement(
    text_a: str, tokens_a: Tokens, spans_a: list[tuple[int, int]],
    text_b: str, tokens_b: Tokens, spans_b: list[tuple[int, int]],
    *, prepared: tuple[Anchors, Anchors] | None = None,
) -> float:
    """Agreement of the anchors (figures, names) inside the spans of each
    side: the Jaccard similarity |SA ∩ SB| / |SA ∪ SB| of the distinct
    anchors; 1.0 when a side has fewer than ``MIN_ANCHORS``.  ``prepared``:
    the two texts' :func:`anchors` when the caller has them."""
    if not spans_a or len(tokens_a) == 0 or not spans_b or len(tokens_b) == 0:
        return 1.0
    aa, ab = prepared if prepared is not None else (anchors(text_a, tokens_a), anchors(text_b, tokens_b))
    a_lo, a_hi = _span_arrays(spans_a)
    b_lo, b_hi = _span_arrays(spans_b)
    return float(_agreement_kernel(aa.starts, aa.ends, aa.hashes, a_lo, a_hi,
                                   ab.starts, ab.ends, ab.hashes, b_lo, b_hi, MIN_ANCHORS))


@njit(cache=True, nogil=True)
def _evidence_kernel(a_starts, a_ends, a_hashes, b_starts, b_ends, b_hashes, spans, tok_starts, tok_ends,
                     side_a, known, min_anchors):
    """:func:`aligned_evidence`'s arrays in one call: the anchor agreement
    (:func:`anchor_agreement` over the passages' spans, ``spans`` (k, 4) rows
    a_start, a_end, b_start, b_end; 1.0 when ``known``) and the tokens of
    ``tok_starts``/``tok_ends`` inside each passage on side a (``side_a``) or b,
    as floats."""
    k = spans.shape[0]
    agree = 1.0
    if not known:
        # each side's spans sorted by start (_anchors_inside needs no more: among spans with one
        # start, which comes first does not change what lies inside)
        oa = np.argsort(spans[:, 0], kind="mergesort")
        ob = np.argsort(spans[:, 2], kind="mergesort")
        a_lo = np.empty(k, dtype=np.int64)
        a_hi = np.empty(k, dtype=np.int64)
        b_lo = np.empty(k, dtype=np.int64)
        b_hi = np.empty(k, dtype=np.int64)
        for x in range(k):
            a_lo[x] = spans[oa[x], 0]
            a_hi[x] = spans[oa[x], 1]
            b_lo[x] = spans[ob[x], 2]
            b_hi[x] = spans[ob[x], 3]
        agree = _agreement_kernel(a_starts, a_ends, a_hashes, a_lo, a_hi, b_starts, b_ends, b_hashes, b_lo, b_hi,
                                  min_anchors)
    c = 0 if side_a else 2
    words = np.empty(k, dtype=np.float64)
    for x in range(k):
        n = np.searchsorted(tok_ends, spans[x, c + 1], side="right") - np.searchsorted(tok_starts, spans[x, c],
                                                                                      side="left")
        words[x] = max(n, 0)
    return agree, words


_NO_ANCHORS = Anchors(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64))


def aligned_evidence(
    text_a: str, tokens_a: Tokens, text_b: str, tokens_b: Tokens, alignment: Alignment,
    *, prepared: tuple[Anchors, Anchors] | None = None,
) -> tuple[float, float]:
    """(aligned evidence, anchor agreement) of an ``align.Alignment`` of the
    two texts (tokens as ``normalize.tokenize``): the larger coverage ×
    :func:`anchor_weight` (agreement) × :func:`score_weight` (the passages'
    mean score, weighted by their words on the more-covered side); none when
    the passages hold fewer than ``verify.MIN_CONTAINED_WORDS`` words on that
    side (the same minimum as the floor's).  ``prepared``: the two texts'
    :func:`anchors` when the caller has them (a text in many pairs)."""
    passages = alignment.passages
    cov = max(float(alignment.coverage_a), float(alignment.coverage_b))
    if not passages or cov <= 0.0:
        return 0.0, 1.0
    side_a = alignment.coverage_a >= alignment.coverage_b
    tokens = tokens_a if side_a else tokens_b
    spans = np.array([(p.a_start, p.a_end, p.b_start, p.b_end) for p in passages], dtype=np.int64)
    if len(tokens_a) == 0 or len(tokens_b) == 0:  # anchor_agreement: no evidence either way
        aa = ab = _NO_ANCHORS
        known = True
    else:
        aa, ab = prepared if prepared is not None else (anchors(text_a, tokens_a), anchors(text_b, tokens_b))
        known = False
    # the anchor agreement (anchor_agreement's kernel) and the tokens inside each passage on the
    # more-covered side (tokens are sorted and do not overlap: those starting at or after its
    # start, less those ending after its end), in one kernel call
    agree, words = _evidence_kernel(aa.starts, aa.ends, aa.hashes, ab.starts, ab.ends, ab.hashes, spans,
                                    tokens.starts, tokens.ends, side_a, known, MIN_ANCHORS)
    if words.sum() < MIN_CONTAINED_WORDS:  # a sign-off left by boilerplate masking is no evidence
        return 0.0, agree
    scores = np.array([float(p.score) for p in passages])
    mean_score = float((words * scores).sum() / words.sum()) if words.sum() > 0 else float(scores.mean())
    return cov * anchor_weight(agree) * score_weight(mean_score), agree


def _ramp(x: float, lo: float, hi: float) -> float:
    """``WEIGHT_MIN`` at ``lo`` or below, 1 at ``hi`` or above, linear between."""
    return WEIGHT_MIN + (1.0 - WEIGHT_MIN) * float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def anchor_weight(agreement: float) -> float:
    """``WEIGHT_MIN`` at ``ANCHOR_DISAGREEMENT`` or below, 1 at ``ANCHOR_AGREEMENT`` or above."""
    return _ramp(agreement, ANCHOR_DISAGREEMENT, ANCHOR_AGREEMENT)


def score_weight(score: float) -> float:
    """``WEIGHT_MIN`` at ``SCORE_LOW`` or below, 1 at ``SCORE_HIGH`` or above: passages
    validated by a weak cosine (a shared template's words) count for little."""
    return _ramp(score, SCORE_LOW, SCORE_HIGH)


def word_containment_batch(tokens: TokenBatch, pair_a: np.ndarray, pair_b: np.ndarray) -> np.ndarray:
    """For pairs of documents of a token batch: the share of the smaller
    document's distinct content words (``fingerprint.word_sample``) found in
    the other — the rule's gate for aligned evidence."""
    from copytrace.stages.fingerprint import word_sample
    from copytrace.stages.verify import pair_stats_kernel

    if pair_a.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    h, d = word_sample(tokens)
    sizes = np.bincount(d, minlength=len(tokens)).astype(np.int64)
    starts = np.zeros(len(tokens), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    inter = pair_stats_kernel(h, starts, sizes, pair_a.astype(np.int64), pair_b.astype(np.int64)).astype(np.float64)
    smaller = np.minimum(sizes[pair_a], sizes[pair_b]).astype(np.float64)
    return np.where(smaller > 0, inter / np.maximum(smaller, 1.0), 0.0)


def word_containment(tokens_a: Tokens, tokens_b: Tokens) -> float:
    """:func:`word_containment_batch` for two texts."""
    both = TokenBatch(
        np.concatenate([tokens_a.starts, tokens_b.starts]), np.concatenate([tokens_a.ends, tokens_b.ends]),
        np.concatenate([tokens_a.hashes, tokens_b.hashes]),
        np.array([0, len(tokens_a), len(tokens_a) + len(tokens_b)], dtype=np.int64),
    )
    return float(word_containment_batch(both, np.array([0]), np.array([1]))[0])


PASSAGE_SHARE = 0.03  # a shared passage: this share of the shorter text's distinct shingles ...
PASSAGE_MIN = 8  # ... but at least this many (and at most --reuse-min-shingles)


def passage_bar(scored: VerifiedPairs, min_passage: int) -> np.ndarray:
    """Distinct shingles each scored pair must share to be aligned as sharing a
    passage (``worth_aligning``): ``PASSAGE_SHARE`` of the shorter text's
    distinct shingles, at least ``PASSAGE_MIN``, at most ``min_passage``
    (``--reuse-min-shingles``).  A short story reprinted on two pages, reworded
    and OCR-noised, keeps too few shingles for a fixed bar of 25; a bar scaled
    to the shorter text aligns it while two long pages still need 25.  The
    shorter text's count is ``shared`` over the larger containment."""
    shared = scored.shared_or_enough().astype(np.float64)
    larger = np.maximum(scored.containment_a_in_b, scored.containment_b_in_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        smaller = np.where(larger > 0, np.rint(shared / np.where(larger > 0, larger, 1.0)), 0.0)
    bar = np.maximum(PASSAGE_MIN, np.ceil(PASSAGE_SHARE * smaller - 1e-9))
    return np.minimum(bar, min_passage).astype(np.int64)


def worth_aligning(scored: VerifiedPairs, tokens: TokenBatch, threshold: float, ngram: int,
                   min_passage: int = 0, passage_only: np.ndarray | None = None) -> np.ndarray:
    """Which scored candidates (document indices into ``tokens``) can be copies:
    on the floor already, or with a word containment past the word gate or
    the threshold (:func:`gated`; the others are not, by the rule; engines
    drop them before alignment).  ``min_passage`` > 0
    (``--reuse-min-shingles``): pairs sharing that many distinct shingles
    (fewer when one text is short: :func:`passage_bar`) are aligned too, whatever their shares — they share a passage, the evidence of
    reuse clusters (``stages.reuse``); the rule still decides whether they
    are copies.  ``passage_only`` (bool per pair): candidates that only the
    passage channel proposed (``candidates.containment_candidates``) are
    aligned when they share :func:`passage_bar` shingles or are on the floor, not
    merely for passing the word gate — short stories written from one
    template pass it and are turned down after alignment (syndication corpus,
    2,000 documents: 4,591 such pairs aligned for 4 copies)."""
    fl = floor(scored.jaccard, scored.containment_a_in_b, scored.containment_b_in_a, scored.shared_or_enough(), ngram)
    keep = fl >= threshold - _EPS
    if min_passage > 0 and scored.shared is not None:
        keep |= scored.shared >= passage_bar(scored, min_passage)
    gate_open = ~keep if passage_only is None else ~keep & ~np.asarray(passage_only, dtype=bool)
    if gate_open.any():
        idx = np.flatnonzero(gate_open)
        wc = word_containment_batch(tokens, scored.a[idx], scored.b[idx])
        keep[idx] = (wc >= WORD_GATE) | (wc >= threshold - _EPS)  # see gated()
    return keep


def gated(aligned: float, word_cont: float) -> float:
    """The aligned evidence that counts: all of it at the word gate (``WORD_GATE``)
    or past it; below, a shared passage, not a copy: at most the word
    containment ``word_cont`` (so never the gate, and never the threshold of a
    pair :func:`worth_aligning` drops)."""
    return float(aligned) if word_cont >= WORD_GATE else min(float(aligned), max(0.0, float(word_cont)))


def floor(jaccard: np.ndarray | float, cab: np.ndarray | float, cba: np.ndarray | float,
          shared: np.ndarray | float, ngram: int) -> np.ndarray:
    """The exact shingle evidence: containment either way when the shared
    shingles span ``MIN_CONTAINED_WORDS`` words, else the Jaccard."""
    cont = np.maximum(np.asarray(cab, dtype=np.float64), np.asarray(cba, dtype=np.float64))
    return np.where(np.asarray(shared) >= min_contained(ngram), cont, np.asarray(jaccard, dtype=np.float64))


def similarity(floor_value: np.ndarray | float, aligned: np.ndarray | float) -> np.ndarray:
    """``max(floor, aligned)``: the one similarity of copytrace."""
    return np.maximum(np.asarray(floor_value, dtype=np.float64), np.asarray(aligned, dtype=np.float64))


def decide_arrays(
    jaccard: np.ndarray, cab: np.ndarray, cba: np.ndarray, shared: np.ndarray, aligned: np.ndarray,
    threshold: float, ngram: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(similarity, is_copy) for arrays of pairs (see the module doc)."""
    sim = similarity(floor(jaccard, cab, cba, shared, ngram), aligned)
    return sim, sim >= threshold - _EPS


def decide(
    jaccard: float, cab: float, cba: float, shared: int, threshold: float, ngram: int,
    aligned: float = 0.0, agreement: float = 1.0, exact: bool = False, word_cont: float = 1.0,
) -> Decision:
    """The rule for one pair (see the module doc); ``word_cont``: the pair's
    :func:`word_containment` (aligned evidence counts in full only at ``WORD_GATE`` or more: :func:`gated`)."""
    fl = float(floor(jaccard, cab, cba, shared, ngram))
    aligned = gated(aligned, word_cont)
    sim = float(similarity(fl, aligned))
    is_copy = sim >= threshold - _EPS
    if exact:
        ev = "exact duplicate"
    elif sim <= 0.0:
        ev = "none"
    elif aligned > fl:
        ev = "aligned passages"
    else:
        ev = "shingles"
    return Decision(sim, bool(is_copy), ev, fl, float(aligned), float(agreement), float(threshold), float(word_cont))


def explain(d: Decision, ngram: int = 5) -> str:
    """One line: the verdict, the evidence that decided it, and the threshold."""
    verdict = "COPIES" if d.is_copy else "NOT COPIES"
    rel = "≥" if d.is_copy else "<"
    if d.evidence == "aligned passages":
        how = (f"aligned passages cover {d.aligned:.3f} of the more-contained text"
               f" (anchor agreement {d.agreement:.2f}; exact {ngram}-gram containment {d.floor:.3f})")
        if d.word_cont < WORD_GATE:
            how += (f"; the texts share only {d.word_cont:.3f} of their content words, below the gate"
                    f" {WORD_GATE:g}: a shared passage, counted up to that share")
    elif d.evidence == "exact duplicate":
        how = "the same words"
    elif d.evidence == "shingles":
        how = (f"exact {ngram}-gram containment {d.floor:.3f}"
               f" (aligned passages {d.aligned:.3f}, anchor agreement {d.agreement:.2f})")
    else:
        how = "no shared shingles and no aligned passages"
    return f"{verdict}: similarity {d.similarity:.3f} {rel} threshold {d.threshold:g} — {how}"
