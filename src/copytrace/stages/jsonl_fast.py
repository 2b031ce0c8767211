"""Stage 1 (fast path) — read: JSONL blocks through Arrow's JSON parser.

Data contract
-------------
``documents(reader, src, f, fields, state, record)`` yields exactly the
``Document`` objects (same ids, texts, sources, dates and ``file:line``
origins, same order) that reading ``f`` line by line with ``record(lineno,
start, raw)`` would, and counts the same skips, for a UTF-8 (or ``auto``)
JSONL file on disk, not gzip-compressed, without ``html_field``.

The file is read in blocks of about ``BLOCK_BYTES`` cut at line ends.  A
block goes through ``pyarrow.json`` (the id, text, date and source fields as
strings, every other field ignored) when Arrow can take it exactly as the
line-by-line path would; the block then costs one parse and one list of
strings per field instead of a ``json.loads`` and a record check per line.
Any block where that is not certain goes line by line through ``record``:
the first ``FieldCheck.SAMPLE`` records (the wrong-field check sees them
whole), a line Arrow rejects (invalid JSON, not an object, invalid UTF-8, a
field twice, an id or date that is a number, a surrogate escape ``\\uD800``),
a blank line (the line numbers would shift), a line of ``line_limit`` bytes
or more, a record the checks of ``Reader.make`` would skip (missing, null,
empty or duplicate id, empty or whitespace text, a text over
``max_doc_chars``), and a block where the date or source field is never set
(the "no record has the field" warning needs to know whether it is absent).
"""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from copytrace.stages.read import Document, FieldCheck, Reader, Source

__all__ = ["BLOCK_BYTES", "eligible", "documents"]

BLOCK_BYTES = 16 << 20
SPLIT_BYTES = 64 << 10  # a block Arrow cannot take is halved down to this size
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # a \uD800-\uDFFF escape (Arrow rejects lone ones)
_BOM = b"\xef\xbb\xbf"


def eligible(reader: "Reader", src: "Source") -> bool:
    """Whether the fast path may read this source (a plain UTF-8 JSONL file)."""
    return (src.path is not None and not src.gz and reader.utf8 and reader.o.html_field is None)


def documents(
    reader: "Reader",
    src: "Source",
    f: IO[bytes],
    fields: "FieldCheck",
    state: dict[str, Any],
    record: Callable[[int, int, bytes], "Document | None"],
) -> Iterator["Document"]:
    limit = reader.line_limit
    lineno = reader.line_base  # a part of a file (Reader.line_base): counted from there
    offset = reader.offset_base
    carry = b""
    first = offset == 0
    while True:
        try:
            chunk = f.read(BLOCK_BYTES)
        except OSError as e:
            from copytrace.errors import InputError

            raise InputError(src.display, f"cannot read past line {lineno}: {e}") from None
        if first:
            first = False
            if chunk.startswith(_BOM):  # as raw_lines: the BOM is no part of line 1
                chunk = chunk[3:]
                offset = 3
        if not chunk:
            if carry:
                yield from _block(reader, src, carry, lineno, offset, fields, state, record)
            return
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) >= limit:  # one line of limit bytes or more: skipped without being held
                lineno += 1
                reader.line_too_long(src, lineno, limit)
                offset += len(data)
                while more := f.readline(limit):
                    offset += len(more)
                    if more.endswith(b"\n"):
                        break
                carry = b""
            else:
                carry = data
            continue
        block, carry = data[:cut], data[cut:]
        yield from _block(reader, src, block, lineno, offset, fields, state, record)
        lineno += block.count(b"\n")
        offset += cut


def _block(
    reader: "Reader",
    src: "Source",
    block: bytes,
    lineno: int,
    offset: int,
    fields: "FieldCheck",
    state: dict[str, Any],
    record: Callable[[int, int, bytes], "Document | None"],
) -> Iterator["Document"]:
    """The documents of ``block`` (whole lines; ``lineno`` lines and ``offset``
    bytes of the file before it)."""
    pos = 0
    while pos < len(block) and not fields.done:  # the records the field check sees, one by one
        nl = block.find(b"\n", pos)
        end = len(block) if nl < 0 else nl + 1
        lineno += 1
        doc = _line(reader, src, block[pos:end], lineno, offset + pos, record)
        if doc is not None:
            yield doc
        pos = end
    if pos < len(block):
        yield from _region(reader, src, block[pos:] if pos else block, lineno, offset + pos, state, record)


def _region(
    reader: "Reader",
    src: "Source",
    region: bytes,
    lineno: int,
    offset: int,
    state: dict[str, Any],
    record: Callable[[int, int, bytes], "Document | None"],
) -> Iterator["Document"]:
    """Whole lines through Arrow; when it cannot take them, each half alone,
    down to ``SPLIT_BYTES``, then line by line."""
    docs = _fast(reader, src, region, lineno, state)
    if docs is not None:
        yield from docs
        return
    if len(region) > SPLIT_BYTES:
        mid = region.find(b"\n", len(region) // 2) + 1
        if 0 < mid < len(region):
            yield from _region(reader, src, region[:mid], lineno, offset, state, record)
            yield from _region(reader, src, region[mid:], lineno + region.count(b"\n", 0, mid), offset + mid,
                               state, record)
            return
    pos = 0
    while pos < len(region):
        nl = region.find(b"\n", pos)
        end = len(region) if nl < 0 else nl + 1
        lineno += 1
        doc = _line(reader, src, region[pos:end], lineno, offset + pos, record)
        if doc is not None:
            yield doc
        pos = end


def _line(reader: "Reader", src: "Source", raw: bytes, lineno: int, start: int,
          record: Callable[[int, int, bytes], "Document | None"]) -> "Document | None":
    """One line by the line-by-line path (as ``raw_lines`` gives it to ``record``)."""
    if len(raw) - raw.endswith(b"\n") >= reader.line_limit:
        reader.line_too_long(src, lineno, reader.line_limit)
        return None
    return record(lineno, start, raw)


def _fast(reader: "Reader", src: "Source", block: bytes, lineno: int, state: dict[str, Any]) -> list | None:
    """The documents of a block of whole lines, or None when the block must go line by line."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    from copytrace.stages.read import Document

    o = reader.o
    n_lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    if n_lines == 0 or _SURROGATE.search(block) is not None or b"\n\n" in block or block.startswith(b"\n"):
        return None
    if len(block) >= reader.line_limit:
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        starts = np.concatenate([[0], ends[:-1] + 1])
        if ends.shape[0] and int((ends - starts).max()) >= reader.line_limit:
            return None
        if not block.endswith(b"\n") and len(block) - (int(ends[-1]) + 1 if ends.shape[0] else 0) >= reader.line_limit:
            return None
    if not block.isascii():
        try:  # Arrow checks UTF-8 only in the fields it keeps: the line-by-line path decodes whole lines
            pa.scalar(block, pa.binary()).cast(pa.string())
        except (pa.ArrowException, UnicodeDecodeError):
            return None
    id_f, text_f, date_f, source_f = o.id_field, o.text_field, o.date_field, o.source_field
    names = list(dict.fromkeys(x for x in (id_f, text_f, date_f, source_f) if x))
    schema = pa.schema([(name, pa.string()) for name in names])
    try:
        table = pj.read_json(
            pa.BufferReader(block),
            read_options=pj.ReadOptions(use_threads=False, block_size=len(block) + 1),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore",
                                          newlines_in_values=False),
        )
        if table.num_rows != n_lines:
            return None  # a line of whitespace only: Arrow skips it, the line numbers would shift
        cols = {name: table.column(name) for name in names}
        if date_f and not state["seen_date"] and cols[date_f].null_count == table.num_rows:
            return None
        if source_f and not state["seen_source"] and cols[source_f].null_count == table.num_rows:
            return None
        ids = cols[id_f].to_pylist()
        texts = cols[text_f].to_pylist()
        dates = cols[date_f].to_pylist() if date_f else None
        sources = cols[source_f].to_pylist() if source_f else None
    except (pa.ArrowException, UnicodeDecodeError, ValueError):
        return None
    seen = reader.seen
    max_chars = o.max_doc_chars
    new_ids: set[str] = set()
    for doc_id, text in zip(ids, texts, strict=True):
        if (doc_id is None or text is None or not text or len(text) > max_chars or doc_id in seen
                or doc_id in new_ids or text.isspace() or not doc_id.strip()):
            return None  # the line-by-line path counts what this record is
        new_ids.add(doc_id)
    seen.update(new_ids)
    display = src.display
    docs = [
        Document(doc_id, text, (sources[i] or None) if sources is not None else None,
                 (dates[i] or None) if dates is not None else None, f"{display}:{lineno + i + 1}")
        for i, (doc_id, text) in enumerate(zip(ids, texts, strict=True))
    ]
    state["records"] += len(docs)
    if date_f:
        state["seen_date"] = True
    if source_f:
        state["seen_source"] = True
    return docs
