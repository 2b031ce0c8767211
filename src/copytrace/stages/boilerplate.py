"""Stage 6b — boilerplate: the passages a corpus repeats but that belong to no story.

Data contract
-------------
The stage runs in four phases, so that an engine can stream documents
through the first and last (map side) and aggregate in between; both the
local and the Spark engine call these same functions.

1. ``segment_batch(texts, doc_index, options, tokens=None) -> BoilerplateSegments``
   (per batch of documents): the segments of every document with at least
   ``min_words`` tokens — parallel arrays ``doc`` (the caller's document
   number), ``key`` (uint64: a hash of the segment's normalized token
   hashes), ``start``/``end`` (``str`` offsets into the text as read, end
   exclusive) and ``ntok``.
2. ``key_source_counts(segments, doc_source)`` → one row per (key, source)
   with the number of distinct documents, and
   ``select_candidates(keys, sources, counts, source_size, options)`` → the
   candidate keys (the document-frequency rules below).  ``doc_source`` is
   an int32 code per document, ``-1`` for an unknown source;
   ``source_size[code]`` the documents of each source.
3. ``story_check(candidates, key_docs, segments, doc_ntok, options,
   single_source)`` → the boilerplate keys (``single_source``: the
   candidates of ``single_source_candidates``, from the same rows as
   ``select_candidates``).  ``key_docs`` (:class:`KeyDocs`) maps every key found
   in at least 2 documents to its sorted distinct documents; ``segments``
   must hold (at least) the segments of the documents checked.
4. ``document_spans(segments, texts, boiler_keys)`` → ``{doc: [(start,
   end), ...]}`` (sorted, non-overlapping; adjacent boilerplate segments
   separated only by whitespace are merged into one span) — in
   ``detect_from_segments`` a :class:`BoilerplateSpans` mapping that cuts a
   document's spans the first time they are asked for (``mask_spans`` asks
   for a whole verification chunk at once), so only the documents verified
   have their texts fetched — and
   ``boilerplate_table(texts, doc_frequency, sources)`` the output table.

``detect_boilerplate(doc_ids, texts, sources, options)`` runs all four on
in-memory lists and returns a :class:`BoilerplateResult`:

* ``table``: one row per boilerplate segment, sorted by doc_frequency
  descending, then text::

      text           string         a representative occurrence, as read
                                    (the first in the smallest document)
      doc_frequency  int64          documents that contain the segment
      sources        list<string>   the (known) sources of those documents, sorted

* ``spans``: ``{doc_index: [(start, end), ...]}``.

``mask_text(text, spans)`` replaces the characters of the spans with spaces
(newlines are kept), so offsets do not move: the masked text can go through
similarity and alignment and every offset still points into the original
text.

Segments and hashes
-------------------
Segments are the align stage's sentences (:func:`split_sentences` in
"capital" mode: sentences, lines that start with a capital, paragraphs),
found for a whole batch in one regex pass.  A segment's key is a hash of the
sequence of its *normalized* token hashes (normalize stage), so case,
punctuation, curly quotes and spacing do not matter.  Segments of fewer than
``min_words`` tokens are ignored (a lone "Advertisement" or a site name is
left to the copy detection, and "Read more." is not evidence of anything).

Which segments are boilerplate
------------------------------
A segment is a *candidate* when it recurs (counted once per document):

* in ≥ ``min_docs`` documents of one known source **and** in at least
  ``min_source_fraction`` of that source's documents (a donation appeal, a
  newsletter box, a standard byline of the site), or
* in ≥ ``min_docs`` documents from ≥ ``min_sources`` distinct known sources
  ("The Associated Press contributed to this report."), or
* in ≥ ``min_docs`` documents whose source is unknown.

Document frequency alone would also flag a story that was reprinted many
times — exactly the copies copytrace is looking for.  What sets boilerplate
apart is that it *co-occurs with different stories*.  So a candidate is only
boilerplate when, in the median document that contains it, its *companion
block* — the segments whose set of documents largely coincides with the
candidate's (``|D_g ∩ D_h| ≥ companion_overlap × max(|D_g|, |D_h|)``) —
covers at most ``max_block_share`` of the document's words.  A reprinted
story's sentences travel together and make up most of every document that
holds them; an appeal's sentences travel together too, but sit next to a
different story every time.  (Only the first ``max_docs_checked`` documents
of a candidate, in document order, are checked.)

The long-block rule.  A long footer (a legal notice, a newsletter box of
300 words) under short stories makes up most of each document, like a
reprinted story does.  What tells it apart is what sits next to it: a
different story every time.  So a candidate that meets the one-source rule
(``single_source_candidates``) and fails the share test is boilerplate all
the same when, among its checked documents, at least ``min_stories`` — and
at least half — hold ``min_story_words`` words of their own (in segments
found in no other document of the candidate's set).  A story reprinted
across sources fails the one-source rule; reprints within one source share
their text with each other, so they have no story of their own.  Without
known sources the rule does not apply: a story that a hundred outlets
reprinted, each adding text of its own, would look the same.

Why ``min_docs = 5`` rather than 3: stock sentences ("The company did not
respond to a request for comment.") recur by chance in a handful of
unrelated stories; three documents is within reach of chance, five from the
same site (and a share of its documents) rarely is, while a real appeal or
newsletter box appears in dozens.  Lower it for small corpora.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from copytrace.kernels import njit, prange
import pyarrow as pa

from copytrace.stages.align import segment_spans
from copytrace.stages.normalize import TokenBatch, mix64, to_codepoints, tokenize_batch
from copytrace.stages.segment import boundaries
from copytrace import schemas

__all__ = [
    "BoilerplateOptions",
    "BoilerplateResult",
    "BoilerplateSpans",
    "BOILERPLATE_SCHEMA",
    "BoilerplateSegments",
    "Segments",
    "KeyDocs",
    "segment_batch",
    "key_source_counts",
    "select_candidates",
    "single_source_candidates",
    "story_check",
    "document_spans",
    "boilerplate_table",
    "detect_boilerplate",
    "mask_spans",
    "mask_text",
]

BOILERPLATE_SCHEMA = schemas.BOILERPLATE  # boilerplate.parquet: one schema, defined in copytrace.schemas

FETCH_CHUNK_DOCS = 20_000  # documents whose texts phase 4 holds at once

# texts of a batch are joined with this separator for one regex pass; it is
# whitespace only, so no boundary inside a text moves (see segment_batch)
_JOIN = "\n\n"


@dataclass(frozen=True)
class BoilerplateOptions:
    """Parameters of the boilerplate stage (see the module doc)."""

    min_docs: int = 5
    min_source_fraction: float = 0.05
    min_sources: int = 5
    min_words: int = 4
    max_block_share: float = 0.6
    companion_overlap: float = 0.5
    max_docs_checked: int = 64  # documents sampled per candidate for the story check
    min_story_words: int = 25  # long-block rule: words of a document's own story
    min_stories: int = 10  # long-block rule: documents with a story of their own


@dataclass
class BoilerplateResult:
    table: pa.Table
    spans: Mapping[int, list[tuple[int, int]]] = field(default_factory=dict)  # a BoilerplateSpans, or a dict


@dataclass
class BoilerplateSegments:
    """Segments of documents (phase 1): parallel arrays, grouped by document
    and in text order within a document."""

    doc: np.ndarray  # int64, the caller's document number
    key: np.ndarray  # uint64
    start: np.ndarray  # int32, str offset (inclusive)
    end: np.ndarray  # int32, str offset (exclusive)
    ntok: np.ndarray  # int32

    def __len__(self) -> int:
        return int(self.doc.shape[0])

    @staticmethod
    def empty() -> "BoilerplateSegments":
        z32 = np.zeros(0, dtype=np.int32)
        return BoilerplateSegments(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64), z32, z32.copy(), z32.copy())

    @staticmethod
    def concat(parts: Sequence["BoilerplateSegments"]) -> "BoilerplateSegments":
        parts = [p for p in parts if len(p)]
        if not parts:
            return BoilerplateSegments.empty()
        return BoilerplateSegments(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                          ("doc", "key", "start", "end", "ntok")))

    def take(self, idx: np.ndarray) -> "BoilerplateSegments":
        return BoilerplateSegments(self.doc[idx], self.key[idx], self.start[idx], self.end[idx], self.ntok[idx])

    def renumber(self, mapping: np.ndarray) -> "BoilerplateSegments":
        """Documents renumbered by ``mapping[old] -> new``, then grouped by the
        new number (text order kept within a document)."""
        doc = mapping[self.doc]
        o = np.argsort(doc, kind="stable")
        return BoilerplateSegments(doc[o], self.key[o], self.start[o], self.end[o], self.ntok[o])


# the name before the rename (branches in flight still say bpl.Segments); remove once merged
Segments = BoilerplateSegments


@dataclass
class KeyDocs:
    """Keys found in at least 2 documents and their sorted distinct documents
    (CSR: ``docs[ptr[i]:ptr[i+1]]`` for ``keys[i]``; ``keys`` sorted)."""

    keys: np.ndarray  # uint64, sorted, unique
    ptr: np.ndarray  # int64, len(keys) + 1
    docs: np.ndarray  # int64

    @staticmethod
    def from_pairs(keys: np.ndarray, docs: np.ndarray) -> "KeyDocs":
        """From (key, doc) pairs (duplicates allowed); keeps keys with ≥ 2 documents."""
        k, d = _unique_key_doc(keys, docs)
        if k.shape[0] == 0:
            return KeyDocs(k, np.zeros(1, dtype=np.int64), d)
        new = np.ones(k.shape[0], dtype=bool)
        new[1:] = k[1:] != k[:-1]
        starts = np.flatnonzero(new)
        sizes = np.diff(np.append(starts, k.shape[0]))
        keep_key = sizes >= 2
        keep = np.repeat(keep_key, sizes)
        ukeys = k[starts][keep_key]
        ptr = np.zeros(ukeys.shape[0] + 1, dtype=np.int64)
        np.cumsum(sizes[keep_key], out=ptr[1:])
        return KeyDocs(ukeys, ptr, d[keep])

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key in ``self.keys``, or -1."""
        if self.keys.shape[0] == 0:
            return np.full(keys.shape[0], -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.shape[0] - 1)
        return np.where(self.keys[pos] == keys, pos, -1)


def _unique_key_doc(keys: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if keys.shape[0] == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    o = np.lexsort((docs, keys))
    k, d = keys[o], docs[o]
    keep = np.ones(k.shape[0], dtype=bool)
    keep[1:] = (k[1:] != k[:-1]) | (d[1:] != d[:-1])
    return k[keep], d[keep].astype(np.int64)


# --------------------------------------------------------------------------
# Phase 1: segments
# --------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _segment_keys(hashes, tok_ptr):
    k = tok_ptr.shape[0] - 1
    out = np.empty(k, dtype=np.uint64)
    for i in range(k):
        h = np.uint64(0x243F6A8885A308D3)
        for t in range(tok_ptr[i], tok_ptr[i + 1]):
            h = mix64(h ^ hashes[t])
        out[i] = mix64(h ^ np.uint64(tok_ptr[i + 1] - tok_ptr[i]))
    return out


def segment_batch(
    texts: Sequence[str],
    doc_index: np.ndarray | None = None,
    options: BoilerplateOptions | None = None,
    tokens: TokenBatch | None = None,
) -> BoilerplateSegments:
    """Phase 1: the segments (≥ ``min_words`` tokens) of a batch of texts.

    ``doc_index[i]`` is the number recorded for ``texts[i]`` (default ``i``);
    ``tokens`` the batch's tokens when the caller has them already.  The
    texts are scanned as one string joined by blank lines: the separator is
    whitespace, so every boundary before a text's last token is where a
    per-text scan (:func:`split_sentences`) puts it."""
    opt = options or BoilerplateOptions()
    n = len(texts)
    if doc_index is None:
        doc_index = np.arange(n, dtype=np.int64)
    doc_index = np.asarray(doc_index, dtype=np.int64)
    if n == 0:
        return BoilerplateSegments.empty()
    if tokens is None:
        tokens = tokenize_batch(list(texts))
    n_tok = tokens.doc_offsets[1:] - tokens.doc_offsets[:-1]
    if int(n_tok.sum()) == 0:
        return BoilerplateSegments.empty()
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    text_off = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1] + len(_JOIN), out=text_off[1:])
    joined = _JOIN.join(texts)
    cps = to_codepoints(joined)
    bounds = boundaries(cps, "capital")
    tok_doc = np.repeat(np.arange(n, dtype=np.int64), n_tok)
    g_starts = tokens.starts.astype(np.int64) + text_off[tok_doc]
    g_ends = tokens.ends.astype(np.int64) + text_off[tok_doc]
    raw_seg = np.searchsorted(bounds, g_starts, side="right")
    m = g_starts.shape[0]
    first = np.empty(m, dtype=bool)
    first[0] = True
    np.not_equal(raw_seg[1:], raw_seg[:-1], out=first[1:])
    first[tokens.doc_offsets[:-1][n_tok > 0]] = True  # a segment never spans two texts
    starts_idx = np.flatnonzero(first)
    tok_ptr = np.append(starts_idx, m).astype(np.int64)
    ntok = np.diff(tok_ptr)
    seg_doc = tok_doc[starts_idx]
    edges = np.concatenate(([0], bounds, [len(joined)]))
    raw_ids = raw_seg[starts_idx]
    # a segment's raw extent stays inside its own text
    raw_lo = np.maximum(edges[raw_ids], text_off[seg_doc])
    raw_hi = np.minimum(edges[raw_ids + 1], text_off[seg_doc] + lengths[seg_doc])
    spans = segment_spans(cps, raw_lo, raw_hi, g_starts[starts_idx], g_ends[tok_ptr[1:] - 1])
    keys = _segment_keys(tokens.hashes, tok_ptr)
    keep = ntok >= opt.min_words
    base = text_off[seg_doc]
    return BoilerplateSegments(
        doc_index[seg_doc[keep]],
        keys[keep],
        (spans[keep, 0] - base[keep]).astype(np.int32),
        (spans[keep, 1] - base[keep]).astype(np.int32),
        ntok[keep].astype(np.int32),
    )


# --------------------------------------------------------------------------
# Phase 2: candidates by document frequency
# --------------------------------------------------------------------------


def key_source_counts(segments: BoilerplateSegments, doc_source: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(keys, sources, counts)``: distinct documents per (key, source code),
    sorted by key then source."""
    k, d = _unique_key_doc(segments.key, segments.doc)
    if k.shape[0] == 0:
        return k, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    s = doc_source[d].astype(np.int64)
    o = np.lexsort((s, k))
    k, s = k[o], s[o]
    new = np.ones(k.shape[0], dtype=bool)
    new[1:] = (k[1:] != k[:-1]) | (s[1:] != s[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, k.shape[0]))
    return k[starts], s[starts], counts.astype(np.int64)


def _candidate_rules(
    keys: np.ndarray, sources: np.ndarray, counts: np.ndarray, source_size: np.ndarray, opt: BoilerplateOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(unique keys, is a candidate, meets the one-source rule)`` per key."""
    new = np.ones(keys.shape[0], dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    group = np.cumsum(new) - 1
    ukeys = keys[new]
    n_groups = ukeys.shape[0]
    df = np.bincount(group, weights=counts, minlength=n_groups).astype(np.int64)
    known = sources >= 0
    n_known = np.bincount(group[known], minlength=n_groups)
    unknown = np.bincount(group[~known], weights=counts[~known], minlength=n_groups)
    size = np.zeros(keys.shape[0], dtype=np.int64)
    size[known] = source_size[sources[known]]
    one_source = known & (counts >= opt.min_docs) & (counts >= opt.min_source_fraction * size)
    by_source = np.bincount(group[one_source], minlength=n_groups) > 0
    ok = (n_known >= opt.min_sources) | (unknown >= opt.min_docs) | by_source
    ok &= df >= max(2, opt.min_docs)
    return ukeys, ok, ok & by_source


def select_candidates(
    keys: np.ndarray,
    sources: np.ndarray,
    counts: np.ndarray,
    source_size: np.ndarray,
    options: BoilerplateOptions | None = None,
) -> np.ndarray:
    """Candidate keys (sorted) from (key, source, distinct documents) rows
    sorted by key (``source`` -1: unknown); the rules of the module doc."""
    opt = options or BoilerplateOptions()
    if keys.shape[0] == 0:
        return np.zeros(0, dtype=np.uint64)
    ukeys, ok, _ = _candidate_rules(keys, sources, counts, source_size, opt)
    return np.sort(ukeys[ok])


def single_source_candidates(
    keys: np.ndarray,
    sources: np.ndarray,
    counts: np.ndarray,
    source_size: np.ndarray,
    options: BoilerplateOptions | None = None,
) -> np.ndarray:
    """The candidates (sorted) that meet the one-source rule (same rows as
    :func:`select_candidates`): only these may pass the story check as a
    long block (module doc)."""
    opt = options or BoilerplateOptions()
    if keys.shape[0] == 0:
        return np.zeros(0, dtype=np.uint64)
    ukeys, _, single = _candidate_rules(keys, sources, counts, source_size, opt)
    return np.sort(ukeys[single])


# --------------------------------------------------------------------------
# Phase 3: the story check
# --------------------------------------------------------------------------


def story_check(
    candidates: np.ndarray,
    key_docs: KeyDocs,
    segments: BoilerplateSegments,
    doc_ntok: np.ndarray,
    options: BoilerplateOptions | None = None,
    single_source: np.ndarray | None = None,
) -> np.ndarray:
    """The candidates (sorted uint64) that travel with different stories.

    Candidates with the same document set share the verdict.  ``segments``
    grouped by document (as :meth:`BoilerplateSegments.renumber` leaves them);
    ``doc_ntok[d]``: tokens of document ``d``; ``single_source``: the
    candidates of :func:`single_source_candidates` (None: none), the only
    ones the long-block rule may flag."""
    opt = options or BoilerplateOptions()
    candidates = np.sort(np.asarray(candidates, dtype=np.uint64))
    if candidates.shape[0] == 0:
        return candidates
    single = np.zeros(candidates.shape[0], dtype=bool)
    if single_source is not None and len(single_source):
        single = np.isin(candidates, np.asarray(single_source, dtype=np.uint64))
    pos = key_docs.lookup(candidates)
    # per segment, once: its key's entry in key_docs, and whether it is the
    # first occurrence of its key in its document (a key counts once per document)
    seg_kpos = key_docs.lookup(segments.key)
    o = np.lexsort((np.arange(len(segments)), segments.key, segments.doc))
    first_sorted = np.ones(o.shape[0], dtype=bool)
    if o.shape[0]:
        first_sorted[1:] = (segments.doc[o][1:] != segments.doc[o][:-1]) | (segments.key[o][1:] != segments.key[o][:-1])
    seg_first = np.empty(o.shape[0], dtype=bool)
    seg_first[o] = first_sorted
    # every candidate's verdict in one compiled pass (a function of its document set
    # and `single` alone: candidates with the same set get the same verdict)
    is_boiler = _story_kernel(
        pos, single, key_docs.ptr, key_docs.docs, segments.doc, seg_kpos, segments.ntok, seg_first, doc_ntok,
        opt.max_docs_checked, opt.companion_overlap, opt.max_block_share, opt.min_story_words, opt.min_stories,
    )
    return candidates[is_boiler]


@njit(cache=True, nogil=True, parallel=True)
def _story_kernel(pos, single, kd_ptr, kd_docs, seg_doc, seg_kpos, seg_ntok, seg_first, doc_ntok,
                  max_checked, overlap, max_share, min_story_words, min_stories):
    n = pos.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    for i in prange(n):
        p = pos[i]
        if p < 0:
            continue
        dset = kd_docs[kd_ptr[p]:kd_ptr[p + 1]]
        checked = dset[:max_checked]
        lo = np.searchsorted(seg_doc, checked, side="left")
        hi = np.searchsorted(seg_doc, checked, side="right")
        block, own = _blocks(lo, hi, seg_kpos, seg_ntok, seg_first, kd_ptr, kd_docs, dset, overlap)
        share = np.empty(checked.shape[0], dtype=np.float64)
        for c in range(checked.shape[0]):
            share[c] = block[c] / max(1, np.int64(doc_ntok[checked[c]]))
        verdict = np.median(share) <= max_share
        if not verdict and single[i]:
            # the long-block rule: next to a story of its own in many documents of one source
            with_story = 0
            for c in range(own.shape[0]):
                if own[c] >= min_story_words:
                    with_story += 1
            verdict = with_story >= min_stories and 2 * with_story >= own.shape[0]
        out[i] = verdict
    return out


@njit(cache=True, nogil=True)
def _blocks(lo, hi, seg_kpos, seg_ntok, seg_first, kd_ptr, kd_docs, dset, overlap):
    """Per checked document (segments ``lo[c]:hi[c]``): the words in segments
    whose document set largely coincides with ``dset`` (the companion block),
    and the words in segments found in no other document of ``dset`` (its own
    text)."""
    size = dset.shape[0]
    out = np.zeros(lo.shape[0], dtype=np.float64)
    own = np.zeros(lo.shape[0], dtype=np.int64)
    for c in range(lo.shape[0]):
        block = 0
        for s in range(lo[c], hi[c]):
            if not seg_first[s]:
                continue
            q = seg_kpos[s]
            if q < 0:  # in no other document at all
                own[c] += seg_ntok[s]
                continue
            other = kd_docs[kd_ptr[q]:kd_ptr[q + 1]]
            inter = _intersect_size(other, dset)
            if inter >= overlap * max(other.shape[0], size):
                block += seg_ntok[s]
            elif inter <= 1:
                own[c] += seg_ntok[s]
        out[c] = block
    return out, own


@njit(cache=True, nogil=True)
def _intersect_size(a, b):
    """Common elements of two sorted unique arrays (binary search of the
    smaller in the larger when their sizes differ a lot)."""
    if a.shape[0] > b.shape[0]:
        a, b = b, a
    if a.shape[0] * 16 < b.shape[0]:
        c = 0
        for x in a:
            k = np.searchsorted(b, x)
            if k < b.shape[0] and b[k] == x:
                c += 1
        return c
    i = j = c = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] == b[j]:
            c += 1
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return c


# --------------------------------------------------------------------------
# Phase 4: spans and the table
# --------------------------------------------------------------------------


def document_spans(
    segments: BoilerplateSegments, texts: Sequence[str], boiler_keys: np.ndarray, doc_index: np.ndarray | None = None
) -> dict[int, list[tuple[int, int]]]:
    """Boilerplate spans of the documents ``doc_index`` (parallel to
    ``texts``; default 0..len-1) from their segments."""
    if doc_index is None:
        doc_index = np.arange(len(texts), dtype=np.int64)
    hit = np.isin(segments.key, boiler_keys)
    if not hit.any():
        return {}
    seg = segments.take(np.flatnonzero(hit))
    where = {int(d): i for i, d in enumerate(np.asarray(doc_index).tolist())}
    out: dict[int, list[tuple[int, int]]] = {}
    o = np.lexsort((seg.start, seg.doc))
    docs, starts, ends = seg.doc[o], seg.start[o], seg.end[o]
    bounds = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1], True])
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        d = int(docs[a])
        if d not in where:
            continue
        out[d] = merge_spans(texts[where[d]], list(zip(starts[a:b].tolist(), ends[a:b].tolist(), strict=True)))
    return out


def representatives(segments: BoilerplateSegments, boiler_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each boilerplate key (sorted): the document, start and end of its
    first occurrence (smallest document, then first in the text)."""
    hit = np.flatnonzero(np.isin(segments.key, boiler_keys))
    k, d, s, e = segments.key[hit], segments.doc[hit], segments.start[hit], segments.end[hit]
    o = np.lexsort((s, d, k))
    k, d, s, e = k[o], d[o], s[o], e[o]
    first = np.ones(k.shape[0], dtype=bool)
    first[1:] = k[1:] != k[:-1]
    return k[first], d[first], s[first], e[first]


def boilerplate_table(texts: Sequence[str], doc_frequency: Sequence[int], sources: Sequence[list[str]]) -> pa.Table:
    """The output table, sorted by doc_frequency descending then text."""
    rows = sorted(zip(texts, doc_frequency, sources, strict=True), key=lambda r: (-r[1], r[0]))
    return pa.table(
        {
            "text": pa.array([r[0] for r in rows], pa.string()),
            "doc_frequency": pa.array([int(r[1]) for r in rows], pa.int64()),
            "sources": pa.array([sorted(r[2]) for r in rows], pa.list_(pa.string())),
        },
        schema=BOILERPLATE_SCHEMA,
    )


def table_rows(
    boiler_keys: np.ndarray, key_docs: KeyDocs, doc_source: np.ndarray, source_names: Sequence[str]
) -> tuple[list[int], list[list[str]]]:
    """doc_frequency and sorted known source names of each boilerplate key."""
    dfs: list[int] = []
    srcs: list[list[str]] = []
    for p in key_docs.lookup(boiler_keys).tolist():
        docs = key_docs.docs[key_docs.ptr[p]:key_docs.ptr[p + 1]]
        codes = np.unique(doc_source[docs])
        dfs.append(int(docs.shape[0]))
        srcs.append(sorted(source_names[c] for c in codes.tolist() if c >= 0))
    return dfs, srcs


def source_book(counts: Iterable[tuple[str | None, int]]) -> tuple[list[str], np.ndarray]:
    """The code book of sources from (source, documents) counts: the known
    names sorted (a source's code is its position; unknown, None, is -1) and
    the documents of each.  Sorted so that codes depend on the collection
    only, not on reading order or partitioning."""
    docs: dict[str, int] = {}
    for name, k in counts:
        if name is not None:
            docs[name] = docs.get(name, 0) + int(k)
    names = sorted(docs)
    return names, np.array([docs[s] for s in names], dtype=np.int64)


def encode_sources(
    sources: Sequence[str | None] | pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``(codes, names, sizes)``: an int32 code per document (-1 unknown),
    the names by code (:func:`source_book`) and the documents of each source.
    ``engines.spark_rules.encode_sources`` is its Spark twin."""
    import pyarrow.compute as pc

    arr = sources if isinstance(sources, (pa.Array, pa.ChunkedArray)) else pa.array(list(sources), pa.string())
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int32), [], np.zeros(0, dtype=np.int64)
    vc = pc.value_counts(arr)
    names, sizes = source_book(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True))
    codes = pc.fill_null(pc.index_in(arr, value_set=pa.array(names, pa.string())), -1)
    return np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int32), names, sizes


def detect_boilerplate(
    doc_ids: Sequence[str],
    texts: Sequence[str],
    sources: Sequence[str | None] | None = None,
    options: BoilerplateOptions | None = None,
) -> BoilerplateResult:
    """Find the corpus's boilerplate segments (all four phases in memory)."""
    opt = options or BoilerplateOptions()
    n = len(texts)
    if sources is None:
        sources = [None] * n
    if not (len(doc_ids) == n == len(sources)):
        raise ValueError("doc_ids, texts and sources must have the same length")
    tokens = tokenize_batch(list(texts))
    segs = segment_batch(texts, None, opt, tokens)
    doc_ntok = np.diff(tokens.doc_offsets)
    codes, names, sizes = encode_sources(sources)
    return detect_from_segments(segs, doc_ntok, codes, names, sizes, lambda docs: [texts[d] for d in docs], opt)


def detect_from_segments(
    segs: BoilerplateSegments,
    doc_ntok: np.ndarray,
    doc_source: np.ndarray,
    source_names: Sequence[str],
    source_size: np.ndarray,
    fetch_texts: Callable[[list[int]], list[str]],
    options: BoilerplateOptions | None = None,
) -> BoilerplateResult:
    """Phases 2–4 for segments already collected (grouped by document);
    ``fetch_texts(docs)`` returns the texts of the given documents (only the
    documents holding boilerplate are asked for)."""
    opt = options or BoilerplateOptions()
    keys, srcs, counts = key_source_counts(segs, doc_source)
    cands = select_candidates(keys, srcs, counts, source_size, opt)
    if cands.shape[0] == 0:
        return BoilerplateResult(boilerplate_table([], [], []), {})
    single = single_source_candidates(keys, srcs, counts, source_size, opt)
    key_docs = KeyDocs.from_pairs(segs.key, segs.doc)
    boiler = story_check(cands, key_docs, segs, doc_ntok, opt, single)
    if boiler.shape[0] == 0:
        return BoilerplateResult(boilerplate_table([], [], []), {})
    hit = segs.take(np.flatnonzero(np.isin(segs.key, boiler)))
    rk, rd, rs, re_ = representatives(hit, boiler)
    rep_text = [""] * rk.shape[0]
    rdocs = np.unique(rd)
    # texts are fetched a chunk of documents at a time: memory stays bounded
    for lo in range(0, rdocs.shape[0], FETCH_CHUNK_DOCS):
        chunk = rdocs[lo:lo + FETCH_CHUNK_DOCS]
        texts = fetch_texts(chunk.tolist())
        pos = np.searchsorted(chunk, rd)
        for i in np.flatnonzero((pos < chunk.shape[0]) & (chunk[np.minimum(pos, chunk.shape[0] - 1)] == rd)):
            rep_text[i] = texts[int(pos[i])][int(rs[i]):int(re_[i])]
        del texts
    dfs, srcs_ = table_rows(rk, key_docs, doc_source, source_names)
    return BoilerplateResult(boilerplate_table(rep_text, dfs, srcs_), BoilerplateSpans(hit, boiler, fetch_texts))


class BoilerplateSpans(Mapping[int, list[tuple[int, int]]]):
    """``{doc: [(start, end), ...]}`` of every document holding boilerplate
    (:func:`document_spans`), each document's spans made the first time they
    are asked for: a run needs those of the documents it verifies and aligns,
    not of every document (``--against``: not of the whole reference).
    ``load(docs)`` makes those of many documents at once (one text fetch per
    chunk); ``len`` and iteration need no text."""

    def __init__(self, hit: BoilerplateSegments, boiler_keys: np.ndarray,
                 fetch_texts: Callable[[list[int]], list[str]]) -> None:
        if hit.doc.shape[0] > 1 and np.any(hit.doc[1:] < hit.doc[:-1]):
            hit = hit.take(np.argsort(hit.doc, kind="stable"))  # by document, text order kept
        self._hit = hit
        self._keys = boiler_keys
        self._fetch = fetch_texts
        self._docs = np.unique(hit.doc)
        self._done: dict[int, list[tuple[int, int]]] = {}

    def load(self, docs: np.ndarray | Sequence[int]) -> None:
        """Make the spans of ``docs`` (those holding boilerplate, not made yet)."""
        want = np.unique(np.asarray(docs, dtype=np.int64))
        want = want[np.isin(want, self._docs)]
        if self._done:
            want = want[~np.isin(want, np.fromiter(self._done, np.int64, len(self._done)))]
        for lo in range(0, want.shape[0], FETCH_CHUNK_DOCS):
            chunk = want[lo:lo + FETCH_CHUNK_DOCS]
            texts = self._fetch(chunk.tolist())
            lo_ = np.searchsorted(self._hit.doc, chunk, side="left")
            n_seg = np.searchsorted(self._hit.doc, chunk, side="right") - lo_
            first = np.cumsum(n_seg) - n_seg
            idx = np.arange(int(n_seg.sum()), dtype=np.int64) + np.repeat(lo_ - first, n_seg)
            self._done.update(document_spans(self._hit.take(idx), texts, self._keys, chunk))

    def __getitem__(self, doc: int) -> list[tuple[int, int]]:
        d = int(doc)
        if d not in self._done:
            self.load([d])
        return self._done[d]  # KeyError: no boilerplate in it

    def get(self, doc: int, default: Any = None) -> Any:
        return self[doc] if doc in self else default

    def __contains__(self, doc: object) -> bool:
        if not isinstance(doc, (int, np.integer)):
            return False
        k = int(np.searchsorted(self._docs, doc))
        return k < self._docs.shape[0] and int(self._docs[k]) == int(doc)

    def __len__(self) -> int:
        return int(self._docs.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(self._docs.tolist())

    def items(self) -> Iterator[tuple[int, list[tuple[int, int]]]]:  # type: ignore[override]
        self.load(self._docs)
        return iter([(d, self._done[d]) for d in self._docs.tolist()])


def merge_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in spans:
        if out and (s <= out[-1][1] or not text[out[-1][1] : s].strip()):
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(a, b) for a, b in out]


def mask_spans(
    docs: np.ndarray, spans: Mapping[int, list[tuple[int, int]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The boilerplate spans of documents ``docs`` as ``tokenize_batch``'s
    ``mask``: (position in ``docs``, start, end); None when there are none."""
    if not spans:
        return None
    made: Mapping[int, list[tuple[int, int]]] = spans
    if isinstance(spans, BoilerplateSpans):
        spans.load(docs)
        made = spans._done  # every one of ``docs`` holding boilerplate is in it now: plain dict look-ups
    pos, starts, ends = [], [], []
    for i, d in enumerate(docs.tolist()):
        for s, e in made.get(d, ()):
            pos.append(i)
            starts.append(s)
            ends.append(e)
    return (np.asarray(pos, dtype=np.int64), np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64))


def mask_text(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the characters of ``spans`` replaced by spaces (newlines
    kept): same length, same offsets."""
    if not spans:
        return text
    parts = []
    pos = 0
    for s, e in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        s = max(s, pos)
        if e <= s:
            continue
        parts.append(text[pos:s])
        seg = text[s:e]
        # spaces of the same length, newlines kept (no per-character regex)
        parts.append("\n".join(" " * len(x) for x in seg.split("\n")) if "\n" in seg else " " * len(seg))
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


