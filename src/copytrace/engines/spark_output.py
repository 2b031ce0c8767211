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

    def _ids(self, name: str, **cols: np.ndarray) -> Any:
        """A DataFrame of numpy columns, through a Parquet file in the work directory (no rows
        through Py4J)."""
        self._n += 1
        path = self.work / f"{name}-{self._n}.parquet"
        pq.write_table(pa.table(cols), path)
        return self.spark.read.parquet(path.resolve().as_uri())

    def texts(self, rows: np.ndarray) -> list[str]:
        """The texts of the documents at ``rows`` (doc-id positions), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.shape[0] == 0:
            return []
        sel = self._ids("rows", idx=np.unique(rows))
        t = self.docs.join(sel, "idx").select("idx", "text").toArrow()
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


@dataclass
class SparkOutput(EngineOutput):
    """``EngineOutput`` whose ``store`` is a :class:`SparkTexts` and whose JSONL corpora are
    made on the executors (``write_corpus``)."""

    def write_corpus(self, path: Path, passages: bool = False) -> None:
        """deduplicated.jsonl (``passages``: deduplicated-passages.jsonl) as ``path``."""
        from pyspark.sql import functions as F

        texts: SparkTexts = self.store  # type: ignore[assignment]
        docs = texts.docs.select("idx", "doc_id", "text", "source", "date", "url", "title")
        if passages:
            from copytrace.stages.reuse import removed_spans
            from copytrace import schemas

            spans = removed_spans(self.reuse if self.reuse is not None else schemas.REUSE.empty_table())
            b = texts.spark.sparkContext.broadcast(spans)
            lines = docs.mapInArrow(lambda it: _passage_lines(it, b.value), "idx long, value string")
        else:
            keep = self.kept_positions().astype(np.int64)
            cid_pos = self.clusters.root[keep].astype(np.int64)
            reps = texts._ids("reps", idx=keep, root=cid_pos, n_copies=self.clusters.size[keep].astype(np.int64))
            ids = docs.select(F.col("idx").alias("root"), F.col("doc_id").alias("cluster_id"))
            rows = docs.join(reps, "idx").join(ids, "root")
            lines = rows.select("idx", "doc_id", "text", "source", "date", "url", "title", "cluster_id",
                                "n_copies").mapInArrow(_dedup_lines, "idx long, value string")
        texts.write_lines(Path(path), lines)


def _dedup_lines(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    from copytrace.stages.dedup_records import dedup_lines

    for rb in batches:
        # the local engine's lines (one function), split per row to keep each row's idx
        out = dedup_lines(rb, rb.column("cluster_id"), rb.column("n_copies")).decode("utf-8").split("\n")[:-1]
        yield pa.RecordBatch.from_arrays([rb.column("idx"), pa.array(out, pa.string())], names=["idx", "value"])


def _passage_lines(batches: Iterator[pa.RecordBatch], spans: dict[str, list[tuple[int, int]]]
                   ) -> Iterator[pa.RecordBatch]:
    from copytrace.stages.dedup_records import dedup_passage_record
    from copytrace.stages.write import json_line

    for rb in batches:
        out = [json_line(dedup_passage_record(r, spans.get(r["doc_id"], []))) for r in rb.to_pylist()]
        yield pa.RecordBatch.from_arrays([rb.column("idx"), pa.array(out, pa.string())], names=["idx", "value"])
