"""The local engine: runs the stages on one machine, in memory plus a work directory.

Orchestration only — every computation lives in ``copytrace.stages``.
``LocalEngine.run`` is the sequence of the stage methods below, each one
stage's orchestration with a documented input and output:

1. ``_read``: read → normalize → fingerprint, batch by batch (streaming):
   texts go to an Arrow IPC *text store* in the work directory, and only
   fingerprints stay in memory (``num_perm`` × 4 bytes per document), with the
   tokens (16 bytes each, until verification, up to an eighth of
   ``--memory-limit``: ``engines.tokenstore``); then the
   documents are numbered in doc-id order, so that every later result is a
   function of the collection, not of the order the files were listed in;
2. ``_boilerplate``: segments the corpus repeats around different stories;
3. ``_candidates`` (exact duplicates, LSH, containment sample, pair filters)
   → ``_verify`` (exact shingle measures of every candidate, from the read
   stage's tokens with the boilerplate masked: ``engines.tokenstore``; texts
   re-read from the memory-mapped store and tokenized again only past the
   store's memory budget, or on ``--resume``);
4. ``_align``: align every scored candidate;
5. ``_decide``: the rule (``stages.rule``: which candidates are copies, on the
   shingles and the aligned passages) and the reuse clusters; with
   ``--no-align`` the rule decides on the shingle floor alone, before anything
   is aligned;
6. ``_cluster`` → ``_tables``: document clusters and the output tables.

Stages 1, 3 and 4 are checkpointed (:class:`Checkpoints`) for ``--resume``.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from copytrace.engines.base import RunState, summary_dict
from copytrace.engines.checkpoints import Checkpoints
from copytrace.engines.common import (
    AlignItem,
    EngineOutput,
    TextStore,
    align_arrays,
    align_chunk,
    align_order,
    build_tables,
    candidates_judged,
    decide_pairs,
    result_counts,
    verify_chunk,
)
from copytrace.engines.tokenstore import TokenStore, verify_tokens
from copytrace.engines.workdir import owned_work_dir
from copytrace.errors import OptionError
from copytrace.kernels import use_threads
from copytrace.options import FindOptions
from copytrace.progress import Reporter
from copytrace.stages import candidates as cand
from copytrace.stages import pairfilter, reference
from copytrace.stages.direction import Direction
from copytrace.stages.align import Alignment
from copytrace.stages.buckets import BandKeySpool, estimate_band_key_bytes, external_lsh_pairs
from copytrace.stages.boilerplate import (
    BoilerplateOptions,
    BoilerplateResult,
    BoilerplateSegments,
    detect_from_segments,
    encode_sources,
    mask_spans,
    segment_batch,
)
from copytrace.stages.cluster import Clusters, cluster
from copytrace.stages.fingerprint import (
    FingerprintParams,
    fingerprint_batch,
)
from copytrace.stages.normalize import tokenize_batch
from copytrace.stages.read import ReadStats
from copytrace.stages.reuse import Reuse, reuse_counts, reuse_table
from copytrace.stages.verify import VerifiedPairs

__all__ = ["LocalEngine", "EngineOutput", "TextStore", "Checkpoints"]

# candidate pairs verified at once: each chunk gathers the tokens of its documents
# (or re-reads and re-tokenizes their texts: ~40 kB per pair at the peak, both sides included)
VERIFY_CHUNK_BYTES_PER_PAIR = 40_000
VERIFY_CHUNK_PAIRS = (50_000, 400_000)  # bounds
ALIGN_CHUNK_PAIRS = 128  # per chunk each document is prepared once (align_chunk)
# below this many pairs, worker processes cost more to start than they save
ALIGN_PROCESSES_MIN_PAIRS = 1500
# the read stage's tokens are kept for verification up to this share of --memory-limit
# (16 bytes a token); past it verification tokenizes the texts again
TOKEN_STORE_SHARE = 8


@dataclass
class _Fingerprints:
    """The read stage's result, documents in doc-id order (``order``: sorted
    position -> store row): per-document arrays, the containment sample, the
    boilerplate segments; ``external``: the LSH band keys were spooled to
    ``bands_dir`` (``signatures`` is then empty)."""

    table: pa.Table
    order: np.ndarray
    signatures: np.ndarray
    content_hash: np.ndarray
    n_tokens: np.ndarray
    length: np.ndarray
    side: np.ndarray | None
    samp_hash: np.ndarray
    samp_doc: np.ndarray
    samp_word: np.ndarray | None  # the sample's word-channel items (None: a checkpoint without them)
    segments: BoilerplateSegments | None
    external: bool
    stats: ReadStats

    @property
    def n(self) -> int:
        return int(self.table.num_rows)


@dataclass
class _Scored:
    """Candidates after verification: the scored pairs (sorted by (a, b)),
    the exact duplicates after and before the pair filters, and the
    candidate counts for summary.json."""

    verified: VerifiedPairs
    exact: np.ndarray
    exact_all: np.ndarray
    candidate_counts: dict[str, int]


@dataclass
class _LocalRun(RunState):
    """The local engine's run state: the base's, plus the checkpoints, the
    LSH parameters and the memory budget of the run."""

    ckpt: Checkpoints | None = None
    lsh: cand.LshParams | None = None
    memory_limit: int = 0

    @property
    def bands_dir(self) -> Path:
        assert self.work_dir is not None
        return self.work_dir / "bands"


class LocalEngine:
    """Runs `find` on this machine: one method per stage, ``run`` calls them in order."""

    name = "local"

    def __init__(self) -> None:
        self._state: _LocalRun | None = None
        self._bp_spans: Mapping[int, list[tuple[int, int]]] = {}  # made as the documents are verified
        self._tokens: TokenStore | None = None  # the read stage's tokens, for verification

    # -- the pipeline ---------------------------------------------------------------------------
    def run(self, inputs: Sequence[str | os.PathLike], options: FindOptions, reporter: Reporter) -> EngineOutput:
        t_start = time.perf_counter()
        st = self._start(inputs, options)
        fp = self._read(inputs, st, reporter)
        bp = self._boilerplate(st, fp, reporter)
        pair_meta = pairfilter.meta_from_store(fp.table, fp.order, fp.side, options)
        scored = self._candidates_and_verify(st, fp, pair_meta, reporter)
        pas = self._align(st, fp.order, scored.verified, reporter)
        n_cand = candidates_judged(scored.candidate_counts)
        dates_sorted = fp.table.column("date").take(pa.array(fp.order, pa.int64()))
        verified, pas, rule_counts, reuse, whole = self._decide(st, scored.verified, pas, n_cand, dates_sorted,
                                                                reporter)
        clusters = self._cluster(fp, verified, whole, reporter)
        return self._tables(inputs, st, fp, bp, pair_meta, scored, verified, pas, rule_counts, reuse, clusters,
                            dates_sorted, reporter, t_start)

    # -- the stages -----------------------------------------------------------------------------
    def _start(self, inputs: Sequence[str | os.PathLike], opts: FindOptions) -> _LocalRun:
        """Threads, the work directory, the checkpoints and the LSH parameters of the run."""
        use_threads(opts.n_workers)  # numba's threads (numba imported on the first compiled kernel)
        work_dir = owned_work_dir(opts.work_dir) if opts.work_dir else Path(tempfile.mkdtemp(prefix="copytrace-"))
        st = _LocalRun(opts, work_dir, owns_work_dir=opts.work_dir is None)
        self._state = st
        self._bp_spans = {}
        self._tokens = None
        st.ckpt = Checkpoints(work_dir, Checkpoints.make_key([*inputs, *opts.against], opts.parameters()),
                              opts.resume, keep=opts.work_dir is not None)  # a temporary work dir: none
        st.lsh = cand.lsh_params(opts.threshold, opts.num_perm, opts.bands, opts.rows)
        st.memory_limit = opts.memory_limit_bytes
        return st

    def _read(self, inputs: Sequence[str | os.PathLike], st: _LocalRun, reporter: Reporter) -> _Fingerprints:
        """read → normalize → fingerprint, batch by batch (texts to the store,
        fingerprints and tokens kept), then documents numbered in doc-id order; from the
        ``fingerprint`` checkpoint when resuming."""
        opts, ckpt, lsh = st.options, st.ckpt, st.lsh
        assert ckpt is not None and lsh is not None and st.work_dir is not None
        bands_dir = st.bands_dir
        if ckpt.has("fingerprint"):
            arrays, meta = ckpt.load("fingerprint")
            external = bool(meta.get("lsh_external", False))
            if external and not BandKeySpool.is_complete(bands_dir, lsh):
                raise OptionError(f"{bands_dir}: the band-key spool of this run is incomplete; rerun without --resume")
            st.store = store = TextStore(st.work_dir / "texts.arrow", existing=True)
            return _Fingerprints(
                store.seal(), arrays["order"], arrays["signatures"], arrays["content_hash"], arrays["n_tokens"],
                arrays["length"], arrays["side"] if opts.against else None, arrays["samp_hash"], arrays["samp_doc"],
                arrays.get("samp_word"), BoilerplateSegments(*(arrays[f"seg_{f}"] for f in ("doc", "key", "start", "end", "ntok"))), external,
                ReadStats(**meta["read_stats"]),
            )
        stats = ReadStats()
        fp_params = FingerprintParams(opts.ngram, opts.num_perm, opts.seed)
        st.store = store = TextStore(st.work_dir / "texts.arrow")
        self._tokens = tokens = TokenStore(st.memory_limit // TOKEN_STORE_SHARE)
        sigs: list[np.ndarray] = []
        chashes: list[np.ndarray] = []
        ntoks: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        samp_h: list[np.ndarray] = []
        samp_d: list[np.ndarray] = []
        samp_w: list[np.ndarray] = []
        segs: list[BoilerplateSegments] = []
        spool: BandKeySpool | None = None
        sig_rows: list[int] = []  # first store row of each kept signature batch
        bp_opts = BoilerplateOptions(min_docs=opts.boilerplate_min_docs)
        sides: list[np.ndarray] = []  # with --against: 0 new, 1 reference, by store row
        n_read = 0
        t_norm = t_fp = t_seg = 0.0
        with reporter.stage("read", unit="docs") as bar:
            read_opts = dataclasses.replace(opts.read, extract_workers=opts.n_workers)  # WARC pages
            for batch, side_of_batch in reference.batches_with_side(inputs, opts.against, read_opts, stats):
                sides.append(np.full(len(batch), side_of_batch, dtype=np.int8))
                texts = [d.text for d in batch]
                store.append(
                    [d.doc_id for d in batch], texts, [d.source for d in batch], [d.date for d in batch],
                    [d.url for d in batch], [d.title for d in batch],
                )
                t0 = time.perf_counter()
                toks = tokenize_batch(texts)
                tokens.append(toks)
                t1 = time.perf_counter()
                fps = fingerprint_batch(toks, fp_params, opts.sample_rate if opts.containment else 0)
                if opts.containment:
                    # fingerprint_batch samples whenever asked to
                    assert fps.sample_hashes is not None and fps.sample_docs is not None
                    samp_h.append(fps.sample_hashes)
                    samp_d.append(fps.sample_docs + n_read)
                    samp_w.append(fps.sample_is_word if fps.sample_is_word is not None
                                  else np.zeros(fps.sample_hashes.shape[0], dtype=bool))
                t2 = time.perf_counter()
                if opts.boilerplate:
                    rows = np.arange(n_read, n_read + len(batch), dtype=np.int64)
                    segs.append(segment_batch(texts, rows, bp_opts, toks))
                t3 = time.perf_counter()
                t_norm += t1 - t0
                t_fp += t2 - t1
                t_seg += t3 - t2
                if spool is not None:
                    spool.append(np.arange(n_read, n_read + len(batch), dtype=np.int64), fps.signatures)
                else:
                    sigs.append(fps.signatures)
                    sig_rows.append(n_read)
                    n_now = n_read + len(batch)
                    need = n_now * opts.num_perm * 4 + estimate_band_key_bytes(n_now, lsh.bands)
                    if need > st.memory_limit // 8:
                        # from here on: band keys to disk, signatures dropped
                        spool = BandKeySpool(bands_dir, lsh)
                        for start, sg in zip(sig_rows, sigs, strict=True):
                            spool.append(np.arange(start, start + sg.shape[0], dtype=np.int64), sg)
                        sigs, sig_rows = [], []
                chashes.append(fps.content_hash)
                ntoks.append(fps.n_tokens)
                lengths.append(np.fromiter((len(t) for t in texts), np.int64, len(texts)))
                n_read += len(batch)
                bar.advance(len(batch))
        table = store.seal()
        tokens.seal()
        n = table.num_rows
        reporter.timings["normalize"] = t_norm
        reporter.timings["fingerprint"] = t_fp
        reporter.timings["boilerplate"] = t_seg
        reporter.timings["read"] -= t_norm + t_fp + t_seg

        # documents numbered in doc-id order: every later result is a function of the
        # collection, not of the order the files were listed in
        order = np.asarray(pc.sort_indices(table.column("doc_id")), dtype=np.int64) if n else np.zeros(0, np.int64)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n, dtype=np.int64)

        def cat(parts: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(shape, dtype=dtype)

        external = spool is not None
        if spool is not None:
            spool.close()
            signatures = np.zeros((0, opts.num_perm), dtype=np.uint32)
        else:
            signatures = cat(sigs, (0, opts.num_perm), np.uint32)[order]
        fp = _Fingerprints(
            table, order, signatures, cat(chashes, (0, 2), np.uint64)[order], cat(ntoks, (0,), np.int32)[order],
            cat(lengths, (0,), np.int64)[order], cat(sides, (0,), np.int8)[order] if opts.against else None,
            cat(samp_h, (0,), np.uint64), rank[cat(samp_d, (0,), np.int64)], cat(samp_w, (0,), bool),
            BoilerplateSegments.concat(segs).renumber(rank),
            external, stats,
        )
        del sigs, chashes, ntoks, samp_h, samp_d, samp_w, segs
        assert fp.segments is not None
        ckpt.save(
            "fingerprint",
            {"signatures": fp.signatures, "content_hash": fp.content_hash, "n_tokens": fp.n_tokens,
             "length": fp.length, "order": fp.order, "samp_hash": fp.samp_hash, "samp_doc": fp.samp_doc,
             **({"samp_word": fp.samp_word} if fp.samp_word is not None else {}),
             **({"side": fp.side} if fp.side is not None else {}),
             **{f"seg_{f}": getattr(fp.segments, f) for f in ("doc", "key", "start", "end", "ntok")}},
            {"read_stats": dataclasses.asdict(stats), "lsh_external": external},
        )
        return fp

    def _boilerplate(self, st: _LocalRun, fp: _Fingerprints, reporter: Reporter) -> BoilerplateResult | None:
        """Segments the corpus repeats around different stories (``stages.boilerplate``);
        their spans are masked out before verification and alignment."""
        opts, store = st.options, st.store
        assert store is not None
        bp: BoilerplateResult | None = None
        if opts.boilerplate and fp.n and fp.segments is not None:
            with reporter.stage("boilerplate", total=1, unit="") as bar:
                codes, names, sizes = encode_sources(fp.table.column("source").take(pa.array(fp.order, pa.int64())))
                order = fp.order
                bp = detect_from_segments(
                    fp.segments, fp.n_tokens, codes, names, sizes,
                    lambda docs: store.texts(order[np.asarray(docs, dtype=np.int64)]),
                    BoilerplateOptions(min_docs=opts.boilerplate_min_docs),
                )
                self._bp_spans = bp.spans
                bar.advance()
        fp.segments = None  # not needed any more
        return bp

    def _candidates(
        self, st: _LocalRun, fp: _Fingerprints, pair_meta: pairfilter.PairMeta | None, reporter: Reporter
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int], np.ndarray]:
        """Exact duplicates, LSH and containment-sample pairs, then the pair filters
        (--pairs-within, --pairs, --against): (exact pairs, near pairs, exact pairs
        before the filters, candidate counts as found, which near pairs only the
        passage channel proposed)."""
        opts, lsh, work_dir = st.options, st.lsh, st.work_dir
        assert lsh is not None and work_dir is not None
        n = fp.n
        with reporter.stage("candidates", total=3, unit="steps") as bar:
            exact, is_head = cand.exact_groups(fp.content_hash, fp.n_tokens > 0)
            bar.advance()
            if fp.external:
                rank = np.empty(n, dtype=np.int64)
                rank[fp.order] = np.arange(n, dtype=np.int64)
                lsh_p = external_lsh_pairs(
                    st.bands_dir, rank, is_head, opts.max_bucket, db_path=work_dir / "buckets.duckdb",
                    memory_limit=max(st.memory_limit // 2, 32 << 20), threads=opts.n_workers,
                    temp_dir=work_dir / "duckdb-tmp",
                )
            elif fp.side is not None:  # --against: pairs across, from buckets holding a new document
                lsh_p = reference.lsh_pairs_across(fp.signatures, lsh, is_head, fp.side, opts.max_bucket)
            else:
                lsh_p = cand.lsh_pairs(fp.signatures, lsh, is_head, opts.max_bucket)
            bar.advance()
            if opts.containment and fp.samp_hash.shape[0]:
                cont_p, cont_only = cand.containment_candidates(
                    fp.samp_hash, fp.samp_doc, n, is_head, opts.threshold, max_df=opts.max_df,
                    passage_samples=cand.passage_samples(opts.reuse_min_shingles, opts.sample_rate),
                    sample_is_word=fp.samp_word, sides=fp.side,
                )
            else:
                cont_p, cont_only = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=bool)
            bar.advance()
            near = cand.merge_pairs(lsh_p, cont_p)
            exact_all, n_near = exact, near.shape[0]
            exact, near, removed = pairfilter.apply(exact, near, pair_meta)
            passage_only = cand.pairs_in(near, cont_p[cont_only]) & ~cand.pairs_in(near, lsh_p)
            counts = {  # as found, before the pair filters
                **removed,
                "exact_duplicates": int(exact_all.shape[0]),
                "lsh": int(lsh_p.shape[0]),
                "containment": int(cont_p.shape[0]),
                "near_total": int(n_near),
            }
        return exact, near, exact_all, counts, passage_only

    def _verify(
        self, st: _LocalRun, order: np.ndarray, exact: np.ndarray, near: np.ndarray, reporter: Reporter,
        passage_only: np.ndarray | None = None,
    ) -> VerifiedPairs:
        """Exact shingle measures of every near candidate, chunk by chunk (the read
        stage's tokens, or texts re-read from the store); exact duplicates need no verification
        (identical token sequences).  Sorted by (a, b)."""
        opts, store = st.options, st.store
        assert store is not None
        with reporter.stage("verify", total=max(1, near.shape[0]), unit="pairs") as bar:
            parts = []
            step = int(np.clip(st.memory_limit // VERIFY_CHUNK_BYTES_PER_PAIR, *VERIFY_CHUNK_PAIRS))
            for lo in range(0, near.shape[0], step):
                chunk = near[lo : lo + step]
                parts.append(self._verify_chunk(chunk, store, order, opts,
                                                None if passage_only is None else passage_only[lo : lo + step]))
                bar.advance(chunk.shape[0])
            ones = np.ones(exact.shape[0], dtype=np.float64)
            exact_v = VerifiedPairs(exact[:, 0], exact[:, 1], ones, ones.copy(), ones.copy())
            verified = VerifiedPairs.concat([exact_v] + parts)
            if len(verified):
                o = np.lexsort((verified.b, verified.a))
                verified = verified.take(o)
        return verified

    def _candidates_and_verify(
        self, st: _LocalRun, fp: _Fingerprints, pair_meta: pairfilter.PairMeta | None, reporter: Reporter
    ) -> _Scored:
        """:meth:`_candidates` then :meth:`_verify`, or the ``verify`` checkpoint."""
        ckpt = st.ckpt
        assert ckpt is not None
        if ckpt.has("verify"):
            arrays, meta = ckpt.load("verify")
            verified = VerifiedPairs(
                arrays["a"], arrays["b"], arrays["jaccard"], arrays["cab"], arrays["cba"], arrays.get("shared")
            )
            scored = _Scored(verified, arrays["exact"], arrays["exact_all"], meta["candidate_pairs"])
        else:
            exact, near, exact_all, counts, passage_only = self._candidates(st, fp, pair_meta, reporter)
            verified = self._verify(st, fp.order, exact, near, reporter, passage_only)
            scored = _Scored(verified, exact, exact_all, counts)
            ckpt.save(
                "verify",
                {"a": verified.a, "b": verified.b, "jaccard": verified.jaccard,
                 "cab": verified.containment_a_in_b, "cba": verified.containment_b_in_a,
                 "shared": verified.shared_or_enough(), "exact": exact, "exact_all": exact_all},
                {"candidate_pairs": counts},
            )
        # the signatures, the sample and the read stage's tokens are not needed any more
        fp.signatures = fp.samp_hash = fp.samp_doc = np.zeros(0, dtype=np.int64)
        self._close_tokens()
        return scored

    def _align(
        self, st: _LocalRun, order: np.ndarray, verified: VerifiedPairs, reporter: Reporter
    ) -> dict[str, np.ndarray]:
        """Align every scored candidate (the rule decides on the aligned text), or
        the ``align`` checkpoint; the align arrays of ``engines.common.align_arrays``."""
        opts, ckpt, store = st.options, st.ckpt, st.store
        assert ckpt is not None and store is not None
        if ckpt.has("align"):
            pas, _ = ckpt.load("align")
            return pas
        if opts.align and len(verified):
            with reporter.stage("align", total=len(verified), unit="pairs") as bar:
                pas = align_arrays(len(verified), self._align_all(verified, store, order, opts, bar))
        else:
            pas = align_arrays(len(verified), iter(()))
        ckpt.save("align", pas, {})
        return pas

    def _decide(
        self, st: _LocalRun, scored: VerifiedPairs, pas: dict[str, np.ndarray], n_candidates: int,
        dates_sorted: pa.ChunkedArray, reporter: Reporter,
    ) -> tuple[VerifiedPairs, dict[str, np.ndarray], dict[str, int], Reuse, np.ndarray]:
        """The rule's copies, the reuse clusters (over every aligned candidate) and
        which copies join document clusters (``engines.common.decide_pairs``)."""
        opts = st.options
        with reporter.stage("rule", total=1, unit="") as bar:
            out = decide_pairs(scored, pas, opts.threshold, opts.ngram, n_candidates, opts.align,
                               dates_sorted.to_pylist(), opts.reuse_min_shingles)
            bar.advance()
        return out

    def _cluster(self, fp: _Fingerprints, verified: VerifiedPairs, whole: np.ndarray, reporter: Reporter) -> Clusters:
        """Document clusters over the copies as wholes (``stages.cluster``)."""
        with reporter.stage("cluster", total=1, unit="") as bar:
            clusters = cluster(fp.n, verified.a[whole], verified.b[whole], fp.length)
            bar.advance()
        return clusters

    def _tables(
        self, inputs: Sequence[str | os.PathLike], st: _LocalRun, fp: _Fingerprints, bp: BoilerplateResult | None,
        pair_meta: pairfilter.PairMeta | None, scored: _Scored, verified: VerifiedPairs, pas: dict[str, np.ndarray],
        rule_counts: dict[str, int], reuse: Reuse, clusters: Clusters, dates_sorted: pa.ChunkedArray,
        reporter: Reporter, t_start: float,
    ) -> EngineOutput:
        """The output tables, the counts and summary.json's dictionary."""
        opts, ckpt, lsh, store = st.options, st.ckpt, st.lsh, st.store
        assert ckpt is not None and lsh is not None and store is not None
        take = pa.array(fp.order, pa.int64())
        ids_sorted = fp.table.column("doc_id").take(take)
        documents, pairs, passages = build_tables(ids_sorted, fp.length, clusters, verified, pas, opts.ngram)
        reuse_t = reuse_table(reuse, ids_sorted, dates_sorted, fp.table.column("source").take(take))
        counts: dict[str, Any] = {"candidate_pairs": scored.candidate_counts, "rule": rule_counts}
        counts.update(result_counts(fp.length, fp.n_tokens, scored.exact, verified, clusters, passages, bp))
        counts.update(reuse_counts(reuse))
        summary = summary_dict(
            self.name, inputs, opts, lsh, fp.stats.to_dict(), counts, reporter, t_start,
            lsh_out_of_core=fp.external, resumed=ckpt.resumed, warnings=ckpt.warnings,
            pair_filters=pair_meta.summary() if pair_meta is not None else None,
        )
        documents, keep = reference.mark_sides(documents, fp.side, verified, scored.exact_all)
        return EngineOutput(documents, pairs, passages, summary, store, clusters, fp.order, bp, keep=keep,
                            reuse=reuse_t)

    # -- helpers --------------------------------------------------------------------------------
    def _verify_chunk(
        self, chunk: np.ndarray, store: TextStore, order: np.ndarray, opts: FindOptions,
        passage_only: np.ndarray | None = None,
    ) -> VerifiedPairs:
        docs = np.unique(chunk.ravel())
        mask = mask_spans(docs, self._bp_spans)
        toks = verify_tokens(self._tokens, order[docs], mask, store.texts)
        if toks is None:  # no tokens kept: tokenize the texts again
            return verify_chunk(docs, store.texts(order[docs]), chunk, opts.ngram, opts.threshold, opts.align,
                                opts.reuse_min_shingles, mask=mask, passage_only=passage_only)
        return verify_chunk(docs, [], chunk, opts.ngram, opts.threshold, opts.align, opts.reuse_min_shingles,
                            passage_only=passage_only, tokens=toks)

    def _align_all(
        self, verified: VerifiedPairs, store: TextStore, order: np.ndarray, opts: FindOptions, bar: Any
    ) -> Iterator[tuple[int, tuple[Alignment, Direction, float]]]:
        """The align results of every pair, in ``align_order`` (component by
        component; ``align_arrays`` lays them out by pair).  With more than one
        worker, ``n_workers - 1`` processes align chunks while this process
        aligns chunks too (it never waits for the pool to start, so more
        workers never lose to one); the results are the same whoever aligns."""
        n_pairs = len(verified)
        perm = align_order(verified.a, verified.b)  # a document's pairs in neighbouring chunks
        chunks = [perm[lo : lo + ALIGN_CHUNK_PAIRS] for lo in range(0, n_pairs, ALIGN_CHUNK_PAIRS)]

        dates = store.table.column("date")
        spans = self._bp_spans

        def items(idx: np.ndarray) -> list[AlignItem]:
            # each document's text is read once per chunk: its pairs share the str (and pickle it once)
            ia, ib = verified.a[idx], verified.b[idx]
            docs = np.unique(np.concatenate([ia, ib]))
            load = getattr(spans, "load", None)
            if load is not None:  # the chunk's boilerplate spans in one text fetch, not one per document
                load(docs)
            text = dict(zip(docs.tolist(), store.texts(order[docs]), strict=True))
            date = dict(zip(docs.tolist(), dates.take(pa.array(order[docs], pa.int64())).to_pylist(), strict=True))
            return [
                (text[i], text[j], spans.get(i, []), spans.get(j, []), date[i], date[j])
                for i, j in zip(ia.tolist(), ib.tolist(), strict=True)
            ]

        n_procs = min(opts.n_workers - 1, len(chunks) - 1)
        if n_procs < 1 or n_pairs < ALIGN_PROCESSES_MIN_PAIRS:
            for idx in chunks:
                for i, al in zip(idx, align_chunk(items(idx)), strict=True):
                    yield int(i), al
                bar.advance(len(idx))
            return
        # numba's OpenMP threads make fork unsafe: workers start from a clean forkserver
        ctx = multiprocessing.get_context("forkserver")
        pool = ProcessPoolExecutor(max_workers=n_procs, mp_context=ctx)
        try:
            done: dict[int, list] = {}
            pending: dict[int, Any] = {}
            nxt = emit = 0
            while emit < len(chunks):
                while len(pending) < 2 * n_procs and nxt < len(chunks):  # keep the pool fed
                    pending[nxt] = pool.submit(align_chunk, items(chunks[nxt]))
                    nxt += 1
                for c in [c for c, f in pending.items() if f.done()]:
                    done[c] = pending.pop(c).result()
                if emit not in done:
                    if nxt < len(chunks):  # this process aligns the next chunk itself
                        done[nxt] = align_chunk(items(chunks[nxt]))
                        nxt += 1
                    elif emit in pending:
                        done[emit] = pending.pop(emit).result()
                while emit in done:
                    idx = chunks[emit]
                    for i, al in zip(idx, done.pop(emit), strict=True):
                        yield int(i), al
                    bar.advance(len(idx))
                    emit += 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _close_tokens(self) -> None:
        if self._tokens is not None:
            self._tokens.close()
            self._tokens = None

    def abort(self) -> None:
        """After a failed run: close the store and remove the work directory if it
        was ours (a user's --work-dir stays, with its checkpoints, for --resume)."""
        self._close_tokens()
        if self._state is not None:
            self._state.release()

    def cleanup(self) -> None:
        """After the outputs are written: close the store, remove our work directory."""
        self._close_tokens()
        if self._state is not None:
            self._state.release()
