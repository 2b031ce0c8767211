"""Stage 1 — read: input paths → batches of ``Document``.

Data contract
-------------
``iter_batches(inputs, options, stats) -> Iterator[list[Document]]`` and the
convenience ``read_all(...) -> list[Document]``; ``read_text_file(path) -> str``
for single files (``copytrace compare``).

* ``Document.text`` is the text *exactly as decoded*: files are opened in
  binary and decoded, never newline-translated (``\\r\\n`` stays ``\\r\\n``), so
  the character offsets of later stages (Python ``str`` indices, i.e. code
  points) match the file as read.  The one exception: a UTF-8 byte-order mark
  at the start of a text file, JSONL or CSV file is dropped, and offsets count
  from the character after it.  Byte offsets in error messages are always
  offsets into the file itself (BOM included).
* ``Document.doc_id`` is unique over the whole read: the first valid
  document with an id wins, later ones are skipped as ``duplicate_id``.
* ``Document.date`` / ``Document.source`` are the optional fields stringified
  as given (``None`` where absent, null or empty).
* ``Document.url`` / ``Document.title``: web pages only (``copytrace.stages.web``).
* ``Document.origin`` is ``"path"`` (text files) or ``"path:line"``
  (JSONL/CSV: the physical line the record starts on; Parquet: the 1-based
  row number) — for messages only.

Inputs (each item of ``inputs``), in the order given:

* a directory: every ``*.txt``, ``*.html`` and ``*.htm`` file below it
  (recursively, case-insensitive suffix, symlinked directories not
  followed), in sorted order of the id, which is the path relative to the
  directory with ``/`` separators.  Only regular files are opened: such an
  entry that is a named pipe, socket, device or broken link is a counted
  skip (``not_a_regular_file``).  Other files there are not read, and one
  warning per directory counts them by extension ("22 files ignored (22
  .sgm); known formats: ...");
* ``.html`` / ``.htm`` (a page), ``.warc`` / ``.warc.gz`` / ``.wet`` (a web
  archive): extracted to text by ``copytrace.stages.web`` (its docstring
  lists what a page keeps and its skip reasons); ``html_field`` reads a field
  of JSONL/CSV/Parquet records as HTML the same way;
* in-memory Arrow tables, record batch readers and ``datasets.Dataset``
  objects (``copytrace.stages.arrow_input``);
* a ``.txt`` file: one document whose id is the path as given (``/``
  separators, ``./`` dropped);
* ``.jsonl`` / ``.ndjson``: one JSON object per line (blank lines ignored);
* ``.csv``: a header row, then one document per row (stdlib ``csv``, comma
  separated, quoted fields may span lines);
* ``.parquet``: one document per row;
* ``-``: JSONL (or CSV with ``format="csv"``) on standard input.

A ``.gz`` suffix on any of the line formats (``.jsonl.gz``, ``.ndjson.gz``,
``.csv.gz``, ``.txt.gz``) reads through gzip.  ``ReadOptions.format`` overrides
detection by extension (the ``.gz`` suffix still means gzip).

Encodings: ``ReadOptions.encoding="auto"`` (the default) decodes UTF-8 when
the bytes are valid UTF-8; otherwise the encoding is detected with
charset-normalizer (near-ties go to cp1252, the commonest legacy encoding) —
for a .txt file from its bytes, for JSONL/CSV once per file from its lines
that are not UTF-8 (those lines only are decoded with it; the encoding must
split lines as bytes, so UTF-16 JSONL is an error) — and each such file gets
a warning naming the encoding used.  Offsets are character offsets into the
decoded text.  Bytes no encoding fits are ``not_utf8``.  Any other value is
a codec used strictly.

Wrong field names: when most of a JSONL file's first 100 records (or of all
its records, if fewer) lack the id or the text field, reading stops with an
``InputError`` listing the fields the records have and the option to use
("no 'text' field; the records have: id, content, url — use --text-field
content"); a CSV or Parquet file without the column stops the same way.

A CSV row whose quote is never closed as a field swallows the lines after
it; when such a row (one that fails a strict re-parse) takes in lines that
parse as records of their own, it is skipped as ``invalid_csv`` ("unterminated
quote", at the line it starts on) and reading goes on at the first of them.

Streaming: JSONL and CSV are read line by line, Parquet record batch by record
batch (only the needed columns), so at most one batch of raw text is held.

Bad records never raise a traceback and are never dropped silently: with
``on_error="skip"`` each is counted in ``ReadStats.skipped[reason]`` (the
first 20 messages, ``"file:line: reason: detail"``, go to
``ReadStats.examples``); with ``on_error="fail"`` the first raises
``InputError(file, detail, line)``.  Reasons: ``invalid_json``,
``not_an_object``, ``not_a_regular_file``, ``missing_id``, ``bad_id_type``, ``missing_text``,
``bad_text_type``, ``bad_unicode`` (a JSON ``\\ud800``-style unpaired
surrogate), ``not_utf8`` (``bad_encoding`` for a non-UTF-8 ``encoding``),
``empty_text``, ``too_large``, ``duplicate_id``, ``invalid_csv``.

Problems that are not about one record always raise ``InputError``: a path
that does not exist, a directory without ``.txt`` files, an unknown
extension, a CSV/Parquet file without the id or text column, an unreadable or
corrupt (gzip, Parquet) file.  A date/source field given in the options that a
whole file never has leaves those values ``None`` and adds a line to
``ReadStats.warnings``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import os
import re
import stat
import sys
import zlib
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO, Any, Iterable, Iterator, Sequence

from copytrace.errors import InputError, OptionError, printable
from copytrace.stages import jsonl_fast
from copytrace.stages.web import WEB_EXTENSIONS

__all__ = [
    "Document",
    "FileSpec",
    "plan_files",
    "spec_for",
    "ReadOptions",
    "ReadStats",
    "iter_batches",
    "read_all",
    "read_text_file",
    "decode_text_file",
    "detect_encoding",
    "AUTO",
    "FORMATS",
    "MAX_EXAMPLES",
]

FORMATS = ("auto", "txt", "jsonl", "csv", "parquet", "warc", "html")
AUTO = "auto"  # the encoding option's default
ON_ERROR = ("skip", "fail")
MAX_EXAMPLES = 20  # messages kept in ReadStats.examples / warnings

STDIN = "-"
STDIN_NAME = "<stdin>"

_BOM = b"\xef\xbb\xbf"
_EXTENSIONS = {
    ".txt": "txt",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    **WEB_EXTENSIONS,  # .warc, .warc.gz, .wet, .html, .htm: copytrace.stages.web
}
_MISSING: Any = object()  # a field absent from a record (distinct from null)
_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


@dataclass(frozen=True, slots=True)
class Document:
    """One text of the collection."""

    doc_id: str
    text: str
    source: str | None = None
    date: str | None = None  # as given in the input, stringified
    origin: str = ""  # "path" or "path:line" it came from, for messages
    url: str | None = None  # web pages (copytrace.stages.web)
    title: str | None = None


@dataclass(frozen=True)
class ReadOptions:
    """How to find documents in the inputs (validated on construction)."""

    id_field: str = "id"
    text_field: str = "text"
    date_field: str | None = None
    source_field: str | None = None
    format: str = "auto"  # auto | txt | jsonl | csv | parquet
    on_error: str = "skip"  # skip: count + remember example; fail: raise InputError
    encoding: str = "auto"  # auto: UTF-8 when valid, else detected per file (charset-normalizer)
    batch_docs: int = 1000  # max docs per yielded batch
    batch_chars: int = 32_000_000  # max total text chars per batch (a bigger doc goes alone)
    max_doc_chars: int = 50_000_000  # bigger docs: skipped as "too_large"
    html_field: str | None = None  # JSONL/CSV/Parquet: a field of HTML, extracted (instead of text_field)
    extract: bool = True  # HTML: main text only (False: the whole page's text, chrome included)
    max_html_bytes: int = 20_000_000  # bigger HTML pages/records: skipped as "too_large"
    extract_workers: int = 1  # processes extracting WARC pages (stages.web.read_warc); not a result parameter

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise OptionError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.on_error not in ON_ERROR:
            raise OptionError(f"on_error must be 'skip' or 'fail', not {self.on_error!r}")
        for name in ("batch_docs", "batch_chars", "max_doc_chars", "max_html_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OptionError(f"{name} must be a positive integer, not {value!r}")
        for name in ("id_field", "text_field"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise OptionError(f"{name} must be a non-empty field name, not {value!r}")
        for name in ("date_field", "source_field", "html_field"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise OptionError(f"{name} must be a non-empty field name or None, not {value!r}")
        if self.id_field == self.text_field:
            raise OptionError(f"id_field and text_field are both {self.id_field!r}")
        _check_encoding(self.encoding)


def _check_encoding(encoding: Any) -> None:
    if encoding == AUTO:
        return
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise OptionError(f"unknown encoding {encoding!r} (use 'auto' or a Python codec name)") from None


@dataclass
class ReadStats:
    """What the read stage did: counts for summary.json."""

    files: int = 0
    documents: int = 0  # documents yielded
    chars: int = 0  # total chars of yielded texts
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    examples: list[str] = field(default_factory=list)  # first messages "file:line: reason: detail"
    warnings: list[str] = field(default_factory=list)  # e.g. a date column no file has

    def skip(self, reason: str, message: str) -> None:
        """Count one skipped record; keep the first MAX_EXAMPLES messages."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(message)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_EXAMPLES and message not in self.warnings:
            self.warnings.append(message)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "documents": self.documents,
            "chars": self.chars,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_total": self.skipped_total,
            "examples": list(self.examples),
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------
# Public functions


def iter_batches(
    inputs: Sequence[str | os.PathLike[str]],
    options: ReadOptions = ReadOptions(),
    stats: ReadStats | None = None,
    seen: set[str] | None = None,
) -> Iterator[list[Document]]:
    """Documents of all inputs, in order, as lists of at most
    ``options.batch_docs`` documents and ``options.batch_chars`` characters
    (a single longer document comes alone).

    All inputs are checked (existence, format, non-empty directories) here,
    before any is read; records are read lazily as batches are consumed.
    ``stats`` (if given) is updated as batches are yielded; ``seen`` (if
    given) holds the ids already read (by an earlier call), which count as
    duplicates here too, and receives the ids this call reads.
    """
    stats = stats if stats is not None else ReadStats()
    notes: list[str] = []
    plan = _plan(inputs, options, notes)
    for note in notes:
        stats.warn(note)
    return _batches(plan, options, stats, seen)


def read_all(
    inputs: Sequence[str | os.PathLike[str]],
    options: ReadOptions = ReadOptions(),
    stats: ReadStats | None = None,
) -> list[Document]:
    """All documents of the inputs in one list (small collections, tests)."""
    return [doc for batch in iter_batches(inputs, options, stats) for doc in batch]


def read_text_file(path: str | os.PathLike[str], encoding: str = AUTO) -> str:
    """One file decoded (``auto``: UTF-8 when valid, else detected; BOM
    dropped, newlines untouched).

    Raises ``InputError`` naming the file (and the byte offset and line of
    the first byte that does not decode) if it cannot be read.
    """
    return decode_text_file(path, encoding)[0]


def decode_text_file(path: str | os.PathLike[str], encoding: str = AUTO) -> tuple[str, str]:
    """``read_text_file``, and the encoding used (``"utf-8"`` or, with
    ``auto``, the one detected)."""
    name = os.fsdecode(path)
    _check_encoding(encoding)
    if os.path.isdir(name):
        raise InputError(name, "is a directory, not a text file")
    try:
        data = Path(name).read_bytes()
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except OSError as e:
        raise InputError(name, f"cannot read: {e.strerror or e}") from None
    try:
        return _decode_whole(data, encoding)
    except _DecodeFailure as e:
        raise InputError(name, e.detail, e.line) from None


# --------------------------------------------------------------------------
# Planning: resolve inputs to files before reading anything


@dataclass(frozen=True, slots=True)
class Source:
    fmt: str  # txt | jsonl | csv | parquet
    path: str | None  # None: standard input
    display: str  # name in messages
    gz: bool = False
    doc_id: str | None = None  # txt only


def _plan(
    inputs: Sequence[str | os.PathLike[str]], options: ReadOptions, notes: list[str] | None = None
) -> list[Source]:
    """The sources to read; ``notes`` gets a warning per directory that holds
    files not read (never dropped silently)."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    items = list(inputs)
    if not items:
        raise OptionError("no inputs given")
    plan: list[Source] = []
    for item in items:
        if not isinstance(item, (str, bytes, os.PathLike)):
            from copytrace.stages.arrow_input import arrow_source

            plan.append(arrow_source(item))  # an Arrow table / reader, a Hugging Face Dataset
            continue
        name = os.fsdecode(item)
        if name == STDIN:
            fmt = "jsonl" if options.format == "auto" else options.format
            if fmt not in ("jsonl", "csv"):
                raise InputError(STDIN_NAME, f"standard input is read as jsonl or csv, not {fmt}")
            plan.append(Source(fmt, None, STDIN_NAME))
        elif os.path.isdir(name):
            if options.format not in ("auto", "txt"):
                raise InputError(
                    name,
                    f"is a directory, which is read as .txt files, but format={options.format!r}"
                    " was asked for",
                )
            files, ignored = _walk_txt(name)
            if not files:
                raise InputError(name, "directory has no .txt files (nor .html/.htm pages)"
                                 + (f" ({ignored})" if ignored else ""))
            if ignored and notes is not None:
                notes.append(f"{name}: {ignored}")
            plan.extend(Source(_dir_format(full) if regular else "special", full, printable(full), False, rel)
                        for rel, full, regular in files)
        elif os.path.exists(name):
            plan.append(_file_source(name, options))
        else:
            raise InputError(name, "no such file or directory")
    return plan


KNOWN_FORMATS = (".txt, .html and .htm in a directory; .txt, .jsonl, .ndjson, .csv (each optionally .gz), .parquet, "
                 ".html, .htm, .warc, .warc.gz and .wet given as files")


def _walk_txt(root: str) -> tuple[list[tuple[str, str, bool]], str]:
    """(id, path, is a regular file) of every .txt entry below root, sorted by
    id; and a note on the other files there, which are not read ("" if none).
    A .txt entry that is not a regular file (a named pipe, a socket, a
    device, a broken link) is listed to be counted as a skip, never opened."""

    def onerror(err: OSError) -> None:
        raise InputError(err.filename or root, f"cannot list directory: {err.strerror or err}")

    found = []
    other: dict[str, int] = {}
    for dirpath, _dirnames, filenames in os.walk(root, onerror=onerror):
        for fn in filenames:
            full = os.path.join(dirpath, fn)
            lower = fn.lower()
            if lower.endswith((".txt", ".html", ".htm")):
                try:
                    regular = stat.S_ISREG(os.stat(full).st_mode)
                except OSError:
                    regular = False
                # a name that is not valid UTF-8 becomes a printable id (bad bytes as \xNN)
                found.append((printable(PurePath(os.path.relpath(full, root)).as_posix()), full, regular))
            else:
                key = extension_key(fn)
                other[key] = other.get(key, 0) + 1
    found.sort()
    return found, ignored_note(other)


def extension_key(name: str) -> str:
    """How a file not read from a directory is counted: ``.sgm``, ``.jsonl.gz``, ``without extension``."""
    lower = name.lower()
    base = lower[:-3] if lower.endswith(".gz") else lower
    ext = os.path.splitext(base)[1] + (".gz" if lower.endswith(".gz") else "")
    return ext if ext not in ("", ".gz") else "without extension"


def ignored_note(counts: dict[str, int]) -> str:
    """The warning about the files of a directory that are not read ("" if none)."""
    if not counts:
        return ""
    kinds = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{n} {ext}" for ext, n in kinds[:8]) + (", ..." if len(kinds) > 8 else "")
    total = sum(counts.values())
    return f"{total} {'file' if total == 1 else 'files'} ignored ({shown}); known formats: {KNOWN_FORMATS}"


def _dir_format(path: str) -> str:
    return "txt" if path.lower().endswith(".txt") else "html"


def _file_source(name: str, options: ReadOptions) -> Source:
    lower = name.lower()
    gz = lower.endswith(".gz")
    base = lower[:-3] if gz else lower
    if options.format != "auto":
        fmt = options.format
    else:
        ext = os.path.splitext(base)[1]
        if ext not in _EXTENSIONS:
            raise InputError(
                name,
                "cannot tell the format from the extension: use .txt, .jsonl, .ndjson, .csv"
                " (each optionally .gz) or .parquet, or set the format",
            )
        fmt = _EXTENSIONS[ext]
    if fmt == "parquet" and gz:
        raise InputError(name, "a gzipped Parquet file cannot be read: decompress it first")
    doc_id = printable(PurePath(name).as_posix()) if fmt in ("txt", "html") else None
    if fmt == "warc":
        gz = False  # fastwarc reads .warc.gz itself, member by member
    return Source(fmt, name, printable(name), gz, doc_id)


# --------------------------------------------------------------------------
# Decoding


class _DecodeFailure(Exception):
    def __init__(self, detail: str, line: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line


def _is_utf8(encoding: str) -> bool:
    return encoding == AUTO or codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _line_codec(encoding: str) -> str:
    """The codec for pieces of a file: utf-8-sig would drop a BOM per piece."""
    if encoding == AUTO:
        return "utf-8"
    name = codecs.lookup(encoding).name
    return "utf-8" if name == "utf-8-sig" else name


def _ascii_compatible(encoding: str) -> bool:
    """Whether b"\\n" etc. mean the same in this encoding (so we may split lines in bytes)."""
    probe = b'\n\r\t ,"{}[]:0aZ\\'
    try:
        return probe.decode(_line_codec(encoding)) == probe.decode("ascii")
    except UnicodeDecodeError:
        return False


def _encoding_label(encoding: str) -> str:
    return "UTF-8" if _is_utf8(encoding) else encoding


def _bad_bytes(data: bytes, start: int, end: int) -> str:
    return repr(data[start : min(end, start + 8)])


# Among nearly equal guesses (charset-normalizer's "chaos" within the margin:
# short Western texts often tie with cp1250/cp1257), the legacy encoding most
# such files use (the WHATWG default for "latin-1" and "windows-1252" alike).
_PREFERRED = ("cp1252",)
_PREFER_MARGIN = 0.05
_PREFER_MARGIN_SHORT = 0.12
_DETECT_SAMPLE = 1 << 18


def detect_encoding(data: bytes, line_split: bool = False) -> str | None:
    """The encoding charset-normalizer finds for bytes that are not UTF-8
    (None if nothing fits).  Ties between equally plausible encodings go to
    cp1252.  ``line_split``: only encodings in which lines split as bytes."""
    from charset_normalizer import from_bytes

    def guess(sample: bytes) -> str | None:
        matches = [m for m in from_bytes(sample) if not line_split or _ascii_compatible(m.encoding)]
        if not matches:
            return None
        least = min(m.chaos for m in matches)
        margin = _PREFER_MARGIN if len(sample) >= 2048 else _PREFER_MARGIN_SHORT  # short: guesses are shaky
        for m in matches:  # each match lists the encodings that give the very same text
            if m.chaos <= least + margin:
                for name in m.could_be_from_charset:
                    if codecs.lookup(name).name in _PREFERRED:
                        return name
        return matches[0].encoding

    enc = None
    if len(data) > _DETECT_SAMPLE:
        cut = data.rfind(b"\n", 0, _DETECT_SAMPLE)
        enc = guess(data[: cut + 1 if cut > 0 else _DETECT_SAMPLE])
        if enc is not None:
            try:
                data.decode(enc)
                return enc
            except UnicodeDecodeError:
                enc = None
    return guess(data)


def _decode_whole(data: bytes, encoding: str) -> tuple[str, str]:
    """A whole file: BOM dropped (UTF-8); the text and the encoding used.
    Raises _DecodeFailure with offset and line."""
    codec = _line_codec(encoding)
    skip = 3 if _is_utf8(encoding) and data.startswith(_BOM) else 0
    try:
        return (data[skip:] if skip else data).decode(codec), codec
    except UnicodeDecodeError as e:
        if encoding == AUTO and not skip:
            found = detect_encoding(data)
            if found is not None:
                try:
                    return data.decode(found), codecs.lookup(found).name
                except UnicodeDecodeError:
                    pass
        offset = skip + e.start
        line = data[:offset].decode(codec, "replace").count("\n") + 1
        raise _DecodeFailure(
            f"not valid {_encoding_label(encoding)} at byte offset {offset} (line {line}):"
            f" {_bad_bytes(data, offset, skip + e.end)}"
            + ("; no other encoding fits either" if encoding == AUTO else ""),
            line,
        ) from None


def _raise_csv_field_limit() -> None:
    """Let the csv module read fields of any size (the default is 128 KiB)."""
    limit = sys.maxsize
    while csv.field_size_limit() < limit:
        try:
            csv.field_size_limit(limit)
        except OverflowError:
            limit //= 2


_ID_LIKE = re.compile(r"\S{1,200}")


def _record_like(line: str, ncols: int, i_id: int) -> bool:
    """Whether one physical line parses alone as a whole record of the file:
    the header's number of fields and an id-like value (no blank)."""
    try:
        fields = next(csv.reader([line]), None)
    except csv.Error:
        return False
    return fields is not None and len(fields) == ncols and bool(_ID_LIKE.fullmatch(fields[i_id]))


def _may_be_record(line: str, ncols: int, i_id: int) -> bool:
    """A necessary condition for ``_record_like``, without parsing: enough
    commas, and (id first) no blank before the first one."""
    if line.count(",") < ncols - 1:
        return False
    if i_id == 0:
        head = line.split(",", 1)[0]
        return bool(head) and not any(c.isspace() for c in head.strip('"'))
    return True


def _swallowed_records(lines: list[tuple[int, str]], ncols: int, i_id: int) -> int:
    """For a row that spans several lines: 0 if its quoting is sound;
    otherwise (a quote that is never closed as a field: the strict parse
    fails) the position of the first line after the first that looks like a
    record of its own — reading resumes there.  0 too if no line does (the
    row is then kept as the lenient parser read it)."""
    if not any(_may_be_record(ln, ncols, i_id) for _, ln in lines[1:]):
        return 0  # cheap test first: the strict parse costs as much as the parse itself
    try:
        for _ in csv.reader([ln for _, ln in lines], strict=True):
            pass
        return 0
    except csv.Error:
        pass
    for k in range(1, len(lines)):
        if _record_like(lines[k][1], ncols, i_id):
            return k
    return 0


def _stringify(value: Any) -> str | None:
    if value is None or value is _MISSING or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _has_surrogate(s: str) -> bool:
    # Only reachable through JSON \\uD800-style escapes: strict decoding never yields them.
    return not s.isascii() and any("\ud800" <= c <= "\udfff" for c in s)


# --------------------------------------------------------------------------
# Reading


def _batches(
    plan: list[Source], options: ReadOptions, stats: ReadStats, seen: set[str] | None = None
) -> Iterator[list[Document]]:
    reader = Reader(options, stats)
    if seen is not None:
        reader.seen = seen
    batch: list[Document] = []
    chars = 0
    for doc in reader.documents(plan):
        n = len(doc.text)
        if batch and chars + n > options.batch_chars:
            stats.documents += len(batch)
            stats.chars += chars
            yield batch
            batch, chars = [], 0
        batch.append(doc)
        chars += n
        if len(batch) >= options.batch_docs or chars >= options.batch_chars:
            stats.documents += len(batch)
            stats.chars += chars
            yield batch  # as soon as full: no document is held back waiting for the next
            batch, chars = [], 0
    if batch:
        stats.documents += len(batch)
        stats.chars += chars
        yield batch


def skip_message(where: str, reason: str, detail: str) -> str:
    """A skipped record's message in the read statistics (``where``: ``file`` or ``file:line``)."""
    return f"{where}: {reason}: {detail}"


def encoding_note(where: str, encoding: str, lines: bool = False) -> str:
    """The warning for a file that was not UTF-8 and was decoded as ``encoding`` (``auto``)."""
    what = "its lines that are not UTF-8 decoded" if lines else "decoded"
    return f"{where}: not UTF-8; {what} as {encoding} (detected; set --encoding if that is wrong)"


def special_file_detail(path: str) -> str:
    """What a directory entry that is not a regular file is."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "a broken link or an unreadable entry, not a regular file"
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return f"{kind}, not a regular file"


def missing_field_detail(field: str, option: str, present: Sequence[str], suggestion: str | None,
                         what: str = "field", share: str = "") -> str:
    """The one-line message for a field the records lack: the fields they have
    and, when one fits, the option to use (JSONL, CSV and Parquet alike)."""
    shown = ", ".join(present[:30]) + (", ..." if len(present) > 30 else "")
    flag = "--" + option.replace("_", "-")
    msg = f"no {field!r} {what}{share}; the records have: {shown or '(nothing)'}"
    return msg + (f" — use {flag} {suggestion}" if suggestion else f" — set {flag}")


_TEXT_NAMES = ("text", "content", "body", "raw_content", "article", "full_text", "document", "story", "txt")
_ID_NAMES = ("id", "doc_id", "docid", "_id", "uid", "uuid", "guid", "key", "url", "name")


def suggest_field(option: str, present: Sequence[str], taken: str,
                  lengths: dict[str, float] | None = None) -> str | None:
    """A likely field for ``option`` (``id_field``/``text_field``) among
    ``present``: by name, and for text by the longest string values seen."""
    names = [n for n in present if n != taken]
    known: tuple[str, ...]
    if option in ("text_field", "html_field"):
        if lengths:
            best = max(names, key=lambda n: (lengths.get(n, 0.0), n), default=None)
            if best is not None and lengths.get(best, 0.0) > 0:
                return best
        known = _TEXT_NAMES
    else:
        known = _ID_NAMES
    lower = {n.lower(): n for n in names}
    for k in known:
        if k in lower:
            return lower[k]
    return None


def duplicate_id_detail(doc_id: str) -> str:
    """Why a later document with an id already read is skipped."""
    return f"duplicate id {doc_id!r} (the first one is kept)"


class FieldCheck:
    """Wrong field names stop the read instead of skipping every record: when
    most of the first ``SAMPLE`` records (or of a shorter file) lack the id or
    text field, InputError lists the fields the records have and the option
    to use."""

    SAMPLE = 100

    def __init__(self, options: ReadOptions, display: str) -> None:
        self.o = options
        self.display = display
        self.records = 0
        # the field that holds the text: html_field when given, else text_field
        self.text_opt = "html_field" if options.html_field else "text_field"
        self.text_name = options.html_field or options.text_field
        self.missing = {"id_field": 0, self.text_opt: 0}
        self.present: dict[str, None] = {}
        self.lengths: dict[str, float] = {}
        self.done = False

    def add(self, obj: dict) -> None:
        if self.done:
            return
        self.records += 1
        for opt, name in (("id_field", self.o.id_field), (self.text_opt, self.text_name)):
            if name not in obj:
                self.missing[opt] += 1
        for k, v in obj.items():
            if len(self.present) < 200:
                self.present.setdefault(str(k), None)
            if isinstance(v, str):
                self.lengths[str(k)] = self.lengths.get(str(k), 0.0) + len(v)
        if self.records >= self.SAMPLE:
            self.check()

    def check(self, final: bool = False) -> None:
        if self.done or not self.records:
            return
        self.done = True
        for opt, name, other in ((self.text_opt, self.text_name, self.o.id_field),
                                 ("id_field", self.o.id_field, self.text_name)):
            m = self.missing[opt]
            if 2 * m > self.records:
                present = list(self.present)
                share = "" if m == self.records else (
                    f" in {m} of {self.records} records" if final else f" in {m} of the first {self.records} records")
                raise InputError(self.display, missing_field_detail(
                    name, opt, present, suggest_field(opt, present, other, self.lengths), share=share))


def jsonl_field_warnings(display: str, state: dict[str, Any], options: ReadOptions) -> list[str]:
    """A JSONL file's warnings about its date and source fields, from what its records showed
    (``state``: ``records``, ``seen_date``, ``seen_source``; the parts of a split file summed)."""
    out = []
    if state.get("records"):
        if options.date_field and not state.get("seen_date"):
            out.append(f"{display}: no record has the date field {options.date_field!r}")
        if options.source_field and not state.get("seen_source"):
            out.append(f"{display}: no record has the source field {options.source_field!r}")
    return out


class Reader:
    def __init__(self, options: ReadOptions, stats: ReadStats) -> None:
        self.o = options
        self.stats = stats
        self.seen: set[str] = set()
        self.utf8 = _is_utf8(options.encoding)
        self.codec = _line_codec(options.encoding)
        self.decode_reason = "not_utf8" if self.utf8 else "bad_encoding"
        self.label = _encoding_label(options.encoding)
        self.auto = options.encoding == AUTO
        self.fallback: str | None = None  # auto: the file's detected encoding, once a line is not UTF-8
        self.src: Source | None = None
        # A JSON line may escape one character as 12 bytes (\\ud83d\\ude00); a longer line
        # cannot hold an acceptable text, and is skipped without being held whole.
        self.line_limit = 12 * options.max_doc_chars + (1 << 20)
        # A part of a line-based file read alone (the Spark engine's splits of a large JSONL
        # file): its lines and bytes are counted from ``line_base`` / ``offset_base`` of the
        # whole file; the first part alone checks the field names, and none warns about the
        # date/source fields (``jsonl_state`` says what it saw; the caller warns once per file).
        self.line_base = 0
        self.offset_base = 0
        self.first_part = True
        self.whole_file = True
        self.jsonl_state: dict[str, Any] = {}

    # -- records ------------------------------------------------------------

    def bad(self, reason: str, file: str, line: int | None, detail: str) -> None:
        """A bad record: raise (on_error=fail) or count it."""
        if self.o.on_error == "fail":
            raise InputError(file, detail, line)
        self.stats.skip(reason, skip_message(file if line is None else f"{file}:{line}", reason, detail))

    def make(
        self,
        file: str,
        line: int | None,
        raw_id: Any,
        text: Any,
        date: Any = None,
        source: Any = None,
        check_unicode: bool = False,
        url: str | None = None,
        title: str | None = None,
        extracted: bool = False,
    ) -> Document | None:
        o = self.o
        if o.html_field is not None and not extracted and isinstance(text, str):
            from copytrace.stages.web import html_value

            page = html_value(self, file, line, text)
            if page is None:
                return None
            text, title, url = page.text, page.title, page.url
            date = date if date not in (None, "") else page.date
            if source in (None, ""):
                from copytrace.stages.web import registered_domain

                source = registered_domain(url)
        if raw_id is _MISSING or raw_id is None:
            how = "no" if raw_id is _MISSING else "a null"
            self.bad("missing_id", file, line, f"{how} {o.id_field!r} field")
            return None
        if isinstance(raw_id, str):
            doc_id = raw_id
        elif isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
            doc_id = str(raw_id)
        else:
            kind = _JSON_TYPES.get(type(raw_id), f"a {type(raw_id).__name__}")
            if isinstance(raw_id, dict):
                kind = "an object"
            self.bad("bad_id_type", file, line, f"{o.id_field!r} is {kind}, not a string or number")
            return None
        if not doc_id.strip():
            self.bad("missing_id", file, line, f"{o.id_field!r} is empty")
            return None
        if text is _MISSING or text is None:
            how = "no" if text is _MISSING else "a null"
            self.bad("missing_text", file, line, f"{how} {o.text_field!r} field")
            return None
        if not isinstance(text, str):
            kind = _JSON_TYPES.get(type(text), f"a {type(text).__name__}")
            if isinstance(text, dict):
                kind = "an object"
            self.bad("bad_text_type", file, line, f"{o.text_field!r} is {kind}, not a string")
            return None
        if not text or text.isspace():
            what = "empty" if not text else "only whitespace"
            self.bad("empty_text", file, line, f"text is {what}")
            return None
        if len(text) > o.max_doc_chars:
            self.bad(
                "too_large",
                file,
                line,
                f"text has {len(text):,} characters, more than max_doc_chars={o.max_doc_chars:,}",
            )
            return None
        if check_unicode and any(
            isinstance(v, str) and _has_surrogate(v) for v in (text, doc_id, date, source)
        ):
            self.bad("bad_unicode", file, line, "an unpaired surrogate escape (\\ud800-\\udfff)")
            return None
        if doc_id in self.seen:
            self.bad("duplicate_id", file, line, duplicate_id_detail(doc_id))
            return None
        self.seen.add(doc_id)
        origin = file if line is None else f"{file}:{line}"
        return Document(doc_id, text, _stringify(source), _stringify(date), origin, url, title)

    # -- files --------------------------------------------------------------

    def documents(self, plan: Iterable[Source]) -> Iterator[Document]:
        for src in plan:
            self.stats.files += 1
            self.src, self.fallback = src, None
            if src.fmt == "special":
                self.bad("not_a_regular_file", src.display, None,
                         special_file_detail(src.path or src.display) + "; not opened")
            elif src.fmt == "txt":
                doc = self.read_txt(src)
                if doc is not None:
                    yield doc
            elif src.fmt == "jsonl":
                yield from self.read_jsonl(src)
            elif src.fmt == "csv":
                yield from self.read_csv(src)
            elif src.fmt == "arrow":
                from copytrace.stages.arrow_input import read_arrow

                yield from read_arrow(self, src)
            elif src.fmt in ("warc", "html"):
                from copytrace.stages import web

                if src.fmt == "warc":
                    yield from web.read_warc(self, src)
                else:
                    doc = web.read_html_file(self, src)
                    if doc is not None:
                        yield doc
            else:
                yield from self.read_parquet(src)

    @contextmanager
    def open(self, src: Source) -> Iterator[IO[bytes]]:
        if src.path is None:
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:
                raise InputError(STDIN_NAME, "standard input is not a byte stream")
            yield stream
            return
        try:
            f = open(src.path, "rb")
        except OSError as e:
            raise InputError(src.display, f"cannot open: {e.strerror or e}") from None
        try:
            if src.gz:
                with gzip.GzipFile(fileobj=f, mode="rb") as g:
                    yield g  # type: ignore[misc]
            else:
                yield f
        finally:
            f.close()

    def read_txt(self, src: Source) -> Document | None:
        assert src.doc_id is not None
        limit = 4 * self.o.max_doc_chars + 4  # no encoding we know uses more bytes per char
        with self.open(src) as f:
            try:
                data = f.read(limit + 1)
            except (OSError, EOFError, zlib.error) as e:
                raise InputError(src.display, f"cannot read: {e}") from None
        if len(data) > limit:
            self.bad(
                "too_large",
                src.display,
                None,
                f"file is over {limit:,} bytes, so over max_doc_chars={self.o.max_doc_chars:,}",
            )
            return None
        try:
            text, used = _decode_whole(data, self.o.encoding)
        except _DecodeFailure as e:
            self.bad(self.decode_reason, src.display, e.line, e.detail + "; file skipped")
            return None
        del data
        if self.auto and used != "utf-8":
            self.stats.warn(encoding_note(src.display, used))
        return self.make(src.display, None, src.doc_id, text)

    def raw_lines(self, f: IO[bytes], src: Source, limit: int) -> Iterator[tuple[int, int, bytes]]:
        """(line number, byte offset, bytes) of each physical line; lines over
        ``limit`` bytes (limit > 0) are skipped as too_large without being held."""
        if not _ascii_compatible(self.o.encoding):
            raise InputError(
                src.display,
                f"encoding {self.o.encoding!r} cannot be read line by line; convert to UTF-8",
            )
        lineno = self.line_base
        offset = self.offset_base
        readline = f.readline
        try:
            while raw := readline(limit):
                lineno += 1
                start = offset
                offset += len(raw)
                if limit > 0 and len(raw) >= limit and not raw.endswith(b"\n"):
                    while more := readline(limit):
                        offset += len(more)
                        if more.endswith(b"\n"):
                            break
                    self.line_too_long(src, lineno, limit)
                    continue
                if lineno == 1 and self.utf8 and raw.startswith(_BOM):
                    raw = raw[3:]
                    start += 3
                yield lineno, start, raw
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(src.display, f"cannot read past line {lineno}: {e}") from None

    def line_too_long(self, src: Source, lineno: int, limit: int) -> None:
        """A line of ``limit`` bytes or more (its newline aside): skipped as too_large."""
        self.bad(
            "too_large",
            src.display,
            lineno,
            f"line is over {limit:,} bytes, too long for max_doc_chars={self.o.max_doc_chars:,}",
        )

    def decode_line(self, raw: bytes, start: int) -> tuple[str | None, str]:
        try:
            return raw.decode(self.codec), ""
        except UnicodeDecodeError as e:
            if self.auto:
                enc = self.line_fallback(raw)
                if enc is not None:
                    try:
                        return raw.decode(enc), ""
                    except UnicodeDecodeError:
                        pass
            return None, (
                f"not valid {self.label} at byte offset {start + e.start}"
                f" (column {e.start + 1} of the line): {_bad_bytes(raw, e.start, e.end)}"
            )

    def line_fallback(self, raw: bytes) -> str | None:
        """auto: the encoding of this line-based file's non-UTF-8 lines,
        detected once per file from its first MiB of such lines (from this
        line on, for standard input); warned about once."""
        if self.fallback is None:
            sample: list[bytes] = []
            src = self.src
            if src is not None and src.path is not None:
                try:
                    with self.open(src) as f:
                        budget = 1 << 20
                        for line in iter(lambda: f.readline(1 << 16), b""):
                            budget -= len(line)
                            if budget < 0:
                                break
                            try:
                                line.decode("utf-8")
                            except UnicodeDecodeError:
                                sample.append(line)
                except (OSError, EOFError, zlib.error, InputError):
                    pass
            found = detect_encoding(b"".join(sample or [raw]), line_split=True)
            self.fallback = codecs.lookup(found).name if found else ""
            if found and src is not None:
                self.stats.warn(encoding_note(src.display, self.fallback, lines=True))
        return self.fallback or None

    def read_jsonl(self, src: Source) -> Iterator[Document]:
        o = self.o
        id_f, text_f, date_f, source_f = o.id_field, o.html_field or o.text_field, o.date_field, o.source_field
        state = {"records": 0, "seen_date": False, "seen_source": False}
        fields = FieldCheck(o, src.display)
        fields.done = not self.first_part  # the first records of the file: the first part's
        self.jsonl_state = state

        def record(lineno: int, start: int, raw: bytes) -> Document | None:
            """One physical line → its document, or None (blank, or counted as skipped)."""
            line, detail = self.decode_line(raw, start)
            if line is None:
                self.bad(self.decode_reason, src.display, lineno, detail + "; line skipped")
                return None
            if not line or line.isspace():
                return None
            try:
                obj = json.loads(line)
            except RecursionError:
                self.bad("invalid_json", src.display, lineno, "invalid JSON: nested too deeply")
                return None
            except ValueError as e:
                msg = str(e)
                if isinstance(e, json.JSONDecodeError):
                    msg = f"{e.msg} at column {e.colno}"
                self.bad("invalid_json", src.display, lineno, f"invalid JSON: {msg}")
                return None
            if not isinstance(obj, dict):
                kind = _JSON_TYPES.get(type(obj), "not an object")
                self.bad("not_an_object", src.display, lineno, f"the line is {kind}, not a JSON object")
                return None
            state["records"] += 1
            fields.add(obj)
            date = obj.get(date_f) if date_f else None
            source = obj.get(source_f) if source_f else None
            state["seen_date"] = state["seen_date"] or date_f in obj
            state["seen_source"] = state["seen_source"] or source_f in obj
            return self.make(
                src.display,
                lineno,
                obj.get(id_f, _MISSING),
                obj.get(text_f, _MISSING),
                date,
                source,
                check_unicode="\\u" in line,
            )

        with self.open(src) as f:
            if jsonl_fast.eligible(self, src):
                # whole blocks through Arrow's JSON parser; any block it cannot take
                # exactly as the line-by-line path would goes line by line (`record`)
                yield from jsonl_fast.documents(self, src, f, fields, state, record)
            else:
                for lineno, start, raw in self.raw_lines(f, src, self.line_limit):
                    doc = record(lineno, start, raw)
                    if doc is not None:
                        yield doc
        fields.check(final=True)
        if self.whole_file:
            for w in jsonl_field_warnings(src.display, state, o):
                self.stats.warn(w)

    def columns(self, src: Source, names: list[str]) -> dict[str, str | None]:
        """Field option → column name present in the file (None for absent optional ones)."""
        o = self.o
        shown = ", ".join(repr(n) for n in names[:50]) + (", ..." if len(names) > 50 else "")
        out: dict[str, str | None] = {}
        text_opt = ("html_field", o.html_field) if o.html_field else ("text_field", o.text_field)
        for opt, col in (("id_field", o.id_field), text_opt):
            if col not in names:
                other = o.text_field if opt == "id_field" else o.id_field
                hint = suggest_field(opt, names, other)
                flag = "--" + opt.replace("_", "-")
                raise InputError(
                    src.display,
                    f"no column {col!r} ({opt}); the columns are: {shown or '(none)'}"
                    + (f" — use {flag} {hint}" if hint else ""),
                    1 if src.fmt == "csv" else None,
                )
            out["text_field" if opt == "html_field" else opt] = col
        for opt, opt_col in (("date_field", o.date_field), ("source_field", o.source_field)):
            if opt_col is not None and opt_col not in names:
                self.stats.warn(f"{src.display}: no column {opt_col!r} ({opt}); those values are empty")
                opt_col = None
            out[opt] = opt_col
        return out

    def read_csv(self, src: Source) -> Iterator[Document]:
        _raise_csv_field_limit()
        bad_lines: dict[int, str] = {}
        pending: list[tuple[int, str]] = []  # the physical lines of the row being parsed
        pushback: deque[tuple[int, str]] = deque()  # lines to parse again (after a swallowing quote)

        def feed(lines: Iterator[tuple[int, int, bytes]]) -> Iterator[str]:
            while True:
                if pushback:
                    item = pushback.popleft()
                else:
                    nxt = next(lines, None)
                    if nxt is None:
                        return
                    lineno, start, raw = nxt
                    line, detail = self.decode_line(raw, start)
                    if line is None:
                        bad_lines[lineno] = detail + "; row skipped"
                        line = raw.decode(self.codec, "replace")  # parsed to keep in step, then skipped
                    item = (lineno, line)
                pending.append(item)
                yield item[1]

        with self.open(src) as f:
            raw_lines = self.raw_lines(f, src, -1)
            reader = csv.reader(feed(raw_lines))
            try:
                header = next(reader)
            except StopIteration:
                raise InputError(src.display, "empty CSV file: no header row") from None
            except csv.Error as e:
                raise InputError(src.display, f"cannot parse the header row: {e}", 1) from None
            if bad_lines:
                raise InputError(src.display, "header row: " + bad_lines[min(bad_lines)], 1)
            pending.clear()
            cols = self.columns(src, header)
            index = {}
            for opt, col in cols.items():
                index[opt] = header.index(col) if col is not None else None
            i_id, i_text, i_date, i_source = (
                index["id_field"],
                index["text_field"],
                index["date_field"],
                index["source_field"],
            )
            assert i_id is not None and i_text is not None
            last = 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    if pushback:  # lines a swallowing quote took in up to the end: read them again
                        reader = csv.reader(feed(raw_lines))
                        continue
                    break
                except csv.Error as e:
                    first = pending[0][0] if pending else last + 1
                    for n, _ in pending:
                        bad_lines.pop(n, None)
                    last = pending[-1][0] if pending else last
                    pending.clear()
                    self.bad("invalid_csv", src.display, first, f"invalid CSV: {e}")
                    continue
                lines = pending[:]
                pending.clear()
                if not lines:
                    break
                first, last = lines[0][0], lines[-1][0]
                if len(lines) > 1:
                    k = _swallowed_records(lines, len(header), i_id)
                    if k:
                        for n, _ in lines[:k]:
                            bad_lines.pop(n, None)
                        pushback.extend(lines[k:])
                        last = lines[k - 1][0]
                        looks = sum(1 for _, ln in lines[k:] if _record_like(ln, len(header), i_id))
                        self.bad(
                            "invalid_csv", src.display, first,
                            f"unterminated quote: the row runs over {len(lines)} lines, taking in {looks} "
                            f"that look like records of their own (the first: line {lines[k][0]}); "
                            f"row skipped, reading goes on at line {lines[k][0]}",
                        )
                        continue
                hits = [n for n, _ in lines if n in bad_lines]
                if hits:
                    detail = bad_lines[hits[0]]
                    for n in hits:
                        del bad_lines[n]
                    self.bad(self.decode_reason, src.display, first, detail)
                    continue
                if not row:
                    continue  # a blank line
                n = len(row)
                doc = self.make(
                    src.display,
                    first,
                    row[i_id] if i_id < n else _MISSING,
                    row[i_text] if i_text < n else _MISSING,
                    row[i_date] if i_date is not None and i_date < n else None,
                    row[i_source] if i_source is not None and i_source < n else None,
                )
                if doc is not None:
                    yield doc

    def read_parquet(self, src: Source) -> Iterator[Document]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert src.path is not None
        try:
            pf = pq.ParquetFile(src.path)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise InputError(src.display, f"not a readable Parquet file: {e}") from None
        with pf:
            yield from self.read_record_batches(
                src, list(pf.schema_arrow.names),
                lambda wanted: pf.iter_batches(batch_size=self.o.batch_docs, columns=wanted))

    def read_record_batches(self, src: Source, names: list[str], batches: Any) -> Iterator[Document]:
        """Documents of Arrow record batches (Parquet, Arrow tables): ``names``
        the columns there are, ``batches(wanted)`` the batches of those wanted."""
        import pyarrow as pa

        cols = self.columns(src, names)
        wanted = list(dict.fromkeys(c for c in cols.values() if c is not None))
        row = 0
        try:
            for rb in batches(wanted):
                values = {name: self._column_values(rb.column(name)) for name in wanted}
                ids = values[cols["id_field"]]  # type: ignore[index]
                texts = values[cols["text_field"]]  # type: ignore[index]
                dates = values[cols["date_field"]] if cols["date_field"] else None
                sources = values[cols["source_field"]] if cols["source_field"] else None
                for i in range(rb.num_rows):
                    row += 1
                    text = texts[i]
                    if isinstance(text, _Undecodable):
                        self.bad(self.decode_reason, src.display, row, text.detail)
                        continue
                    doc_id = ids[i]
                    if isinstance(doc_id, _Undecodable):
                        self.bad(self.decode_reason, src.display, row, doc_id.detail)
                        continue
                    date = dates[i] if dates is not None else None
                    source = sources[i] if sources is not None else None
                    doc = self.make(
                        src.display,
                        row,
                        doc_id,
                        text,
                        None if isinstance(date, _Undecodable) else date,
                        None if isinstance(source, _Undecodable) else source,
                    )
                    if doc is not None:
                        yield doc
        except (pa.ArrowException, OSError) as e:
            raise InputError(src.display, f"cannot read past row {row}: {e}") from None

    @staticmethod
    def _column_values(column: Any) -> list[Any]:
        try:
            return column.to_pylist()
        except UnicodeDecodeError:
            # Arrow does not validate UTF-8 in string columns: find the bad values one by one.
            out: list[Any] = []
            for i in range(len(column)):
                try:
                    out.append(column[i].as_py())
                except UnicodeDecodeError as e:
                    out.append(_Undecodable(f"string value is not valid UTF-8: {e.reason}"))
            return out


# --------------------------------------------------------------------------
# Planning for readers that get a file's bytes from elsewhere (the Spark engine;
# its bytes -> records protocol is ``stages.read_spark``)


@dataclass(frozen=True)
class FileSpec:
    """One planned input file, for readers that get its bytes from elsewhere
    (the Spark engine reads them through Hadoop's file systems)."""

    fmt: str  # txt | jsonl | csv | parquet
    display: str  # name in messages and ids (the path as given, or under a directory)
    gz: bool = False
    doc_id: str | None = None  # txt only


def plan_files(
    inputs: Sequence[str | os.PathLike[str]], options: ReadOptions, notes: list[str] | None = None
) -> list[tuple[str, FileSpec]]:
    """``(path, spec)`` of every file the inputs name, in reading order —
    exactly the files (and ids of .txt files) ``iter_batches`` reads.  A spec
    of format ``"special"`` is an entry that is not a regular file: it must
    not be opened, only counted (``special_file_detail``).  ``notes`` gets
    the warnings ``iter_batches`` would give about files not read."""
    out = []
    for src in _plan(inputs, options, notes):
        if src.path is None:
            raise OptionError("standard input cannot be read by this engine: give files")
        if src.fmt == "arrow":
            raise OptionError("Arrow tables and datasets in memory are read by the local engine: give files")
        out.append((src.path, FileSpec(src.fmt, src.display, src.gz, src.doc_id)))
    return out


def spec_for(name: str, options: ReadOptions, doc_id: str | None = None) -> FileSpec:
    """The spec of a file known only by name (a URI): format from the extension
    (or ``options.format``); ``doc_id`` for .txt files found under a directory."""
    src = _file_source(name, options)
    return FileSpec(src.fmt, name, src.gz, doc_id if doc_id is not None else src.doc_id)


@dataclass(frozen=True, slots=True)
class _Undecodable:
    detail: str
