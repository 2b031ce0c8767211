"""Stage 4b — out-of-core LSH buckets: band keys on disk → candidate pairs via DuckDB.

The in-memory ``candidates.lsh_pairs`` needs every signature and every band
key at once (``bands × 8`` bytes per document for the keys alone, plus the
per-band sort).  This module gives **exactly** the same pairs with memory
bounded by a limit, for corpora larger than RAM.

Data contract
-------------
* **Spool** (``BandKeySpool``): a directory of Parquet files
  ``batch-NNNNNN.parquet``, one per batch of documents as they were read,
  each with the columns ``band`` (int16; int32 when ``bands > 32767``),
  ``key`` (uint64, ``candidates.band_keys``) and ``row`` (int64, the
  document's *store row*, i.e. its position in reading order).  One row per
  (band, document).  A file is written to a hidden temporary name and renamed,
  so a file that exists is complete; ``spool.json`` records the
  ``LshParams``.  Signatures are never needed for the whole corpus.
* **Pairs** (``external_lsh_pairs``): documents are renumbered with
  ``rank[row]`` (the final index, doc-id order); only documents with
  ``active[rank[row]]`` take part.  Buckets are (band, key) groups of at least
  two active documents.  A bucket of at most ``max_bucket`` members yields all
  its pairs; a larger one links its first member (the smallest final index)
  to every other (a star) — the rule of ``candidates.pairs_from_keys``.  The
  result is an int64 array (k, 2), ``a < b``, unique, sorted by (a, b):
  byte-identical to ``lsh_pairs(signatures[order], params, active,
  max_bucket)``.
* **Database**: an embedded DuckDB file (``db_path``) with ``memory_limit``,
  ``threads``, ``temp_directory`` (where DuckDB spills) and
  ``preserve_insertion_order = false``.  DuckDB sorts the spool by (band,
  key) — an external sort, which works within a few tens of MB and spills
  the rest — and the sorted rows stream out in Arrow record batches (through
  a relation, which keeps the ORDER BY order; the order is checked on the way
  out).  Per batch, numpy drops single-document buckets, maps rows to final
  indices, drops inactive documents and sorts each bucket's members; a numba
  kernel turns the complete buckets into pair codes ``(a << 32) | b``
  (uint64), deduplicated per batch and merged as they accumulate.  Held whole
  in memory: ``rank`` and ``active`` (9 bytes per document), one bucket (a
  bucket may span batches) and the pairs.  Indices must be below 2**32 (as in
  ``candidates.merge_pairs``).  Memory use: about ``memory_limit`` for DuckDB
  plus ~200 MB for the process (Python, numba, Arrow, batches).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from copytrace.kernels import njit, prange
from copytrace.duckdb_util import connect
from copytrace.errors import OptionError
from copytrace.stages.candidates import LshParams, band_keys

__all__ = [
    "BandKeySpool",
    "external_lsh_pairs",
    "parse_memory_limit",
    "default_memory_limit",
    "estimate_band_key_bytes",
    "remove_spool",
]

_FILE_PREFIX = "batch-"
_META = "spool.json"
# rows per Arrow record batch streamed out of DuckDB (each holds 18 bytes a row)
STREAM_BATCH_ROWS = 1 << 18
# merge the per-batch unique pair codes once this many are pending
MERGE_PENDING_CODES = 1 << 23


# -- the spool ----------------------------------------------------------------------------------
class BandKeySpool:
    """Band keys of documents, written batch by batch to Parquet files.

    ``BandKeySpool(directory, params)`` starts an empty spool (removing the
    batch files of an earlier one); ``BandKeySpool(directory, params,
    fresh=False)`` opens the files already there (resume) and appends after
    them.  ``append(rows, signatures)`` writes one batch; ``close()`` ends
    writing and marks the spool complete (the files stay for
    ``external_lsh_pairs``).
    """

    def __init__(self, directory: str | os.PathLike, params: LshParams, *, fresh: bool = True) -> None:
        self.directory = Path(directory)
        self.params = params
        self.directory.mkdir(parents=True, exist_ok=True)
        meta_path = self.directory / _META
        for tmp in self.directory.glob(f".{_FILE_PREFIX}*"):
            tmp.unlink()  # a batch an interrupted run did not finish
        if fresh:
            for f in self.directory.glob(f"{_FILE_PREFIX}*.parquet"):
                f.unlink()
        elif meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if (meta.get("bands"), meta.get("rows")) != (params.bands, params.rows):
                raise ValueError(
                    f"{self.directory}: spool was written with bands={meta.get('bands')} "
                    f"rows={meta.get('rows')}, not bands={params.bands} rows={params.rows}"
                )
        self._write_meta(complete=False)
        self._next = max((int(f.stem[len(_FILE_PREFIX):]) for f in self.files), default=-1) + 1
        self._band_dtype = np.int16 if params.bands <= np.iinfo(np.int16).max else np.int32
        self.closed = False

    @property
    def files(self) -> list[Path]:
        """The finished batch files, in writing order."""
        return sorted(self.directory.glob(f"{_FILE_PREFIX}*.parquet"))

    def append(self, rows: np.ndarray, signatures: np.ndarray) -> Path | None:
        """Write the band keys of one batch: ``rows`` (store rows, int) parallel
        to ``signatures`` (uint32, (len(rows), num_perm)).  Returns the file
        written (None for an empty batch)."""
        if self.closed:
            raise ValueError("append to a closed BandKeySpool")
        rows = np.asarray(rows, dtype=np.int64)
        if signatures.ndim != 2 or signatures.shape[0] != rows.shape[0]:
            raise ValueError("rows and signatures must have the same number of documents")
        n = rows.shape[0]
        if n == 0:
            return None
        keys = band_keys(signatures, self.params)  # (bands, n)
        bands = self.params.bands
        table = pa.table(
            {
                "band": np.repeat(np.arange(bands, dtype=self._band_dtype), n),
                "key": keys.reshape(-1),
                "row": np.tile(rows, bands),
            }
        )
        name = f"{_FILE_PREFIX}{self._next:06d}.parquet"
        tmp = self.directory / f".{name}.tmp"
        target = self.directory / name
        pq.write_table(table, tmp, compression="zstd", use_dictionary=["band"], row_group_size=1 << 20)
        os.replace(tmp, target)
        self._next += 1
        return target

    def close(self) -> None:
        """End writing; marks the spool complete (see ``is_complete``)."""
        if not self.closed:
            self._write_meta(complete=True)
        self.closed = True

    def _write_meta(self, complete: bool) -> None:
        meta = {"bands": self.params.bands, "rows": self.params.rows, "complete": complete}
        tmp = self.directory / f".{_META}.tmp"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, self.directory / _META)

    @staticmethod
    def is_complete(directory: str | os.PathLike, params: LshParams | None = None) -> bool:
        """Whether ``directory`` holds a spool that was closed (with ``params``,
        when given) — what a resumed run checks before reusing it."""
        try:
            meta = json.loads((Path(directory) / _META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if params is not None and (meta.get("bands"), meta.get("rows")) != (params.bands, params.rows):
            return False
        return bool(meta.get("complete"))

    def __enter__(self) -> "BandKeySpool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- pairs from the buckets ---------------------------------------------------------------------
@njit(cache=True, nogil=True, parallel=True)
def _bucket_codes(idx, starts, offsets, max_bucket, out):
    """Pair codes of every bucket ``idx[starts[g]:starts[g+1]]`` (sorted
    ascending) into ``out[offsets[g]:offsets[g+1]]``."""
    for g in prange(starts.shape[0] - 1):
        i = starts[g]
        j = starts[g + 1]
        k = offsets[g]
        if j - i <= max_bucket:
            for x in range(i, j):
                hi = np.uint64(idx[x]) << np.uint64(32)
                for y in range(x + 1, j):
                    out[k] = hi | np.uint64(idx[y])
                    k += 1
        else:
            hi = np.uint64(idx[i]) << np.uint64(32)
            for y in range(i + 1, j):
                out[k] = hi | np.uint64(idx[y])
                k += 1


def _codes_of_buckets(idx: np.ndarray, starts: np.ndarray, max_bucket: int) -> np.ndarray:
    """Unique pair codes of the buckets delimited by ``starts`` (with the end)."""
    size = np.diff(starts)
    count = np.where(size <= max_bucket, size * (size - 1) // 2, size - 1)
    offsets = np.zeros(size.shape[0] + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint64)
    if out.shape[0]:
        _bucket_codes(idx, starts, offsets, max_bucket, out)
    return np.unique(out)


class _CodeSet:
    """Unique uint64 pair codes, merged as chunks arrive."""

    def __init__(self) -> None:
        self.merged = np.zeros(0, dtype=np.uint64)
        self.pending: list[np.ndarray] = []
        self.n_pending = 0

    def add(self, codes: np.ndarray) -> None:
        if codes.shape[0] == 0:
            return
        self.pending.append(codes)
        self.n_pending += codes.shape[0]
        if self.n_pending >= max(MERGE_PENDING_CODES, self.merged.shape[0]):
            self._merge()

    def _merge(self) -> None:
        if self.pending:
            self.merged = np.unique(np.concatenate([self.merged, *self.pending]))
            self.pending = []
            self.n_pending = 0

    def result(self) -> np.ndarray:
        self._merge()
        return self.merged


def _buckets(
    reader: pa.RecordBatchReader, rank: np.ndarray, active: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Complete buckets of active documents from a stream of (band, key, row)
    sorted by (band, key): yields ``(idx, starts)`` per chunk — final indices,
    ascending within each bucket, and the buckets' bounds (with the end).  The
    last bucket of a batch may go on in the next ones: its rows are carried as
    a list of pieces (no quadratic re-copying of a huge bucket)."""
    carry: list[np.ndarray] = []  # rows of the open bucket
    last_band = np.zeros(0, dtype=np.int64)  # its (band, key), one element each
    last_key = np.zeros(0, dtype=np.uint64)
    for batch in reader:
        if batch.num_rows == 0:
            continue
        band = batch.column(0).to_numpy().astype(np.int64)
        key = batch.column(1).to_numpy().astype(np.uint64)
        row = batch.column(2).to_numpy().astype(np.int64)
        # starts relative to the open bucket (checks the order across batches too)
        new = _bucket_starts(np.concatenate([last_band, band]), np.concatenate([last_key, key]))
        new = new[last_band.shape[0]:]
        starts = np.flatnonzero(new)
        if starts.shape[0] == 0:  # the whole batch continues the open bucket
            carry.append(row)
            continue
        last = int(starts[-1])
        if carry or last > 0:
            n_carry = sum(c.shape[0] for c in carry)
            flags = np.concatenate([np.arange(n_carry) == 0, new[:last]])
            yield _active_buckets(flags, np.concatenate([*carry, row[:last]]), rank, active)
        carry = [row[last:]]
        last_band, last_key = band[last:last + 1], key[last:last + 1]
    if carry:
        rows = np.concatenate(carry)
        yield _active_buckets(np.arange(rows.shape[0]) == 0, rows, rank, active)


def _bucket_starts(band: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Where a new (band, key) bucket starts; raises unless the rows ascend by
    (band, key) — the grouping relies on it, so a change in DuckDB's
    streaming order cannot go unseen."""
    new = np.ones(band.shape[0], dtype=bool)
    if band.shape[0] > 1:
        db, dk = band[1:], key[1:]
        up = (db > band[:-1]) | ((db == band[:-1]) & (dk > key[:-1]))
        same = (db == band[:-1]) & (dk == key[:-1])
        if not (up | same).all():
            raise RuntimeError("DuckDB returned the bucket rows out of (band, key) order")
        new[1:] = up
    return new


def _active_buckets(
    new: np.ndarray, row: np.ndarray, rank: np.ndarray, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Final indices of the active members of each bucket (ascending within
    it) and the bounds of the buckets left (with the end)."""
    group = np.cumsum(new) - 1
    size = np.bincount(group)
    multi = size[group] >= 2  # most buckets are single documents
    group, row = group[multi], row[multi]
    idx = rank[row]
    keep = active[idx]
    code = np.sort((group[keep].astype(np.uint64) << np.uint64(32)) | idx[keep].astype(np.uint64))
    group = code >> np.uint64(32)
    idx = (code & np.uint64(0xFFFFFFFF)).astype(np.int64)
    starts = np.ones(idx.shape[0], dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    return idx, np.append(np.flatnonzero(starts), idx.shape[0]).astype(np.int64)


# Every (band, key, row), sorted by (band, key) so that each bucket arrives in
# one piece.  DuckDB's external sort spills to disk and works within a few tens
# of MB; a GROUP BY ... HAVING count(*) >= 2 pre-filter needs its hash table in
# memory and fails sooner.  Singletons and inactive documents are dropped on
# the way out, where the final indices are known.
_QUERY = """
SELECT band, key, row FROM read_parquet($files) ORDER BY band, key
"""


def external_lsh_pairs(
    spool: BandKeySpool | str | os.PathLike,
    rank: np.ndarray,
    active: np.ndarray,
    max_bucket: int,
    *,
    db_path: Path,
    memory_limit: int,
    threads: int,
    temp_dir: Path,
    batch_rows: int = STREAM_BATCH_ROWS,
) -> np.ndarray:
    """Candidate pairs from the spooled band keys — the same array as
    ``candidates.lsh_pairs`` on the signatures in final order.

    ``rank[row]``: final index of store row ``row``; ``active[index]``: whether
    the document takes part.  DuckDB works in ``db_path`` (recreated) with at
    most ``memory_limit`` bytes and ``threads`` threads, spilling to
    ``temp_dir``.  ``batch_rows``: rows per record batch streamed out.  Raises
    ``OptionError`` when DuckDB cannot work within ``memory_limit``.
    """
    import duckdb

    directory = spool.directory if isinstance(spool, BandKeySpool) else Path(spool)
    files = sorted(Path(directory).glob(f"{_FILE_PREFIX}*.parquet"))
    rank = np.asarray(rank, dtype=np.int64)
    active = np.asarray(active, dtype=bool)
    if rank.shape[0] != active.shape[0]:
        raise ValueError("rank and active must cover the same documents")
    empty = np.zeros((0, 2), dtype=np.int64)
    if np.count_nonzero(active) < 2 or not files:
        return empty
    if rank.shape[0] >= 1 << 32:
        raise ValueError("external_lsh_pairs supports fewer than 2**32 documents")

    db_path = Path(db_path)
    temp_dir = Path(temp_dir)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    temp_dir.mkdir(parents=True, exist_ok=True)
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        if stale.exists():
            stale.unlink()
    codes = _CodeSet()
    con = connect(db_path)  # extension autoinstall/autoload off (duckdb_util)
    try:
        con.execute(f"SET memory_limit = '{max(1, int(memory_limit))}B'")
        con.execute(f"SET temp_directory = '{_sql_str(str(temp_dir))}'")
        con.execute(f"SET threads = {max(1, int(threads))}")
        con.execute("SET preserve_insertion_order = false")
        # a relation (con.sql) streams in ORDER BY order; a DB-API result
        # (con.execute) may not with preserve_insertion_order = false
        rel = con.sql(_QUERY, params={"files": [str(f) for f in files]})
        reader = rel.to_arrow_reader(max(1, int(batch_rows)))
        for idx, starts in _buckets(reader, rank, active):
            codes.add(_codes_of_buckets(idx, starts, max_bucket))
    except duckdb.OutOfMemoryException as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else "out of memory"
        raise OptionError(
            f"--memory-limit: {int(memory_limit)} bytes are too few for the LSH buckets "
            f"of this corpus ({first_line}); raise the limit"
        ) from e
    finally:
        con.close()
    code = codes.result()
    if code.shape[0] == 0:
        return empty
    return np.stack(
        [(code >> np.uint64(32)).astype(np.int64), (code & np.uint64(0xFFFFFFFF)).astype(np.int64)],
        axis=1,
    )


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


# -- memory ---------------------------------------------------------------------------------------
_UNITS = {
    "": 1, "b": 1,
    "k": 1 << 10, "kib": 1 << 10, "kb": 10**3,
    "m": 1 << 20, "mib": 1 << 20, "mb": 10**6,
    "g": 1 << 30, "gib": 1 << 30, "gb": 10**9,
    "t": 1 << 40, "tib": 1 << 40, "tb": 10**12,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")


def parse_memory_limit(text: str) -> int:
    """Bytes from a size: ``"4GB"`` (decimal units, as DuckDB reads them: KB,
    MB, GB, TB), ``"2GiB"`` or ``"1.5G"`` (binary: KiB/K, MiB/M, GiB/G,
    TiB/T), or a plain number of bytes (``"1000000"``, ``"512B"``)."""
    m = _MEMORY_RE.match(str(text))
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNITS:
        raise OptionError(
            f"--memory-limit: cannot read {text!r} as a size; "
            "give bytes or a number with a unit, e.g. 4GB, 512MB, 2GiB, 1.5G"
        )
    value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise OptionError(f"--memory-limit: {text!r} is not a positive size")
    return value


def _physical_memory() -> int | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page = os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and page > 0:
            return int(pages) * int(page)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < 1 << 60:
            return int(text)
    return None


def default_memory_limit(fraction: float = 0.5) -> int:
    """``fraction`` of the memory this process can have: physical RAM, or a
    smaller cgroup (container) limit; 4 GiB × fraction when neither can be
    read."""
    known = [x for x in (_physical_memory(), _cgroup_limit()) if x]
    total = min(known) if known else 4 << 30
    return max(64 << 20, int(total * fraction))


def estimate_band_key_bytes(n_docs: int, bands: int) -> int:
    """Bytes the in-memory ``lsh_pairs`` needs beyond the signatures: the band
    keys (8 bytes per band and document) plus one band's sort and pair
    buffers (about 104 bytes per document: lexsort order, sorted keys and
    documents, and two 4×n int64 pair buffers).  Pairs are extra."""
    n = max(0, int(n_docs))
    return 8 * int(bands) * n + 104 * n


def remove_spool(directory: str | os.PathLike) -> None:
    """Delete a spool directory (after the pairs are saved)."""
    shutil.rmtree(directory, ignore_errors=True)
