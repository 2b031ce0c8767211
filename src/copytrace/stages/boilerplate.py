"""Stage 6b — boilerplate: the passages a corpus repeats but that belong to no story.

Data contract
-------------
``detect_boilerplate(doc_ids, texts, sources, options=None) -> BoilerplateResult``

* ``doc_ids``, ``texts``, ``sources``: parallel sequences; a source may be
  ``None`` (unknown).  Documents are referred to by their index in them.
* ``BoilerplateResult.table``: a pyarrow table, one row per boilerplate
  segment (sorted by doc_frequency descending, then text)::

      text           string         a representative occurrence, as read
      doc_frequency  int64          documents that contain the segment
      sources        list<string>   the (known) sources of those documents, sorted

* ``BoilerplateResult.spans``: ``{doc_index: [(start, end), ...]}`` — the
  character spans (``str`` indices into the text as read, end exclusive,
  sorted, non-overlapping) of boilerplate in each document that has some.
  Adjacent boilerplate segments separated only by whitespace are merged into
  one span.
* ``mask_text(text, spans)`` replaces the characters of the spans with spaces
  (newlines are kept), so offsets do not move: the masked text can go
  through similarity and alignment and every offset still points into the
  original text.

Segments and hashes
-------------------
Segments are the align stage's sentences (:func:`split_sentences`: sentences,
lines that start with a capital, paragraphs).  A segment's key is a hash of
the sequence of its *normalized* token hashes (normalize stage), so case,
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
different story every time.

Why ``min_docs = 5`` rather than 3: stock sentences ("The company did not
respond to a request for comment.") recur by chance in a handful of
unrelated stories; three documents is within reach of chance, five from the
same site (and a share of its documents) rarely is, while a real appeal or
newsletter box appears in dozens.  Lower it for small corpora.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pyarrow as pa

from copytrace.stages.align import split_sentences
from copytrace.stages.normalize import tokenize_batch

__all__ = [
    "BoilerplateOptions",
    "BoilerplateResult",
    "BOILERPLATE_SCHEMA",
    "detect_boilerplate",
    "mask_text",
]

BOILERPLATE_SCHEMA = pa.schema(
    [
        pa.field("text", pa.string(), nullable=False),
        pa.field("doc_frequency", pa.int64(), nullable=False),
        pa.field("sources", pa.list_(pa.string()), nullable=False),
    ]
)


@dataclass(frozen=True)
class BoilerplateOptions:
    """Parameters of :func:`detect_boilerplate` (see the module doc)."""

    min_docs: int = 5
    min_source_fraction: float = 0.05
    min_sources: int = 5
    min_words: int = 4
    max_block_share: float = 0.6
    companion_overlap: float = 0.5
    max_docs_checked: int = 64  # documents sampled per candidate for the story check


@dataclass
class BoilerplateResult:
    table: pa.Table
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def spans_by_id(self, doc_ids: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
        return {doc_ids[i]: s for i, s in self.spans.items()}


def _seg_key(hashes: np.ndarray) -> int:
    return int.from_bytes(hashlib.blake2b(hashes.tobytes(), digest_size=8).digest(), "little")


def detect_boilerplate(
    doc_ids: Sequence[str],
    texts: Sequence[str],
    sources: Sequence[str | None] | None = None,
    options: BoilerplateOptions | None = None,
) -> BoilerplateResult:
    """Find the corpus's boilerplate segments (see the module doc)."""
    opt = options or BoilerplateOptions()
    n = len(texts)
    if sources is None:
        sources = [None] * n
    if not (len(doc_ids) == n == len(sources)):
        raise ValueError("doc_ids, texts and sources must have the same length")
    batch = tokenize_batch(list(texts))

    # 1. segments of every document: key, span, word count
    doc_segs: list[list[tuple[int, int, int, int]]] = []  # (key, start, end, ntok)
    doc_ntok = np.zeros(n, dtype=np.int64)
    seg_docs: dict[int, list[int]] = defaultdict(list)
    for d in range(n):
        toks = batch.doc(d)
        doc_ntok[d] = len(toks)
        segs: list[tuple[int, int, int, int]] = []
        if len(toks):
            spans = split_sentences(texts[d], toks)
            lo = np.searchsorted(toks.starts, spans[:, 0], side="left")
            hi = np.searchsorted(toks.ends, spans[:, 1], side="right")
            seen: set[int] = set()
            for (s, e), a, b in zip(spans.tolist(), lo.tolist(), hi.tolist()):
                if b - a < opt.min_words:
                    continue
                key = _seg_key(toks.hashes[a:b])
                segs.append((key, s, e, b - a))
                if key not in seen:
                    seen.add(key)
                    seg_docs[key].append(d)
        doc_segs.append(segs)

    # 2. candidates by document frequency
    source_size: dict[str, int] = defaultdict(int)
    for s in sources:
        if s is not None:
            source_size[s] += 1
    docsets = {k: v for k, v in seg_docs.items() if len(v) >= max(2, opt.min_docs)}
    candidates: set[int] = set()
    for key, docs in docsets.items():
        per_source: dict[str | None, int] = defaultdict(int)
        for d in docs:
            per_source[sources[d]] += 1
        known = [s for s in per_source if s is not None]
        ok = len(known) >= opt.min_sources or per_source.get(None, 0) >= opt.min_docs
        if not ok:
            for s in known:
                c = per_source[s]
                if c >= opt.min_docs and c >= opt.min_source_fraction * source_size[s]:
                    ok = True
                    break
        if ok:
            candidates.add(key)

    # 3. the story check: does the candidate travel with different stories?
    # (segments with the same document set share the verdict)
    shared = {k: frozenset(v) for k, v in seg_docs.items() if len(v) >= 2}
    verdict_by_set: dict[frozenset, bool] = {}
    boiler: set[int] = set()
    for key in sorted(candidates):
        dset = shared[key]
        if dset not in verdict_by_set:
            verdict_by_set[dset] = _travels_alone(dset, doc_segs, doc_ntok, shared, opt)
        if verdict_by_set[dset]:
            boiler.add(key)

    # 4. outputs: per-document spans, and one row per segment
    spans_out: dict[int, list[tuple[int, int]]] = {}
    rep: dict[int, str] = {}
    for d in range(n):
        hits = [(s, e) for key, s, e, _ in doc_segs[d] if key in boiler]
        for key, s, e, _ in doc_segs[d]:
            if key in boiler and key not in rep:
                rep[key] = texts[d][s:e]
        if hits:
            spans_out[d] = _merge(texts[d], sorted(hits))
    rows = []
    for key in boiler:
        docs = seg_docs[key]
        srcs = sorted({sources[d] for d in docs if sources[d] is not None})
        rows.append((rep[key], len(docs), srcs))
    rows.sort(key=lambda r: (-r[1], r[0]))
    table = pa.table(
        {
            "text": pa.array([r[0] for r in rows], pa.string()),
            "doc_frequency": pa.array([r[1] for r in rows], pa.int64()),
            "sources": pa.array([r[2] for r in rows], pa.list_(pa.string())),
        },
        schema=BOILERPLATE_SCHEMA,
    )
    return BoilerplateResult(table, spans_out)


def _travels_alone(
    dset: frozenset,
    doc_segs: list[list[tuple[int, int, int, int]]],
    doc_ntok: np.ndarray,
    shared: dict[int, frozenset],
    opt: BoilerplateOptions,
) -> bool:
    """True when the segments with this document set make up only a minor
    part (≤ max_block_share) of the median document holding them."""
    docs = sorted(dset)[: opt.max_docs_checked]
    size = len(dset)
    shares = []
    for d in docs:
        block = 0
        counted: set[int] = set()
        for key, _, _, ntok in doc_segs[d]:
            other = shared.get(key)
            if other is None or key in counted:
                continue
            inter = len(other & dset) if other is not dset else size
            if inter >= opt.companion_overlap * max(len(other), size):
                block += ntok
                counted.add(key)
        shares.append(block / max(1, int(doc_ntok[d])))
    return float(np.median(shares)) <= opt.max_block_share


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in spans:
        if out and (s <= out[-1][1] or not text[out[-1][1] : s].strip()):
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(a, b) for a, b in out]


def mask_text(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the characters of ``spans`` replaced by spaces (newlines
    kept): same length, same offsets."""
    if not spans:
        return text
    chars = list(text)
    for s, e in spans:
        for i in range(max(0, s), min(len(chars), e)):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)
