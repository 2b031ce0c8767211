"""What the Spark engine hands to the writer: the tables, and the texts left on
the executors.

Data contract
-------------
:class:`SparkTexts` stands for the engine's text store (``EngineOutput.store``)
without holding a text on the driver: ``docs`` is the persisted DataFrame
``(idx, doc_id, text, source, date, url, title)`` of the run (``idx`` the
position in doc-id order).  ``texts(rows)`` fetches the texts of a few
documents (the report's), in the order asked.  :class:`SparkOutput`
(an ``EngineOutput``) adds ``write_corpus(path, passages)``, which
``api.write_outputs`` calls for ``deduplicated.jsonl`` (and
``deduplicated-passages.jsonl``): each line is made on the executors by the
record functions of ``stages.dedup_records`` (the local engine's), the lines
are written by Spark's text writer as part files, sorted by ``idx``, into the
run's work directory, and the driver concatenates the part files in order
into ``path`` (atomically) — byte for byte the local engine's file, with the
driver holding one copy buffer, not the corpus.  The work directory must be
visible to the executors and the driver (always so on a local master; on a
cluster: ``--work-dir`` on a shared file system).
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from copytrace.engines.common import EngineOutput
from copytrace.stages.write import atomic_path

__all__ = ["SparkTexts", "SparkOutput"]


class SparkTexts:
    """The texts of a Spark run, left on the executors (see the module's contract)."""

    def __init__(self, spark: Any, docs: Any, work: Path) -> None:
        self.spark = spark
        self.docs = docs
        self.work = work
        self._n = 0

    def _ids(self, name: str, **cols: Any) -> Any:
        """A DataFrame of numpy columns, through a Parquet file in the work directory (no rows
        through Py4J)."""
        self._n += 1
        path = self.work / f"{name}-{self._n}.parquet"
        pq.write_table(pa.table(cols), path)
        return self.spark.read.parquet(path.resolve().as_uri())

    def fetch(self, df: Any, name: str) -> pa.Table:
        """``df``'s rows on the driver through a Parquet dataset the executors write into the work
        directory (not through Spark's result channel, which ``spark.driver.maxResultSize``
        bounds: the report's texts of 5,000 documents are megabytes).  Row order is Spark's."""
        from copytrace.engines.spark_tables import read_back

        self._n += 1
        return read_back(df, self.work / f"{name}-{self._n}.parquet")

    def texts(self, rows: np.ndarray) -> list[str]:
        """The texts of the documents at ``rows`` (doc-id positions), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.shape[0] == 0:
            return []
        sel = self._ids("rows", idx=np.unique(rows))
        t = self.fetch(self.docs.join(sel, "idx").select("idx", "text"), "texts")
        by_idx = dict(zip(t.column("idx").to_pylist(), t.column("text").to_pylist(), strict=True))
        return [by_idx[int(i)] for i in rows]

    def write_lines(self, path: Path, lines: Any) -> None:
        """``lines`` (a DataFrame ``idx, value``) written in ``idx`` order as ``path``: part files
        by Spark, concatenated here."""
        self._n += 1
        parts = self.work / f"lines-{self._n}"
        lines.orderBy("idx").select("value").write.mode("overwrite").text(parts.resolve().as_uri())
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as out:
                for part in _parts_in_order(parts):
                    with open(part, "rb") as fh:
                        shutil.copyfileobj(fh, out, 1 << 20)
        finally:
            shutil.rmtree(parts, ignore_errors=True)

    def close(self) -> None:
        self.docs = None


def _parts_in_order(parts: Path) -> Iterator[str]:
    """Spark's part files (``part-<partition>-…``) in partition order; the commit marker
    ``_SUCCESS`` must be there (else the write did not complete)."""
    if not (parts / "_SUCCESS").exists():
        raise OSError(f"{parts}: Spark's write did not complete (no _SUCCESS)")
    files = glob.glob(os.path.join(glob.escape(str(parts)), "part-*"))
    return iter(sorted(files, key=lambda p: os.path.basename(p)))


def _on_spark(fn: Any) -> Any:
    """``fn`` with a failed Spark job as one clear error (``spark_tables.spark_errors``)."""
    import functools

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from copytrace.engines.spark_tables import spark_errors

        with spark_errors("writing the outputs"):
            return fn(*args, **kwargs)

    return wrapped


REPORT_MAX_DOCS = 5000  # documents in clusters the report shows at most (the largest clusters first)


@dataclass
class SparkOutput(EngineOutput):
    """``EngineOutput`` whose documents stay on the executors: ``documents`` is None and
    ``frame`` the persisted documents DataFrame (``idx`` + ``schemas.DOCUMENTS``, see
    ``engines.spark_tables``), ``store`` a :class:`SparkTexts`; the pairs, passages and reuse
    occurrences are DataFrames too (``pairs_frame``, ``passages_frame``, ``reuse_frame``: ``pairs``,
    ``passages`` and ``reuse`` are None), the boilerplate table is held by the driver.  The writer calls
    ``write_tables`` (every table as a Parquet dataset directory), ``write_corpus`` (the JSONL
    corpora, made on the executors) and ``report_view`` (what the report shows, bounded)."""

    frame: Any = None
    spans_df: Any = None  # (idx, bs, be): boilerplate spans, on the executors (None: no boilerplate)
    n_documents: int = 0
    kept_df: Any = None  # --against: (idx) of the documents deduplicated.jsonl holds (None: representatives)
    pairs_frame: Any = None  # a, b + schemas.PAIRS: the copies, on the executors
    passages_frame: Any = None  # a, b, pos + schemas.PASSAGES
    n_pairs: int = 0
    n_passages: int = 0
    # a, rk_doc, rk_start, rk_nend + schemas.REUSE: the occurrences, made on the executors
    # (``spark._reuse_group``); ``reuse`` is None (the driver holds no occurrence)
    reuse_frame: Any = None
    n_reuse_clusters: int = 0
    report_reuse: pa.Table | None = None  # the reuse rows the report shows (``report_view``)

    @property
    def documents_schema(self) -> pa.Schema:
        """``schemas.DOCUMENTS``, or ``DOCUMENTS_AGAINST`` after an --against run."""
        from copytrace import schemas

        return schemas.DOCUMENTS_AGAINST if self.kept_df is not None else schemas.DOCUMENTS

    PAIR_ORDER = ("a", "b")  # the local engine's row order: pairs by (a, b) ...
    PASSAGE_ORDER = ("a", "b", "a_start", "b_start", "pos")  # ... passages by (doc_a, doc_b, a_start, b_start)
    # ... occurrences by cluster (numbered in order of its smallest node (doc, start, -end)), doc, start
    REUSE_ORDER = ("rk_doc", "rk_start", "rk_nend", "a", "start")

    def _write_reuse(self, path: Path) -> None:
        from copytrace import schemas
        from copytrace.engines.spark_tables import write_dataset, write_table_dataset

        if self.reuse_frame is None:
            write_table_dataset(schemas.REUSE.empty_table(), path, schemas.REUSE)
        else:
            write_dataset(self.reuse_frame, path, schemas.REUSE, order_by=self.REUSE_ORDER)

    @_on_spark
    def reuse_table(self) -> pa.Table:
        """The reuse table in memory (``find`` without an output directory: the caller asked for
        it), written by the executors to the work directory and read back."""
        from copytrace import schemas

        texts: SparkTexts = self.store  # type: ignore[assignment]
        texts._n += 1
        path = texts.work / f"reuse-{texts._n}.parquet"
        self._write_reuse(path)
        return pq.read_table(path, schema=schemas.REUSE)

    def _write_pair_datasets(self, out_dir: Path) -> None:
        from copytrace import schemas
        from copytrace.engines.spark_tables import write_dataset

        write_dataset(self.pairs_frame, out_dir / "pairs.parquet", schemas.PAIRS, order_by=self.PAIR_ORDER)
        write_dataset(self.passages_frame, out_dir / "passages.parquet", schemas.PASSAGES,
                      order_by=self.PASSAGE_ORDER)

    @_on_spark
    def pair_tables(self) -> tuple[pa.Table, pa.Table]:
        """The pairs and passages tables in memory (``find`` without an output directory: the caller
        asked for them), written by the executors to the work directory and read back."""
        from copytrace import schemas

        texts: SparkTexts = self.store  # type: ignore[assignment]
        texts._n += 1
        where = texts.work / f"pair-tables-{texts._n}"
        where.mkdir()
        self._write_pair_datasets(where)
        return (pq.read_table(where / "pairs.parquet", schema=schemas.PAIRS),
                pq.read_table(where / "passages.parquet", schema=schemas.PASSAGES))

    @_on_spark
    def report_pairs(self, documents: pa.Table, written: Path | None = None) -> tuple[pa.Table, pa.Table]:
        """The pairs and passages the report shows: those whose first document is among
        ``documents`` (the clusters shown, ``report_view``; the report draws no other pair).
        ``written``: the folder where ``write_tables`` has written the datasets — they are
        scanned there with the filter (row group by row group: bounded memory), in their order,
        which is the local engine's; otherwise selected on the executors and read back through
        the work directory (two more Spark writes: ~5 s each even on two documents)."""
        from pyspark.sql import functions as F

        from copytrace import schemas
        from copytrace.engines.spark_tables import SUCCESS, write_dataset

        if written is not None and all((written / f"{t}.parquet" / SUCCESS).exists() for t in ("pairs", "passages")):
            import pyarrow.dataset as ds

            shown_ids = documents.column("doc_id").combine_chunks()

            def scan(name: str, schema: pa.Schema) -> pa.Table:
                d = ds.dataset(str(written / f"{name}.parquet"), format="parquet", schema=schema)
                return d.to_table(filter=ds.field("doc_a").isin(shown_ids))

            return scan("pairs", schemas.PAIRS), scan("passages", schemas.PASSAGES)
        texts: SparkTexts = self.store  # type: ignore[assignment]
        shown = texts._ids("report-docs", doc_a=documents.column("doc_id").combine_chunks())
        texts._n += 1
        where = texts.work / f"report-pairs-{texts._n}"
        where.mkdir()
        write_dataset(self.pairs_frame.join(F.broadcast(shown), "doc_a"), where / "pairs.parquet", schemas.PAIRS,
                      order_by=self.PAIR_ORDER)
        write_dataset(self.passages_frame.join(F.broadcast(shown), "doc_a"), where / "passages.parquet",
                      schemas.PASSAGES, order_by=self.PASSAGE_ORDER)
        return (pq.read_table(where / "pairs.parquet", schema=schemas.PAIRS),
                pq.read_table(where / "passages.parquet", schema=schemas.PASSAGES))

    @_on_spark
    def write_tables(self, out_dir: Path) -> None:
        """Every table as a dataset directory ``out_dir/NAME.parquet/`` (``spark_tables``): the
        documents, pairs, passages and reuse occurrences written by the executors, the boilerplate
        table by the driver in the same layout."""
        from copytrace import schemas
        from copytrace.engines.spark_tables import write_dataset, write_table_dataset

        write_dataset(self.frame, out_dir / "documents.parquet", self.documents_schema, order_by="idx")
        self._write_pair_datasets(out_dir)
        self._write_reuse(out_dir / "reuse.parquet")
        bp = self.boilerplate.table if self.boilerplate is not None else schemas.BOILERPLATE.empty_table()
        write_table_dataset(bp, out_dir / "boilerplate.parquet", schemas.BOILERPLATE)

    @_on_spark
    def documents_table(self) -> pa.Table:
        """The documents table in memory (``find`` without an output directory: the caller asked
        for it), written by the executors to the work directory and read back."""
        from copytrace.engines.spark_tables import write_dataset

        texts: SparkTexts = self.store  # type: ignore[assignment]
        texts._n += 1
        path = texts.work / f"documents-{texts._n}.parquet"
        write_dataset(self.frame, path, self.documents_schema, order_by="idx")
        return pq.read_table(path, schema=self.documents_schema)

    @_on_spark
    def report_view(self, limit: int | None = None) -> tuple[pa.Table, dict[str, str], dict, dict, str | None]:
        """What the report shows, with the driver holding at most ``limit`` documents of clusters
        (plus those holding reused passages): the documents rows of the clusters shown (all of
        them when they fit, else the largest clusters that fit), their texts, their boilerplate
        spans, the corpus totals (the report's numbers) and a note when clusters were left out."""
        from pyspark.sql import functions as F

        from copytrace import schemas

        limit = limit or REPORT_MAX_DOCS
        texts: SparkTexts = self.store  # type: ignore[assignment]
        frame = self.frame
        cols = ["idx", *schemas.DOCUMENTS.names]
        members = frame.where("n_copies > 1")
        most = max(1, limit // 2)
        heads = members.where("is_representative").select("cluster_id", "n_copies").orderBy(
            F.desc("n_copies"), "cluster_id").limit(most).toArrow()
        sizes = heads.column("n_copies").to_numpy().astype(np.int64)
        fit = int(np.searchsorted(np.cumsum(sizes), limit, side="right"))
        note = None
        if heads.num_rows < most:
            # every cluster is there (one representative each, its n_copies the cluster's size):
            # the totals without another job
            in_clusters, n_clusters = int(sizes.sum()), heads.num_rows
        else:
            agg = members.agg(F.count("*").alias("docs"), F.sum(F.when(F.col("is_representative"), 1)
                                                                .otherwise(0)).alias("clusters")).collect()[0]
            in_clusters, n_clusters = int(agg["docs"] or 0), int(agg["clusters"] or 0)
        if fit < n_clusters:
            note = (f"{n_clusters:,} clusters hold {in_clusters:,} documents: this report shows the largest "
                    f"{fit:,} (up to {limit:,} documents); documents.parquet and pairs.parquet hold them all")
        if fit:
            shown = texts._ids("shown", cluster_id=heads.slice(0, fit).column("cluster_id").combine_chunks())
            table = texts.fetch(members.join(F.broadcast(shown), "cluster_id").select(*cols), "shown").sort_by("idx")
        else:
            table = pa.schema([pa.field("idx", pa.int64()), *schemas.DOCUMENTS]).empty_table()
        reuse, reuse_note = self._report_reuse(limit)
        self.report_reuse = reuse.drop_columns(["a"])
        if reuse_note:
            note = f"{note}; {reuse_note}" if note else reuse_note
        idx = table.column("idx").to_numpy().astype(np.int64)
        ids = table.column("doc_id").to_pylist()
        if reuse.num_rows:  # the documents holding the reused passages shown
            held = set(idx.tolist())
            for i, d in zip(reuse.column("a").to_pylist(), reuse.column("doc_id").to_pylist(), strict=True):
                if i not in held:
                    held.add(i)
                    idx = np.append(idx, i)
                    ids.append(d)
        by_id = dict(zip(ids, texts.texts(idx), strict=True)) if idx.shape[0] else {}
        spans: dict[str, list[tuple[int, int]]] = {}
        if self.spans_df is not None and idx.shape[0]:
            sp = texts.fetch(self.spans_df.join(F.broadcast(texts._ids("spans", idx=np.unique(idx))), "idx")
                             .select("idx", "bs", "be"), "spans")
            id_of = dict(zip(idx.tolist(), ids, strict=True))
            for i, bs, be in zip(sp.column("idx").to_pylist(), sp.column("bs").to_pylist(),
                                 sp.column("be").to_pylist(), strict=True):
                spans[id_of[i]] = list(zip(bs, be, strict=True))
        totals = {"documents": self.n_documents, "clusters": n_clusters, "documents_in_clusters": in_clusters,
                  "pairs": self.n_pairs, "passages": self.n_passages,
                  "dedup_rate": round((in_clusters - n_clusters) / self.n_documents, 4) if self.n_documents else 0.0}
        return table.drop_columns(["idx"]), by_id, spans, totals, note

    def _report_reuse(self, limit: int) -> tuple[pa.Table, str | None]:
        """The reuse rows the report shows (``a`` + ``schemas.REUSE``, in the table's order): every
        cluster when they hold at most ``limit`` occurrences, else the largest that fit (and a
        note saying so)."""
        from pyspark.sql import functions as F

        from copytrace import schemas

        cols = ["a", *schemas.REUSE.names]
        empty = pa.schema([pa.field("a", pa.int64()), *schemas.REUSE]).empty_table()
        if self.reuse_frame is None:
            return empty, None
        texts: SparkTexts = self.store  # type: ignore[assignment]
        heads = self.reuse_frame.groupBy("reuse_id").agg(F.count("*").alias("rows")).orderBy(
            F.desc("rows"), "reuse_id").limit(max(1, limit)).toArrow()
        fit = int(np.searchsorted(np.cumsum(heads.column("rows").to_numpy().astype(np.int64)), limit, side="right"))
        note = None
        if fit < self.n_reuse_clusters:
            note = (f"{self.n_reuse_clusters:,} reused passages: this report shows the {fit:,} printed most "
                    f"(up to {limit:,} occurrences); reuse.parquet holds them all")
        if not fit:
            return empty, note
        shown = texts._ids("reuse-shown", reuse_id=heads.slice(0, fit).column("reuse_id").combine_chunks())
        t = texts.fetch(self.reuse_frame.join(F.broadcast(shown), "reuse_id").select(*cols, *self.REUSE_ORDER[:3]),
                        "reuse-shown")
        t = t.sort_by([(k, "ascending") for k in self.REUSE_ORDER])
        return t.select(cols).cast(pa.schema([pa.field("a", pa.int64()), *schemas.REUSE])), note

    @_on_spark
    def write_corpus(self, path: Path, passages: bool = False) -> None:
        """deduplicated.jsonl (``passages``: deduplicated-passages.jsonl) as ``path``."""
        texts: SparkTexts = self.store  # type: ignore[assignment]
        docs = texts.docs.select("idx", "doc_id", "text", "source", "date", "url", "title")
        if passages:
            # each document with the occurrences it holds (``reuse.removed_spans`` picks the cuts)
            from pyspark.sql import functions as F

            occ_t = "array<struct<doc_id:string,start:bigint,end:bigint,is_original:boolean>>"
            if self.reuse_frame is None:
                rows = docs.select("*", F.lit(None).cast(occ_t).alias("occ"))
            else:
                occ = self.reuse_frame.groupBy(F.col("a").alias("idx")).agg(
                    F.collect_list(F.struct("doc_id", "start", "end", "is_original")).alias("occ"))
                rows = docs.join(occ, "idx", "left")
            lines = rows.mapInArrow(_passage_lines, "idx long, value string")
        else:
            # every cluster's representative (singletons included), from the documents frame;
            # --against: the new documents that copy no reference document
            reps = (self.frame.where("is_representative") if self.kept_df is None else
                    self.frame.join(self.kept_df, "idx")).select("idx", "cluster_id", "n_copies")
            rows = docs.join(reps, "idx")
            lines = rows.select("idx", "doc_id", "text", "source", "date", "url", "title", "cluster_id",
                                "n_copies").mapInArrow(_dedup_lines, "idx long, value string")
        texts.write_lines(Path(path), lines)


def _dedup_lines(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from copytrace.stages.dedup_records import dedup_lines

    for rb in batches:
        # the local engine's lines (one function), split per row to keep each row's idx
        out = dedup_lines(rb, rb.column("cluster_id"), rb.column("n_copies")).decode("utf-8").split("\n")[:-1]
        yield pa.RecordBatch.from_arrays([rb.column("idx"), pa.array(out, pa.string())], names=["idx", "value"])


def _passage_lines(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from copytrace.stages.dedup_records import dedup_passage_record
    from copytrace.stages.reuse import removed_spans
    from copytrace.stages.write import json_line

    names = ["doc_id", "start", "end", "is_original"]
    for rb in batches:
        held = pc.list_flatten(rb.column("occ"))  # the batch's occurrences
        spans = removed_spans(pa.Table.from_arrays([held.field(k) for k in names], names=names)) if len(held) else {}
        rb = rb.drop_columns(["occ"])
        out = [json_line(dedup_passage_record(r, spans.get(r["doc_id"], []))) for r in rb.to_pylist()]
        yield pa.RecordBatch.from_arrays([rb.column("idx"), pa.array(out, pa.string())], names=["idx", "value"])
