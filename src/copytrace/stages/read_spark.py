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
from typing import IO, Any, Callable, Iterator

from copytrace.errors import InputError
from copytrace.stages.read import Document, FileSpec, ReadOptions, Reader, ReadStats, Source

__all__ = ["Record", "BytesReader", "EventStats", "read_file_bytes", "read_part_bytes", "open_uri", "part_bytes",
           "newlines_in"]


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
    def __init__(self, options: ReadOptions, content: bytes, whole: Callable[[], IO[bytes]] | None = None) -> None:
        super().__init__(options, EventStats(self))
        self.content = content
        self.events: list[Record] = []
        self.whole = whole  # a part of a file: opens the whole file (the encoding fallback samples it)
        self._sampling = False

    def line_fallback(self, raw: bytes) -> str | None:
        self._sampling = self.whole is not None
        try:
            return super().line_fallback(raw)
        finally:
            self._sampling = False

    @contextmanager
    def open(self, src: Source) -> Iterator[IO[bytes]]:
        import io

        if self._sampling and self.whole is not None:
            with self.whole() as fh:
                yield fh
            return
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


# --------------------------------------------------------------------------
# Parts of a large JSONL file (the Spark engine's splits)
# --------------------------------------------------------------------------


def open_uri(uri: str) -> IO[bytes]:
    """A file given as a Hadoop-style URI (``file:``, ``hdfs://``, ``s3a://`` …) opened for
    reading on an executor: local paths directly, others through pyarrow's file systems."""
    from urllib.parse import unquote, urlparse

    if uri.startswith("file:"):
        return open(unquote(urlparse(uri).path), "rb")
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri.replace("s3a://", "s3://", 1))
    return fs.open_input_file(path)


def newlines_in(uri: str, lo: int, hi: int) -> int:
    """Newlines among the bytes ``[lo, hi)`` of the file."""
    n = 0
    with open_uri(uri) as f:
        f.seek(lo)
        left = hi - lo
        while left > 0:
            chunk = f.read(min(left, 1 << 22))
            if not chunk:
                break
            n += chunk.count(b"\n")
            left -= len(chunk)
    return n


def part_bytes(uri: str, lo: int, hi: int, newlines_before: int) -> tuple[bytes, int, int]:
    """The lines of the part ``[lo, hi)`` of a file: those whose first byte lies in it (a line
    crossing ``hi`` is read to its end; one crossing ``lo`` belongs to the part before), with
    the number of lines and bytes of the file before them.  ``newlines_before``: newlines
    among the bytes before ``lo``."""
    with open_uri(uri) as f:
        start, lines = lo, newlines_before
        if lo > 0:
            f.seek(lo - 1)
            if f.read(1) != b"\n":  # inside a line: it belongs to the part before
                while True:
                    chunk = f.read(1 << 16)
                    if not chunk:
                        return b"", lines, lo
                    i = chunk.find(b"\n")
                    if i >= 0:
                        start += i + 1
                        lines += 1
                        break
                    start += len(chunk)
        if start >= hi:
            return b"", lines, start
        f.seek(start)
        data = f.read(hi - start)
        if data and not data.endswith(b"\n"):  # the line crossing hi, to its end
            more = [data]
            while True:
                chunk = f.read(1 << 16)
                if not chunk:
                    break
                i = chunk.find(b"\n")
                if i >= 0:
                    more.append(chunk[:i + 1])
                    break
                more.append(chunk)
            data = b"".join(more)
        return data, lines, start


def read_part_bytes(content: bytes, spec: FileSpec, options: ReadOptions, line_base: int, offset_base: int,
                    whole: Callable[[], IO[bytes]] | None = None) -> tuple[list[Record], dict[str, Any]]:
    """The records of one part of a JSONL file (its whole lines, ``line_base`` lines and
    ``offset_base`` bytes of the file before them), as ``read_file_bytes`` gives a whole file's:
    line numbers and byte offsets those of the file; only the part at offset 0 checks the field
    names; no part warns about the date/source fields — the second item is what the part's
    records showed (``records``, ``seen_date``, ``seen_source``), for
    ``read.jsonl_field_warnings`` once per file.  ``whole`` opens the whole file (for the
    encoding fallback's sample)."""
    reader = BytesReader(options, content, whole)
    reader.line_base, reader.offset_base = line_base, offset_base
    reader.first_part = offset_base == 0
    reader.whole_file = False
    src = Source(spec.fmt, spec.display, spec.display, spec.gz, spec.doc_id)
    try:
        for doc in reader.documents([src]):
            reader.events.append(Record(len(reader.events), "doc", doc=doc))
    except InputError as e:
        reader.events.append(Record(len(reader.events), "error", error=e))
    st = reader.jsonl_state
    return reader.events, {k: st.get(k, 0) for k in ("records", "seen_date", "seen_source")}
