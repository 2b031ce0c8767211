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
