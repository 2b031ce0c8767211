"""Compacting an index file: the same index in a fresh file without free blocks.

Why the file grows: at each checkpoint (when a connection that wrote closes,
or the WAL fills) DuckDB writes the changed tables' blocks and indexes anew
and only then frees the old ones; the freed blocks are reused by later
checkpoints but the file never shrinks: about a third more after the first
small writes, then steady (figures in docs/notes-2026-12.md).  An explicit
``CHECKPOINT`` after each write does not help (closing already checkpoints),
and DuckDB's ``VACUUM`` does not return space to the file system.
:func:`compact` copies the database into a new file (``COPY FROM DATABASE``:
tables, keys and indexes) and swaps it in.  The next write grows it again by
the same third, so compact an index that is mostly read (an archive), not one
that is written to all day.

Safety: the index is opened read-write for the whole operation, so no other
process can write meanwhile (a running ``copytrace serve`` makes it fail with
the usual "in use" message); the copy is written to ``<index>.compact.tmp``
next to it and replaces the index with one atomic rename only when complete;
an interrupted compaction leaves the index as it was (and the temporary file,
removed by the next compaction).
"""

from __future__ import annotations

import os
from pathlib import Path

from copytrace.duckdb_util import connect
from copytrace.index.store import Index, IndexStoreError, open_error_message

__all__ = ["compact", "file_bytes"]


def file_bytes(path: str | os.PathLike) -> int:
    """Bytes on disk of an index: the file and its write-ahead log."""
    p = Path(path)
    wal = Path(str(p) + ".wal")
    return (p.stat().st_size if p.exists() else 0) + (wal.stat().st_size if wal.exists() else 0)


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def compact(path: str | os.PathLike) -> tuple[int, int]:
    """Rewrite the index at ``path`` into a fresh file and swap it in (module doc).
    Returns the bytes on disk before and after."""
    import duckdb

    path = Path(path)
    Index(path, read_only=True).close()  # the usual checks and messages: exists, is an index, not locked
    before = file_bytes(path)
    tmp = Path(str(path) + ".compact.tmp")
    for stale in (tmp, Path(str(tmp) + ".wal")):
        if stale.exists():
            stale.unlink()
    try:
        con = connect(path)  # read-write: no other process can write until it is closed
    except duckdb.Error as e:
        raise IndexStoreError(open_error_message(path, e)) from None
    try:
        con.execute("CHECKPOINT")  # everything in the file, nothing left in the WAL
        name = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH {_sql_str(str(tmp))} AS ct_compact")
        try:
            con.execute(f'COPY FROM DATABASE "{name}" TO ct_compact')
        finally:
            con.execute("DETACH ct_compact")  # checkpoints and closes the new file
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # while the old file is still open and locked: no writer in between
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        con.close()
        for stale in (tmp, Path(str(tmp) + ".wal")):
            if stale.exists():
                stale.unlink()
        raise
    con.close()
    return before, file_bytes(path)
