"""The Spark engine: the same stages on Apache Spark, with the local engine's results.

Orchestration only — every computation on documents is a function of
``copytrace.stages`` (the very functions the local engine calls), run inside
``mapInArrow`` over Arrow record batches on the executors:

1. **read**: the inputs are planned on the driver (local paths with the read
   stage's own planner; any Hadoop-compatible URI — ``hdfs://``, ``s3a://``,
   ``file://`` — listed through Hadoop's ``FileSystem``).  A JSONL file over
   ``spark.copytrace.jsonlSplitBytes`` (128 MiB) is read in parts, one task
   each (``read_spark.read_part_bytes``: the file's line numbers, offsets,
   skips and warnings); other files' bytes are read by Spark's ``binaryFile``
   source and parsed by ``read_spark.read_file_bytes`` (same ids, same skips
   and messages).  The first document with an id wins, over files in the
   order given, as in ``read``.
2. **numbering**: documents sorted by doc id get their index 0..n-1 (range
   partitioning, then per-partition offsets: one row per partition to the driver).
3. **normalize → fingerprint → boilerplate segments**: one ``mapInArrow``;
   the driver gets the totals (documents, characters, documents without words).
4. **candidates**: exact duplicates by content hash (a ``groupBy``), LSH band
   buckets and containment-sample buckets by shuffles; a bucket's pairs come
   from the same rule as ``candidates.pairs_from_keys``.
5. **boilerplate**: segment document frequencies by shuffles; the rules and
   the story check (``boilerplate.select_candidates`` / ``story_check``) on
   the driver over the few candidates, the documents they check (their token
   counts fetched, nothing per document of the corpus) and one first
   occurrence per boilerplate key; the spans stay on the executors.
6. **verify**, **align** and the **rule**: pairs joined with both texts, then the stage
   functions per batch on the executors (``verify_chunk``; ``_judge``: ``align_chunk``,
   ``align_arrays`` and ``rule.decide_arrays``, the functions the local engine calls): the
   judged pairs stay a persisted DataFrame with their passages as lists; the rule's counts are
   aggregates.
7. **reuse**: connected components of the evidence pairs (large-star/small-star, as in 8), then
   per component, on the executors (``_reuse_group`` in ``applyInArrow``), the local engine's
   ``reuse.reuse_clusters``, ``reuse.whole_copy_mask``, ``direction.original_votes`` and
   ``reuse.reuse_table``: every node, edge and rule of the reuse graph lies within one document
   or one pair, so a reuse cluster never spans two components and each component's rows are
   those of one call over all pairs (``reuse_id`` names a cluster by its first row's
   ``doc_id:start``, the same in both).  The whole-copy edges, the vote totals and the
   occurrences stay DataFrames; the driver gets their counts.
8. **cluster**: connected components by the large-star/small-star algorithm
   (Kiveris et al., 2014) on DataFrames; cluster ids, representatives and
   cluster originals on the executors (``spark_tables.documents_frame``).
9. **write**: ``documents.parquet``, ``pairs.parquet`` and ``passages.parquet`` are written
   by the executors as Parquet datasets (``spark_tables.write_dataset``; rows in the local
   engine's order) and so is ``reuse.parquet`` (in the local engine's order too); the boilerplate
   table by the driver in the same layout;
   ``deduplicated.jsonl`` (and ``deduplicated-passages.jsonl``)
   are made on the executors and concatenated in order (``spark_output``);
   the report shows the largest clusters that fit (``SparkOutput.report_view``) and their pairs.

Each stage is a method of :class:`SparkEngine` (``read``, ``number``,
``fingerprint``, ``boilerplate``, ``candidates``, ``verify``, ``align``,
``decide``, ``cluster``, ``write``), called in order by ``run``.

The driver holds O(1) per document (counts, one row per partition or file
part) and no per-pair result of a Spark job, nor any pair, passage or reuse
occurrence (the report's, bounded, aside); what remains of issue #13: the
boilerplate story check fetches its candidate keys' rows.  A failed Spark job is one clear
``errors.EngineError``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from copytrace.engines import spark_rules
from copytrace.engines.base import summary_dict
from copytrace.engines.common import (
    EngineOutput,
    align_arrays,
    counts_from_aggregates,
    align_chunk,
    candidates_judged,
    verify_chunk,
)
from copytrace.engines.spark_output import SparkOutput, SparkTexts
from copytrace.engines.spark_tables import cluster_counts, read_back, spark_errors
from copytrace.errors import InputError, OptionError, printable
from copytrace.stages.direction import Direction
from copytrace.options import FindOptions
from copytrace.progress import Reporter
from copytrace.stages import boilerplate as bpl
from copytrace.stages import candidates as cand
from copytrace.stages import pairfilter
from copytrace.stages.align import Alignment
from copytrace.stages import read
from copytrace.stages.read import MAX_EXAMPLES, FileSpec, ReadOptions, ReadStats, plan_files, spec_for
from copytrace.stages.verify import VerifiedPairs

__all__ = ["SparkEngine", "spark_session"]

DEFAULT_MASTER = "local[*]"


def spark_session(master: str | None = None, partitions: int | None = None,
                  conf: dict[str, str] | None = None) -> Any:
    """The active Spark session (spark-submit, a notebook), or a new one on
    ``master`` (default ``local[*]``) whose Python workers run this
    interpreter; ``conf``: more Spark settings for a new session (e.g.
    ``{"spark.driver.maxResultSize": "1m"}``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise OptionError(
            "the Spark engine needs PySpark: pip install 'copytrace[spark]' (and a Java 17+ runtime)"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or DEFAULT_MASTER)
        .appName("copytrace")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
    )
    if partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    for k, v in (conf or {}).items():
        builder = builder.config(k, v)
    if (master or DEFAULT_MASTER).startswith("local"):
        # no web UI (its server's start-up), and Python workers forked from a daemon that has the
        # stages imported already (see _daemon; on a cluster the executors' default daemon is kept)
        builder = builder.config("spark.ui.enabled", "false").config(
            "spark.python.daemon.module", "copytrace.engines.spark")
        if "spark.driver.memory" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
            # local mode runs the executors in the driver's JVM: Spark's default 1 GiB loses task
            # results (TaskResultLost) on 100k documents; a quarter of RAM, 1 to 8 GiB
            try:
                ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            except (ValueError, OSError, AttributeError):
                ram = 4 << 30
            builder = builder.config("spark.driver.memory", f"{max(1, min(8, ram // 4 >> 30))}g")
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # no Java, a bad master URL...
        raise OptionError(f"cannot start Spark on {master or DEFAULT_MASTER}: {str(e).splitlines()[0]}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# --------------------------------------------------------------------------
# Executor-side functions (module level: pickled by reference)
# --------------------------------------------------------------------------

READ_SCHEMA = (
    "file_idx int, ordinal long, kind string, doc_id string, text string, source string, date string, "
    "url string, title string, origin string, reason string, message string, err_file string, err_line long"
)


def _regular(uri: str) -> bool:
    """False for a file:// entry that is not a regular file (a named pipe): it must not be opened.
    Other file systems (hdfs://, s3a://) hold regular files only."""
    if not uri.startswith("file:"):
        return True
    import stat
    from urllib.parse import unquote, urlparse

    try:
        return stat.S_ISREG(os.stat(unquote(urlparse(uri).path)).st_mode)
    except OSError:
        return False


def _read_files(batches: Iterator[pa.RecordBatch], ropts: ReadOptions,
                plan: dict[str, list[tuple[int, FileSpec]]]) -> Iterator[pa.RecordBatch]:
    """Parse each file of ``(path, content)`` rows; ``plan``: path -> its (file index, spec) in the
    inputs (an input given twice is read twice); a path not in it is not an input (the driver then
    reports the input as unread)."""
    from copytrace.stages.read_spark import read_file_bytes

    for rb in batches:
        paths = rb.column("path").to_pylist()
        contents = rb.column("content")
        for pos, path in enumerate(paths):
            for idx, spec in plan.get(path, ()):
                yield _file_events(idx, read_file_bytes(contents[pos].as_py(), spec, ropts))


JSONL_SPLIT_BYTES = 128 << 20  # a JSONL file larger than this is read in parts of this size


def _count_newlines(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Newlines in each part ``[lo, hi)`` of a split file."""
    from copytrace.stages.read_spark import newlines_in

    for rb in batches:
        c = rb.to_pydict()
        n = [newlines_in(u, lo, hi) for u, lo, hi in zip(c["uri"], c["lo"], c["hi"], strict=True)]
        yield pa.RecordBatch.from_pydict({"file_idx": c["file_idx"], "part": c["part"], "n": n},
                                         schema=_arrow_schema("file_idx int, part long, n long"))


PART_BITS = 40  # a part's records: ordinal = part << PART_BITS | the record's ordinal in the part


def _read_parts(batches: Iterator[pa.RecordBatch], ropts: ReadOptions, specs: dict[int, FileSpec]
                ) -> Iterator[pa.RecordBatch]:
    """The read events of each part of a split JSONL file (``read_spark.read_part_bytes``): the
    file's marker row from its first part only, the records numbered after the parts before,
    and one ``part`` row with what the part's records showed (JSON in ``message``)."""
    from copytrace.stages.read_spark import open_uri, part_bytes, read_part_bytes

    for rb in batches:
        c = rb.to_pydict()
        for idx, k, uri, lo, hi, nl in zip(c["file_idx"], c["part"], c["uri"], c["lo"], c["hi"], c["nl"], strict=True):
            data, lines, start = part_bytes(uri, lo, hi, nl)
            recs, state = read_part_bytes(data, specs[idx], ropts, lines, start, whole=functools.partial(open_uri, uri))
            ev = _file_events(idx, recs)
            if k:
                ev = ev.slice(1)  # the marker: once per file
            base = k << PART_BITS
            ordinal = pc.add(ev.column("ordinal"), pa.scalar(base, pa.int64())) if k else ev.column("ordinal")
            yield pa.RecordBatch.from_arrays([ordinal if n == "ordinal" else ev.column(n) for n in ev.schema.names],
                                             schema=ev.schema)
            part_row: dict[str, list[Any]] = {name: [None] for name in _arrow_schema(READ_SCHEMA).names}
            part_row.update(file_idx=[idx], ordinal=[base + (1 << (PART_BITS - 1))], kind=["part"],
                            message=[json.dumps(state)])
            yield pa.RecordBatch.from_pydict(part_row, schema=_arrow_schema(READ_SCHEMA))


def _file_events(idx: int, recs: Any) -> pa.RecordBatch:
    """The read events of one file, after a marker row (the driver checks that every input was read)."""
    out: dict[str, list] = {name: [None] for name in (
        "doc_id", "text", "source", "date", "url", "title", "origin", "reason", "message", "err_file", "err_line")}
    out.update(file_idx=[idx], ordinal=[-1], kind=["file"])
    for r in recs:
        d = r.doc
        e = r.error
        out["file_idx"].append(idx)
        out["ordinal"].append(r.ordinal)
        out["kind"].append(r.kind)
        out["doc_id"].append(d.doc_id if d else None)
        out["text"].append(d.text if d else None)
        out["source"].append(d.source if d else None)
        out["date"].append(d.date if d else None)
        out["url"].append(d.url if d else None)
        out["title"].append(d.title if d else None)
        out["origin"].append(d.origin if d else None)
        out["reason"].append(r.reason)
        out["message"].append(r.message if e is None else e.message)
        out["err_file"].append(e.file if e else None)
        out["err_line"].append(e.line if e else None)
    return pa.RecordBatch.from_pydict(out, schema=_arrow_schema(READ_SCHEMA))


_SCHEMAS: dict[str, pa.Schema] = {}


def _arrow_schema(ddl: str) -> pa.Schema:
    """Arrow schema of a (flat, simple) Spark DDL string."""
    if ddl not in _SCHEMAS:
        types = {"int": pa.int32(), "long": pa.int64(), "string": pa.string(), "double": pa.float64(),
                 "binary": pa.binary(), "boolean": pa.bool_(), "array<long>": pa.list_(pa.int64()),
                 "array<int>": pa.list_(pa.int32()), "array<double>": pa.list_(pa.float64())}
        fields = []
        for part in ddl.split(","):
            name, typ = part.strip().split(" ", 1)
            fields.append(pa.field(name, types[typ.strip()]))
        _SCHEMAS[ddl] = pa.schema(fields)
    return _SCHEMAS[ddl]


FP_SCHEMA = (
    "idx long, length long, n_tokens int, hash_a long, hash_b long, sig binary, samples array<long>, words array<long>, "
    "seg_key array<long>, seg_start array<int>, seg_end array<int>, seg_ntok array<int>"
)


def _fingerprint(batches: Iterator[pa.RecordBatch], ngram: int, num_perm: int, seed: int, sample_rate: int,
                 segments: bool, min_docs: int) -> Iterator[pa.RecordBatch]:
    from copytrace.stages.fingerprint import FingerprintParams, fingerprint_batch
    from copytrace.stages.normalize import tokenize_batch

    params = FingerprintParams(ngram, num_perm, seed)
    bp_opts = bpl.BoilerplateOptions(min_docs=min_docs)
    schema = _arrow_schema(FP_SCHEMA)
    for rb in batches:
        idx = rb.column("idx").to_numpy(zero_copy_only=False).astype(np.int64)
        texts = rb.column("text").to_pylist()
        n = len(texts)
        toks = tokenize_batch(texts)
        fps = fingerprint_batch(toks, params, sample_rate)
        none = np.zeros(0, dtype=np.int64)
        if sample_rate:
            # fingerprint_batch samples whenever asked to
            assert fps.sample_hashes is not None and fps.sample_docs is not None
            w = fps.sample_is_word if fps.sample_is_word is not None else np.zeros(fps.sample_docs.shape[0], bool)
            h = fps.sample_hashes.view(np.int64)
            # the containment sample: shingles, and the word channel's items (candidates tells them apart)
            samples = _lists(h[~w], fps.sample_docs[~w], n, np.int64)
            words = _lists(h[w], fps.sample_docs[w], n, np.int64)
        else:
            samples = words = _lists(none, none, n, np.int64)
        if segments:
            seg = bpl.segment_batch(texts, np.arange(n, dtype=np.int64), bp_opts, toks)
            seg_cols = [_lists(seg.key.view(np.int64), seg.doc, n, np.int64), _lists(seg.start, seg.doc, n, np.int32),
                        _lists(seg.end, seg.doc, n, np.int32), _lists(seg.ntok, seg.doc, n, np.int32)]
        else:
            seg_cols = [_lists(none, none, n, np.int64)] + [_lists(none, none, n, np.int32)] * 3
        ch = fps.content_hash.view(np.int64)
        sig = np.ascontiguousarray(fps.signatures, dtype=np.uint32)
        sig_offsets = np.arange(n + 1, dtype=np.int32) * np.int32(sig.shape[1] * 4 if n else 0)
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(idx, pa.int64()),
                pa.array(np.fromiter((len(t) for t in texts), np.int64, n), pa.int64()),
                pa.array(fps.n_tokens.astype(np.int32), pa.int32()),
                pa.array(ch[:, 0], pa.int64()),
                pa.array(ch[:, 1], pa.int64()),
                pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(sig_offsets), pa.py_buffer(sig.tobytes())]),
                samples,
                words,
                *seg_cols,
            ],
            schema=schema,
        )


def _lists(values: np.ndarray, owner: np.ndarray, n: int, dtype: Any) -> pa.ListArray:
    """``values`` split by their owner (0..n-1) into n lists (each in the values' order), as an
    Arrow list array built from offsets (no Python objects per value)."""
    counts = np.bincount(owner, minlength=n) if owner.shape[0] else np.zeros(n, dtype=np.int64)
    o = np.argsort(owner, kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()),
                                    pa.array(np.asarray(values)[o].astype(dtype, copy=False)))


def _band_keys(batches: Iterator[pa.RecordBatch], num_perm: int, bands: int, rows: int) -> Iterator[pa.RecordBatch]:
    params = cand.LshParams(bands, rows)
    for rb in batches:
        idx = rb.column("idx").to_numpy(zero_copy_only=False).astype(np.int64)
        n = idx.shape[0]
        raw = b"".join(rb.column("sig").to_pylist())
        sigs = np.frombuffer(raw, dtype=np.uint32).reshape(n, num_perm) if n else np.zeros((0, num_perm), np.uint32)
        keys = cand.band_keys(sigs, params)  # (bands, n)
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.repeat(np.arange(bands, dtype=np.int32), n), pa.int32()),
             pa.array(keys.ravel().view(np.int64), pa.int64()),
             pa.array(np.tile(idx, bands), pa.int64())],
            names=["band", "key", "idx"],
        )


def _bucket_pairs(batches: Iterator[pa.RecordBatch], max_bucket: int) -> Iterator[pa.RecordBatch]:
    """Pairs of each bucket (``docs``: its members) — ``candidates.pairs_from_keys``
    itself, with the bucket's row in the batch as its key; with a column ``s``,
    each pair carries its bucket's ``s``."""
    def pairs_of(rows: pa.RecordBatch) -> np.ndarray:
        col = rows.column("docs")
        docs = col.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
        keys = pc.list_parent_indices(col).to_numpy(zero_copy_only=False).astype(np.uint64)
        return cand.pairs_from_keys(keys, docs, max_bucket)

    for rb in batches:
        if "s" not in rb.schema.names:
            pairs = pairs_of(rb)
            yield pa.RecordBatch.from_arrays([pa.array(pairs[:, 0], pa.int64()), pa.array(pairs[:, 1], pa.int64())],
                                             names=["a", "b"])
            continue
        s = rb.column("s").to_numpy(zero_copy_only=False)
        for value in np.unique(s).tolist():
            pairs = pairs_of(rb.filter(pa.array(s == value)))
            yield pa.RecordBatch.from_arrays(
                [pa.array(pairs[:, 0], pa.int64()), pa.array(pairs[:, 1], pa.int64()),
                 pa.array(np.full(pairs.shape[0], value, dtype=np.int32), pa.int32())], names=["a", "b", "s"])


_PAIR_META = ("date_a", "source_a", "date_b", "source_b")


def _filter_pairs(batches: Iterator[pa.RecordBatch], opts: FindOptions) -> Iterator[pa.RecordBatch]:
    """Candidate pairs ``(a, b, …, date_a, source_a, date_b, source_b)`` that pass the pair filters
    (returned without the four date and source columns):
    ``pairfilter.keep_mask`` over the batch's documents (side a as 0..k-1, side b as k..2k-1;
    the rule compares dates and sources, so a batch's own source codes do)."""
    for rb in batches:
        k = rb.num_rows
        c = rb.to_pydict()
        meta = pairfilter.PairMeta.build(c["date_a"] + c["date_b"], c["source_a"] + c["source_b"], None, opts)
        pairs = np.stack([np.arange(k, dtype=np.int64), np.arange(k, 2 * k, dtype=np.int64)], axis=1)
        names = [n for n in rb.schema.names if n not in _PAIR_META]
        yield pa.RecordBatch.from_arrays([rb.column(n) for n in names], names=names).filter(
            pa.array(pairfilter.keep_mask(pairs, meta)))


def _filter_counts(batches: Iterator[pa.RecordBatch], opts: FindOptions) -> Iterator[pa.RecordBatch]:
    """The pair filters' summary counts over each batch of documents (``PairMeta.summary``)."""
    for rb in batches:
        c = rb.to_pydict()
        side = np.asarray(c["side"], np.int8) if "side" in c else None
        meta = pairfilter.PairMeta.build(c["date"], c["source"], side, opts)
        sm = meta.summary() if meta is not None else {}
        yield pa.RecordBatch.from_pydict({"no_date": [int(sm.get("documents_without_date", 0))],
                                          "no_source": [int(sm.get("documents_without_source", 0))],
                                          "reference": [int(sm.get("reference_documents", 0))]},
                                         schema=_arrow_schema("no_date long, no_source long, reference long"))


class _FilterSummary:
    """summary.json's ``pair_filters`` (``PairMeta.summary``'s keys), summed over the executors'
    batches of documents."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self._summary = summary

    def summary(self) -> dict[str, Any]:
        return dict(self._summary)

    @staticmethod
    def of(docs: Any, opts: FindOptions) -> "_FilterSummary":
        from pyspark.sql import functions as F

        out: dict[str, Any] = {}
        if opts.pairs_within is None and opts.pairs == "all":
            if opts.against:
                out["reference_documents"] = int(docs.where("side = 1").count())
            return _FilterSummary(out)
        cols = ["date", "source", *(["side"] if opts.against else [])]
        tot = docs.select(*cols).mapInArrow(
            lambda it: _filter_counts(it, opts), "no_date long, no_source long, reference long").agg(
            F.sum("no_date").alias("d"), F.sum("no_source").alias("s"), F.sum("reference").alias("r")).collect()[0]
        if opts.pairs_within is not None:
            out["pairs_within_days"] = opts.pairs_within
            out["documents_without_date"] = int(tot["d"] or 0)
        if opts.pairs != "all":
            out["pairs"] = opts.pairs
            out["documents_without_source"] = int(tot["s"] or 0)
        if opts.against:
            out["reference_documents"] = int(tot["r"] or 0)
        return _FilterSummary(out)


def _masked(text: str, starts: list | None, ends: list | None) -> str:
    return bpl.mask_text(text, list(zip(starts, ends or [], strict=True))) if starts else text


def _verify(batches: Iterator[pa.RecordBatch], ngram: int, threshold: float, gate: bool,
            min_passage: int = 0) -> Iterator[pa.RecordBatch]:
    """``engines.common.verify_chunk`` over candidate pairs with both texts (``passage_only``:
    only the candidates' passage channel proposed the pair)."""
    for rb in batches:
        c = rb.to_pydict()
        texts: dict[int, str] = {}
        for side in ("a", "b"):
            for i, t, s, e in zip(c[side], c[f"text_{side}"], c[f"bs_{side}"], c[f"be_{side}"], strict=True):
                if i not in texts:
                    texts[i] = _masked(t, s, e)
        docs = np.array(sorted(texts), dtype=np.int64)
        pairs = np.stack([np.asarray(c["a"], dtype=np.int64), np.asarray(c["b"], dtype=np.int64)], axis=1)
        # with alignment the rule decides after it (every candidate scored); without, on the shingle floor
        v = verify_chunk(docs, [texts[int(d)] for d in docs], pairs, ngram, threshold, not gate, min_passage,
                         passage_only=np.asarray(c["passage_only"], dtype=bool))
        yield pa.RecordBatch.from_arrays(
            [pa.array(v.a, pa.int64()), pa.array(v.b, pa.int64()),
             pa.array(v.jaccard, pa.float64()), pa.array(v.containment_a_in_b, pa.float64()),
             pa.array(v.containment_b_in_a, pa.float64()), pa.array(v.shared_or_enough(), pa.int64())],
            names=["a", "b", "jaccard", "cab", "cba", "shared"],
        )


JUDGED_SCHEMA = (
    "a long, b long, jaccard double, cab double, cba double, shared long, coverage double, cov_a double, "
    "cov_b double, original int, confidence double, reasons string, keep boolean, by_floor boolean, "
    "similarity double, original_s string, confidence_r double, p_a_start array<long>, p_a_end array<long>, "
    "p_b_start array<long>, p_b_end array<long>, p_kind array<int>, p_score array<double>"
)
PASSAGE_LISTS = ("p_a_start", "p_a_end", "p_b_start", "p_b_end", "p_kind", "p_score")


def _judge(batches: Iterator[pa.RecordBatch], aligned: bool, threshold: float, ngram: int
           ) -> Iterator[pa.RecordBatch]:
    """Align and judge each batch of scored pairs on the executors (``JUDGED_SCHEMA``): the local
    engine's functions over the batch — ``common.align_chunk`` (with ``aligned``; the pairs need
    ``text_*``, ``bs_*``, ``be_*``, ``date_*`` then), ``common.align_arrays``, and the rule's
    per-pair decision (``rule.decide_arrays``, as ``common.apply_rule`` calls it) — plus the
    pairs table's derived columns (``similarity``, ``original`` as a letter, the confidence
    rounded as ``common.pair_tables`` rounds it) and each pair's passages as lists, in the
    aligner's order."""
    from copytrace.stages import rule

    schema = _arrow_schema(JUDGED_SCHEMA)
    for rb in batches:
        k = rb.num_rows
        a = rb.column("a").to_numpy(zero_copy_only=False).astype(np.int64)
        b = rb.column("b").to_numpy(zero_copy_only=False).astype(np.int64)
        jac = rb.column("jaccard").to_numpy(zero_copy_only=False).astype(np.float64)
        cab = rb.column("cab").to_numpy(zero_copy_only=False).astype(np.float64)
        cba = rb.column("cba").to_numpy(zero_copy_only=False).astype(np.float64)
        shared = rb.column("shared").to_numpy(zero_copy_only=False).astype(np.int64)
        res: list[tuple[Alignment, Direction, float]] = []
        if aligned and k:
            c = rb.select(["text_a", "text_b", "bs_a", "be_a", "bs_b", "be_b", "date_a", "date_b"]).to_pydict()
            res = align_chunk([
                (ta, tb, list(zip(sa or [], ea or [], strict=True)), list(zip(sb or [], eb or [], strict=True)), da, db)
                for ta, tb, sa, ea, sb, eb, da, db in zip(
                    c["text_a"], c["text_b"], c["bs_a"], c["be_a"], c["bs_b"], c["be_b"], c["date_a"], c["date_b"],
                    strict=True)])
        pas = align_arrays(k, enumerate(res))
        fl = rule.floor(jac, cab, cba, shared, ngram)
        sim, keep = rule.decide_arrays(jac, cab, cba, shared, pas["coverage"], threshold, ngram)
        owner = pas["pair"]
        yield pa.RecordBatch.from_arrays(
            [pa.array(a, pa.int64()), pa.array(b, pa.int64()), pa.array(jac, pa.float64()),
             pa.array(cab, pa.float64()), pa.array(cba, pa.float64()), pa.array(shared, pa.int64()),
             pa.array(pas["coverage"], pa.float64()), pa.array(pas["coverage_a"], pa.float64()),
             pa.array(pas["coverage_b"], pa.float64()), pa.array(pas["original"].astype(np.int32), pa.int32()),
             pa.array(pas["confidence"], pa.float64()), pa.array(pas["reasons"].tolist(), pa.string()),
             pa.array(np.asarray(keep, bool), pa.bool_()), pa.array(fl >= threshold - 1e-12, pa.bool_()),
             pa.array(rule.similarity(fl, pas["coverage"]), pa.float64()),
             pa.array(np.array(["", "a", "b"])[pas["original"]].tolist(), pa.string()),
             pa.array(np.round(pas["confidence"], 6), pa.float64()),
             _lists(pas["a_start"], owner, k, np.int64), _lists(pas["a_end"], owner, k, np.int64),
             _lists(pas["b_start"], owner, k, np.int64), _lists(pas["b_end"], owner, k, np.int64),
             _lists(pas["kind"], owner, k, np.int32), _lists(pas["score"], owner, k, np.float64)],
            schema=schema)


def _spans(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Merged boilerplate spans of each document from its boilerplate segments."""
    for rb in batches:
        c = rb.to_pydict()
        out_s: list[list[int]] = []
        out_e: list[list[int]] = []
        for text, ss, es in zip(c["text"], c["starts"], c["ends"], strict=True):
            merged = bpl.merge_spans(text, sorted(zip(ss, es, strict=True)))
            out_s.append([s for s, _ in merged])
            out_e.append([e for _, e in merged])
        yield pa.RecordBatch.from_arrays(
            [rb.column("idx"), pa.array(out_s, pa.list_(pa.int64())), pa.array(out_e, pa.list_(pa.int64()))],
            names=["idx", "bs", "be"],
        )


# the rows of the reuse step, one tagged table per component of the evidence graph (``row``:
# 0 an occurrence of reuse.parquet, 1 a whole-copy edge ``(a, b)``, 2 a vote total ``(a, score)``);
# ``rk_*``: the occurrence's cluster's smallest node (doc, start, -end), the local engine's cluster
# order, so that the rows sorted by (rk_doc, rk_start, rk_nend, a, start) are in its order
REUSE_GROUP_SCHEMA = (
    "row int, a long, b long, score double, rk_doc long, rk_start long, rk_nend long, reuse_id string, "
    "doc_id string, start long, end long, n_docs long, is_original boolean, direction_confidence double, "
    "kind string, date string, source string, first_date string, sources array<string>"
)


def _reuse_group_schema() -> pa.Schema:
    from copytrace import schemas

    head = _arrow_schema("row int, a long, b long, score double, rk_doc long, rk_start long, rk_nend long")
    return pa.schema([*head, *(pa.field(f.name, f.type) for f in schemas.REUSE)])


def _reuse_group(ev: pa.Table, aligned: bool) -> pa.Table:
    """Reuse of one component of the evidence-pair graph, on an executor: the local engine's
    ``reuse.reuse_clusters``, ``reuse.whole_copy_mask``, ``direction.original_votes`` and
    ``reuse.reuse_table`` (``common.decide_pairs``'s second half) over its evidence pairs (sorted
    by (a, b), as ``decide_pairs``' are) and their passages, the documents numbered in doc-id
    order within the component.  Every node, edge and rule of the reuse graph lies within one
    document or one pair, so a reuse cluster never spans two components, and what these
    functions compute for a component's documents depends on that component's pairs alone (their
    order and the relative order of its documents, both kept): the same rows as one call over all
    pairs.  Returns ``REUSE_GROUP_SCHEMA``'s rows: the occurrences (``reuse_id`` as
    ``reuse_table`` names it: ``doc_id:start`` of the cluster's first row, global), the
    whole-copy edges and the vote totals of the documents in copies."""
    from copytrace.stages.direction import original_votes
    from copytrace.stages.reuse import reuse_clusters, reuse_table, whole_copy_mask

    schema = _reuse_group_schema()
    a0 = ev.column("a").to_numpy().astype(np.int64)
    b0 = ev.column("b").to_numpy().astype(np.int64)
    ev = ev.take(pa.array(np.lexsort((b0, a0)), pa.int64()))  # sorted by (a, b), as decide_pairs'
    m = ev.num_rows

    def num(name: str, dtype: Any) -> np.ndarray:
        return ev.column(name).to_numpy(zero_copy_only=False).astype(dtype)

    ga, gb = num("a", np.int64), num("b", np.int64)
    involved = np.unique(np.concatenate([ga, gb]))  # the component's documents, in doc-id order
    la, lb = np.searchsorted(involved, ga), np.searchsorted(involved, gb)
    _, first = np.unique(np.concatenate([la, lb]), return_index=True)
    firsts = pa.array(first, pa.int64())

    def meta(name: str) -> pa.Array:
        both = pa.concat_arrays([ev.column(f"a_{name}").combine_chunks(), ev.column(f"b_{name}").combine_chunks()])
        return both.take(firsts)

    ids, dates, sources = meta("id"), meta("date"), meta("source")
    scored = VerifiedPairs(la, lb, num("jaccard", np.float64), num("cab", np.float64), num("cba", np.float64),
                           num("shared", np.int64))
    keep = num("keep", bool)
    lengths = pc.list_value_length(ev.column("p_a_start")).to_numpy(zero_copy_only=False).astype(np.int64)
    pas: dict[str, np.ndarray] = {"pair": np.repeat(np.arange(m, dtype=np.int64), lengths)}
    for name, dtype in zip(PASSAGE_LISTS, (np.int64,) * 5 + (np.float64,), strict=True):
        pas[name[2:]] = ev.column(name).combine_chunks().flatten().to_numpy(zero_copy_only=False).astype(dtype)
    pas.update(coverage=num("coverage", np.float64), coverage_a=num("cov_a", np.float64),
               coverage_b=num("cov_b", np.float64), original=num("original", np.int64),
               confidence=num("confidence", np.float64),
               reasons=np.array(ev.column("reasons").to_pylist(), dtype=np.str_))
    reuse = reuse_clusters(la, lb, pas, dates.to_pylist(), keep)
    whole = whole_copy_mask(scored, pas, aligned, reuse) & keep
    kept = np.flatnonzero(keep)
    ka, kb = la[kept], lb[kept]
    in_pairs = np.unique(np.concatenate([ka, kb]))
    score = original_votes(in_pairs.shape[0], np.searchsorted(in_pairs, ka), np.searchsorted(in_pairs, kb),
                           pas["original"][kept], pas["confidence"][kept])
    parts = [_tagged(schema, 1, a=involved[la[whole]], b=involved[lb[whole]]),
             _tagged(schema, 2, a=involved[in_pairs], score=score)]
    if len(reuse):
        # each cluster's smallest node (doc, start, -end): both sides of its passages
        sel = np.flatnonzero(reuse.passage_cluster >= 0)
        p = pas["pair"][sel]
        doc = np.concatenate([la[p], lb[p]])
        st = np.concatenate([pas["a_start"][sel], pas["b_start"][sel]])
        en = np.maximum(np.concatenate([pas["a_end"][sel], pas["b_end"][sel]]), st)
        cl = np.concatenate([reuse.passage_cluster[sel]] * 2)
        o = np.lexsort((-en, st, doc, cl))
        head = o[np.r_[True, cl[o][1:] != cl[o][:-1]]]  # per cluster 0..k-1, in order
        c = reuse.cluster
        table = reuse_table(reuse, ids, dates, sources)
        cols = {f.name: table.column(f.name) for f in table.schema}
        parts.append(_tagged(schema, 0, a=involved[reuse.doc], rk_doc=involved[doc[head]][c], rk_start=st[head][c],
                             rk_nend=-en[head][c], **cols))
    return pa.concat_tables(parts)


def _tagged(schema: pa.Schema, row: int, **cols: Any) -> pa.Table:
    """A table of ``schema`` with ``row`` set and the given columns (nulls elsewhere)."""
    n = len(next(iter(cols.values())))
    arrays = [pa.array(np.full(n, row, np.int32))]
    for f in list(schema)[1:]:
        v = cols.get(f.name)
        arrays.append(pa.nulls(n, f.type) if v is None else
                      v.cast(f.type) if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


# --------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------


class SparkEngine:
    """Runs `find` on Spark (``master``: a Spark master URL, default the
    active session, else ``local[*]``; ``partitions``: the shuffle partitions;
    ``session``: an existing ``SparkSession`` to use).

    The engine interface (``engines.base.Engine``): ``run(inputs, options,
    reporter)``, ``abort()``, ``cleanup()``.  ``run`` calls one method per
    stage, in order; each takes and returns DataFrames (computed on the
    executors) and small driver-side values, and keeps what later stages
    need on ``self`` (the run's state: ``self._state``)."""

    name = "spark"

    def __init__(self, master: str | None = None, partitions: int | None = None, session: Any = None) -> None:
        self.master = master
        self.partitions = partitions
        self._spark = session
        self._tmp: Path | None = None
        self._store: SparkTexts | None = None
        self._persisted: list[Any] = []
        self.options: FindOptions = FindOptions()

    # -- helpers ---------------------------------------------------------------------------------
    def _plan(self, spark: Any, inputs: Sequence[str | os.PathLike], more: bool = False
              ) -> list[tuple[str, FileSpec]]:
        """(qualified Hadoop path, spec) of every input file, in reading order (``more``: a second
        list, the --against reference, whose notes add to the first's)."""
        ropts = self.options.read
        jvm = spark._jvm
        conf = spark._jsc.hadoopConfiguration()
        HPath = jvm.org.apache.hadoop.fs.Path

        def qualify(p: str) -> str:
            if printable(p) != p:  # Py4J cannot send the surrogate escapes of bytes that are not UTF-8
                raise InputError(p, "the file name is not valid UTF-8, which Spark cannot open: rename the "
                                    "file, or use --engine local")
            hp = HPath(p)
            return str(hp.getFileSystem(conf).makeQualified(hp).toString())

        out: list[tuple[str, FileSpec]] = []
        if not more:
            self._notes: list[str] = []  # warnings about files not read (as the read stage gives them)
        for item in inputs:
            name = os.fsdecode(item)
            if "://" in name:  # a URI (file:// included): listed through Hadoop's FileSystem
                hp = HPath(name)
                fs = hp.getFileSystem(conf)
                if not fs.exists(hp):
                    raise InputError(name, "no such file or directory")
                if fs.getFileStatus(hp).isDirectory():
                    root = str(fs.makeQualified(hp).toString()).rstrip("/") + "/"
                    files = []
                    other: dict[str, int] = {}
                    it = fs.listFiles(hp, True)
                    while it.hasNext():
                        f = str(it.next().getPath().toString())
                        if f.lower().endswith(".txt"):
                            files.append((f[len(root):] if f.startswith(root) else f, f))
                        else:
                            key = read.extension_key(f.rsplit("/", 1)[-1])
                            other[key] = other.get(key, 0) + 1
                    note = read.ignored_note(other)
                    if not files:
                        raise InputError(name, "directory has no .txt files" + (f" ({note})" if note else ""))
                    if note:
                        self._notes.append(f"{name}: {note}")
                    for rel, f in sorted(files):
                        out.append((f, FileSpec("txt" if _regular(f) else "special", f, False, rel)))
                else:
                    out.append((qualify(name), spec_for(name, ropts)))
            else:
                for path, spec in plan_files([name], ropts, self._notes):
                    out.append((qualify(os.path.abspath(path)), spec))
        return out

    # -- the pipeline ---------------------------------------------------------------------------

    # -- the pipeline ---------------------------------------------------------------------------
    def run(self, inputs: Sequence[str | os.PathLike], options: FindOptions, reporter: Reporter) -> EngineOutput:
        """The stages in order (each a method below); the result for the writer.  A failed Spark
        job (a lost executor, a crashed Python worker) is one clear ``EngineError``."""
        with spark_errors("find"):
            return self._run(inputs, options, reporter)

    def _run(self, inputs: Sequence[str | os.PathLike], options: FindOptions, reporter: Reporter) -> EngineOutput:
        self.options = options
        if options.resume:
            raise OptionError("--resume is for the local engine (Spark recomputes lost partitions itself)")
        if options.against:
            from copytrace.stages.reference import is_index_db

            dbs = [os.fsdecode(a) for a in options.against if is_index_db(a)]
            if dbs:
                raise OptionError(f"--against {dbs[0]}: an index as the reference runs on the local engine "
                                  "(--engine local); Spark takes reference files and folders")
        t_start = time.perf_counter()
        self._start()
        counts: dict[str, Any] = {}
        kept, stats = self.read(inputs, reporter)
        docs, n = self.number(kept, reporter)
        fp, no_words = self.fingerprint(docs, n, stats, reporter)
        self._bp_docs = 0
        bp, spans_df = self.boilerplate(docs, fp, n, reporter)
        exact, near_df, pair_meta, lsh, n_near, exact_all = self.candidates(docs, fp, counts, reporter)
        texts = self._texts(docs, spans_df)
        scored = self.verify(texts, near_df, exact, reporter)
        judged = self.align(texts, scored, reporter)
        decided = self.decide(docs, judged, candidates_judged(counts["candidate_pairs"]), counts, reporter)
        documents = self.cluster(docs, fp, decided, reporter)
        out = self.write(docs, n, documents, judged, decided, bp, spans_df, reporter, exact_all)
        cc = cluster_counts(documents)  # aggregates on the executors
        assert cc["n"] == n
        counts.update(counts_from_aggregates(
            n, stats.chars, no_words, self._n_exact, decided["n_pairs"], cc["clusters"], cc["in_clusters"],
            cc["largest"], cc["kept"], decided["n_passages"], bp.table.num_rows if bp is not None else 0,
            self._bp_docs))
        counts.update(decided["reuse_counts"])
        held = [docs, documents, judged] + ([decided["rows"]] if decided.get("rows") is not None else [])
        for df in self._persisted:  # all but what the writer reads (cleanup releases those)
            if all(df is not h for h in held):
                df.unpersist()
        self._persisted = held
        spark = self._spark
        out.summary = summary_dict(
            self.name, inputs, options, lsh, stats.to_dict(), counts, reporter, t_start,
            engine_info={"master": spark.sparkContext.master, "version": spark.version,
                         "shuffle_partitions": self._parts},
            pair_filters=pair_meta.summary() if pair_meta is not None else None,
        )
        return out

    def _start(self) -> None:
        """The session, the shuffle partitions and the run's work directory."""
        spark = self._spark or spark_session(self.master, self.partitions)
        self._spark = spark
        sc = spark.sparkContext
        self._parts = self.partitions or max(4, 4 * sc.defaultParallelism)
        if self.partitions or spark.conf.get("spark.sql.shuffle.partitions") == "200":
            spark.conf.set("spark.sql.shuffle.partitions", str(self._parts))
        from copytrace.engines.workdir import owned_work_dir

        # a broadcast join collects its small side on the driver: never more than a quarter of
        # spark.driver.maxResultSize (a session run with a tight bound, e.g. 1m), restored by cleanup;
        # the explicit broadcast hints are on tables the driver made (no job collects them)
        self._broadcast_conf = None
        try:
            bytes_of = spark._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes
            max_result = int(bytes_of(sc.getConf().get("spark.driver.maxResultSize", "1g")))
            key = "spark.sql.autoBroadcastJoinThreshold"
            old = spark.conf.get(key)
            if max_result > 0 and int(bytes_of(old)) > max_result // 4:
                # Spark's size estimate can be well under the rows collected (a 256 KiB estimate
                # collected 1 MiB at 25k documents): under 64 MiB, no automatic broadcast at all
                spark.conf.set(key, str(max_result // 4) if max_result >= 64 << 20 else "-1")
                self._broadcast_conf = old
        except Exception:  # a session without those settings: Spark's defaults stand
            pass
        wd = self.options.work_dir
        work_root = owned_work_dir(wd) if wd else None  # never the user's folder itself
        self._tmp = Path(tempfile.mkdtemp(prefix="copytrace-spark-", dir=work_root))
        self._persisted = []

    def _read_back(self, df: Any, name: str) -> pa.Table:
        """``df``'s rows on the driver through the run's work directory (``spark_tables.read_back``,
        as the text store's ``SparkTexts.fetch``): not through Spark's result channel."""
        assert self._tmp is not None
        self._n_read = getattr(self, "_n_read", 0) + 1
        return read_back(df, self._tmp / f"rows-{name}-{self._n_read}.parquet")

    def _keep(self, df: Any) -> Any:
        """``df`` persisted (memory, then disk) until the run ends."""
        from pyspark import StorageLevel

        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self._persisted.append(df)
        return df

    def read(self, inputs: Sequence[str | os.PathLike], reporter: Reporter) -> tuple[Any, ReadStats]:
        """1. read: the documents kept (the first of each id), and the read statistics."""
        from pyspark.sql import functions as F
        from pyspark.sql.window import Window

        opts, spark, keep, parts = self.options, self._spark, self._keep, self._parts
        sc = spark.sparkContext
        stats = ReadStats()
        with reporter.stage("read", total=1, unit="") as bar:
            plan = self._plan(spark, inputs)
            n_new_files = len(plan)  # --against: the reference's files come after the inputs' (side 1)
            if opts.against:
                plan += self._plan(spark, opts.against, more=True)
            stats.files = len(plan)
            for note in self._notes:
                stats.warn(note)
            # entries that are not regular files (a named pipe called x.txt) are counted, never opened
            special_examples: list[tuple[int, str]] = []  # (file index, message), in reading order
            for i, (_, spec) in enumerate(plan):
                if spec.fmt == "special":
                    detail = read.special_file_detail(spec.display) + "; not opened"
                    if opts.read.on_error == "fail":
                        raise InputError(spec.display, detail)
                    stats.skipped["not_a_regular_file"] = stats.skipped.get("not_a_regular_file", 0) + 1
                    special_examples.append((i, read.skip_message(spec.display, "not_a_regular_file", detail)))
            plan_map: dict[str, list[tuple[int, FileSpec]]] = {}
            for i, (p, s) in enumerate(plan):
                if s.fmt != "special":
                    plan_map.setdefault(p, []).append((i, s))
            ropts = opts.read
            n_regular = len(plan) - len(special_examples)
            parts_df, split_files = self._split_jsonl(plan_map)  # large JSONL files: read in parts
            events = None
            if plan_map:
                files = spark.read.format("binaryFile").load(list(plan_map)).select("path", "content")
                bplan = sc.broadcast(plan_map)  # once per executor, not once per task (many .txt files)
                events = files.repartition(max(1, min(len(plan_map), parts))).mapInArrow(
                    lambda it: _read_files(it, ropts, bplan.value), READ_SCHEMA)
            if parts_df is not None:
                specs = {i: s for i, s in enumerate(p[1] for p in plan) if i in split_files}
                part_events = parts_df.mapInArrow(lambda it: _read_parts(it, ropts, specs), READ_SCHEMA)
                events = part_events if events is None else events.unionByName(part_events)
            assert events is not None  # at least one regular file (plan_files raises otherwise)
            events = keep(events)
            # the first document of each id wins; range-partitioned by id, so that the numbering's sort
            # by id below needs no second shuffle of the texts
            w = Window.partitionBy("doc_id").orderBy("file_idx", "ordinal")
            docs_ev = keep(events.where("kind = 'doc'").repartitionByRange(parts, "doc_id")
                           .withColumn("rn", F.row_number().over(w)))
            dups = docs_ev.where("rn > 1").select(
                "file_idx", "ordinal", F.lit("skip").alias("kind"), F.lit("duplicate_id").alias("reason"),
                F.lit(None).cast("string").alias("message"),  # formatted on the driver, as the read stage does
                "doc_id", "origin")
            # one job for all the read statistics: files read, errors, warnings, skips by reason
            tally: dict[tuple[str, str | None], int] = {
                (r.kind, r.reason): int(r["count"]) for r in
                events.where("kind NOT IN ('doc', 'part')").select("kind", "reason")
                .unionByName(dups.select("kind", "reason")).groupBy("kind", "reason").count().collect()}
            n_found = sum(c for (k, _), c in tally.items() if k == "file")
            if n_found != n_regular:
                got = {int(r.file_idx) for r in events.where("kind = 'file'").select("file_idx").collect()}
                missing = [p for i, (p, sp) in enumerate(plan) if i not in got and sp.fmt != "special"]
                raise InputError(missing[0] if missing else str(inputs[0]), "could not be read by Spark")
            n_errors = sum(c for (k, _), c in tally.items() if k == "error")
            n_dups = tally.get(("skip", "duplicate_id"), 0) if opts.read.on_error == "fail" else 0
            errors = events.where("kind = 'error'").select("file_idx", "ordinal", "err_file", "err_line", "message")
            if n_dups:
                dup_err = dups.select("file_idx", "ordinal", F.col("origin").alias("err_file"),
                                      F.lit(None).cast("long").alias("err_line"), "doc_id")
                first_dup = dup_err.orderBy("file_idx", "ordinal").limit(1).collect()
            else:
                first_dup = []
            first_err = errors.orderBy("file_idx", "ordinal").limit(1).collect() if n_errors else []
            cands_err = [(r.file_idx, r.ordinal, "e", r) for r in first_err] + \
                        [(r.file_idx, r.ordinal, "d", r) for r in first_dup]
            if cands_err:
                _, _, kind, r = min(cands_err, key=lambda x: (x[0], x[1]))
                if kind == "e":
                    raise InputError(r.err_file, r.message, r.err_line)
                file, _, line = r.err_file.rpartition(":")
                raise InputError(file if file else r.err_file, read.duplicate_id_detail(r.doc_id),
                                 int(line) if line.isdigit() else None)
            for (k, reason), c in tally.items():
                if k == "skip":
                    assert reason is not None  # every skip names its reason
                    stats.skipped[reason] = stats.skipped.get(reason, 0) + c
            if stats.skipped:
                cols = ("file_idx", "ordinal", "reason", "message", "origin", "doc_id")
                all_skips = events.where("kind = 'skip'").select(*cols).unionByName(dups.select(*cols))
                examples = all_skips.orderBy("file_idx", "ordinal").limit(MAX_EXAMPLES).collect()
                merged = [(int(r.file_idx), r.message if r.message is not None else
                           read.skip_message(r.origin, r.reason, read.duplicate_id_detail(r.doc_id)))
                          for r in examples] + special_examples
                stats.examples = [m for _, m in sorted(merged, key=lambda x: x[0])][:MAX_EXAMPLES]
            warnings: list[tuple[int, int, str]] = []
            if any(k == "warning" for k, _ in tally):
                warnings = [(int(r.file_idx), int(r.ordinal), r.message) for r in
                            events.where("kind = 'warning'").orderBy("file_idx", "ordinal").collect()]
            if split_files:  # what the parts of each split file saw: its field warnings, once
                seen: dict[int, dict[str, int]] = {}
                for r in events.where("kind = 'part'").select("file_idx", "message").collect():  # one per part
                    st = seen.setdefault(int(r.file_idx), {})
                    for k, v in json.loads(r.message).items():
                        st[k] = int(st.get(k, 0)) + int(v)
                for i, st in seen.items():
                    warnings += [(i, 1 << 62, w) for w in read.jsonl_field_warnings(plan[i][1].display, st, ropts)]
            done: set[tuple[int, str]] = set()
            for i, _, m in sorted(warnings, key=lambda x: (x[0], x[1])):
                if i in split_files and (i, m) in done:
                    continue  # a file-level note each part of a split file gave
                done.add((i, m))
                stats.warn(m)
            side = [(F.col("file_idx") >= n_new_files).cast("byte").alias("side")] if opts.against else []
            kept = docs_ev.where("rn = 1").select("doc_id", "text", "source", "date", "url", "title", *side)
            bar.advance()
        return kept, stats

    def _split_jsonl(self, plan_map: dict[str, list[tuple[int, FileSpec]]]) -> tuple[Any, set[int]]:
        """Uncompressed JSONL files larger than ``spark.copytrace.jsonlSplitBytes`` (default
        128 MiB; a runtime setting) taken out of ``plan_map`` (read whole by ``binaryFile``) and read
        in parts of that size by as many tasks: a DataFrame ``(file_idx, part, uri, lo, hi, nl)``
        of the parts (``nl``: newlines before ``lo``, counted by one job over the parts), or None;
        and the file indices split."""
        spark = self._spark
        split = max(1, int(spark.conf.get("spark.copytrace.jsonlSplitBytes", str(JSONL_SPLIT_BYTES))))
        jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
        rows: list[tuple[int, int, str, int, int]] = []
        for uri in list(plan_map):
            entries = plan_map[uri]
            if entries[0][1].fmt != "jsonl" or entries[0][1].gz:
                continue
            hp = jvm.org.apache.hadoop.fs.Path(uri)
            size = int(hp.getFileSystem(conf).getFileStatus(hp).getLen())
            if size <= split:
                continue
            del plan_map[uri]
            for idx, _ in entries:
                rows += [(idx, k, uri, lo, min(size, lo + split)) for k, lo in enumerate(range(0, size, split))]
        if not rows:
            return None, set()
        path = self._tmp / "parts.parquet"  # type: ignore[operator]
        pq.write_table(pa.table({"file_idx": pa.array([r[0] for r in rows], pa.int32()),
                                 "part": pa.array([r[1] for r in rows], pa.int64()),
                                 "uri": [r[2] for r in rows], "lo": pa.array([r[3] for r in rows], pa.int64()),
                                 "hi": pa.array([r[4] for r in rows], pa.int64())}), path)
        df = spark.read.parquet(path.resolve().as_uri()).repartition(min(len(rows), max(1, self._parts)))
        counts = df.mapInArrow(_count_newlines, "file_idx int, part long, n long").collect()  # one row per part
        n_of = {(int(r.file_idx), int(r.part)): int(r.n) for r in counts}
        nl = []
        for idx, k, _, _, _ in rows:
            nl.append(sum(n_of[(idx, j)] for j in range(k)) if k else 0)
        pq.write_table(pq.read_table(path).append_column("nl", pa.array(nl, pa.int64())), path)
        return (spark.read.parquet(path.resolve().as_uri()).repartition(min(len(rows), max(1, self._parts))),
                {r[0] for r in rows})

    def number(self, kept: Any, reporter: Reporter) -> tuple[Any, int]:
        """2. number documents in doc-id order: ``(idx, doc_id, text, source, date, url, title)`` (and
        ``side``, 0 new or 1 reference, with --against), and n."""
        from pyspark.sql import functions as F

        spark, keep = self._spark, self._keep
        with reporter.stage("number", total=1, unit="") as bar:
            ordered = keep(kept.orderBy("doc_id").withColumn("mid", F.monotonically_increasing_id()))
            part_counts = {int(r.pid): int(r["count"]) for r in
                           ordered.groupBy(F.shiftrightunsigned("mid", 33).alias("pid")).count().collect()}
            offsets: dict[int, int] = {}
            acc = 0
            for pid in sorted(part_counts):
                offsets[pid] = acc
                acc += part_counts[pid]
            n = acc
            off_df = spark.createDataFrame(list(offsets.items()) or [(0, 0)], "pid long, off long")
            docs = keep(
                ordered.withColumn("pid", F.shiftrightunsigned("mid", 33))
                .join(F.broadcast(off_df), "pid")
                .select((F.col("off") + F.col("mid").bitwiseAND(F.lit((1 << 33) - 1))).alias("idx"),
                        "doc_id", "text", "source", "date", "url", "title",
                        *(["side"] if self.options.against else []))
            )
            bar.advance()
        return docs, n

    def fingerprint(self, docs: Any, n: int, stats: ReadStats, reporter: Reporter) -> tuple[Any, int]:
        """3. normalize → fingerprint → boilerplate segments (one task per partition): the fingerprints
        (``FP_SCHEMA``: characters and tokens per document in ``length``, ``n_tokens``), and the number
        of documents without words (aggregates only: nothing per document comes to the driver)."""
        from pyspark.sql import functions as F

        opts, keep = self.options, self._keep
        fp_params = (opts.ngram, opts.num_perm, opts.seed, opts.sample_rate if opts.containment else 0,
                     opts.boilerplate, opts.boilerplate_min_docs)
        with reporter.stage("fingerprint", total=1, unit="") as bar:
            fp = keep(docs.select("idx", "text").mapInArrow(lambda it: _fingerprint(it, *fp_params), FP_SCHEMA))
            agg = fp.agg(F.count("*").alias("n"), F.sum("length").alias("chars"),
                         F.sum(F.when(F.col("n_tokens") == 0, 1).otherwise(0)).alias("empty")).collect()[0]
            assert int(agg["n"]) == n
            stats.documents = n
            stats.chars = int(agg["chars"] or 0)
            bar.advance()
        return fp, int(agg["empty"] or 0)

    def boilerplate(self, docs: Any, fp: Any, n: int,
                    reporter: Reporter) -> tuple[bpl.BoilerplateResult | None, Any]:
        """Boilerplate phases 2–4 (phase 1 ran in the fingerprint task): the result, and each
        document's merged spans (``idx, bs, be``) or None."""
        opts = self.options
        bp: bpl.BoilerplateResult | None = None
        spans_df = None
        if opts.boilerplate and n:
            with reporter.stage("boilerplate", total=1, unit="") as bar:
                bp, spans_df = self._boilerplate(docs, fp)
                bar.advance()
        return bp, spans_df

    def candidates(self, docs: Any, fp: Any, counts: dict[str, Any],
                   reporter: Reporter) -> tuple[Any, Any, Any, cand.LshParams, int, Any]:
        """4. candidates: the exact-duplicate pairs (a DataFrame ``a, b``; their number in
        ``self._n_exact``), the near-duplicate candidates (``a, b``), the pair filters' metadata,
        the LSH parameters, the number of distinct candidates and the exact-duplicate pairs before
        the filters (a DataFrame; with --against: only pairs across the sides, ``reference``'s
        rules)."""
        from pyspark.sql import functions as F

        opts, keep = self.options, self._keep
        lsh = cand.lsh_params(opts.threshold, opts.num_perm, opts.bands, opts.rows)

        # 4. candidates
        with reporter.stage("candidates", total=3, unit="steps") as bar:
            exact_df, head_ids = spark_rules.exact_groups(fp)
            head_ids = keep(head_ids)
            exact = keep(exact_df)  # (a head, b duplicate): a < b, each pair once
            n_exact0 = int(exact.count())
            bar.advance()
            active = fp.join(head_ids, "idx")
            num_perm, bands, rows, max_bucket = opts.num_perm, lsh.bands, lsh.rows, opts.max_bucket
            keys = active.select("idx", "sig").mapInArrow(
                lambda it: _band_keys(it, num_perm, bands, rows), "band int, key long, idx long")
            buckets = keys.groupBy("band", "key").agg(F.collect_list("idx").alias("docs")).where(F.size("docs") >= 2)
            lsh_df = buckets.select("docs").mapInArrow(lambda it: _bucket_pairs(it, max_bucket), "a long, b long")
            lsh_df = lsh_df.where("a != b").select("a", "b", F.lit(1).alias("in_lsh"), F.lit(0).alias("in_cont"),
                                                   F.lit(0).alias("in_frac"))
            if opts.containment:
                # the sample's shingles (s = 1) and word-channel items (s = 0): the passage channel
                # counts shared shingles only (candidates.containment_candidates)
                samp = active.select("idx", F.explode("samples").alias("h"), F.lit(1).alias("s")).unionByName(
                    active.select("idx", F.explode("words").alias("h"), F.lit(0).alias("s")))
                per = samp.groupBy("idx").agg(F.count("*").alias("ns"))
                max_df = opts.max_df
                sbuckets = samp.groupBy("h").agg(F.collect_list("idx").alias("docs"), F.min("s").alias("s")).where(
                    (F.size("docs") >= 2) & (F.size("docs") <= max_df))
                sp = sbuckets.select("docs", "s").mapInArrow(lambda it: _bucket_pairs(it, max_df), "a long, b long, s int")
                shared = sp.groupBy("a", "b").agg(F.count("*").alias("shared"), F.sum("s").alias("shared_sh"))
                side_a = per.select(F.col("idx").alias("a"), F.col("ns").alias("na"))
                side_b = per.select(F.col("idx").alias("b"), F.col("ns").alias("nb"))
                frac = spark_rules.containment_passes("shared", F.least("na", "nb"), opts.threshold)
                cont_df = (
                    shared.join(side_a, "a").join(side_b, "b")
                    .where(spark_rules.containment_passes(
                        "shared", F.least("na", "nb"), opts.threshold,
                        passage_samples=cand.passage_samples(opts.reuse_min_shingles, opts.sample_rate),
                        shared_shingles="shared_sh"))
                    .where("a != b").select("a", "b", F.lit(0).alias("in_lsh"), F.lit(1).alias("in_cont"),
                                            F.when(frac, 1).otherwise(0).alias("in_frac"))
                )
                lsh_df = lsh_df.unionByName(cont_df)
            against = bool(opts.against)
            if against:
                # --against: only the pairs across the sides (what the local engine makes from the
                # buckets holding a new document: every pair across is in such a bucket), counted so
                lsh_df = self._across(docs, lsh_df)
            bar.advance()
            # the distinct pairs, and how many came from each source, in one job
            near_src = keep(lsh_df.groupBy("a", "b").agg(F.max("in_lsh").alias("in_lsh"),
                                                         F.max("in_cont").alias("in_cont"),
                                                         F.max("in_frac").alias("in_frac")))
            tot = near_src.agg(F.count("*").alias("n"), F.sum("in_lsh").alias("l"),
                               F.sum("in_cont").alias("c")).collect()[0]
            n_near, n_lsh, n_cont = int(tot["n"]), int(tot["l"] or 0), int(tot["c"] or 0)
            # only the passage channel proposed it (rule.worth_aligning)
            near_df = near_src.select("a", "b", ((F.col("in_lsh") == 0) & (F.col("in_frac") == 0)).alias("passage_only"))
            # pair filters (--pairs-within, --pairs): the same function as the local engine's, on the
            # driver for the exact pairs and on the executors for the candidates
            pair_meta = None
            removed: dict[str, int] = {}
            exact_all = exact
            self._n_exact = n_exact0
            if against:
                exact = keep(self._cross_exact(docs, exact))
                self._n_exact = int(exact.count())
            n_exact1 = self._n_exact
            if opts.pairs_within is not None or opts.pairs != "all":
                # the filters' rule (``keep_mask``) over each batch of pairs with both documents' date
                # and source joined in; no per-document table on the driver
                meta_cols = docs.select("idx", "date", "source")
                if n_exact0:
                    exact = keep(self._with_meta(meta_cols, exact).mapInArrow(
                        lambda it: _filter_pairs(it, opts), "a long, b long"))
                    self._n_exact = int(exact.count())
                near_df = keep(self._with_meta(meta_cols, near_df).mapInArrow(
                    lambda it: _filter_pairs(it, opts), "a long, b long, passage_only boolean"))
                removed = {"removed_by_pair_filters": int(n_exact1 - self._n_exact + n_near - near_df.count())}
            elif against:  # as pairfilter.apply counts: the exact pairs across, the candidates across
                removed = {"removed_by_pair_filters": 0}
            if opts.pairs_within is not None or opts.pairs != "all" or against:
                pair_meta = _FilterSummary.of(docs, opts)
            bar.advance()
            counts["candidate_pairs"] = {
                **removed,
                "exact_duplicates": int(n_exact0),
                "lsh": int(n_lsh),
                "containment": int(n_cont),
                "near_total": int(n_near),
            }
        return exact, near_df, pair_meta, lsh, n_near, exact_all

    @staticmethod
    def _across(docs: Any, pairs_df: Any) -> Any:
        """The rows of ``pairs_df`` (``a, b``…) whose documents are on different sides (--against)."""
        from pyspark.sql import functions as F

        sa = docs.select(F.col("idx").alias("a"), F.col("side").alias("side_a"))
        sb = docs.select(F.col("idx").alias("b"), F.col("side").alias("side_b"))
        cols = pairs_df.columns
        return pairs_df.join(sa, "a").join(sb, "b").where("side_a != side_b").select(*cols)

    @staticmethod
    def _cross_exact(docs: Any, exact: Any) -> Any:
        """``reference.cross_exact_pairs`` on the executors (--against): over each exact-duplicate
        group (``exact``: ``(a head, b duplicate)`` rows), every new document pairs with the group's
        first reference document, and every other reference document with the group's first new
        one; ``(a, b)`` rows, a < b, each pair once."""
        from pyspark.sql import functions as F

        members = exact.select(F.col("a").alias("head"), F.col("b").alias("idx")).unionByName(
            exact.select(F.col("a").alias("head"), F.col("a").alias("idx"))).distinct()
        members = members.join(docs.select("idx", "side"), "idx")
        firsts = members.groupBy("head").agg(
            F.min(F.when(F.col("side") == 0, F.col("idx"))).alias("f_new"),
            F.min(F.when(F.col("side") == 1, F.col("idx"))).alias("f_ref"))
        m = members.join(firsts, "head")
        new = m.where((F.col("side") == 0) & F.col("f_ref").isNotNull()).select("idx", F.col("f_ref").alias("o"))
        ref = m.where((F.col("side") == 1) & (F.col("idx") != F.col("f_ref")) & F.col("f_new").isNotNull()).select(
            "idx", F.col("f_new").alias("o"))
        both = new.unionByName(ref)
        return both.select(F.least("idx", "o").alias("a"), F.greatest("idx", "o").alias("b")).distinct()

    def _texts(self, docs: Any, spans_df: Any) -> Any:
        """Texts with their boilerplate spans, for verify and align (persisted)."""
        from pyspark.sql import functions as F

        texts = docs.select("idx", "text", "date")
        if spans_df is not None:
            texts = texts.join(spans_df, "idx", "left")
        else:
            texts = texts.withColumn("bs", F.lit(None).cast("array<long>")).withColumn(
                "be", F.lit(None).cast("array<long>"))
        return self._keep(texts)

    @staticmethod
    def _with_meta(meta_cols: Any, pairs_df: Any) -> Any:
        """``pairs_df`` (``a, b`` and any other columns, kept) with both documents' date and source."""
        from pyspark.sql import functions as F

        ma = meta_cols.select(F.col("idx").alias("a"), F.col("date").alias("date_a"), F.col("source").alias("source_a"))
        mb = meta_cols.select(F.col("idx").alias("b"), F.col("date").alias("date_b"), F.col("source").alias("source_b"))
        extra = [c for c in pairs_df.columns if c not in ("a", "b")]
        return pairs_df.join(ma, "a").join(mb, "b").select(
            "a", "b", *extra, "date_a", "source_a", "date_b", "source_b")

    @staticmethod
    def _with_texts(texts: Any, pairs_df: Any) -> Any:
        """``pairs_df`` (``a, b``…) joined with both documents' texts, spans and dates."""
        from pyspark.sql import functions as F

        ta = texts.select(F.col("idx").alias("a"), F.col("text").alias("text_a"), F.col("bs").alias("bs_a"),
                          F.col("be").alias("be_a"), F.col("date").alias("date_a"))
        tb = texts.select(F.col("idx").alias("b"), F.col("text").alias("text_b"), F.col("bs").alias("bs_b"),
                          F.col("be").alias("be_b"), F.col("date").alias("date_b"))
        return pairs_df.join(ta, "a").join(tb, "b")

    def verify(self, texts: Any, near_df: Any, exact_df: Any, reporter: Reporter) -> Any:
        """5. verify on the executors: the scored pairs ``(a, b, jaccard, cab, cba, shared)`` as a
        DataFrame — the candidates ``verify_chunk`` keeps, and the exact duplicates (every measure
        1, ``shared`` as ``VerifiedPairs.shared_or_enough`` takes it when unknown)."""
        from pyspark.sql import functions as F

        from copytrace.stages.verify import MIN_CONTAINED_WORDS

        opts = self.options
        with reporter.stage("verify", total=1, unit="") as bar:
            ngram, threshold, gate, min_passage = opts.ngram, opts.threshold, not opts.align, opts.reuse_min_shingles
            v_df = self._with_texts(texts, near_df).mapInArrow(
                lambda it: _verify(it, ngram, threshold, gate, min_passage),
                "a long, b long, jaccard double, cab double, cba double, shared long")
            one = F.lit(1.0).cast("double")
            ex = exact_df.select("a", "b", one.alias("jaccard"), one.alias("cab"), one.alias("cba"),
                                 F.lit(MIN_CONTAINED_WORDS).cast("long").alias("shared"))
            scored = v_df.unionByName(ex)
            bar.advance()
        return scored

    def align(self, texts: Any, scored: Any, reporter: Reporter) -> Any:
        """6. align and judge every scored pair on the executors (``_judge``: the aligner, then
        the rule's decision on the aligned text): the judged pairs (``JUDGED_SCHEMA``), persisted."""
        opts, parts = self.options, self._parts
        aligned, threshold, ngram = opts.align, opts.threshold, opts.ngram
        with reporter.stage("align", total=1, unit="") as bar:
            pairs = self._with_texts(texts, scored).repartition(parts) if aligned else scored
            judged = self._keep(pairs.mapInArrow(lambda it: _judge(it, aligned, threshold, ngram), JUDGED_SCHEMA))
            bar.advance()
        return judged

    def decide(self, docs: Any, judged: Any, n_candidates: int, counts: dict[str, Any],
               reporter: Reporter) -> dict[str, Any]:
        """7. the rule's counts (aggregates of the executors' decisions), then reuse clusters and the
        document-cluster edges on the executors: connected components of the evidence pairs (every
        aligned pair with ``--reuse-min-shingles``, else the copies), then per component
        ``_reuse_group`` — ``common.decide_pairs``'s second half (``reuse.reuse_clusters``,
        ``reuse.whole_copy_mask``, ``direction.original_votes``), the local engine's functions —
        over its pairs and their passages.  Returns what ``cluster`` and ``write`` need, as
        DataFrames (the whole-copy edges, the vote totals of the documents in copies, the reuse
        rows) and counts: the driver holds no pair, passage or occurrence."""
        from pyspark.sql import functions as F

        opts = self.options
        with reporter.stage("rule", total=1, unit="") as bar:
            kept = F.col("keep")
            agg = judged.agg(F.count("*").alias("n"), F.sum(kept.cast("long")).alias("k"),
                             F.sum((kept & F.col("by_floor")).cast("long")).alias("f"),
                             F.sum(F.when(kept, F.size("p_a_start")).otherwise(0)).alias("p")).collect()[0]
            judged_n, paired, by_floor = int(agg["n"]), int(agg["k"] or 0), int(agg["f"] or 0)
            counts["rule"] = {
                "candidates": int(n_candidates),
                "rejected_before_alignment": int(n_candidates - judged_n),
                "judged": judged_n,
                "paired": paired,
                "paired_by_shingles": by_floor,
                "paired_by_aligned_passages": paired - by_floor,
                "rejected": int(n_candidates - paired),
            }
            out: dict[str, Any] = {"edges": None, "votes": None, "reuse_frame": None, "n_pairs": paired,
                                   "n_passages": int(agg["p"] or 0),
                                   "reuse_counts": {"reuse_clusters": 0, "reuse_occurrences": 0,
                                                    "documents_with_reuse": 0, "largest_reuse_cluster": 0}}
            evidence = judged if opts.reuse_min_shingles > 0 else judged.where("keep")
            if (judged_n if opts.reuse_min_shingles > 0 else paired) == 0:
                bar.advance()
                return out
            comp = connected_components(evidence.select("a", "b"))
            meta = docs.select("idx", "doc_id", "date", "source")

            def side(s: str) -> Any:
                return meta.select(F.col("idx").alias(s), F.col("doc_id").alias(f"{s}_id"),
                                   F.col("date").alias(f"{s}_date"), F.col("source").alias(f"{s}_source"))

            ev = (evidence.select("a", "b", "jaccard", "cab", "cba", "shared", "coverage", "cov_a", "cov_b",
                                  "original", "confidence", "reasons", "keep", *PASSAGE_LISTS)
                  .join(comp.select(F.col("v").alias("a"), F.col("r").alias("comp")), "a")
                  .join(side("a"), "a").join(side("b"), "b"))
            aligned = opts.align
            rows = self._keep(ev.groupBy("comp").applyInArrow(lambda t: _reuse_group(t, aligned),
                                                               REUSE_GROUP_SCHEMA))
            occ = F.col("row") == 0
            r = rows.agg(F.sum((F.col("row") == 1).cast("long")).alias("edges"),
                         F.sum((F.col("row") == 2).cast("long")).alias("votes"),
                         F.sum(occ.cast("long")).alias("occ"),
                         F.countDistinct(F.when(occ, F.col("reuse_id"))).alias("clusters"),
                         F.countDistinct(F.when(occ, F.col("a"))).alias("docs"),
                         F.max(F.when(occ, F.col("n_docs"))).alias("largest")).collect()[0]
            if r["edges"]:
                out["edges"] = rows.where("row = 1").select("a", "b")
            if r["votes"]:
                out["votes"] = rows.where("row = 2").select(F.col("a").alias("idx"), "score")
            if r["occ"]:
                out["reuse_frame"] = rows.where("row = 0")
                out["rows"] = rows  # persisted: the writer reads the occurrences
            out["reuse_counts"] = {"reuse_clusters": int(r["clusters"] or 0), "reuse_occurrences": int(r["occ"] or 0),
                                   "documents_with_reuse": int(r["docs"] or 0),
                                   "largest_reuse_cluster": int(r["largest"] or 0)}
            bar.advance()
        return out

    def cluster(self, docs: Any, fp: Any, decided: dict[str, Any], reporter: Reporter) -> Any:
        """8. cluster on the executors: connected components of the whole-copy pairs, then the
        documents table (``spark_tables.documents_frame``: cluster ids, representatives, originals),
        persisted, with the pairs' vote totals (one per document in a copy, from ``decide``)."""
        from copytrace.engines.spark_tables import documents_frame

        with reporter.stage("cluster", total=1, unit="") as bar:
            edges = decided["edges"]
            components = connected_components(edges) if edges is not None else None
            frame = documents_frame(docs, fp, components, decided["votes"])
            if self.options.against:  # documents.parquet's `set` column (reference.mark_sides)
                from pyspark.sql import functions as F

                frame = frame.join(docs.select("idx", F.when(F.col("side") == 1, "reference").otherwise("new")
                                               .alias("set")), "idx")
            documents = self._keep(frame)
            bar.advance()
        return documents

    def write(self, docs: Any, n: int, documents: Any, judged: Any, decided: dict[str, Any],
              bp: bpl.BoilerplateResult | None, spans_df: Any, reporter: Reporter,
              exact_all: Any = None) -> EngineOutput:
        """9. what the writer needs: the documents, pairs and passages as DataFrames (written by
        the executors, ``SparkOutput.write_tables``), the reuse table and the text store for the
        report and deduplicated.jsonl; ``summary`` is filled in by ``run``.  With --against,
        deduplicated.jsonl holds the new documents that copy no reference document
        (``reference.new_not_copied``), selected on the executors (``_copied``)."""
        from copytrace.stages.cluster import Clusters

        assert self._tmp is not None
        with reporter.stage("collect", total=1, unit="") as bar:
            pairs_df, passages_df = _pair_frames(docs, judged)
            store = self._store = SparkTexts(self._spark, docs, self._tmp)
            kept_df = None
            if self.options.against:
                kept_df = docs.where("side = 0").select("idx").join(_copied(judged, exact_all), "idx", "left_anti")
            bar.advance()
        none = np.zeros(0, np.int64)
        return SparkOutput(None, None, None, {}, store, Clusters(none, none, none),  # type: ignore[arg-type]
                           none, bp, reuse=None, reuse_frame=decided["reuse_frame"],
                           n_reuse_clusters=decided["reuse_counts"]["reuse_clusters"], frame=documents, spans_df=spans_df,
                           n_documents=n, pairs_frame=pairs_df, passages_frame=passages_df,
                           n_pairs=decided["n_pairs"], n_passages=decided["n_passages"], kept_df=kept_df)

    def _boilerplate(self, docs: Any, fp: Any) -> tuple[Any, Any]:
        """Boilerplate phases 2–4 (phase 1 ran in the fingerprint task)."""
        from pyspark.sql import functions as F

        spark, keep = self._spark, self._keep
        opts = self.options
        bopt = bpl.BoilerplateOptions(min_docs=opts.boilerplate_min_docs)
        seg = keep(
            fp.select("idx", F.explode(F.arrays_zip("seg_key", "seg_start", "seg_end", "seg_ntok")).alias("s"))
            .select("idx", F.col("s.seg_key").alias("key"), F.col("s.seg_start").alias("start"),
                    F.col("s.seg_end").alias("end"), F.col("s.seg_ntok").alias("ntok"))
        )
        # sources as codes (sorted names; -1 unknown)
        doc_code, names, sizes = spark_rules.encode_sources(spark, docs)
        key_doc = keep(seg.select("key", "idx").distinct().join(doc_code, "idx"))
        ksc = key_doc.groupBy("key", "code").agg(F.count("*").alias("cnt"))
        df_key = ksc.groupBy("key").agg(F.sum("cnt").alias("df")).where(F.col("df") >= max(2, bopt.min_docs))
        # per-key rows: through the work directory, not the result channel (maxResultSize)
        rows = self._read_back(ksc.join(df_key.select("key"), "key").select("key", "code", "cnt"),
                               "bp-rows").sort_by([("key", "ascending"), ("code", "ascending")])
        empty = bpl.BoilerplateResult(bpl.boilerplate_table([], [], []), {})
        if rows.num_rows == 0:
            return empty, None
        keys = rows.column("key").to_numpy().view(np.uint64)
        # select_candidates expects rows sorted by key as uint64: re-sort
        o = np.lexsort((rows.column("code").to_numpy(), keys))
        cand_rows = (keys[o], rows.column("code").to_numpy().astype(np.int64)[o],
                     rows.column("cnt").to_numpy().astype(np.int64)[o], sizes, bopt)
        cands = bpl.select_candidates(*cand_rows)
        single = bpl.single_source_candidates(*cand_rows)
        if cands.shape[0] == 0:
            return empty, None
        cand_df = _df(spark, key=cands.view(np.int64))
        cand_pairs = self._read_back(key_doc.join(F.broadcast(cand_df), "key").select("key", "idx"), "bp-cand")
        ck = cand_pairs.column("key").to_numpy().view(np.uint64)
        cd = cand_pairs.column("idx").to_numpy().astype(np.int64)
        cand_kd = bpl.KeyDocs.from_pairs(ck, cd)
        checked = set()
        for p in range(cand_kd.keys.shape[0]):
            checked.update(cand_kd.docs[cand_kd.ptr[p]:cand_kd.ptr[p] + bopt.max_docs_checked].tolist())
        checked_df = _df(spark, idx=np.array(sorted(checked), np.int64))
        cseg = self._read_back(seg.join(F.broadcast(checked_df), "idx").select("idx", "key", "start", "end", "ntok"),
                               "bp-seg").sort_by([("idx", "ascending"), ("start", "ascending")])
        segments = bpl.BoilerplateSegments(
            cseg.column("idx").to_numpy().astype(np.int64), cseg.column("key").to_numpy().view(np.uint64),
            cseg.column("start").to_numpy().astype(np.int32), cseg.column("end").to_numpy().astype(np.int32),
            cseg.column("ntok").to_numpy().astype(np.int32))
        seg_keys_df = _df(spark, key=np.unique(segments.key).view(np.int64))
        kp = self._read_back(key_doc.join(seg_keys_df, "key").select("key", "idx"), "bp-keydocs")
        key_docs = bpl.KeyDocs.from_pairs(kp.column("key").to_numpy().view(np.uint64),
                                          kp.column("idx").to_numpy().astype(np.int64))
        # tokens of the documents the check looks at only, renumbered in order (a monotone
        # renumbering keeps every order the check relies on): nothing per document of the corpus
        seen = np.union1d(key_docs.docs, segments.doc)
        nt = self._read_back(fp.join(F.broadcast(_df(spark, idx=seen)), "idx").select("idx", "n_tokens"), "bp-ntok")
        doc_ntok = np.zeros(seen.shape[0], np.int64)
        doc_ntok[np.searchsorted(seen, nt.column("idx").to_numpy().astype(np.int64))] = nt.column("n_tokens").to_numpy()
        key_docs = bpl.KeyDocs(key_docs.keys, key_docs.ptr, np.searchsorted(seen, key_docs.docs).astype(key_docs.docs.dtype))
        segments = bpl.BoilerplateSegments(np.searchsorted(seen, segments.doc).astype(segments.doc.dtype), segments.key,
                                           segments.start, segments.end, segments.ntok)
        boiler = bpl.story_check(cands, key_docs, segments, doc_ntok, bopt, single)
        if boiler.shape[0] == 0:
            return empty, None
        boiler_df = F.broadcast(_df(spark, key=boiler.view(np.int64)))
        hits = keep(seg.join(boiler_df, "key"))
        by_doc = hits.groupBy("idx").agg(F.collect_list("start").alias("starts"), F.collect_list("end").alias("ends"))
        spans_df = keep(by_doc.join(docs.select("idx", "text"), "idx").select("idx", "text", "starts", "ends")
                        .mapInArrow(_spans, "idx long, bs array<long>, be array<long>"))
        spans_df = spans_df.select("idx", "bs", "be")
        self._bp_docs = int(spans_df.count())  # the spans stay on the executors (the report asks for a few)
        # the table: first occurrence's text, document frequency, known sources
        # each key's first occurrence per document reduced on the executors (one row per key), then
        # the rule itself (``representatives``) over those
        h = self._read_back(hits.groupBy("key").agg(F.min(F.struct("idx", "start", "end")).alias("f"))
                            .select("key", "f.idx", "f.start", "f.end"), "bp-first")
        rk, rd, rs, re_ = bpl.representatives(bpl.BoilerplateSegments(
            h.column("idx").to_numpy().astype(np.int64), h.column("key").to_numpy().view(np.uint64),
            h.column("start").to_numpy().astype(np.int32), h.column("end").to_numpy().astype(np.int32),
            np.zeros(h.num_rows, dtype=np.int32)), boiler)
        best = {int(k): (int(d), int(s0), int(e0))
                for k, d, s0, e0 in zip(rk.view(np.int64), rd, rs, re_, strict=True)}  # key as Spark's signed long
        rep_docs = np.unique(rd).tolist()
        rep_df = _df(spark, idx=np.array(rep_docs, np.int64))
        rep_text = {int(r["idx"]): r["text"] for r in
                    _to_arrow(docs.join(F.broadcast(rep_df), "idx").select("idx", "text")).to_pylist()}
        # document frequency and known sources from ``rows`` (documents per key and source code,
        # every key with df >= 2, so every boilerplate key): no further Spark job
        df_of: dict[int, int] = {}
        src_of: dict[int, list[str]] = {}
        rkey = rows.column("key").to_numpy().astype(np.int64)
        m = np.isin(rkey, boiler.view(np.int64))  # the boilerplate keys' rows only
        for k, c, cnt in zip(rkey[m].tolist(), rows.column("code").to_numpy()[m].tolist(),
                             rows.column("cnt").to_numpy()[m].tolist(), strict=True):
            df_of[k] = df_of.get(k, 0) + int(cnt)
            if c >= 0:
                src_of.setdefault(k, []).append(names[c])
        ks = sorted(best)
        table = bpl.boilerplate_table(
            [rep_text[best[k][0]][best[k][1]:best[k][2]] for k in ks],
            [int(df_of[k]) for k in ks],
            [sorted(src_of.get(k, [])) for k in ks],
        )
        return bpl.BoilerplateResult(table, {}), spans_df

    def abort(self) -> None:
        """A failed run: its persisted DataFrames released and its work directory removed."""
        self.cleanup()

    def cleanup(self) -> None:
        """After the writer: the text store closed and the run's work directory removed."""
        if self._store is not None:
            self._store.close()
            self._store = None
        for df in self._persisted:
            try:
                df.unpersist()
            except Exception:  # the session may be gone
                pass
        self._persisted = []
        if getattr(self, "_broadcast_conf", None) is not None:
            try:
                self._spark.conf.set("spark.sql.autoBroadcastJoinThreshold", self._broadcast_conf)
            except Exception:  # the session may be gone
                pass
            self._broadcast_conf = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _copied(judged: Any, exact_all: Any) -> Any:
    """The documents in reported pairs (``judged`` where ``keep``) and those identical to one
    (``exact_all``: every exact-duplicate ``(head, duplicate)`` pair), as a DataFrame ``idx``:
    what ``reference.new_not_copied`` leaves out, computed on the executors."""
    from pyspark.sql import functions as F

    kept = judged.where("keep")
    copied = kept.select(F.col("a").alias("idx")).unionByName(kept.select(F.col("b").alias("idx"))).distinct()
    if exact_all is None:
        return copied
    # each exact group's members, with the head itself
    members = exact_all.select(F.col("a").alias("head"), F.col("b").alias("idx")).unionByName(
        exact_all.select(F.col("a").alias("head"), F.col("a").alias("idx"))).distinct()
    hit = members.join(copied, "idx").select("head").distinct()
    return copied.unionByName(members.join(hit, "head").select("idx")).distinct()


def _to_arrow(df: Any) -> pa.Table:
    return df.toArrow()


def _df(spark: Any, **cols: np.ndarray) -> Any:
    """A small DataFrame of numpy columns (driver → Spark, through Arrow)."""
    return spark.createDataFrame(pa.table(cols))


def _pair_frames(docs: Any, judged: Any) -> tuple[Any, Any]:
    """The pairs and passages tables as DataFrames over the copies (``judged`` where ``keep``):
    ``a, b`` (and ``pos``, the passage's place in its pair) for their order, then the columns of
    ``schemas.PAIRS`` / ``schemas.PASSAGES`` with the doc ids joined in on the executors."""
    from pyspark.sql import functions as F

    ids = docs.select("idx", "doc_id")
    ia = ids.select(F.col("idx").alias("a"), F.col("doc_id").alias("doc_a"))
    ib = ids.select(F.col("idx").alias("b"), F.col("doc_id").alias("doc_b"))
    kept = judged.where("keep")
    pairs = kept.join(ia, "a").join(ib, "b").select(
        "a", "b", "doc_a", "doc_b", "jaccard", F.col("cab").alias("containment_a_in_b"),
        F.col("cba").alias("containment_b_in_a"), "similarity", F.col("original_s").alias("original"),
        F.col("confidence_r").alias("direction_confidence"), F.col("reasons").alias("direction_reasons"))
    exploded = kept.select("a", "b", F.posexplode(F.arrays_zip(*PASSAGE_LISTS)).alias("pos", "p"))
    passages = exploded.join(ia, "a").join(ib, "b").select(
        "a", "b", "pos", "doc_a", "doc_b", F.col("p.p_a_start").alias("a_start"), F.col("p.p_a_end").alias("a_end"),
        F.col("p.p_b_start").alias("b_start"), F.col("p.p_b_end").alias("b_end"),
        F.when(F.col("p.p_kind") == 0, "verbatim").otherwise("reworded").alias("kind"),
        F.col("p.p_score").alias("score"))
    return pairs, passages


def connected_components(edges: Any, keep: Any = None, max_iter: int = 100) -> Any:
    """Connected components of an undirected graph by large-star/small-star
    (Kiveris, Lattanzi, Mirrokni, Rastogi, Vassilvitskii, 2014).

    ``edges``: DataFrame ``(a, b)`` of long; returns ``(v, r)`` for every
    vertex of an edge, ``r`` the smallest vertex of its component."""
    from pyspark.sql import functions as F

    e = edges.select(F.least("a", "b").alias("u"), F.greatest("a", "b").alias("v")).where("u != v").distinct()
    prev: Any = None
    prev_count = -1
    for _ in range(max_iter):
        # large-star: each vertex's larger neighbours link to its neighbourhood's minimum
        both = e.select("u", "v").unionByName(e.select(F.col("v").alias("u"), F.col("u").alias("v")))
        m = both.groupBy("u").agg(F.min("v").alias("m")).select("u", F.least("m", "u").alias("m"))
        e = both.where("v > u").join(m, "u").select(F.col("v").alias("x"), F.col("m").alias("y")).distinct()
        e = e.select(F.least("x", "y").alias("u"), F.greatest("x", "y").alias("v")).where("u != v")
        # small-star: each vertex and its smaller neighbours link to their minimum
        m2 = e.groupBy("v").agg(F.min("u").alias("m"))
        e = (e.join(m2, "v").select(F.col("u").alias("x"), F.col("m").alias("y"))
             .unionByName(m2.select(F.col("v").alias("x"), F.col("m").alias("y"))))
        e = e.select(F.least("x", "y").alias("u"), F.greatest("x", "y").alias("v")).where("u != v").distinct()
        e = e.localCheckpoint(eager=True)
        count = e.count()
        if prev is not None and count == prev_count and e.join(prev, ["u", "v"], "left_anti").isEmpty():
            break
        prev, prev_count = e, count
    # converged: every edge is (root, vertex)
    r = e.groupBy("v").agg(F.min("u").alias("r"))
    roots = r.select("r").distinct().select(F.col("r").alias("v"), F.col("r"))
    return r.unionByName(roots).groupBy("v").agg(F.min("r").alias("r"))


def _daemon() -> None:
    """PySpark's worker daemon, with this module and the stages imported before it forks the
    workers, so that each worker starts with numpy, numba and the kernels' modules loaded
    (``spark.python.daemon.module``, set by :func:`spark_session` for local masters).  Nothing is
    run here: numba's parallel kernels start threads, which must not exist before a fork."""
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):  # the daemon's stdout talks to the JVM
        try:
            import copytrace.engines.common  # noqa: F401
            import copytrace.engines.spark  # noqa: F401
            import copytrace.stages.align  # noqa: F401
            import copytrace.stages.fingerprint  # noqa: F401
            import copytrace.stages.normalize  # noqa: F401
            import copytrace.stages.read  # noqa: F401
            import copytrace.stages.verify  # noqa: F401  (imported for its compiled kernels)
        except Exception:  # the workers import what they need themselves
            pass
    from pyspark.daemon import manager

    manager()


if __name__ == "__main__":
    _daemon()
