"""Stage 7 — align: two texts → the passages they share, span by span.

Data contract
-------------
``align(text_a, text_b, options=None, *, tokens_a=None, tokens_b=None) -> Alignment``

* ``Alignment.passages``: :class:`Passage` objects sorted by ``(a_start,
  b_start)``.  Offsets are Python ``str`` indices (code points) into the texts
  as given, end exclusive.  A passage normally covers whole segments: it starts
  at the first non-blank character of a segment and ends after the last
  non-blank character of a segment (a sentence keeps its final punctuation,
  never trailing whitespace).  A passage whose core is verbatim is cut to that
  core at token precision (punctuation attached to the end tokens included).
  ``kind`` is ``"verbatim"`` when at least ``verbatim_fraction`` of the word
  tokens of *each* span lie in runs of identical normalized tokens (at least
  ``ngram`` long) shared by the two spans, else ``"reworded"``.
  ``score`` is 1.0 for verbatim passages and otherwise the tf-idf cosine of the
  two spans (stemmed content words, idf over the segments of both texts).
* ``only_in_a`` / ``only_in_b``: maximal runs of word tokens that lie in no
  passage, as ``(start, end)`` char spans from the first token's start to the
  last token's end.
* ``coverage_a`` / ``coverage_b``: fraction of the word tokens inside passages.

``split_sentences(text, tokens) -> np.ndarray`` gives the ``(k, 2)`` spans of
the segments the engine works on (sentences; lines that start with a capital;
paragraphs), each containing at least one token.

The algorithm is symmetric: ``align(b, a)`` mirrors ``align(a, b)``.

Algorithm (after Sanchez-Perez, Sidorov & Gelbukh, PAN 2014)
-----------------------------------------------------------
1. **Segments**: sentence split by a regular expression (``. ! ?`` followed by
   a capital, also without a space as in ``difference.Russian``; ``St.``,
   ``Mr.``, initials and other abbreviations do not split; a blank line, or a
   newline followed by a capital, splits).
2. **Vectors**: every segment is a tf-idf vector over stemmed content words
   (a light Porter-style suffix stripper runs in a numba kernel over the code
   points; a built-in English stopword list is dropped); idf counts segments
   of both texts.
3. **Seeds**: segment pairs with cosine > ``seed_cosine`` and Dice >
   ``seed_dice`` (one numba kernel fills the whole similarity matrix from the
   shared terms), plus pairs of segments joined by a run of at least
   ``min_verbatim_tokens`` identical tokens (shared ``ngram``-grams located
   by hash and extended token by token in numba).
4. **Extension**: seeds are clustered by proximity (the coarsest partition
   in which no two consecutive seeds, on either side, are more than
   ``max_gap`` segments apart: split alternately on each side until stable);
   a cluster spans its first to its last segment on both sides and is kept
   when the tf-idf cosine of the two spans exceeds ``validate_cosine``, else
   re-clustered with a smaller gap.  A cluster made of two transposed blocks
   (a moved paragraph) is split in two.
5. **Summary mode** (``summary``): the seeding and clustering run again with
   lower thresholds (``summary_cosine``, ``summary_dice``,
   ``summary_validate``), a small gap on one side and a large one
   (``summary_gap``) on the other, in both orientations.  Such a candidate is a
   summary when its long side is ``summary_ratio`` times its short side and
   spans ``summary_whole`` of its text, when ``summary_min_seeds`` segments
   are seeded on each side and ``summary_short_coverage`` of the short side,
   and when strong one-to-one candidates do not already explain
   ``summary_explained`` of the short side; the long side is then the whole
   long text (a summary reuses all of it), re-validated.
6. **Filtering**: candidates are taken best first (cosine × the shorter
   side's length); a weaker candidate overlapping a kept one on both sides is
   absorbed, one overlapping on one side loses the seeds in the overlap and is
   re-checked.  Kept passages that follow each other in the same order on
   both sides are then joined when the joined passage validates: at most
   ``merge_gap`` segments apart on each side, or (pieces of a summary)
   adjacent (``merge_short``) on one side, at most ``merge_long`` apart on the
   other, and the joined passage ``summary_ratio`` times longer on one side.
7. **Finishing**: a passage whose shared runs cover ``verbatim_trim`` of their
   extent on both sides, and at least ``verbatim_trim_share`` of the passage,
   is cut to that verbatim core (fringes of at most ``verbatim_fringe`` tokens
   inside the end segments are kept when the other side has a fringe at the
   same end too: a reworded edge; text at an end of one side only is an
   insertion, such as a header, and stays out); when one side is verbatim throughout,
   the other side's core is the densest group of runs (gaps of at most
   ``verbatim_gap`` tokens), so a stray shared phrase nearby does not stop
   the cut.  Passages shorter than ``min_passage_chars`` (longer side) or
   ``min_passage_side`` (shorter side) are dropped, except verbatim passages
   of at least ``min_verbatim_tokens`` tokens that are whole segments on both
   sides (a shared title); reworded passages whose longer side is under
   ``short_chars`` need a cosine of at least ``short_cosine``.

Texts of any length
-------------------
* Two texts with the same token sequence give one verbatim passage, from
  the first segment's start to the last segment's end on each side (found
  directly, whatever the length or repetition).
* idf is smoothed, ``log((n + 1) / df)`` over the ``n`` segments of both
  texts; with fewer than 4 segments in all, weights are plain tf (every
  shared term is in every segment: idf would zero what the texts share).
* Thresholds scale with the shorter text (``n`` tokens, ``c`` characters
  from its first to its last segment): ``ngram`` and
  ``min_verbatim_tokens`` are at most ``n``; ``min_passage_chars`` and
  ``min_passage_side`` at most ``c / 2``; ``verbatim_fringe`` at least
  ``n / 2`` (a near copy of a tweet is not cut to its verbatim core).
  Texts of more than 300 characters and ``min_verbatim_tokens`` tokens use
  the options as given.
* A shared run that is whole segments on both sides (a title, a sentence,
  a whole short text) is a candidate that needs no cosine; it comes after
  every other candidate in the filter.

Bounded work
------------
``max_pair_work`` bounds the segment-similarity products (terms with the
longest posting lists drop out first), ``ngram``-grams occurring more than
64 times in b start no verbatim run, and segment similarities are kept
sparse (no ``na × nb`` matrix), so a pair of 5 MB texts, or one word
repeated a million times, finishes in seconds.

Quality on the PAN 2013 text-alignment corpus (``benchmarks``/``evaluation.pan``):
dated figures in docs/notes-2026-12.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, lru_cache

import numpy as np

from copytrace.kernels import njit
from copytrace.stages.normalize import Tokens, tables, to_codepoints, tokenize
from copytrace.stages.lexicon import ENGLISH_STOPWORDS, content_idx, stem_kernel, stopword_hashes
from copytrace.stages.normalize import mix64
from copytrace.stages.segment import CASELESS, boundaries

__all__ = [
    "Passage",
    "AlignOptions",
    "Alignment",
    "align",
    "prepare",
    "Prepared",
    "split_sentences",
    "ENGLISH_STOPWORDS",
]


# --------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Passage:
    """One shared passage: ``text_a[a_start:a_end]`` ↔ ``text_b[b_start:b_end]``."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    kind: str  # "verbatim" | "reworded"
    score: float  # 0..1, 1.0 for verbatim


@dataclass(frozen=True)
class AlignOptions:
    """Parameters of :func:`align` (defaults tuned on the even-numbered pairs
    of the PAN 2013 text-alignment training corpus, checked on the odd ones).

    Segmentation
      ``split_newlines``: ``"capital"`` (a newline followed by a capital,
      digit, quote or bullet ends a segment; a blank line always does),
      ``"blank"`` (only blank lines) or ``"always"``.
      ``min_seed_tokens``: segments with fewer word tokens never seed a
      passage (they can still lie inside one).

    Vectors
      ``stopwords``: drop the built-in English stopwords from the vectors.
      ``stem``: strip common English suffixes before hashing.

    Seeding
      ``seed_cosine``, ``seed_dice``: a segment pair is a seed when its tf-idf
      cosine and its Dice coefficient (distinct content terms) both exceed
      these.
      ``ngram``: length of the shared token n-grams used to find verbatim runs.
      ``min_verbatim_tokens``: a run of identical tokens at least this long
      seeds the segments it joins; a verbatim passage this long that is whole
      segments on both sides is kept however short.

    Extension
      ``max_gap``: two seeds cluster when at most this many segments lie
      between them (on each side).
      ``min_block``: transposed blocks of at least this many segments (on
      each side) are split into separate passages.
      ``edge_cosine``: if > 0, weak seeds (cosine below it) at a cluster's
      ends, separated from the rest by a gap, are dropped (off by default:
      it costs more recall than it gains precision on PAN).
      ``min_gap``: the gap is reduced down to this while a cluster fails
      validation.
      ``validate_cosine``: a candidate passage is valid when the tf-idf
      cosine of its two spans exceeds this.

    Summary mode (see the module doc): ``summary`` switches it on;
    ``summary_cosine`` / ``summary_dice`` seed thresholds,
    ``summary_validate`` validation threshold, ``summary_gap`` /
    ``summary_short_gap`` gaps on the long / short side, ``summary_ratio``,
    ``summary_whole``, ``summary_min_seeds``, ``summary_short_coverage``,
    ``summary_explained`` and ``summary_explained_cosine`` (which one-to-one
    candidates count as explaining the short side).

    Filtering
      ``min_passage_chars``: passages whose longer side is shorter than this
      are dropped; ``min_passage_side``: the same for the shorter side.
      ``short_chars``, ``short_cosine``: a reworded passage whose longer side
      is shorter than ``short_chars`` needs a cosine of ``short_cosine``.
      ``merge_gap``, ``merge_short``, ``merge_long``: joining of passages
      that follow each other (module doc, step 6; negative: off).
      ``verbatim_fraction``: share of each span's tokens that must lie in
      shared runs for ``kind == "verbatim"``.
      ``verbatim_trim``, ``verbatim_trim_share``, ``verbatim_fringe``: the
      cut to a verbatim core (module doc, step 7; ``verbatim_trim=0`` turns
      it off); ``verbatim_gap``: when one side is verbatim throughout, the
      other side's core is its densest group of runs, split at gaps longer
      than this many tokens (0: off).

    Bounds (any pair finishes in bounded time)
      ``max_pair_work``: at most this many segment-pair products of term
      postings when the segment similarities are computed (≈ 1 ns each);
      beyond it the terms with the longest posting lists (a word or sentence
      repeated thousands of times) are left out of the seed similarities,
      most frequent first.  Shared ``ngram``-grams occurring more than 64
      times in b never start a verbatim run.
    """

    split_newlines: str = "capital"
    min_seed_tokens: int = 3
    stopwords: bool = True
    stem: bool = True
    seed_cosine: float = 0.33
    seed_dice: float = 0.33
    ngram: int = 5
    min_verbatim_tokens: int = 8
    max_gap: int = 4
    min_block: int = 3
    edge_cosine: float = 0.0
    min_gap: int = 0
    validate_cosine: float = 0.37
    summary: bool = True
    summary_ratio: float = 3.0
    summary_whole: float = 0.5
    summary_validate: float = 0.25
    summary_min_seeds: int = 3
    summary_explained: float = 0.5
    summary_explained_cosine: float = 0.5
    summary_short_coverage: float = 0.6
    summary_gap: int = 24
    summary_short_gap: int = 3
    summary_cosine: float = 0.2
    summary_dice: float = 0.2
    short_chars: int = 250
    short_cosine: float = 0.5
    min_passage_chars: int = 150
    min_passage_side: int = 150
    verbatim_fraction: float = 0.97
    verbatim_trim: float = 0.9
    verbatim_trim_share: float = 0.25
    verbatim_fringe: int = 4
    verbatim_gap: int = 8
    merge_gap: int = 5
    merge_short: int = 0
    merge_long: int = 25
    max_pair_work: int = 20_000_000

    def __post_init__(self) -> None:
        """Each field checked: an OptionError names a bad one ("seed_cosine must be in [0, 1], got 2")."""
        for name, default, check in _align_checks():
            value = getattr(self, name)
            if value is not default and value != default:  # the defaults are valid (and align() is hot)
                check(name, value)


@lru_cache(maxsize=1)
def _default_options() -> AlignOptions:
    """The default options, built (and checked) once: align() is called per pair."""
    return AlignOptions()


@lru_cache(maxsize=1)
def _align_checks() -> tuple:
    """(field, default, constraint) of every AlignOptions field."""
    from copytrace.config import FloatRange, IntRange, OneOf

    share, count = FloatRange(0.0, 1.0), IntRange(0)
    checks = {"split_newlines": OneOf(("capital", "blank", "always")), "ngram": IntRange(1, 64),
              "min_verbatim_tokens": IntRange(1), "min_block": IntRange(1), "summary_ratio": FloatRange(1.0, 1e6),
              "max_pair_work": IntRange(1, 2**62),
              **dict.fromkeys(("merge_gap", "merge_short", "merge_long"), IntRange(-(2**31), 2**31 - 1)),
              **dict.fromkeys(("min_seed_tokens", "max_gap", "min_gap", "summary_min_seeds", "summary_gap",
                               "summary_short_gap", "short_chars", "min_passage_chars", "min_passage_side",
                               "verbatim_fringe", "verbatim_gap"), count),
              **dict.fromkeys(("seed_cosine", "seed_dice", "edge_cosine", "validate_cosine", "summary_whole",
                               "summary_validate", "summary_explained", "summary_explained_cosine",
                               "summary_short_coverage", "summary_cosine", "summary_dice", "short_cosine",
                               "verbatim_fraction", "verbatim_trim", "verbatim_trim_share"), share)}
    by_type = {"int": IntRange(-(2**31), 2**31 - 1), "float": FloatRange(-1e300, 1e300), "bool": OneOf((True, False))}
    out = []
    for f in fields(AlignOptions):
        check = checks.get(f.name) or by_type.get(str(f.type))  # a new field: its type at least
        if check is not None:
            out.append((f.name, f.default, check))
    return tuple(out)


@dataclass(frozen=True)
class Alignment:
    passages: list[Passage]
    only_in_a: list[tuple[int, int]]
    only_in_b: list[tuple[int, int]]
    coverage_a: float
    coverage_b: float


# --------------------------------------------------------------------------
# Segmentation
# --------------------------------------------------------------------------

_ABBREVIATIONS = (
    "Mr Mrs Ms Dr St Jr Sr Prof Gen Col Lt Sgt Capt Cpl Adm Maj Rep Reps Sen Gov "
    "Rev Hon Pres Supt Det Inc Ltd Co Corp Bros vs No Nos Vol Fig Jan Feb Apr "
    "Jun Jul Aug Sep Sept Oct Nov Dec Mt Ft Ave Blvd approx Dept Univ ca cf al pp "
    "e.g i.e etc"
).split()
# checked right after the period, so the engine only tries them at periods
_NOT_ABBREV = "".join(rf"(?<!\b{re.escape(a)}\.)" for a in _ABBREVIATIONS) + r"(?<!\b[A-Z]\.)"
_UPPER = "A-ZÀ-ÖØ-ÞĀ-ſ" + "А-ЯЁΑ-Ω"  # Latin ext-A includes lowercase; harmless
_CASELESS = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in CASELESS)
_CLOSE = "\"'”’»)\\]"
_SPACE = " \\t\\u00a0"
_END_PUNCT = rf"(?:\.{_NOT_ABBREV}|[!?…])[.!?…]*[{_CLOSE}]*"
_BOUNDARY_BASE = (
    # sentence punctuation, spaces, then anything but a lowercase letter
    rf"{_END_PUNCT}(?:[{_SPACE}]*\n\s*|[{_SPACE}]+)(?![a-z])(?=\S)"
    # a period glued to a capitalised word: "difference.Russian"
    rf"|\.{_NOT_ABBREV}(?=[{_UPPER}][a-z])"
    # CJK full stops
    r"|[。！？]+[」』”’)）]*\s*"
    # a blank line
    rf"|\n[{_SPACE}\r]*\n\s*"
)
# The reference definition of segment boundaries: stages/segment.py reproduces these
# matches in a numba kernel (tests check them against each other).
# the leading lookahead lets the scanner skip quickly to candidate characters
_BOUNDARY_SOURCE = {
    "blank": rf"(?=[.!?…。！？\n])(?:{_BOUNDARY_BASE})",
    "capital": (
        rf"(?=[.!?…。！？\r\n])(?:{_BOUNDARY_BASE}"
        + rf"|\r?\n[{_SPACE}]*(?=[{_UPPER}{_CASELESS}0-9\"“‘'(\[•*#·–—（「『【-]))"
    ),
    "always": rf"(?=[.!?…。！？\n])(?:{_BOUNDARY_BASE}|\n\s*)",
}


class _Patterns(dict):
    """Compiled on first use (compiling all three costs a command's start-up ~30 ms)."""

    def __missing__(self, mode: str) -> re.Pattern[str]:
        pattern = self[mode] = re.compile(_BOUNDARY_SOURCE[mode])
        return pattern


_BOUNDARY: dict[str, re.Pattern[str]] = _Patterns()


@njit(cache=True, inline="always")
def _is_space(c):
    return (
        c == 32
        or (9 <= c <= 13)
        or c == 0xA0
        or c == 0x85
        or (0x2000 <= c <= 0x200B)
        or c == 0x2028
        or c == 0x2029
        or c == 0x202F
        or c == 0x205F
        or c == 0x3000
        or c == 0xFEFF
    )


@njit(cache=True, nogil=True)
def segment_spans(cps, raw_lo, raw_hi, tok_lo, tok_hi):
    k = raw_lo.shape[0]
    out = np.empty((k, 2), dtype=np.int64)
    for i in range(k):
        s = raw_lo[i]
        while s < tok_lo[i] and _is_space(cps[s]):
            s += 1
        e = raw_hi[i]
        while e > tok_hi[i] and _is_space(cps[e - 1]):
            e -= 1
        out[i, 0] = s
        out[i, 1] = e
    return out


@dataclass
class _SentenceSpans:
    spans: np.ndarray  # (k, 2) int64 char spans
    tok_seg: np.ndarray  # segment of each token
    tok_ptr: np.ndarray  # (k+1,) first token of each segment
    ntok: np.ndarray  # tokens per segment
    # k -> the shortest char span of k consecutive segments (summary mode's length bound), once per text
    shortest_runs: dict = field(default_factory=dict, repr=False, compare=False)
    # the spans' starts and ends as lists of ints (for _char_len), once per text
    span_lists: tuple[list[int], list[int]] | None = field(default=None, repr=False, compare=False)


@njit(cache=True, nogil=True)
def _segments_kernel(cps, bounds, starts, ends, text_len):
    """Segments holding tokens, from the boundary positions (sorted) and the
    token spans: each token's segment, each segment's first token, and each
    segment's char span without surrounding whitespace."""
    n = starts.shape[0]
    tok_seg = np.empty(n, dtype=np.int64)
    ptr = np.empty(n + 1, dtype=np.int64)
    raw_lo = np.empty(n, dtype=np.int64)
    raw_hi = np.empty(n, dtype=np.int64)
    nbd = bounds.shape[0]
    b = 0  # boundaries <= the current token's start
    k = -1
    prev_raw = -1
    for t in range(n):
        st = starts[t]
        while b < nbd and bounds[b] <= st:
            b += 1
        if b != prev_raw:
            k += 1
            ptr[k] = t
            raw_lo[k] = bounds[b - 1] if b > 0 else 0
            raw_hi[k] = bounds[b] if b < nbd else text_len
            prev_raw = b
        tok_seg[t] = k
    nseg = k + 1
    ptr[nseg] = n
    spans = np.empty((nseg, 2), dtype=np.int64)
    for i in range(nseg):
        s = raw_lo[i]
        lo_tok = starts[ptr[i]]
        while s < lo_tok and _is_space(cps[s]):
            s += 1
        e = raw_hi[i]
        hi_tok = ends[ptr[i + 1] - 1]
        while e > hi_tok and _is_space(cps[e - 1]):
            e -= 1
        spans[i, 0] = s
        spans[i, 1] = e
    tok_ptr = ptr[: nseg + 1].copy()
    return spans, tok_seg, tok_ptr


def _segments(text: str, tokens: Tokens, mode: str = "capital", cps: np.ndarray | None = None) -> _SentenceSpans:
    if cps is None:
        cps = to_codepoints(text)
    bounds = boundaries(cps, mode) if len(tokens) else np.zeros(0, dtype=np.int64)
    spans, tok_seg, tok_ptr = _segments_kernel(cps, bounds.astype(np.int64), tokens.starts, tokens.ends, len(text))
    return _SentenceSpans(spans, tok_seg, tok_ptr, np.diff(tok_ptr))


def split_sentences(text: str, tokens: Tokens | None = None, mode: str = "capital") -> np.ndarray:
    """``(k, 2)`` int64 array of the ``[start, end)`` char spans of the
    segments (sentences, capitalised lines, paragraphs) of ``text``; every
    segment holds at least one token and has no surrounding whitespace."""
    if tokens is None:
        tokens = tokenize(text)
    return _segments(text, tokens, mode).spans


# --------------------------------------------------------------------------
# Kernels: segment similarity, verbatim runs
# --------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _gram_hashes(h, n):
    m = h.shape[0] - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    out = np.empty(m, dtype=np.uint64)
    for i in range(m):
        x = np.uint64(0x9E3779B97F4A7C15)
        for k in range(n):
            x = mix64(x ^ h[i + k]) + np.uint64(k)
        out[i] = x
    return out


@njit(cache=True, nogil=True)
def _verbatim_runs(ha, hb, n, min_len, max_occ):
    """Maximal runs ``(i, j, length)`` of identical tokens, ``ha[i:i+length]
    == hb[j:j+length]``, at least ``min_len`` long, found from shared
    ``n``-grams (n-grams occurring more than ``max_occ`` times in b are
    skipped)."""
    ga = _gram_hashes(ha, n)
    gb = _gram_hashes(hb, n)
    # b's n-grams in a hash table: per distinct gram its count and the chain
    # of its positions (ascending), so a lookup costs O(1), not a sort
    mb = gb.shape[0]
    size = 16
    while size < 2 * mb:
        size *= 2
    mask = size - 1
    keys = np.zeros(size, dtype=np.uint64)
    head = np.full(size, -1, dtype=np.int64)
    tail = np.empty(size, dtype=np.int64)
    count = np.zeros(size, dtype=np.int64)
    nxt = np.full(max(mb, 1), -1, dtype=np.int64)
    for j in range(mb):
        g = gb[j]
        slot = np.int64(g & np.uint64(mask))
        while head[slot] >= 0 and keys[slot] != g:
            slot = (slot + 1) & mask
        if head[slot] < 0:
            keys[slot] = g
            head[slot] = j
        else:
            nxt[tail[slot]] = j
        tail[slot] = j
        count[slot] += 1
    cap = 16
    ri = np.empty(cap, dtype=np.int64)
    rj = np.empty(cap, dtype=np.int64)
    rl = np.empty(cap, dtype=np.int64)
    nr = 0
    la = ha.shape[0]
    lb = hb.shape[0]
    for i in range(ga.shape[0]):
        g = ga[i]
        slot = np.int64(g & np.uint64(mask))
        while head[slot] >= 0 and keys[slot] != g:
            slot = (slot + 1) & mask
        if head[slot] < 0 or count[slot] > max_occ:
            continue
        q = head[slot]
        while q >= 0:
            j = q
            q = nxt[q]
            if i > 0 and j > 0 and ha[i - 1] == hb[j - 1]:
                continue  # inside a run found from an earlier start
            k = 0
            while i + k < la and j + k < lb and ha[i + k] == hb[j + k]:
                k += 1
            if k >= min_len:
                if nr == cap:
                    cap *= 2
                    ri2 = np.empty(cap, dtype=np.int64)
                    rj2 = np.empty(cap, dtype=np.int64)
                    rl2 = np.empty(cap, dtype=np.int64)
                    ri2[:nr] = ri[:nr]
                    rj2[:nr] = rj[:nr]
                    rl2[:nr] = rl[:nr]
                    ri, rj, rl = ri2, rj2, rl2
                ri[nr] = i
                rj[nr] = j
                rl[nr] = k
                nr += 1
    return ri[:nr].copy(), rj[:nr].copy(), rl[:nr].copy()


# --------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------


@dataclass
class _Side:
    text: str
    tokens: Tokens
    seg: _SentenceSpans
    # content entries, sorted by segment: term id and tf-idf weight
    ent_term: np.ndarray = field(init=False)
    ent_w: np.ndarray = field(init=False)
    ent_ptr: np.ndarray = field(init=False)  # by segment
    norm: np.ndarray = field(init=False)


@dataclass(frozen=True)
class Prepared:
    """A text made ready for :func:`align` by :func:`prepare`: its tokens,
    sentence segments and content terms (stopwords out, stems in) — the part
    of an alignment that depends on one side only.  Prepare a text once to
    align it with many others (the index aligns a query with each match)."""

    text: str
    tokens: Tokens
    seg: _SentenceSpans
    content_idx: np.ndarray  # tokens that are content words
    stems: np.ndarray  # their stem hashes
    options: AlignOptions


def prepare(text: str, options: AlignOptions | None = None, *, tokens: Tokens | None = None) -> Prepared:
    """One side of an alignment, computed once (see :class:`Prepared`)."""
    opt = options or _default_options()
    if tokens is None:
        tokens = tokenize(text)
    cps = to_codepoints(text)
    seg = _segments(text, tokens, opt.split_newlines, cps)
    if opt.stopwords and len(tokens):
        idx = content_idx(tokens.hashes, stopword_hashes())
    else:
        idx = np.arange(len(tokens), dtype=np.int64)
    if opt.stem and idx.size:
        cls, fold, exp_data, exp_off = tables()
        stems = stem_kernel(cps, tokens.starts[idx], tokens.ends[idx], cls, fold, exp_data, exp_off)
    else:
        stems = tokens.hashes[idx]
    return Prepared(text, tokens, seg, idx, stems, opt)


def _side(p: Prepared) -> tuple[_Side, tuple[np.ndarray, np.ndarray]]:
    """A fresh engine side (its vectors are filled per pair) from a prepared text."""
    return _Side(p.text, p.tokens, p.seg), (p.content_idx, p.stems)


@njit(cache=True, nogil=True)
def _vectors_kernel(stems_a, seg_a, na, stems_b, seg_b, nb_):
    """tf-idf entries of both sides' segments over their shared vocabulary
    (idf over the segments of both texts): per side, entries sorted by
    (segment, term) with a CSR pointer by segment, the segments' norms and
    distinct-term counts.  Returns V too (0: no content term)."""
    ma = stems_a.shape[0]
    m = ma + stems_b.shape[0]
    allst = np.empty(m, dtype=np.uint64)
    allst[:ma] = stems_a
    allst[ma:] = stems_b
    order = np.argsort(allst)
    inv = np.empty(m, dtype=np.int64)
    V = 0
    for k in range(m):
        if k > 0 and allst[order[k]] != allst[order[k - 1]]:
            V += 1
        inv[order[k]] = V
    if m > 0:
        V += 1
    n_seg = na + nb_
    keys = np.empty(m, dtype=np.int64)
    for k in range(ma):
        keys[k] = seg_a[k] * V + inv[k]
    for k in range(ma, m):
        keys[k] = (seg_b[k - ma] + na) * V + inv[k]
    keys.sort()
    # distinct keys: entries (segment, term) with their term frequency
    ne = 0
    for k in range(m):
        if k == 0 or keys[k] != keys[k - 1]:
            ne += 1
    eseg = np.empty(ne, dtype=np.int64)
    eterm = np.empty(ne, dtype=np.int64)
    tf = np.zeros(ne, dtype=np.float64)
    e = -1
    for k in range(m):
        if k == 0 or keys[k] != keys[k - 1]:
            e += 1
            eseg[e] = keys[k] // V
            eterm[e] = keys[k] % V
        tf[e] += 1.0
    df = np.zeros(max(V, 1), dtype=np.int64)
    for k in range(ne):
        df[eterm[k]] += 1
    w = np.empty(ne, dtype=np.float64)
    for k in range(ne):
        # smoothed idf; with fewer than 4 segments in all, every shared term
        # is in every segment and idf says nothing: tf weights
        w[k] = tf[k] * math.log((n_seg + 1) / df[eterm[k]]) if n_seg >= 4 else tf[k]
    cut = 0
    while cut < ne and eseg[cut] < na:
        cut += 1
    a_ptr = np.zeros(na + 1, dtype=np.int64)
    b_ptr = np.zeros(nb_ + 1, dtype=np.int64)
    a_norm = np.zeros(na, dtype=np.float64)
    b_norm = np.zeros(nb_, dtype=np.float64)
    for k in range(cut):
        a_ptr[eseg[k] + 1] += 1
        a_norm[eseg[k]] += w[k] * w[k]
    for k in range(cut, ne):
        b_ptr[eseg[k] - na + 1] += 1
        b_norm[eseg[k] - na] += w[k] * w[k]
    for i in range(na):
        a_ptr[i + 1] += a_ptr[i]
    for i in range(nb_):
        b_ptr[i + 1] += b_ptr[i]
    return (V, a_ptr, eterm[:cut].copy(), w[:cut].copy(), np.sqrt(a_norm),
            b_ptr, eterm[cut:].copy(), w[cut:].copy(), np.sqrt(b_norm))


@njit(cache=True, nogil=True)
def _pair_sims_kernel(a_ptr, a_term, a_w, a_norm, b_ptr, b_term, b_w, b_norm, V,
                      elig_a, elig_b, cos_lo, dice_lo, max_work):
    """Cosine and Dice (distinct shared terms) of the eligible segment pairs
    that share a term, kept when both exceed ``cos_lo`` / ``dice_lo``: sparse
    ``(i, j, cos, dice)`` sorted by (i, j).  The work is bounded: when the
    term postings multiply to more than ``max_work`` (segment-pair products),
    the terms with the largest products are left out of these similarities
    until the rest fits (they stay in every passage cosine).  Returns the
    number of terms left out too."""
    na = a_ptr.shape[0] - 1
    nb_ = b_ptr.shape[0] - 1
    if V == 0 or na == 0 or nb_ == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), np.zeros(0), np.zeros(0), 0
    # term-major (CSR by term) entries of b, eligible segments only
    tptr = np.zeros(V + 1, dtype=np.int64)
    cnt_a = np.zeros(V, dtype=np.int64)
    for j in range(nb_):
        if elig_b[j]:
            for q in range(b_ptr[j], b_ptr[j + 1]):
                tptr[b_term[q] + 1] += 1
    for i in range(na):
        if elig_a[i]:
            for p in range(a_ptr[i], a_ptr[i + 1]):
                cnt_a[a_term[p]] += 1
    # the work bound
    use = np.ones(V, dtype=np.bool_)
    work = 0
    for t in range(V):
        work += cnt_a[t] * tptr[t + 1]
    dropped = 0
    if work > max_work:
        prod = np.empty(V, dtype=np.int64)
        for t in range(V):
            prod[t] = cnt_a[t] * tptr[t + 1]
        order = np.argsort(-prod, kind="mergesort")
        for k in range(V):
            if work <= max_work:
                break
            t = order[k]
            work -= prod[t]
            use[t] = False
            dropped += 1
    for t in range(V):
        tptr[t + 1] += tptr[t]
    fill = tptr[:-1].copy()
    m_b = tptr[V]
    t_seg = np.empty(m_b, dtype=np.int64)
    t_w = np.empty(m_b, dtype=np.float64)
    for j in range(nb_):
        if elig_b[j]:
            for q in range(b_ptr[j], b_ptr[j + 1]):
                t = b_term[q]
                t_seg[fill[t]] = j
                t_w[fill[t]] = b_w[q]
                fill[t] += 1
    row = np.zeros(nb_, dtype=np.float64)
    shared = np.zeros(nb_, dtype=np.int64)
    touched = np.empty(nb_, dtype=np.int64)
    cap = 64
    oi = np.empty(cap, dtype=np.int64)
    oj = np.empty(cap, dtype=np.int64)
    oc = np.empty(cap, dtype=np.float64)
    od = np.empty(cap, dtype=np.float64)
    n_out = 0
    for i in range(na):
        if not elig_a[i]:
            continue
        nt = 0
        for p in range(a_ptr[i], a_ptr[i + 1]):
            t = a_term[p]
            if not use[t]:
                continue
            wa = a_w[p]
            for q in range(tptr[t], tptr[t + 1]):
                j = t_seg[q]
                if shared[j] == 0:
                    touched[nt] = j
                    nt += 1
                row[j] += wa * t_w[q]
                shared[j] += 1
        if nt == 0:
            continue
        tj = np.sort(touched[:nt])
        nta = a_ptr[i + 1] - a_ptr[i]
        for x in range(nt):
            j = tj[x]
            den = a_norm[i] * b_norm[j]
            c = row[j] / den if den > 0 else 0.0
            d = 2.0 * shared[j] / max(nta + b_ptr[j + 1] - b_ptr[j], 1)
            row[j] = 0.0
            shared[j] = 0
            if c > cos_lo and d > dice_lo:
                if n_out == cap:
                    cap *= 2
                    oi2 = np.empty(cap, dtype=np.int64)
                    oj2 = np.empty(cap, dtype=np.int64)
                    oc2 = np.empty(cap, dtype=np.float64)
                    od2 = np.empty(cap, dtype=np.float64)
                    oi2[:n_out] = oi[:n_out]
                    oj2[:n_out] = oj[:n_out]
                    oc2[:n_out] = oc[:n_out]
                    od2[:n_out] = od[:n_out]
                    oi, oj, oc, od = oi2, oj2, oc2, od2
                oi[n_out] = i
                oj[n_out] = j
                oc[n_out] = c
                od[n_out] = d
                n_out += 1
    return oi[:n_out].copy(), oj[:n_out].copy(), oc[:n_out].copy(), od[:n_out].copy(), dropped


@njit(cache=True, nogil=True)
def _seed_kernel(si, sj, sc, sd, cos_t, dice_t, nb_, tok_seg_a, tok_seg_b, ri, rj, rl, min_run):
    """Seeds: the segment pairs of the sparse similarities with cosine >
    cos_t and Dice > dice_t, plus every segment pair joined by a shared run
    of at least ``min_run`` tokens; sorted by (a, b), distinct."""
    n_run = 0
    for r in range(ri.shape[0]):
        if rl[r] >= min_run:
            n_run += rl[r]
    keys = np.empty(si.shape[0] + n_run, dtype=np.int64)
    k = 0
    for x in range(si.shape[0]):
        if sc[x] > cos_t and sd[x] > dice_t:
            keys[k] = si[x] * nb_ + sj[x]
            k += 1
    for r in range(ri.shape[0]):
        if rl[r] < min_run:
            continue
        for o in range(rl[r]):
            keys[k] = tok_seg_a[ri[r] + o] * nb_ + tok_seg_b[rj[r] + o]
            k += 1
    keys = np.sort(keys[:k])
    n = 0
    for x in range(k):
        if x == 0 or keys[x] != keys[x - 1]:
            keys[n] = keys[x]
            n += 1
    ia = np.empty(n, dtype=np.int64)
    ib = np.empty(n, dtype=np.int64)
    for x in range(n):
        ia[x] = keys[x] // nb_
        ib[x] = keys[x] % nb_
    return ia, ib


@njit(cache=True, nogil=True)
def _front_kernel(stems_a, content_a, tok_seg_a, ntok_a, hashes_a, stems_b, content_b, tok_seg_b, ntok_b, hashes_b,
                  min_seed_tokens, lo_cos, lo_dice, max_work, ngram, runs, cos_t, dice_t, min_run):
    """The start of every alignment in one call: the tf-idf vectors of both
    sides' segments (:func:`_vectors_kernel`), the segment-pair similarities
    of the eligible segments (:func:`_pair_sims_kernel`), the verbatim runs
    (:func:`_verbatim_runs`, when ``runs``) and the seeds at ``cos_t`` /
    ``dice_t`` (:func:`_seed_kernel`)."""
    na = ntok_a.shape[0]
    nb_ = ntok_b.shape[0]
    seg_a = np.empty(content_a.shape[0], dtype=np.int64)
    for k in range(content_a.shape[0]):
        seg_a[k] = tok_seg_a[content_a[k]]
    seg_b = np.empty(content_b.shape[0], dtype=np.int64)
    for k in range(content_b.shape[0]):
        seg_b[k] = tok_seg_b[content_b[k]]
    V, a_ptr, a_term, a_w, a_norm, b_ptr, b_term, b_w, b_norm = _vectors_kernel(stems_a, seg_a, na, stems_b, seg_b,
                                                                                nb_)
    elig_a = ntok_a >= min_seed_tokens
    elig_b = ntok_b >= min_seed_tokens
    si, sj, sc, sd, _ = _pair_sims_kernel(a_ptr, a_term, a_w, a_norm, b_ptr, b_term, b_w, b_norm, V,
                                          elig_a, elig_b, lo_cos, lo_dice, max_work)
    if runs:
        ri, rj, rl = _verbatim_runs(hashes_a, hashes_b, ngram, ngram, 64)
    else:
        ri = np.zeros(0, np.int64)
        rj = np.zeros(0, np.int64)
        rl = np.zeros(0, np.int64)
    s_a, s_b = _seed_kernel(si, sj, sc, sd, cos_t, dice_t, max(nb_, 1), tok_seg_a, tok_seg_b, ri, rj, rl, min_run)
    return (V, a_ptr, a_term, a_w, a_norm, b_ptr, b_term, b_w, b_norm, si, sj, sc, sd, ri, rj, rl, s_a, s_b)


class _PairAligner:
    def __init__(self, sa: _Side, sb: _Side, ca: tuple[np.ndarray, np.ndarray], cb: tuple[np.ndarray, np.ndarray],
                 opt: AlignOptions):
        """Both sides' vectors (set on ``sa`` / ``sb``), the similarities, the
        verbatim runs and the first seeds (``opt.seed_cosine``/``seed_dice``),
        in one kernel call (:func:`_front_kernel`)."""
        self.a, self.b, self.opt = sa, sb, opt
        na, nb_ = len(sa.seg.ntok), len(sb.seg.ntok)
        self.na, self.nb = na, nb_
        # segment pairs similar enough to seed in either mode
        lo_cos = min(opt.seed_cosine, opt.summary_cosine) if opt.summary else opt.seed_cosine
        lo_dice = min(opt.seed_dice, opt.summary_dice) if opt.summary else opt.seed_dice
        if opt.edge_cosine > 0:
            lo_cos, lo_dice = -1.0, -1.0  # edge pruning looks up weak seeds' cosines too
        (ia, stems_a), (ib, stems_b) = ca, cb
        runs = len(sa.tokens) >= opt.ngram and len(sb.tokens) >= opt.ngram
        (V, sa.ent_ptr, sa.ent_term, sa.ent_w, sa.norm, sb.ent_ptr, sb.ent_term, sb.ent_w, sb.norm,
         si, sj, sc, sd, ri, rj, rl, s_a, s_b) = _front_kernel(
            stems_a, ia, sa.seg.tok_seg, sa.seg.ntok, sa.tokens.hashes,
            stems_b, ib, sb.seg.tok_seg, sb.seg.ntok, sb.tokens.hashes,
            opt.min_seed_tokens, lo_cos, lo_dice, opt.max_pair_work, opt.ngram, runs,
            opt.seed_cosine, opt.seed_dice, opt.min_verbatim_tokens,
        )
        self.V = V
        self.sims = (si, sj, sc, sd)
        self.runs = (ri, rj, rl)
        self._first_seeds = (opt.seed_cosine, opt.seed_dice, s_a, s_b)
        self._acc_a = np.zeros(max(V, 1))
        self._acc_b = np.zeros(max(V, 1))

    @cached_property
    def elig_a(self) -> np.ndarray:
        return self.a.seg.ntok >= self.opt.min_seed_tokens

    @cached_property
    def elig_b(self) -> np.ndarray:
        return self.b.seg.ntok >= self.opt.min_seed_tokens

    # eligible segments before each segment (eligible among lo..hi: cum[hi + 1] - cum[lo]); summary mode only
    @cached_property
    def elig_cum_a(self) -> list[int]:
        return [0, *np.cumsum(self.elig_a).tolist()]

    @cached_property
    def elig_cum_b(self) -> list[int]:
        return [0, *np.cumsum(self.elig_b).tolist()]

    def cos_at(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """Segment-pair cosines (0 where the pair shares no used term)."""
        si, sj, sc, _ = self.sims
        nb_ = max(self.nb, 1)
        keys = si * nb_ + sj
        q = ia * nb_ + ib
        pos = np.searchsorted(keys, q).clip(max=max(keys.size - 1, 0))
        if keys.size == 0:
            return np.zeros(q.size)
        return np.where(keys[pos] == q, sc[pos], 0.0)

    # -- seeds ------------------------------------------------------------
    def seeds(self, cos_t: float, dice_t: float) -> tuple[np.ndarray, np.ndarray]:
        first = self._first_seeds
        if first[0] == cos_t and first[1] == dice_t:
            return first[2], first[3]
        ri, rj, rl = self.runs
        si, sj, sc, sd = self.sims
        return _seed_kernel(
            si, sj, sc, sd, cos_t, dice_t, max(self.nb, 1),
            self.a.seg.tok_seg, self.b.seg.tok_seg, ri, rj, rl, self.opt.min_verbatim_tokens,
        )

    # -- passage similarity ---------------------------------------------
    def passage_cos(self, a0: int, a1: int, b0: int, b1: int) -> float:
        if self.V == 0:
            return 0.0
        a, b = self.a, self.b
        return float(
            _passage_cos(a.ent_ptr, a.ent_term, a.ent_w, b.ent_ptr, b.ent_term, b.ent_w,
                         a0, a1, b0, b1, self._acc_a, self._acc_b)
        )

    # -- extension ----------------------------------------------------------
    def _clusters(self, sa, sb, gap_a, gap_b, min_gap, threshold):
        """Clusters of seeds that validate, as one CSR set with their stats:
        (ga, gb, ptr, sims, stats), one kernel call (:func:`_clusters_kernel`)."""
        a, b = self.a, self.b
        return _clusters_kernel(
            sa, sb, gap_a, gap_b, min_gap, threshold,
            a.ent_ptr, a.ent_term, a.ent_w, b.ent_ptr, b.ent_term, b.ent_w,
            self._acc_a, self._acc_b,
        )

    def extend(self, sa, sb, gap_a, gap_b, min_gap, threshold):
        """Clusters of seeds that validate: list of (seeds_a, seeds_b, cos,
        (a0, a1, b0, b1)), the last the cluster's first and last segment on each side."""
        if sa.size == 0 or self.V == 0:
            return []
        ga, gb, gptr, sims, stats = self._clusters(sa, sb, gap_a, gap_b, min_gap, threshold)
        p = gptr.tolist()
        sm = sims.tolist()
        st = stats[:, :4].tolist()
        return [(ga[p[k] : p[k + 1]], gb[p[k] : p[k + 1]], sm[k], st[k]) for k in range(len(p) - 1)]

    def extend_stats(self, sa, sb, gap_a, gap_b, min_gap, threshold):
        """The clusters of :meth:`extend` (same order) as one CSR set:
        ``(ga, gb, ptr, sims, stats)``, ``stats[k]`` = the first and last
        segment of cluster k on each side and its distinct segments on each
        side (a0, a1, b0, b1, n_a, n_b)."""
        if sa.size == 0 or self.V == 0:
            z = np.zeros(0, np.int64)
            return z, z, np.zeros(1, np.int64), np.zeros(0), np.zeros((0, 6), np.int64)
        return self._clusters(sa, sb, gap_a, gap_b, min_gap, threshold)


@njit(cache=True, nogil=True)
def _passage_cos(a_ptr, a_term, a_w, b_ptr, b_term, b_w, a0, a1, b0, b1, acc_a, acc_b):
    """tf-idf cosine of segments a0..a1 (inclusive) and b0..b1; the
    accumulators (length V, zero) are left zeroed."""
    p0, p1 = a_ptr[a0], a_ptr[a1 + 1]
    q0, q1 = b_ptr[b0], b_ptr[b1 + 1]
    for p in range(p0, p1):
        acc_a[a_term[p]] += a_w[p]
    for q in range(q0, q1):
        acc_b[b_term[q]] += b_w[q]
    # weights are positive: a visited term is marked by negating it
    na = 0.0
    for p in range(p0, p1):
        t = a_term[p]
        v = acc_a[t]
        if v > 0.0:
            na += v * v
            acc_a[t] = -v
    nb2 = 0.0
    dot = 0.0
    for q in range(q0, q1):
        t = b_term[q]
        v = acc_b[t]
        if v > 0.0:
            nb2 += v * v
            x = acc_a[t]
            if x < 0.0:
                dot -= v * x
            acc_b[t] = 0.0
    for p in range(p0, p1):
        acc_a[a_term[p]] = 0.0
    den = math.sqrt(na * nb2)
    if den > 0.0:
        return dot / den
    return 0.0


@njit(cache=True, nogil=True)
def _split_gaps(idx, vals, gap):
    """Split ``idx`` (sorted by vals) where consecutive values jump by more
    than gap + 1; returns the sorted order and the cut points."""
    v = vals[idx]
    order = idx[np.argsort(v, kind="mergesort")]
    cuts = [0]
    for k in range(1, order.shape[0]):
        if vals[order[k]] - vals[order[k - 1]] > gap + 1:
            cuts.append(k)
    cuts.append(order.shape[0])
    return order, cuts


@njit(cache=True, nogil=True)
def _shrink_nb(g):
    if g > 4:
        return g // 2
    return g - 1


@njit(cache=True, nogil=True)
def _extend_kernel(sa, sb, gap_a, gap_b, min_gap, threshold,
                   a_ptr, a_term, a_w, b_ptr, b_term, b_w, acc_a, acc_b):
    """Cluster seeds (sa[k], sb[k]) into groups with no gap larger than the
    allowed one on either side (the coarsest such partition, found by
    splitting alternately on each side until stable); a group whose spans
    have a tf-idf cosine above ``threshold`` is a candidate, the others are
    re-clustered with smaller gaps.  Returns a label per seed (-1: dropped)
    and the cosine of each label."""
    n = sa.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    sims = np.zeros(n, dtype=np.float64)
    n_lab = 0
    work = [(np.arange(n), gap_a, gap_b)]
    while len(work) > 0:
        idx, ga, gb = work.pop()
        stack = [(idx, 0, 0)]
        while len(stack) > 0:
            s, side, stable = stack.pop()
            if side == 0:
                order, cuts = _split_gaps(s, sa, ga)
            else:
                order, cuts = _split_gaps(s, sb, gb)
            if len(cuts) == 2:
                if stable >= 1:
                    # gap-free on both sides: validate
                    a0 = sa[order].min()
                    a1 = sa[order].max()
                    b0 = sb[order].min()
                    b1 = sb[order].max()
                    sim = _passage_cos(a_ptr, a_term, a_w, b_ptr, b_term, b_w,
                                       a0, a1, b0, b1, acc_a, acc_b)
                    if sim > threshold:
                        for k in order:
                            labels[k] = n_lab
                        sims[n_lab] = sim
                        n_lab += 1
                    elif ga > min_gap or gb > min_gap:
                        work.append((order, max(_shrink_nb(ga), min_gap), max(_shrink_nb(gb), min_gap)))
                else:
                    stack.append((order, 1 - side, 1))
            else:
                for c in range(len(cuts) - 1):
                    stack.append((order[cuts[c]:cuts[c + 1]].copy(), 1 - side, 1))
    return labels, sims[:n_lab]


@njit(cache=True, nogil=True)
def _group_kernel(labels, n_lab, sa, sb):
    """Seeds grouped by label (0..n_lab-1, seeds in input order within a
    group; label -1 dropped): the seeds' a and b segments and a CSR pointer."""
    ptr = np.zeros(n_lab + 1, dtype=np.int64)
    for k in range(labels.shape[0]):
        if labels[k] >= 0:
            ptr[labels[k] + 1] += 1
    for g in range(n_lab):
        ptr[g + 1] += ptr[g]
    fill = ptr[:-1].copy()
    ga = np.empty(ptr[n_lab], dtype=np.int64)
    gb = np.empty(ptr[n_lab], dtype=np.int64)
    for k in range(labels.shape[0]):
        g = labels[k]
        if g >= 0:
            ga[fill[g]] = sa[k]
            gb[fill[g]] = sb[k]
            fill[g] += 1
    return ga, gb, ptr


@njit(cache=True, nogil=True)
def _clusters_kernel(sa, sb, gap_a, gap_b, min_gap, threshold, a_ptr, a_term, a_w, b_ptr, b_term, b_w, acc_a, acc_b):
    """:func:`_extend_kernel`, :func:`_group_kernel` and :func:`_group_stats_kernel`
    in one call: (ga, gb, ptr, sims, stats)."""
    labels, sims = _extend_kernel(sa, sb, gap_a, gap_b, min_gap, threshold, a_ptr, a_term, a_w, b_ptr, b_term, b_w,
                                  acc_a, acc_b)
    ga, gb, gptr = _group_kernel(labels, sims.shape[0], sa, sb)
    return ga, gb, gptr, sims, _group_stats_kernel(ga, gb, gptr)


@njit(cache=True, nogil=True)
def _group_stats_kernel(ga, gb, ptr):
    """Per group of a CSR set of seeds (groups non-empty): min and max
    segment on each side and the number of distinct segments on each side."""
    n_g = ptr.shape[0] - 1
    out = np.empty((n_g, 6), dtype=np.int64)
    for g in range(n_g):
        p0, p1 = ptr[g], ptr[g + 1]
        for side in range(2):
            v = np.sort(ga[p0:p1]) if side == 0 else np.sort(gb[p0:p1])
            d = 1
            for k in range(1, v.shape[0]):
                if v[k] != v[k - 1]:
                    d += 1
            out[g, 2 * side] = v[0]
            out[g, 2 * side + 1] = v[-1]
            out[g, 4 + side] = d
    return out


def _char_len(side: _Side, lo: int, hi: int) -> int:
    seg = side.seg
    if seg.span_lists is None:  # the spans as Python ints, once per text (~8 lookups a pair)
        seg.span_lists = (seg.spans[:, 0].tolist(), seg.spans[:, 1].tolist())
    return seg.span_lists[1][hi] - seg.span_lists[0][lo]


def _char_span(side: _Side, lo: int, hi: int) -> tuple[int, int]:
    """(start of segment lo, end of segment hi) in characters."""
    seg = side.seg
    if seg.span_lists is None:
        seg.span_lists = (seg.spans[:, 0].tolist(), seg.spans[:, 1].tolist())
    return seg.span_lists[0][lo], seg.span_lists[1][hi]


@njit(cache=True, nogil=True)
def _run_masks_kernel(ri, rj, rl, ta0, ta1, tb0, tb1):
    cov_a = np.zeros(ta1 - ta0, dtype=np.bool_)
    cov_b = np.zeros(tb1 - tb0, dtype=np.bool_)
    for r in range(ri.shape[0]):
        i, j = ri[r], rj[r]
        lo = max(max(ta0 - i, tb0 - j), 0)
        hi = min(min(ta1 - i, tb1 - j), rl[r])
        for o in range(lo, hi):
            cov_a[i + o - ta0] = True
            cov_b[j + o - tb0] = True
    return cov_a, cov_b


def _run_masks(eng: _PairAligner, ta0: int, ta1: int, tb0: int, tb1: int) -> tuple[np.ndarray, np.ndarray]:
    """Which tokens of a[ta0:ta1] and b[tb0:tb1] lie in shared runs that fall
    inside both ranges."""
    ri, rj, rl = eng.runs
    return _run_masks_kernel(ri, rj, rl, ta0, ta1, tb0, tb1)


def _fringes(side: _Side, t_base: int, k: tuple[int, int], s0: int, s1: int) -> tuple[int, int]:
    """Tokens of the core's first / last segment before / after the core's
    token extent ``k`` (relative to ``t_base``)."""
    return k[0] - (int(side.seg.tok_ptr[s0]) - t_base), (int(side.seg.tok_ptr[s1 + 1]) - t_base) - k[1]


def _snap(k: tuple[int, int], own: tuple[int, int], other: tuple[int, int], fringe: int) -> tuple[int, int]:
    """Move the core's token extent ``k`` to the bounds of its first / last
    segment when at most ``fringe`` tokens (``own``) lie outside it there
    and the other side has tokens outside its core at the same end (``other``):
    a reworded edge of the same sentence.  Text at an end on one side only
    is an insertion, and stays out."""
    lo, hi = k
    if own[0] <= fringe and other[0] > 0:
        lo -= own[0]
    if own[1] <= fringe and other[1] > 0:
        hi += own[1]
    return lo, hi


def _attach(side: _Side, t0: int, t1: int, s0: int, s1: int) -> tuple[int, int]:
    """Char span of tokens t0..t1-1 widened over the punctuation attached to
    them (no whitespace, no letters), within segments s0..s1."""
    text = side.text
    lo = int(side.tokens.starts[t0])
    hi = int(side.tokens.ends[t1 - 1])
    floor = int(side.seg.spans[s0, 0])
    ceil = int(side.seg.spans[s1, 1])
    while lo > floor and not text[lo - 1].isspace() and not text[lo - 1].isalnum():
        lo -= 1
    while hi < ceil and not text[hi].isspace() and not text[hi].isalnum():
        hi += 1
    return lo, hi


def _verbatim_core(cov: np.ndarray, min_tokens: int, fraction: float, gap: int = 0) -> tuple[int, int] | None:
    """The token extent [lo, hi) of the runs when they cover at least
    ``fraction`` of it and ``min_tokens`` tokens, else None."""
    idx = np.flatnonzero(cov)
    if idx.size < min_tokens:
        return None
    if gap > 0 and idx.size > 1:
        # the densest group of runs: stray short runs far from it (a phrase
        # the two texts happen to share) do not widen the core
        cuts = np.flatnonzero(np.diff(idx) > gap + 1) + 1
        if cuts.size:
            groups = np.split(idx, cuts)
            idx = max(groups, key=lambda g: g.size)
            if idx.size < min_tokens:
                return None
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    if idx.size < fraction * (hi - lo):
        return None
    return lo, hi


def _spans_overlap(x0, x1, y0, y1) -> bool:
    return x0 <= y1 and y0 <= x1


def _align_core(sa: _Side, sb: _Side, eng: _PairAligner, opt: AlignOptions):
    """Candidate passages (segment ranges) from the normal and summary runs,
    then the filter.  Returns a list of (a0, a1, b0, b1, seeds_a, seeds_b, sim)."""
    cands = []
    s_a, s_b = eng.seeds(opt.seed_cosine, opt.seed_dice)
    blocks: list[tuple[np.ndarray, np.ndarray, float, list[int] | None]] = []  # seeds, cosine, bounds if known
    for seeds_a, seeds_b, sim, bounds in eng.extend(s_a, s_b, opt.max_gap, opt.max_gap, opt.min_gap,
                                                    opt.validate_cosine):
        parts = _unswap(seeds_a, seeds_b, opt.min_block)
        if len(parts) == 1:
            blocks.append((seeds_a, seeds_b, sim, bounds))
            continue
        for pa, pb in parts:
            sim2 = eng.passage_cos(int(pa.min()), int(pa.max()), int(pb.min()), int(pb.max()))
            if sim2 > opt.validate_cosine:
                blocks.append((pa, pb, sim2, None))
    if opt.edge_cosine > 0:
        blocks = [(*_prune_edges(eng, a_, b_, sim, opt), None) for a_, b_, sim, _ in blocks]
    for seeds_a, seeds_b, sim, bounds in blocks:
        if bounds is None:
            a0, a1 = int(seeds_a.min()), int(seeds_a.max())
            b0, b1 = int(seeds_b.min()), int(seeds_b.max())
        else:
            a0, a1, b0, b1 = bounds
        cands.append((a0, a1, b0, b1, seeds_a, seeds_b, sim))
    # strong, balanced one-to-one candidates: what a summary must not be
    normal = []
    for c in cands:
        la, lb = _char_len(sa, c[0], c[1]), _char_len(sb, c[2], c[3])
        if c[6] >= opt.summary_explained_cosine and max(la, lb) <= 2 * min(la, lb):
            normal.append(c)
    if opt.summary:
        orientations = [o for o in ((opt.summary_short_gap, opt.summary_gap, 1),
                                    (opt.summary_gap, opt.summary_short_gap, 0)) if _summary_possible(sa, sb, o[2], opt)]
        s_a2, s_b2 = eng.seeds(opt.summary_cosine, opt.summary_dice) if orientations else (None, None)
        for ga, gb, long_side in orientations:
            g_a, g_b, g_ptr, _sims, stats = eng.extend_stats(s_a2, s_b2, ga, gb, opt.min_gap, opt.summary_validate)
            ptr = g_ptr.tolist()
            for k, (a0, a1, b0, b1, n_ua, n_ub) in enumerate(stats.tolist()):
                # evidence: several segments seeded on each side, and most
                # segments of the short side seeded
                if min(n_ua, n_ub) < opt.summary_min_seeds:
                    continue
                if long_side == 1:
                    short_cov = n_ua / max(eng.elig_cum_a[a1 + 1] - eng.elig_cum_a[a0], 1)
                else:
                    short_cov = n_ub / max(eng.elig_cum_b[b1 + 1] - eng.elig_cum_b[b0], 1)
                if short_cov < opt.summary_short_coverage:
                    continue
                seeds_a, seeds_b = g_a[ptr[k] : ptr[k + 1]], g_b[ptr[k] : ptr[k + 1]]
                la, lb = _char_len(sa, a0, a1), _char_len(sb, b0, b1)
                # the long side must be much longer, and span most of its text:
                # then the short side summarises the whole long text
                if long_side == 1:
                    if lb < opt.summary_ratio * la or lb < opt.summary_whole * _char_len(sb, 0, eng.nb - 1):
                        continue
                    b0, b1 = 0, eng.nb - 1
                else:
                    if la < opt.summary_ratio * lb or la < opt.summary_whole * _char_len(sa, 0, eng.na - 1):
                        continue
                    a0, a1 = 0, eng.na - 1
                # the passage as extended must still validate
                sim = eng.passage_cos(a0, a1, b0, b1)
                if sim <= opt.summary_validate:
                    continue
                # a short side mostly explained by ordinary (one-to-one)
                # candidates is not a summary
                if long_side == 1:
                    expl = _explained(sa, a0, a1, [(c[0], c[1]) for c in normal if _spans_overlap(c[0], c[1], a0, a1)])
                else:
                    expl = _explained(sb, b0, b1, [(c[2], c[3]) for c in normal if _spans_overlap(c[2], c[3], b0, b1)])
                if expl >= opt.summary_explained:
                    continue
                cands.append((a0, a1, b0, b1, seeds_a, seeds_b, sim))
    return _filter(sa, sb, eng, cands, opt, _run_candidates(sa, sb, eng, opt))


def _summary_possible(sa: _Side, sb: _Side, long_side: int, opt: AlignOptions) -> bool:
    """Whether summary mode can find a candidate with its long side in b
    (``long_side`` 1) or in a (0) — a bound, so that pairs of like lengths
    skip it: a candidate's short side spans at least ``summary_min_seeds``
    segments, so at least the shortest run of that many consecutive
    segments, and its long side, at most the whole long text, must be
    ``summary_ratio`` times longer."""
    short, long_ = (sa, sb) if long_side == 1 else (sb, sa)
    k = max(1, opt.summary_min_seeds)
    sp = short.seg.spans
    if sp.shape[0] < k or long_.seg.spans.shape[0] < k:
        return False
    shortest = short.seg.shortest_runs.get(k)
    if shortest is None:
        shortest = short.seg.shortest_runs[k] = int((sp[k - 1 :, 1] - sp[: sp.shape[0] - k + 1, 0]).min())
    whole = _char_len(long_, 0, long_.seg.spans.shape[0] - 1)
    return not whole < opt.summary_ratio * shortest


def _run_candidates(sa: _Side, sb: _Side, eng: _PairAligner, opt: AlignOptions):
    """Shared runs that are whole segments on both sides (a title, a
    sentence, a whole short text), as candidates that need no cosine: with
    one or two segments per text every shared term is in every segment and
    tf-idf says little.  They come after every other candidate in the
    filter, so they only stand where nothing else explains them."""
    ri, rj, rl = eng.runs
    out = []
    tpa, tpb, tsa, tsb = sa.seg.tok_ptr, sb.seg.tok_ptr, sa.seg.tok_seg, sb.seg.tok_seg
    for i, j, n in zip(ri.tolist(), rj.tolist(), rl.tolist(), strict=True):
        if n < opt.min_verbatim_tokens:
            continue
        a0, a1, b0, b1 = int(tsa[i]), int(tsa[i + n - 1]), int(tsb[j]), int(tsb[j + n - 1])
        if i == tpa[a0] and i + n == tpa[a1 + 1] and j == tpb[b0] and j + n == tpb[b1 + 1]:
            out.append((a0, a1, b0, b1, tsa[i : i + n], tsb[j : j + n], 1.0))
    return out


def _prune_edges(eng: _PairAligner, seeds_a, seeds_b, sim, opt: AlignOptions):
    """Drop weak seeds (cosine below ``edge_cosine``) at the ends of a
    cluster when a gap separates them from the rest: neighbours that only
    look alike."""
    changed = False
    while seeds_a.size > 1:
        w = eng.cos_at(seeds_a, seeds_b)
        drop = np.zeros(seeds_a.size, dtype=bool)
        for vals in (seeds_a, seeds_b):
            u = np.unique(vals)
            if u.size < 2:
                continue
            for edge, nxt in ((u[0], u[1]), (u[-1], u[-2])):
                at = vals == edge
                if abs(int(nxt) - int(edge)) > 1 and w[at].max() < opt.edge_cosine:
                    drop |= at
        if not drop.any() or drop.all():
            break
        seeds_a, seeds_b = seeds_a[~drop], seeds_b[~drop]
        changed = True
    if changed:
        sim = eng.passage_cos(int(seeds_a.min()), int(seeds_a.max()), int(seeds_b.min()), int(seeds_b.max()))
    return seeds_a, seeds_b, sim


def _unswap(seeds_a: np.ndarray, seeds_b: np.ndarray, min_block: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split a cluster made of transposed blocks (A1 A2 aligned with B2 B1:
    every seed of the first block, in a order, lies after every seed of the
    second in b order), recursively; blocks need ``min_block`` distinct
    segments on each side."""
    n = seeds_a.size
    if n < 2 * min_block:
        return [(seeds_a, seeds_b)]
    order = np.lexsort((seeds_b, seeds_a))
    sa_, sb_ = seeds_a[order], seeds_b[order]
    pre_min = np.minimum.accumulate(sb_)
    suf_max = np.maximum.accumulate(sb_[::-1])[::-1]
    # split between k-1 and k: distinct a, prefix entirely after suffix in b
    k = np.flatnonzero((sa_[1:] > sa_[:-1]) & (pre_min[:-1] > suf_max[1:])) + 1
    for cut in k:
        left_a, left_b = sa_[:cut], sb_[:cut]
        right_a, right_b = sa_[cut:], sb_[cut:]
        if min(np.unique(left_a).size, np.unique(left_b).size, np.unique(right_a).size, np.unique(right_b).size) >= min_block:
            return _unswap(left_a, left_b, min_block) + _unswap(right_a, right_b, min_block)
    return [(seeds_a, seeds_b)]


def _explained(side: _Side, lo: int, hi: int, spans) -> float:
    """Fraction of the chars of segments lo..hi inside the segment ranges ``spans``."""
    if not spans:
        return 0.0
    m = np.zeros(hi - lo + 1, dtype=bool)
    for x0, x1 in spans:
        m[max(x0, lo) - lo : min(x1, hi) - lo + 1] = True
    w = side.seg.spans[lo : hi + 1, 1] - side.seg.spans[lo : hi + 1, 0]
    return float(w[m].sum()) / max(float(w.sum()), 1.0)


def _filter(sa: _Side, sb: _Side, eng: _PairAligner, cands, opt: AlignOptions, late=()):
    items = []
    for rank, group in enumerate((cands, late)):
        for a0, a1, b0, b1, seeds_a, seeds_b, sim in group:
            size = min(_char_len(sa, a0, a1), _char_len(sb, b0, b1))
            items.append([sim * size, a0, a1, b0, b1, seeds_a, seeds_b, sim, rank])
    # best first (``late`` candidates after all others); ties broken by
    # position for determinism
    items.sort(key=lambda t: (t[8], -t[0], t[1], t[3], t[2], t[4]))
    kept: list[list] = []
    for it in items:
        _, a0, a1, b0, b1, seeds_a, seeds_b, sim, _rank = it
        ok = True
        for k in kept:
            ov_a = _spans_overlap(a0, a1, k[1], k[2])
            ov_b = _spans_overlap(b0, b1, k[3], k[4])
            if ov_a and ov_b:
                ok = False  # same alignment, weaker: absorbed
                break
            if ov_a or ov_b:
                # drop the seeds inside the kept passage on either side
                m = ~(((seeds_a >= k[1]) & (seeds_a <= k[2])) | ((seeds_b >= k[3]) & (seeds_b <= k[4])))
                if not m.any():
                    ok = False
                    break
                seeds_a, seeds_b = seeds_a[m], seeds_b[m]
                a0, a1 = int(seeds_a.min()), int(seeds_a.max())
                b0, b1 = int(seeds_b.min()), int(seeds_b.max())
                sim = eng.passage_cos(a0, a1, b0, b1)
                if sim <= opt.validate_cosine:
                    ok = False
                    break
        if not ok:
            continue
        # the re-trimmed candidate may now overlap a passage checked earlier
        if any(
            _spans_overlap(a0, a1, k[1], k[2]) or _spans_overlap(b0, b1, k[3], k[4]) for k in kept
        ):
            continue
        kept.append([it[0], a0, a1, b0, b1, seeds_a, seeds_b, sim])
    if opt.merge_gap >= 0:
        kept = _merge(sa, sb, eng, kept, opt)
    return kept


def _merge(sa: _Side, sb: _Side, eng: _PairAligner, kept, opt: AlignOptions):
    """Join passages that follow each other on both sides (at most
    ``merge_gap`` segments apart, same order) when the joined passage still
    validates: one case found in two pieces."""
    kept = sorted(kept, key=lambda k: (k[1], k[3]))
    changed = True
    while changed and len(kept) > 1:
        changed = False
        for x in range(len(kept) - 1):
            p, q = kept[x], kept[x + 1]
            ga = q[1] - p[2] - 1
            gb = q[3] - p[4] - 1
            if ga < 0 or gb < 0:
                continue
            a0, a1, b0, b1 = p[1], q[2], p[3], q[4]
            near = ga <= opt.merge_gap and gb <= opt.merge_gap
            if not near and min(ga, gb) <= opt.merge_short and max(ga, gb) <= opt.merge_long:
                # pieces of a summary: adjacent on the short side, apart on
                # the long one, and the joined passage has a summary's shape
                la, lb = _char_len(sa, a0, a1), _char_len(sb, b0, b1)
                near = max(la, lb) >= opt.summary_ratio * min(la, lb)
            if near:
                sim = eng.passage_cos(a0, a1, b0, b1)
                if sim > opt.validate_cosine:
                    kept[x] = [p[0] + q[0], a0, a1, b0, b1, np.concatenate((p[5], q[5])), np.concatenate((p[6], q[6])), sim]
                    del kept[x + 1]
                    changed = True
                    break
    return kept


@njit(cache=True, nogil=True, inline="always")
def _core_kernel(cov, min_tokens, fraction, gap):
    """:func:`_verbatim_core` compiled: (found, lo, hi)."""
    n = cov.shape[0]
    cnt = 0
    for t in range(n):
        if cov[t]:
            cnt += 1
    if cnt < min_tokens:
        return False, 0, 0
    first = -1
    last = -1
    size = cnt
    if gap > 0 and cnt > 1:
        # the first largest group of runs (split where positions jump by more than gap + 1)
        best_lo = -1
        best_hi = -1
        best_n = 0
        g_lo = -1
        g_hi = -1
        g_n = 0
        for t in range(n):
            if not cov[t]:
                continue
            if g_n > 0 and t - g_hi > gap + 1:
                if g_n > best_n:
                    best_lo, best_hi, best_n = g_lo, g_hi, g_n
                g_n = 0
            if g_n == 0:
                g_lo = t
            g_hi = t
            g_n += 1
        if g_n > best_n:
            best_lo, best_hi, best_n = g_lo, g_hi, g_n
        first, last, size = best_lo, best_hi, best_n
        if size < min_tokens:
            return False, 0, 0
    else:
        for t in range(n):
            if cov[t]:
                if first < 0:
                    first = t
                last = t
    lo = first
    hi = last + 1
    if size < fraction * (hi - lo):
        return False, 0, 0
    return True, lo, hi


@njit(cache=True, nogil=True)
def _finish_kernel(ri, rj, rl, a_tok_ptr, a_tok_seg, b_tok_ptr, b_tok_seg, a0, a1, b0, b1,
                   min_tokens, trim, gap, trim_share, fringe):
    """The token bounds of one kept passage (segments a0..a1, b0..b1), cut to
    its verbatim core as :func:`_finish` describes (``_run_masks``,
    ``_verbatim_core``, ``_fringes``, ``_snap`` in one pass): (trimmed, ta0,
    ta1, tb0, tb1, na0, na1, nb0, nb1, hit_a, hit_b) — the new segments when
    trimmed, and the tokens inside shared runs on each side."""
    ta0 = a_tok_ptr[a0]
    ta1 = a_tok_ptr[a1 + 1]
    tb0 = b_tok_ptr[b0]
    tb1 = b_tok_ptr[b1 + 1]
    m_a, m_b = _run_masks_kernel(ri, rj, rl, ta0, ta1, tb0, tb1)
    lo_a = 0
    hi_a = ta1 - ta0
    lo_b = 0
    hi_b = tb1 - tb0
    trimmed = False
    na0, na1, nb0, nb1 = a0, a1, b0, b1
    if trim > 0:
        fa, ka0, ka1 = _core_kernel(m_a, min_tokens, trim, 0)
        fb, kb0, kb1 = _core_kernel(m_b, min_tokens, trim, 0)
        if gap > 0:
            if not fa and fb and kb1 - kb0 >= trim * (tb1 - tb0):
                fa, ka0, ka1 = _core_kernel(m_a, min_tokens, trim, gap)
            elif not fb and fa and ka1 - ka0 >= trim * (ta1 - ta0):
                fb, kb0, kb1 = _core_kernel(m_b, min_tokens, trim, gap)
        if fa and fb and ka1 - ka0 >= trim_share * (ta1 - ta0) and kb1 - kb0 >= trim_share * (tb1 - tb0):
            na0 = a_tok_seg[ta0 + ka0]
            na1 = a_tok_seg[ta0 + ka1 - 1]
            nb0 = b_tok_seg[tb0 + kb0]
            nb1 = b_tok_seg[tb0 + kb1 - 1]
            fa0 = ka0 - (a_tok_ptr[na0] - ta0)
            fa1 = (a_tok_ptr[na1 + 1] - ta0) - ka1
            fb0 = kb0 - (b_tok_ptr[nb0] - tb0)
            fb1 = (b_tok_ptr[nb1 + 1] - tb0) - kb1
            lo_a, hi_a, lo_b, hi_b = ka0, ka1, kb0, kb1
            if fa0 <= fringe and fb0 > 0:
                lo_a -= fa0
            if fa1 <= fringe and fb1 > 0:
                hi_a += fa1
            if fb0 <= fringe and fa0 > 0:
                lo_b -= fb0
            if fb1 <= fringe and fa1 > 0:
                hi_b += fb1
            trimmed = True
    hit_a = 0
    for t in range(lo_a, hi_a):
        if m_a[t]:
            hit_a += 1
    hit_b = 0
    for t in range(lo_b, hi_b):
        if m_b[t]:
            hit_b += 1
    return (trimmed, ta0 + lo_a, ta0 + hi_a, tb0 + lo_b, tb0 + hi_b, na0, na1, nb0, nb1, hit_a, hit_b)


def _finish(sa: _Side, sb: _Side, eng: _PairAligner, kept, opt: AlignOptions) -> Alignment:
    passages = []
    ri, rj, rl = eng.runs
    for _, a0, a1, b0, b1, _sa, _sb, sim in kept:
        # the verbatim core (opt.verbatim_trim): a verbatim core with reworded fringes, the fringes
        # are neighbours that only look alike, keep the core's segments; with opt.verbatim_gap, one
        # side wholly verbatim and the other with stray shared phrases around its copy: the densest
        # group of runs; a short fringe inside the core's end segments is a reworded edge of the
        # same sentence: keep the whole segment (_verbatim_core, _fringes, _snap)
        trimmed, ta0, ta1, tb0, tb1, na0, na1, nb0, nb1, hit_a, hit_b = _finish_kernel(
            ri, rj, rl, sa.seg.tok_ptr, sa.seg.tok_seg, sb.seg.tok_ptr, sb.seg.tok_seg, a0, a1, b0, b1,
            opt.min_verbatim_tokens, opt.verbatim_trim, opt.verbatim_gap, opt.verbatim_trim_share,
            opt.verbatim_fringe,
        )
        if trimmed:
            # token-precise bounds: the core, with punctuation attached
            ca0, ca1 = _attach(sa, ta0, ta1, na0, na1)
            cb0, cb1 = _attach(sb, tb0, tb1, nb0, nb1)
            if (na0, na1, nb0, nb1) != (a0, a1, b0, b1):
                a0, a1, b0, b1 = na0, na1, nb0, nb1
                sim = eng.passage_cos(a0, a1, b0, b1)
        else:
            ca0, ca1 = _char_span(sa, a0, a1)
            cb0, cb1 = _char_span(sb, b0, b1)
        verbatim = hit_a >= opt.verbatim_fraction * (ta1 - ta0) and hit_b >= opt.verbatim_fraction * (
            tb1 - tb0
        )
        short = (
            max(ca1 - ca0, cb1 - cb0) < opt.min_passage_chars
            or min(ca1 - ca0, cb1 - cb0) < opt.min_passage_side
        )
        if not verbatim and short:
            continue
        if not verbatim and max(ca1 - ca0, cb1 - cb0) < opt.short_chars and sim < opt.short_cosine:
            continue
        if verbatim and short:
            # a short verbatim passage stands alone only as whole segments
            # on both sides (a shared title, heading or sentence)
            whole = (
                ta0 == sa.seg.tok_ptr[a0]
                and ta1 == sa.seg.tok_ptr[a1 + 1]
                and tb0 == sb.seg.tok_ptr[b0]
                and tb1 == sb.seg.tok_ptr[b1 + 1]
            )
            if not whole or ta1 - ta0 < opt.min_verbatim_tokens or tb1 - tb0 < opt.min_verbatim_tokens:
                continue
        passages.append(
            Passage(ca0, ca1, cb0, cb1, "verbatim" if verbatim else "reworded", 1.0 if verbatim else round(min(sim, 1.0), 6))
        )
    passages.sort(key=lambda p: (p.a_start, p.b_start, p.a_end, p.b_end))
    ta, tb = sa.tokens, sb.tokens
    if len(ta) == 0 or len(tb) == 0:
        only_a, cov_a = _outside(ta, [(p.a_start, p.a_end) for p in passages])
        only_b, cov_b = _outside(tb, [(p.b_start, p.b_end) for p in passages])
        return Alignment(passages, only_a, only_b, cov_a, cov_b)
    sp = np.array([(p.a_start, p.a_end, p.b_start, p.b_end) for p in passages], dtype=np.int64).reshape(-1, 4)
    oa0, oa1, in_a, ob0, ob1, in_b = _outside_pair(ta.starts, ta.ends, sp[:, 0], sp[:, 1],
                                                   tb.starts, tb.ends, sp[:, 2], sp[:, 3])
    only_a = list(zip(oa0.tolist(), oa1.tolist(), strict=True))
    only_b = list(zip(ob0.tolist(), ob1.tolist(), strict=True))
    return Alignment(passages, only_a, only_b, 1.0 if not only_a else in_a / len(ta),
                     1.0 if not only_b else in_b / len(tb))


@njit(cache=True, nogil=True)
def _outside_pair(a_starts, a_ends, a_lo, a_hi, b_starts, b_ends, b_lo, b_hi):
    """:func:`_outside` of both sides in one call: per side the character spans
    (start, end) of the runs of tokens outside the spans, and the tokens inside."""
    ra_lo, ra_hi, in_a = outside_runs(a_starts, a_ends, a_lo, a_hi)
    rb_lo, rb_hi, in_b = outside_runs(b_starts, b_ends, b_lo, b_hi)
    ca0 = np.empty(ra_lo.shape[0], dtype=np.int64)
    ca1 = np.empty(ra_lo.shape[0], dtype=np.int64)
    for k in range(ra_lo.shape[0]):
        ca0[k] = a_starts[ra_lo[k]]
        ca1[k] = a_ends[ra_hi[k] - 1]
    cb0 = np.empty(rb_lo.shape[0], dtype=np.int64)
    cb1 = np.empty(rb_lo.shape[0], dtype=np.int64)
    for k in range(rb_lo.shape[0]):
        cb0[k] = b_starts[rb_lo[k]]
        cb1[k] = b_ends[rb_hi[k] - 1]
    return ca0, ca1, in_a, cb0, cb1, in_b


@njit(cache=True, nogil=True)
def outside_runs(starts, ends, lo_spans, hi_spans):
    """Tokens outside the spans (a token is inside a span from the first whose
    start is at or after the span's start to the last whose end is at or before
    its end): their maximal runs as (first, last+1) token indices, and the
    number of tokens inside."""
    n = starts.shape[0]
    inside = np.zeros(n, dtype=np.bool_)
    for k in range(lo_spans.shape[0]):
        lo = np.searchsorted(starts, lo_spans[k], side="left")
        hi = np.searchsorted(ends, hi_spans[k], side="right")
        for t in range(lo, hi):
            inside[t] = True
    runs = np.empty((n + 1) // 2 + 1, dtype=np.int64)
    run_lo = np.empty(runs.shape[0], dtype=np.int64)
    nr = 0
    n_in = 0
    t = 0
    while t < n:
        if inside[t]:
            n_in += 1
            t += 1
            continue
        u = t
        while u < n and not inside[u]:
            u += 1
        run_lo[nr] = t
        runs[nr] = u
        nr += 1
        t = u
    return run_lo[:nr], runs[:nr], n_in


def _outside(tokens: Tokens, spans: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], float]:
    n = len(tokens)
    if n == 0:
        return [], 0.0
    lo_s = np.array([s for s, _ in spans], dtype=np.int64)
    hi_s = np.array([e for _, e in spans], dtype=np.int64)
    lo, hi, n_in = outside_runs(tokens.starts, tokens.ends, lo_s, hi_s)
    spans_out = list(zip(tokens.starts[lo].tolist(), tokens.ends[hi - 1].tolist(), strict=True))
    return spans_out, (1.0 if not spans_out else n_in / n)


def _identical(sa: _Side, sb: _Side) -> bool:
    ha, hb = sa.tokens.hashes, sb.tokens.hashes
    return ha.size > 0 and ha.size == hb.size and bool(np.array_equal(ha, hb))


def _whole(sa: _Side, sb: _Side) -> Alignment:
    """Two texts with the same token sequence: one verbatim passage from the
    first segment's start to the last segment's end on each side."""
    p = Passage(int(sa.seg.spans[0, 0]), int(sa.seg.spans[-1, 1]), int(sb.seg.spans[0, 0]), int(sb.seg.spans[-1, 1]),
                "verbatim", 1.0)
    return Alignment([p], [], [], 1.0, 1.0)


def _scaled(opt: AlignOptions, sa: _Side, sb: _Side) -> AlignOptions:
    """The options for this pair: for short texts the length thresholds
    scale with the shorter text (module doc, "Texts of any length")."""
    n = min(len(sa.tokens), len(sb.tokens))
    if n == 0:
        return opt
    chars = min(int(sa.seg.spans[-1, 1] - sa.seg.spans[0, 0]), int(sb.seg.spans[-1, 1] - sb.seg.spans[0, 0]))
    half = (chars + 1) // 2
    if n >= opt.min_verbatim_tokens and n >= opt.ngram and half >= opt.min_passage_chars and half >= opt.min_passage_side:
        return opt
    changes = (
        max(1, min(opt.ngram, n)),
        max(1, min(opt.min_verbatim_tokens, n)),
        min(opt.min_passage_chars, half),
        min(opt.min_passage_side, half),
        max(opt.verbatim_fringe, n // 2),
    )
    key = (opt, changes)
    scaled = _SCALED.get(key)
    if scaled is None:  # replace() validates every field: ~0.1 ms, and find meets the same short lengths often
        if len(_SCALED) >= 4096:
            _SCALED.clear()
        scaled = _SCALED[key] = replace(
            opt, ngram=changes[0], min_verbatim_tokens=changes[1], min_passage_chars=changes[2],
            min_passage_side=changes[3], verbatim_fringe=changes[4],
        )
    return scaled


_SCALED: dict[tuple[AlignOptions, tuple[int, ...]], AlignOptions] = {}  # (options, scaled values) -> options


def align(
    text_a: str | Prepared,
    text_b: str | Prepared,
    options: AlignOptions | None = None,
    *,
    tokens_a: Tokens | None = None,
    tokens_b: Tokens | None = None,
) -> Alignment:
    """Align the passages that ``text_a`` and ``text_b`` share (see module doc).

    Either text may be :func:`prepare`-d already (with the same ``options``);
    ``tokens_a``/``tokens_b``: the texts' tokens when the caller has them."""
    opt = options or _default_options()
    sides = []
    for text, tokens in ((text_a, tokens_a), (text_b, tokens_b)):
        if isinstance(text, Prepared):
            if text.options is not opt and text.options != opt:
                raise ValueError("a Prepared text was prepared with other AlignOptions than this alignment's")
        else:
            text = prepare(text, opt, tokens=tokens)
        sides.append(_side(text))
    (sa, ca), (sb, cb) = sides
    if _identical(sa, sb):
        return _whole(sa, sb)
    opt = _scaled(opt, sa, sb)
    eng = _PairAligner(sa, sb, ca, cb, opt)
    kept = _align_core(sa, sb, eng, opt)
    return _finish(sa, sb, eng, kept, opt)
