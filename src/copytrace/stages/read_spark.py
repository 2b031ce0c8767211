"""Reading one file from its bytes: the protocol by which the Spark engine reads
(``engines.spark`` gets each file's bytes through Hadoop's file systems, and
parses them on the executors here).

Contract: :func:`read_file_bytes` gives the :class:`Record` s of one file
(documents, counted skips, warnings, or a stopping error, in order) exactly as
``stages.read.iter_batches`` would read that file alone — same ids, same
skips and messages — so that both engines read identically.  The planning
(which files, which format: ``read.plan_files``, ``read.spec_for``,
``read.FileSpec``) stays in ``stages.read``, which the local engine uses too.
"""

from __future__ import annotations

import gzip
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Iterator

from copytrace.errors import InputError
from copytrace.stages.read import Document, FileSpec, ReadOptions, Reader, ReadStats, Source

__all__ = ["Record", "BytesReader", "EventStats", "read_file_bytes"]


@dataclass(frozen=True)
class Record:
    """What reading one file yields, in order (``ordinal`` counts them).

    kind "doc": ``doc`` is set; "skip": a counted bad record (``reason``,
    ``message``); "warning": ``message``; "error": reading must stop
    (``on_error="fail"`` or a file-level problem): ``error`` is set."""

    ordinal: int
    kind: str
    doc: Document | None = None
    reason: str = ""
    message: str = ""
    error: InputError | None = None


class BytesReader(Reader):
    def __init__(self, options: ReadOptions, content: bytes) -> None:
        super().__init__(options, EventStats(self))
        self.content = content
        self.events: list[Record] = []

    @contextmanager
    def open(self, src: Source) -> Iterator[IO[bytes]]:
        import io

        f = io.BytesIO(self.content)
        if src.gz:
            with gzip.GzipFile(fileobj=f, mode="rb") as g:
                yield g  # type: ignore[misc]
        else:
            yield f


class EventStats(ReadStats):
    """ReadStats that records each skip and warning as a Record."""

    def __init__(self, reader: "BytesReader") -> None:
        super().__init__()
        self._reader = reader

    def skip(self, reason: str, message: str) -> None:
        r = self._reader
        r.events.append(Record(len(r.events), "skip", reason=reason, message=message))

    def warn(self, message: str) -> None:
        r = self._reader
        r.events.append(Record(len(r.events), "warning", message=message))


def read_file_bytes(content: bytes, spec: FileSpec, options: ReadOptions) -> list[Record]:
    """The records of one file given as bytes, exactly as ``iter_batches``
    would read that file alone (duplicate ids *within* the file included;
    across files the caller keeps the first)."""
    import pyarrow as pa

    reader = BytesReader(options, content)
    path: Any = pa.BufferReader(content) if spec.fmt == "parquet" else spec.display
    src = Source(spec.fmt, path, spec.display, spec.gz, spec.doc_id)
    try:
        for doc in reader.documents([src]):
            reader.events.append(Record(len(reader.events), "doc", doc=doc))
    except InputError as e:
        reader.events.append(Record(len(reader.events), "error", error=e))
    return reader.events
