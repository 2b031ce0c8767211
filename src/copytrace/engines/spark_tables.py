"""The Spark engine's per-document table and its output datasets, made and
written on the executors (the driver holds O(1) per document).

Data contract
-------------
* :func:`documents_frame` — the documents table (``schemas.DOCUMENTS``) as a
  DataFrame with ``idx`` (position in doc-id order) in front: one row per
  document, cluster ids (the smallest doc id of a component), representatives
  (longest, then smallest id) and cluster originals (the most-voted document,
  ties to the representative, then the smallest id) assigned on the
  executors, with the local engine's rules (``stages.cluster.clusters_from_roots``,
  ``stages.direction.cluster_originals``).  Inputs: the documents
  ``(idx, doc_id)``, the lengths ``(idx, length)``, the components ``(v, r)``
  of the whole-copy pairs and the vote totals ``(idx, score)`` of the
  documents in pairs — all DataFrames; only the documents in pairs are ever
  grouped (a document in no pair is its own cluster).
* :func:`write_dataset` — a DataFrame written as a Parquet *dataset*: a
  directory ``NAME.parquet/`` of ``part-NNNNN.parquet`` files (each one task's
  rows, in ``order_by`` order; the parts in file-name order give the rows in
  that order) and a ``_SUCCESS`` marker, with the exact Arrow schema of
  ``schemas.py``.  Each task writes its part to a temporary directory under a
  name holding its attempt number; the driver keeps the parts of the attempts
  that succeeded (their names come back as the job's result: one row per
  partition), renames them, writes ``_SUCCESS`` and renames the directory into
  place — a crash or a lost executor never leaves a half-written dataset.
* :func:`write_table_dataset` — a table the driver holds (reuse occurrences,
  boilerplate segments) written in the same layout, one part.
* :func:`read_back` — a DataFrame's rows on the driver through a Parquet dataset the executors
  write into the run's work directory (never Spark's result channel).
* :func:`cluster_counts` — the cluster aggregates of summary.json's counts.

pyarrow (``pq.read_table(dir)``), DuckDB (``read_parquet('dir/*.parquet')``),
pandas and Spark read these directories as one table.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["documents_frame", "write_dataset", "write_table_dataset", "read_back", "cluster_counts", "spark_errors",
           "SUCCESS"]

SUCCESS = "_SUCCESS"


@contextmanager
def spark_errors(what: str = "the Spark job") -> Iterator[None]:
    """A failed Spark job (a lost executor, a crashed Python worker, a task out of memory) as one
    clear line (``errors.EngineError``) instead of Py4J's Java stack trace; copytrace's own
    errors pass through."""
    from copytrace.errors import CopytraceError, EngineError

    try:
        yield
    except CopytraceError:
        raise
    except Exception as e:
        mod = type(e).__module__ or ""
        if not (mod.startswith("py4j") or mod.startswith("pyspark")):
            raise
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        cause = next((ln for ln in lines if "Exception:" in ln or "Error:" in ln or "crashed" in ln), None)
        cause = cause or (lines[0] if lines else type(e).__name__)
        raise EngineError(f"{what} failed on Spark ({type(e).__name__}): {cause[:300]}; "
                          "nothing was written to the output directory") from None


def documents_frame(docs: Any, lengths: Any, components: Any | None, votes: Any | None) -> Any:
    """``idx`` + the documents table's columns, for every document (see the module's contract)."""
    from pyspark.sql import functions as F

    base = docs.select("idx", "doc_id").join(lengths.select("idx", "length"), "idx")
    if components is None:
        single = base
        return single.select("idx", "doc_id", "length", F.col("doc_id").alias("cluster_id"),
                             F.lit(True).alias("is_representative"), F.lit(1).cast("long").alias("n_copies"),
                             F.col("doc_id").alias("cluster_original"))
    # members of clusters of two or more: (idx, root), their lengths and votes
    mem = components.select(F.col("v").alias("idx"), F.col("r").alias("root")).join(
        lengths.select("idx", "length"), "idx")
    if votes is not None:
        mem = mem.join(votes.select("idx", "score"), "idx", "left")
    else:
        mem = mem.withColumn("score", F.lit(None).cast("double"))
    mem = mem.withColumn("score", F.coalesce("score", F.lit(0.0)))
    # representative: the longest, then the smallest index (clusters_from_roots)
    per_root = mem.groupBy("root").agg(
        F.count("*").alias("n_copies"),
        F.min(F.struct(F.negative("length").alias("l"), F.col("idx").alias("i"))).getField("i").alias("rep"))
    mem = mem.join(per_root, "root")
    # the cluster's original: most votes, then the representative, then the smallest index
    # (cluster_originals' order: -score, -is_rep, idx)
    orig = mem.groupBy("root").agg(
        F.min(F.struct(F.negative("score").alias("s"), F.when(F.col("idx") == F.col("rep"), 0).otherwise(1)
                       .alias("r"), F.col("idx").alias("i"))).getField("i").alias("orig"))
    ids = docs.select("idx", "doc_id")
    mem = (mem.join(orig, "root")
           .join(ids.select(F.col("idx").alias("root"), F.col("doc_id").alias("cluster_id")), "root")
           .join(ids.select(F.col("idx").alias("orig"), F.col("doc_id").alias("cluster_original")), "orig")
           .select("idx", "cluster_id", (F.col("idx") == F.col("rep")).alias("is_representative"), "n_copies",
                   "cluster_original"))
    out = base.join(mem, "idx", "left")
    return out.select(
        "idx", "doc_id", "length", F.coalesce("cluster_id", "doc_id").alias("cluster_id"),
        F.coalesce("is_representative", F.lit(True)).alias("is_representative"),
        F.coalesce("n_copies", F.lit(1).cast("long")).alias("n_copies"),
        F.coalesce("cluster_original", "doc_id").alias("cluster_original"))


def cluster_counts(documents: Any) -> dict[str, int]:
    """Clusters of two or more, their documents, the largest and the documents kept (one job)."""
    from pyspark.sql import functions as F

    multi = F.col("n_copies") > 1
    r = documents.agg(
        F.count("*").alias("n"),
        F.sum(F.when(F.col("is_representative") & multi, 1).otherwise(0)).alias("clusters"),
        F.sum(F.when(multi, 1).otherwise(0)).alias("in_clusters"),
        F.max("n_copies").alias("largest"),
        F.sum(F.when(F.col("is_representative"), 1).otherwise(0)).alias("kept"),
    ).collect()[0]
    return {k: int(r[k] or 0) for k in ("n", "clusters", "in_clusters", "largest", "kept")}


def _write_parts(batches: Iterator[pa.RecordBatch], tmp: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """One task: its rows as ``tmp/part-<partition>-<attempt>.parquet`` (streamed, batch by batch),
    then one row ``(file, rows)`` for the driver."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    pid, attempt = (ctx.partitionId(), ctx.attemptNumber()) if ctx is not None else (0, 0)
    name = f"part-{pid:05d}-{attempt}.parquet"
    rows = 0
    with pq.ParquetWriter(os.path.join(tmp, name + ".inprogress"), schema) as w:
        for rb in batches:
            t = pa.Table.from_batches([rb]).select(schema.names).cast(schema)
            w.write_table(t)
            rows += t.num_rows
    os.replace(os.path.join(tmp, name + ".inprogress"), os.path.join(tmp, name))
    yield pa.RecordBatch.from_pydict({"file": [name], "pid": [pid], "rows": [rows]},
                                     schema=pa.schema([("file", pa.string()), ("pid", pa.int64()),
                                                       ("rows", pa.int64())]))


def write_dataset(df: Any, path: Path, schema: pa.Schema, order_by: str | Sequence[str] | None = None,
                  partitions: int | None = None) -> int:
    """``df``'s ``schema`` columns written on the executors as the dataset ``path`` (see the
    module's contract); returns the number of rows.  ``order_by``: range-partitioned and sorted
    by this column (or these columns), so that the parts in name order hold the rows in its order.  ``path`` must be
    visible to the executors (always so on a local master; on a cluster a shared file system)."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.copytrace-tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        if order_by is not None:
            keys = [order_by] if isinstance(order_by, str) else list(order_by)
            df = (df.repartitionByRange(partitions, *keys) if partitions else
                  df.repartitionByRange(*keys)).sortWithinPartitions(*keys)
        cols = schema.names
        tmp_s = str(tmp.resolve())
        res = df.select(*cols).mapInArrow(lambda it: _write_parts(it, tmp_s, schema),
                                          "file string, pid long, rows long").collect()  # one row per task
        done = sorted((int(r.pid), str(r.file), int(r.rows)) for r in res)
        final = tmp / "final"
        final.mkdir()
        for pid, name, _ in done:
            os.replace(tmp / name, final / f"part-{pid:05d}.parquet")
        if not done:  # no partition at all: one empty part, so that readers see the schema
            pq.write_table(schema.empty_table(), final / "part-00000.parquet")
        (final / SUCCESS).write_bytes(b"")
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(final, path)
        return sum(r for _, _, r in done)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # failed attempts' parts


def write_table_dataset(table: pa.Table, path: Path, schema: pa.Schema) -> None:
    """A table the driver holds, in the datasets' layout (one part, ``_SUCCESS``), committed by a
    rename."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.copytrace-tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        pq.write_table(table.select(schema.names).cast(schema), tmp / "part-00000.parquet")
        (tmp / SUCCESS).write_bytes(b"")
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_back(df: Any, path: Path) -> pa.Table:
    """``df``'s rows on the driver through a Parquet dataset that the executors write at ``path``
    (in the run's work directory), read here with pyarrow: never through Spark's result channel,
    so that ``spark.driver.maxResultSize`` does not bound the rows (issue #13: the boilerplate
    check's rows, the report's texts of 5,000 documents).  Row order is Spark's: callers sort.
    ``path`` must be visible to the executors and the driver (always so on a local master)."""
    df.write.mode("overwrite").parquet(Path(path).resolve().as_uri())
    t = pq.read_table(path)
    if t.num_columns == 0:  # no part file with a schema: an empty table of the frame's columns
        from pyspark.sql.pandas.types import to_arrow_type

        t = pa.table({c: pa.array([], to_arrow_type(df.schema[c].dataType)) for c in df.columns})
    return t.select(df.columns)
