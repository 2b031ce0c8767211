"""Stage 1 (in memory) — read: Arrow tables, record batch readers and Hugging
Face ``datasets.Dataset`` objects → ``Document``, without writing them to disk.

Data contract
-------------
``copytrace.find(table)`` (or any inputs list holding such objects) reads
them with the same field options and the same record checks as Parquet files
(``read.Reader.read_record_batches``): ``id_field``, ``text_field`` (or
``html_field``), ``date_field``, ``source_field``; messages name the object
as ``<arrow:N>`` (N: its position among the inputs' in-memory objects) and the
1-based row.  Accepted: ``pyarrow.Table``, ``pyarrow.RecordBatch``,
``pyarrow.RecordBatchReader`` (read once, streaming), and
``datasets.Dataset`` (streamed as Arrow batches; ``datasets`` is never
imported by copytrace itself, so the core does not need it).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Iterator

from copytrace.errors import OptionError

if TYPE_CHECKING:  # pragma: no cover
    from copytrace.stages.read import Document, Reader, Source

__all__ = ["arrow_source", "read_arrow", "is_arrow_input"]

_counter = itertools.count(1)


def is_arrow_input(obj: Any) -> bool:
    import pyarrow as pa

    return isinstance(obj, (pa.Table, pa.RecordBatch, pa.RecordBatchReader)) or _is_hf_dataset(obj)


def _is_hf_dataset(obj: Any) -> bool:
    mod = type(obj).__module__ or ""
    return mod.startswith("datasets.") and hasattr(obj, "with_format") and hasattr(obj, "features")


def arrow_source(obj: Any) -> "Source":
    from copytrace.stages.read import Source

    if not is_arrow_input(obj):
        raise OptionError(
            f"cannot read an input of type {type(obj).__name__}: give paths, a pyarrow Table or"
            " RecordBatchReader, or a datasets.Dataset"
        )
    return Source("arrow", obj, f"<arrow:{next(_counter)}>")


def _schema_and_batches(obj: Any, batch_size: int) -> tuple[list[str], Iterator[Any]]:
    import pyarrow as pa

    if isinstance(obj, pa.RecordBatch):
        obj = pa.Table.from_batches([obj])
    if isinstance(obj, pa.Table):
        return list(obj.schema.names), iter(obj.to_batches(max_chunksize=batch_size))
    if isinstance(obj, pa.RecordBatchReader):
        return list(obj.schema.names), iter(obj)
    # datasets.Dataset: its Arrow batches (indices mappings applied by datasets itself)
    names = list(obj.column_names)
    tables = obj.with_format("arrow").iter(batch_size=batch_size)
    return names, (b for t in tables for b in t.to_batches())


def read_arrow(reader: "Reader", src: "Source") -> Iterator["Document"]:
    names, batches = _schema_and_batches(src.path, reader.o.batch_docs)
    return reader.read_record_batches(
        src, names, lambda wanted: (rb.select(wanted) for rb in batches)
    )
