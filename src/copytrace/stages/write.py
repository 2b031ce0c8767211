"""Stage 8 — write: tables and records → files, atomically.

Every writer writes to a temporary file in the target directory, flushes it
to disk, then renames it over the target (``os.replace``), so a reader never
sees a half-written file.  That a whole output *directory* is replaced as one
set (never a mix of two runs) is ``copytrace.stages.output_set``'s job.  Parquet files are written with fixed settings (zstd, no statistics
that vary) so that equal tables give byte-identical files.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterable, Iterator

from copytrace._lazy import lazy_module

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:  # imported on first use: `compare` writes no Parquet (start-up time)
    pa = lazy_module("pyarrow")
    pq = lazy_module("pyarrow.parquet")

__all__ = ["atomic_path", "atomic_open", "write_parquet", "write_jsonl", "write_json"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file for writing; it replaces ``path`` on success."""
    with atomic_path(path) as tmp:
        kwargs: dict[str, Any] = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        with open(tmp, mode, **kwargs) as fh:
            yield fh


def write_parquet(table: pa.Table, path: str | os.PathLike, schema: pa.Schema | None = None) -> None:
    """Write a table as one Parquet file, atomically and reproducibly."""
    if schema is not None:
        table = table.select(schema.names).cast(schema)
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            row_group_size=1_000_000,
            use_dictionary=True,
            write_statistics=True,
        )


def write_jsonl(records: Iterable[dict[str, Any]], path: str | os.PathLike) -> int:
    """Write records as JSON lines (UTF-8, not ASCII-escaped); returns the count."""
    n = 0
    with atomic_open(path) as fh:
        for rec in records:
            fh.write(json_line(rec))
            fh.write("\n")
            n += 1
    return n


def json_line(rec: dict[str, Any]) -> str:
    """One record as a JSON line of write_jsonl (no newline; UTF-8 text, not ASCII-escaped)."""
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def write_json(obj: Any, path: str | os.PathLike) -> None:
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2, sort_keys=False)
        fh.write("\n")


def write_jsonl_bytes(chunks: Iterable[bytes], path: str | os.PathLike) -> None:
    """Write chunks of ready JSON lines (``jsonl_lines``), atomically."""
    with atomic_open(path, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)


def jsonl_lines(fields: list[tuple[str, Any, bool]]) -> bytes:
    """Rows of Arrow arrays as JSON lines, without a Python object per row.

    ``fields``: (key, array, keep_null) in key order, all of one length;
    string arrays are written as JSON strings, integer arrays as numbers; a
    null value is written ``null`` when ``keep_null``, else its key is left
    out (the first field must then have no nulls).  Byte-identical
    to ``json.dumps(record, ensure_ascii=False, separators=(",", ":"))`` per
    row plus a newline (``write_jsonl``): ``"``, ``\\`` and the control
    characters escaped as Python's json escapes them, everything else as is."""
    import numpy as np
    import pyarrow.compute as pc

    n = len(fields[0][1]) if fields else 0
    datas, starts, ends, valid, quoted, keys = [], [], [], [], [], []
    base = 0
    for i, (name, arr, keep_null) in enumerate(fields):
        if hasattr(arr, "combine_chunks"):
            arr = arr.combine_chunks()
        is_str = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        if not is_str and not pa.types.is_integer(arr.type):
            raise TypeError(f"jsonl_lines: field {name!r} is {arr.type}, not a string or an integer")
        arr = pc.cast(arr, pa.large_string())
        if i == 0 and arr.null_count and not keep_null:
            raise ValueError(f"jsonl_lines: the first field {name!r} has nulls")
        bufs = arr.buffers()
        offs = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + n + 1] if n else np.zeros(1, np.int64)
        data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
        datas.append(data)
        starts.append(offs[:-1] + base)
        ends.append(offs[1:] + base)
        base += data.shape[0]
        ok = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=np.int8)
        valid.append(np.where(ok == 1, 1, 2 if keep_null else 0).astype(np.int8))
        quoted.append(is_str)
        keys.append(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":")
    if n == 0:
        return b""
    key_bytes = [k.encode("utf-8") for k in keys]
    key_off = np.zeros(len(key_bytes) + 1, dtype=np.int64)
    np.cumsum([len(k) for k in key_bytes], out=key_off[1:])
    out = _jsonl_kernel(
        np.concatenate(datas), np.stack(starts), np.stack(ends), np.stack(valid), np.array(quoted, dtype=np.bool_),
        np.frombuffer(b"".join(key_bytes), dtype=np.uint8), key_off,
    )
    return out.tobytes()


def _jsonl_kernel(*args: Any) -> Any:
    from copytrace.stages.jsonl_kernel import jsonl_kernel  # numba on first use (start-up time)

    return jsonl_kernel(*args)
