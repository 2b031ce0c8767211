"""What every engine shares: the engine output, the text store, the per-pair
align task, and the assembly of the output tables from the stages' arrays.

Only orchestration differs between engines (``local.py``, ``spark.py``); the
arrays handed to :func:`build_tables` have the same contract everywhere:
documents numbered 0..n-1 in doc-id order, verified pairs sorted by (a, b),
and the align results (``pas``) as described there.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa

from copytrace import schemas
from copytrace.kernels import prefer_compiled
from copytrace.stages.direction import Direction, cluster_originals, direction, join_reasons, wire_credits
from copytrace.stages.align import Alignment, align, prepare
from copytrace.stages.boilerplate import BoilerplateResult, mask_text
from copytrace.stages import rule
from copytrace.stages.cluster import Clusters, connected_components
from copytrace.stages.normalize import TokenBatch, Tokens, tokenize, tokenize_batch
from copytrace.stages.reuse import Reuse, reuse_clusters, whole_copy_mask
from copytrace.stages.fingerprint import shingle_sets_batch
from copytrace.stages.verify import VerifiedPairs, score_pairs, verify_pairs

__all__ = [
    "EngineOutput",
    "TextStore",
    "AlignItem",
    "align_chunk",
    "align_order",
    "align_arrays",
    "verify_chunk",
    "take_pairs",
    "candidates_judged",
    "apply_rule",
    "decide_pairs",
    "build_tables",
    "pair_tables",
    "cluster_originals",
    "result_counts",
    "counts_from_aggregates",
]

PASSAGE_KINDS = np.array(["verbatim", "reworded"])


@dataclass
class EngineOutput:
    """What an engine hands to the writer: the three tables and the summary."""

    documents: pa.Table
    pairs: pa.Table
    passages: pa.Table
    summary: dict[str, Any]
    store: "TextStore"
    clusters: Clusters
    order: np.ndarray = field(repr=False)  # sorted position -> store row
    boilerplate: BoilerplateResult | None = None  # spans keyed by sorted position
    keep: np.ndarray | None = None  # sorted positions for deduplicated.jsonl (None: representatives)
    reuse: pa.Table | None = None  # reuse.parquet (schemas.REUSE)

    def documents_table(self) -> pa.Table:
        """The documents table in memory (an engine that writes it as a dataset reads it back)."""
        return self.documents

    def kept_positions(self) -> np.ndarray:
        """The sorted positions written to deduplicated.jsonl: ``keep`` when the
        engine set it, else every cluster's representative (singletons included)."""
        if self.keep is not None:
            return self.keep
        return np.flatnonzero(self.clusters.representative == np.arange(self.order.shape[0]))


class TextStore:
    """Texts of the collection in an Arrow IPC file, memory-mapped for reading."""

    def __init__(self, path: Path, existing: bool = False) -> None:
        self.path = path
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        if not existing:
            self._writer = pa.ipc.new_file(str(path), schemas.TEXTS)
        self._table: pa.Table | None = None
        self._mmap: pa.MemoryMappedFile | None = None

    def append(self, doc_ids: list[str], texts: list[str], sources: list, dates: list,
               urls: list | None = None, titles: list | None = None) -> None:
        assert self._writer is not None
        none = [None] * len(doc_ids)
        batch = pa.record_batch(
            [
                pa.array(doc_ids, pa.string()),
                pa.array(texts, pa.large_string()),
                pa.array(sources, pa.string()),
                pa.array(dates, pa.string()),
                pa.array(urls if urls is not None else none, pa.string()),
                pa.array(titles if titles is not None else none, pa.string()),
            ],
            schema=schemas.TEXTS,
        )
        self._writer.write_batch(batch)

    def seal(self) -> pa.Table:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._table is None:
            self._mmap = pa.memory_map(str(self.path), "r")
            self._table = pa.ipc.open_file(self._mmap).read_all()
        return self._table

    @property
    def table(self) -> pa.Table:
        return self.seal()

    def texts(self, rows: np.ndarray) -> list[str]:
        return self.table.column("text").take(pa.array(rows, pa.int64())).to_pylist()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._table = None
        if self._mmap is not None:
            self._mmap.close()
            self._mmap = None


AlignItem = tuple[str, str, list, list, "str | None", "str | None"]


class _SideCache:
    """What :func:`align_chunk` computes for one side of its pairs, kept across
    chunks in this process (pairs come sorted by document, so a document's
    pairs fall in neighbouring chunks): least recently used first out, at
    most ``max_chars`` characters of text held.  Values depend on their key
    only: a hit gives what a miss computes."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.chars = 0
        self.items: OrderedDict[Any, tuple[int, Any]] = OrderedDict()

    def get(self, key: Any) -> Any:
        hit = self.items.get(key)
        if hit is None:
            return None
        self.items.move_to_end(key)
        return hit[1]

    def put(self, key: Any, chars: int, value: Any) -> None:
        self.items[key] = (chars, value)
        self.chars += chars
        while self.chars > self.max_chars and len(self.items) > 1:
            _, (c, _) = self.items.popitem(last=False)
            self.chars -= c


ALIGN_CACHE_CHARS = 4_000_000  # text held by align_chunk's per-process side caches (each)
# a chunk of at least this many pairs runs every kernel compiled (kernels.prefer_compiled): more
# chunks follow, and interpreting each kernel's first tiny calls costs about a second a process
ALIGN_COMPILED_MIN_PAIRS = 32
_MASKED = _SideCache(ALIGN_CACHE_CHARS)  # (text, boilerplate spans) -> [masked text, tokens, Prepared, Anchors]
_RAW = _SideCache(ALIGN_CACHE_CHARS)  # text as read -> (tokens, wire credits)


def align_chunk(items: list[AlignItem]) -> list[tuple[Alignment, Direction, float]]:
    """Align pairs with boilerplate masked out (offsets unchanged), weigh the
    aligned evidence for the rule (``rule.aligned_evidence``, past the word
    gate ``rule.gated``), and judge their direction on the texts as read
    (wire credits count even when the corpus repeats them).

    The work that depends on one side only is done once per distinct
    document (a document in a cluster of k copies is in k - 1 pairs), and
    kept for the next chunks of this process (:class:`_SideCache`):
    masking, tokenizing, ``align.prepare``, the anchors (names, figures) of
    the rule's anchor agreement, and the direction's tokens and wire
    credits.  Results are the same as aligning every pair on its own."""
    if not items:
        return []
    if len(items) >= ALIGN_COMPILED_MIN_PAIRS:
        prefer_compiled()
    sides: list[list] = []  # [masked text, tokens, Prepared, Anchors | None] of the chunk's sides
    index: dict[tuple[str, tuple], int] = {}  # (text, boilerplate spans) -> side index in this chunk

    def side(text: str, spans: list) -> int:
        key = (text, tuple(tuple(s) for s in spans))
        j = index.get(key)
        if j is None:
            entry = _MASKED.get(key)
            if entry is None:
                m = mask_text(text, spans) if spans else text
                t = tokenize(m)
                entry = [m, t, prepare(m, tokens=t), None]
                _MASKED.put(key, len(text), entry)
                if not spans and _RAW.get(text) is None:
                    _RAW.put(text, len(text), (t, wire_credits(text)))
            j = index[key] = len(sides)
            sides.append(entry)
        return j

    def read(text: str) -> tuple[Tokens, list[str]]:
        r = _RAW.get(text)
        if r is None:
            r = (tokenize(text), wire_credits(text))
            _RAW.put(text, len(text), r)
        return r

    ia = np.array([side(a, sa) for a, _, sa, _, _, _ in items], dtype=np.int64)
    ib = np.array([side(b, sb) for _, b, _, sb, _, _ in items], dtype=np.int64)
    lens = np.array([len(e[1]) for e in sides], dtype=np.int64)
    batch = TokenBatch(
        np.concatenate([e[1].starts for e in sides]), np.concatenate([e[1].ends for e in sides]),
        np.concatenate([e[1].hashes for e in sides]), np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
    )
    word_cont = rule.word_containment_batch(batch, ia, ib)
    out = []
    for k, (a, b, _, _, date_a, date_b) in enumerate(items):
        ea, eb = sides[ia[k]], sides[ib[k]]
        al = align(ea[2], eb[2])
        wc = float(word_cont[k])
        # below the word gate the aligned evidence counts only up to the word
        # containment (rule.gated): a pair sharing no content word is not weighed
        if rule.gated(1.0, wc) > 0:
            for e in (ea, eb):
                if e[3] is None:
                    e[3] = rule.anchors(e[0], e[1])
            aligned = rule.gated(rule.aligned_evidence(ea[0], ea[1], eb[0], eb[1], al, prepared=(ea[3], eb[3]))[0],
                                 wc)
        else:
            aligned = 0.0
        (ra, wa), (rb, wb) = read(a), read(b)
        out.append((al, direction(a, b, al, date_a, date_b, tokens=(ra, rb), credits=(wa, wb)), aligned))
    return out


def verify_chunk(
    docs: np.ndarray, texts: list[str], pairs: np.ndarray, ngram: int, threshold: float, aligned: bool,
    min_passage: int = 0, mask: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    passage_only: np.ndarray | None = None, tokens: TokenBatch | None = None,
) -> VerifiedPairs:
    """Verification of one chunk of candidate pairs, in both engines: ``docs``
    the chunk's document numbers (sorted, unique), ``texts`` theirs (boilerplate
    already masked, or masked while tokenizing: ``mask`` as
    ``boilerplate.mask_spans`` gives it), ``pairs`` (k, 2) document numbers.  With alignment every
    pair is scored and those the rule would turn down whatever the alignment
    says are dropped (``rule.worth_aligning``: the rule decides after
    alignment; ``passage_only``, one per pair: only the candidates' passage
    channel proposed it); without, the shingle floor decides
    (``verify.verify_pairs``).  Returns the kept pairs in document numbers, in
    the order of ``pairs``.  ``tokens``: the documents' tokens, boilerplate
    masked, already made (``texts`` and ``mask`` are then not used)."""
    toks = tokens if tokens is not None else tokenize_batch(texts, mask)  # boilerplate as spaces
    values, starts, sizes = shingle_sets_batch(toks, ngram)
    local = np.stack([np.searchsorted(docs, pairs[:, 0]), np.searchsorted(docs, pairs[:, 1])], axis=1)
    if aligned:
        v = score_pairs(local, values, starts, sizes)
        v = v.take(rule.worth_aligning(v, toks, threshold, ngram, min_passage, passage_only))  # the rest: no copies
    else:
        v = verify_pairs(local, values, starts, sizes, threshold, ngram)  # shingle floor only
    return VerifiedPairs(docs[v.a], docs[v.b], v.jaccard, v.containment_a_in_b, v.containment_b_in_a, v.shared)


def align_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The order in which to align pairs ``(a[k], b[k])`` (document numbers,
    sorted by (a, b)): component by component of the pair graph (components
    by their smallest document, pairs by (a, b) within), so that a
    document's pairs fall in neighbouring chunks and :func:`align_chunk`'s
    side caches prepare it once.  In (a, b) order the pairs of a document as
    ``b`` lie far apart (a copy's partners are spread over the corpus): on a
    20k syndicate corpus, 13,928 sides prepared for 9,624 distinct ones."""
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    root = connected_components(int(max(a.max(), b.max())) + 1, a, b)
    return np.lexsort((b, a, root[a])).astype(np.int64)


def align_arrays(
    n_pairs: int, results: Iterable[tuple[int, tuple[Alignment, Direction, float]]]
) -> dict[str, np.ndarray]:
    """The align results of ``n_pairs`` pairs as the arrays :func:`build_tables`
    takes (pairs not in ``results``: no passages, aligned evidence 0,
    direction unknown).  ``coverage`` is the rule's aligned evidence
    (``rule.aligned_evidence``: coverage weighted by anchor agreement).
    ``results`` may come in any order of pairs (:func:`align_order`): the
    passages are laid out by pair, each pair's in its alignment's order."""
    cols: dict[str, list] = {k: [] for k in ("pair", "a_start", "a_end", "b_start", "b_end", "kind", "score")}
    coverage = np.zeros(n_pairs, dtype=np.float64)
    coverage_a = np.zeros(n_pairs, dtype=np.float64)
    coverage_b = np.zeros(n_pairs, dtype=np.float64)
    original = np.zeros(n_pairs, dtype=np.int64)  # 0 unknown, 1 a, 2 b
    reasons = [""] * n_pairs
    confidence = np.zeros(n_pairs, dtype=np.float64)
    for i, (al, dr, aligned) in results:
        coverage[i] = aligned
        coverage_a[i], coverage_b[i] = al.coverage_a, al.coverage_b
        original[i] = {"a": 1, "b": 2}.get(dr.original or "", 0)
        confidence[i] = dr.confidence
        reasons[i] = join_reasons(dr.reasons)
        for p in al.passages:
            cols["pair"].append(i)
            cols["a_start"].append(p.a_start)
            cols["a_end"].append(p.a_end)
            cols["b_start"].append(p.b_start)
            cols["b_end"].append(p.b_end)
            cols["kind"].append(0 if p.kind == "verbatim" else 1)
            cols["score"].append(float(p.score))
    pas = {k: np.asarray(v, dtype=np.float64 if k == "score" else np.int64) for k, v in cols.items()}
    if pas["pair"].shape[0] > 1 and bool((np.diff(pas["pair"]) < 0).any()):
        by_pair = np.argsort(pas["pair"], kind="stable")
        pas = {k: v[by_pair] for k, v in pas.items()}
    pas["coverage"] = coverage
    pas["coverage_a"] = coverage_a
    pas["coverage_b"] = coverage_b
    pas["original"] = original
    pas["confidence"] = confidence
    pas["reasons"] = np.array(reasons, dtype=np.str_) if reasons else np.zeros(0, dtype="<U1")
    return pas


def take_pairs(pas: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """The align arrays of the pairs where ``keep`` (bool, one per pair) is set,
    renumbered to the kept pairs."""
    new_index = np.cumsum(keep, dtype=np.int64) - 1
    sel = keep[pas["pair"]] if pas["pair"].shape[0] else np.zeros(0, dtype=bool)
    out = {k: pas[k][sel] for k in ("a_start", "a_end", "b_start", "b_end", "kind", "score")}
    out["pair"] = new_index[pas["pair"][sel]]
    for k in ("coverage", "coverage_a", "coverage_b", "original", "confidence", "reasons"):
        out[k] = pas[k][keep]
    return out


def apply_rule(
    scored: VerifiedPairs, pas: dict[str, np.ndarray], threshold: float, ngram: int, n_candidates: int
) -> tuple[VerifiedPairs, dict[str, np.ndarray], dict[str, int], np.ndarray]:
    """``stages.rule`` over the scored candidate pairs (sorted by (a, b)) and
    their align arrays: the pairs that are copies, their align arrays, and
    the counts for summary.json (``rule``).  ``n_candidates``: all candidate
    pairs (exact duplicates included); those not in ``scored`` were turned
    down before alignment (``rule.worth_aligning``, or the shingle floor
    without alignment).  The last item is the rule's mask over ``scored``."""
    shared = scored.shared_or_enough()
    fl = rule.floor(scored.jaccard, scored.containment_a_in_b, scored.containment_b_in_a, shared, ngram)
    sim, keep = rule.decide_arrays(scored.jaccard, scored.containment_a_in_b, scored.containment_b_in_a,
                                   shared, pas["coverage"], threshold, ngram)
    by_floor = fl >= threshold - 1e-12
    counts = {
        "candidates": int(n_candidates),
        "rejected_before_alignment": int(n_candidates - len(scored)),
        "judged": len(scored),
        "paired": int(keep.sum()),
        "paired_by_shingles": int((keep & by_floor).sum()),
        "paired_by_aligned_passages": int((keep & ~by_floor).sum()),
        "rejected": int(n_candidates - keep.sum()),
    }
    return scored.take(keep), take_pairs(pas, keep), counts, keep


def candidates_judged(candidate_counts: dict[str, int]) -> int:
    """The candidate pairs the rule judges (``rule.candidates`` in summary.json),
    from the engine's ``candidate_pairs`` counts: near and exact candidates as
    found, less those the pair filters removed (they are not the rule's to
    turn down)."""
    return (int(candidate_counts["near_total"]) + int(candidate_counts["exact_duplicates"])
            - int(candidate_counts.get("removed_by_pair_filters", 0)))


def decide_pairs(
    scored: VerifiedPairs, pas: dict[str, np.ndarray], threshold: float, ngram: int, n_candidates: int,
    aligned: bool, dates: list[str | None], min_passage: int = 0,
) -> tuple[VerifiedPairs, dict[str, np.ndarray], dict[str, int], Reuse, np.ndarray]:
    """What both engines do between alignment and clustering, in one place:
    the rule's copies (``apply_rule``); reuse clusters over the passages of
    every aligned pair when ``min_passage`` > 0 (``--reuse-min-shingles``:
    pairs sharing that many distinct shingles are aligned too, and a story
    shared by two pages is reuse whether or not the pages are copies; the
    score bar of ``stages.reuse`` keeps two stories written from one
    template apart), else of the copies alone; and
    which copies join a document cluster — copies of one another as wholes
    (``reuse.whole_copy_mask``), so that a page holding many stories does not
    chain them.  ``dates``: per document index.  Returns the copies, their
    align arrays, the rule's counts, the reuse clusters and the
    document-cluster edge mask over the copies."""
    verified, pas_kept, counts, keep = apply_rule(scored, pas, threshold, ngram, n_candidates)
    evidence = keep.copy()
    if min_passage > 0:
        # every aligned pair: it shares min_passage shingles, or passed the floor or word gate
        # (rule.worth_aligning); the score bar of stages.reuse keeps template stories apart
        evidence[:] = True
    scored_r, pas_r = scored.take(evidence), take_pairs(pas, evidence)
    reuse = reuse_clusters(scored_r.a, scored_r.b, pas_r, dates, keep[evidence])
    whole = whole_copy_mask(scored_r, pas_r, aligned, reuse)
    return verified, pas_kept, counts, reuse, whole[keep[evidence]]


def build_tables(
    ids_sorted: pa.Array | pa.ChunkedArray,
    length: np.ndarray,
    clusters: Clusters,
    verified: VerifiedPairs,
    pas: dict[str, np.ndarray],
    ngram: int = 5,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """documents, pairs and passages tables.

    ``ids_sorted``: doc ids in doc-id order; ``length`` characters per
    document; ``pas``: the align results — per passage ``pair`` (index into
    ``verified``), ``a_start``, ``a_end``, ``b_start``, ``b_end``, ``kind`` (0
    verbatim, 1 reworded), ``score``; per pair ``coverage`` (the rule's
    aligned evidence, ``rule.aligned_evidence``), ``coverage_a`` /
    ``coverage_b`` (each side's share of words inside the passages),
    ``original`` (0 unknown, 1 a, 2 b), ``confidence``, ``reasons``."""
    n = int(length.shape[0])
    root = clusters.root
    cluster_original = cluster_originals(n, verified, pas["original"], pas["confidence"], clusters)
    documents = pa.table(
        {
            "doc_id": ids_sorted,
            "length": pa.array(length, pa.int64()),
            "cluster_id": ids_sorted.take(pa.array(root, pa.int64())),
            "is_representative": pa.array(clusters.representative == np.arange(n), pa.bool_()),
            "n_copies": pa.array(clusters.size, pa.int64()),
            "cluster_original": ids_sorted.take(pa.array(cluster_original, pa.int64())),
        },
        schema=schemas.DOCUMENTS,
    )
    pairs, passages = pair_tables(ids_sorted, verified, pas, ngram)
    return documents, pairs, passages


def pair_tables(
    ids: pa.Array | pa.ChunkedArray, verified: VerifiedPairs, pas: dict[str, np.ndarray], ngram: int = 5,
) -> tuple[pa.Table, pa.Table]:
    """pairs and passages tables (see :func:`build_tables`); ``ids``: the doc id of each document
    number in ``verified`` (all documents in doc-id order, or only those in pairs, renumbered)."""
    coverage = pas["coverage"]
    kinds = PASSAGE_KINDS
    ids_sorted = ids
    similarity = rule.similarity(
        rule.floor(verified.jaccard, verified.containment_a_in_b, verified.containment_b_in_a,
                   verified.shared_or_enough(), ngram), coverage) if len(verified) else np.zeros(0)
    pairs = pa.table(
        {
            "doc_a": ids_sorted.take(pa.array(verified.a, pa.int64())),
            "doc_b": ids_sorted.take(pa.array(verified.b, pa.int64())),
            "jaccard": pa.array(verified.jaccard, pa.float64()),
            "containment_a_in_b": pa.array(verified.containment_a_in_b, pa.float64()),
            "containment_b_in_a": pa.array(verified.containment_b_in_a, pa.float64()),
            "similarity": pa.array(similarity, pa.float64()),
            "original": pa.array(np.array(["", "a", "b"])[pas["original"]], pa.string()),
            "direction_confidence": pa.array(np.round(pas["confidence"], 6), pa.float64()),
            "direction_reasons": pa.array(pas["reasons"].tolist(), pa.string()),
        },
        schema=schemas.PAIRS,
    )
    pair_of = pas["pair"]
    passages = pa.table(
        {
            "doc_a": ids_sorted.take(pa.array(verified.a[pair_of], pa.int64())),
            "doc_b": ids_sorted.take(pa.array(verified.b[pair_of], pa.int64())),
            "a_start": pa.array(pas["a_start"], pa.int64()),
            "a_end": pa.array(pas["a_end"], pa.int64()),
            "b_start": pa.array(pas["b_start"], pa.int64()),
            "b_end": pa.array(pas["b_end"], pa.int64()),
            "kind": pa.array(kinds[pas["kind"]], pa.string()),
            "score": pa.array(pas["score"], pa.float64()),
        },
        schema=schemas.PASSAGES,
    )
    if passages.num_rows:
        passages = passages.sort_by(
            [("doc_a", "ascending"), ("doc_b", "ascending"), ("a_start", "ascending"), ("b_start", "ascending")]
        )
    return pairs, passages


def result_counts(
    length: np.ndarray,
    n_tokens: np.ndarray,
    exact: np.ndarray,
    verified: VerifiedPairs,
    clusters: Clusters,
    passages: pa.Table,
    bp: BoilerplateResult | None,
) -> dict[str, Any]:
    """The ``counts`` of summary.json (besides ``candidate_pairs``), the same for every engine."""
    n = int(length.shape[0])
    return counts_from_aggregates(
        n, int(length.sum()), int(np.count_nonzero(n_tokens == 0)), int(exact.shape[0]), len(verified),
        clusters.n_clusters, int(np.count_nonzero(clusters.size > 1)), int(clusters.size.max()) if n else 0,
        int(np.count_nonzero(clusters.representative == np.arange(n))), passages.num_rows,
        bp.table.num_rows if bp is not None else 0, len(bp.spans) if bp is not None else 0)


def counts_from_aggregates(
    n: int, characters: int, without_words: int, exact_pairs: int, verified_pairs: int, n_clusters: int,
    in_clusters: int, largest: int, n_kept: int, n_passages: int, bp_segments: int, bp_documents: int,
) -> dict[str, Any]:
    """summary.json's ``counts`` from per-run aggregates (what :func:`result_counts` computes from
    the per-document arrays; the Spark engine aggregates them on the executors)."""
    return {
        "documents": n,
        "characters": characters,
        "documents_without_words": without_words,
        "exact_duplicate_documents": exact_pairs,
        "verified_pairs": verified_pairs,
        "clusters": n_clusters,
        "documents_in_clusters": in_clusters,
        "largest_cluster": largest,
        "deduplicated_documents": n_kept,
        "duplicates_removed": n - n_kept,
        "dedup_rate": (n - n_kept) / n if n else 0.0,
        "passages": n_passages,
        "boilerplate_segments": bp_segments,
        "documents_with_boilerplate": bp_documents,
    }
