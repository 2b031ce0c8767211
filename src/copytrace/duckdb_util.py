"""Every DuckDB connection copytrace opens goes through :func:`connect`.

DuckDB installs and loads "known" extensions on demand by default: opening a
SQLite file, for instance, makes it download ``sqlite_scanner`` from the
network.  copytrace needs no extension beyond those built into the wheel
(Parquet), so every connection is opened with autoinstall and autoload off and
community extensions disallowed (:data:`SAFE_CONFIG`); a file that would need
an extension then fails to open instead of reaching out.

:func:`file_kind` tells what an existing file is from its first bytes, so that
callers can refuse a file that is not a DuckDB database with a clear message
before DuckDB touches it (DuckDB would otherwise initialise an empty file as a
new database).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["SAFE_CONFIG", "connect", "file_kind"]

SAFE_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}

_DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of a DuckDB database file (after an 8-byte checksum)
_SQLITE_MAGIC = b"SQLite format 3\x00"


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False) -> Any:
    """``duckdb.connect`` with :data:`SAFE_CONFIG` (``path`` None: in memory)."""
    import duckdb

    database = ":memory:" if path is None else str(path)
    return duckdb.connect(database, read_only=read_only, config=dict(SAFE_CONFIG))


def file_kind(path: str | os.PathLike) -> str:
    """``"duckdb"``, ``"sqlite"``, ``"empty"`` or ``"other"``, from the file's first bytes
    (``"missing"`` when there is no file, ``"directory"`` for a directory)."""
    p = Path(path)
    if p.is_dir():
        return "directory"
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        return "missing"
    if not head:
        return "empty"
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if len(head) >= 12 and head[8:12] == _DUCKDB_MAGIC:
        return "duckdb"
    return "other"
