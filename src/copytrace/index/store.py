"""A persistent index of documents: "has this text been published before, and where?"

One embedded DuckDB file holds everything (schema version 1):

* ``meta(key, value)``: the parameters (JSON under ``params``): ``ngram``,
  ``num_perm``, ``seed`` (the MinHash family), ``threshold`` with the LSH
  ``bands``/``rows`` chosen from it by ``candidates.optimal_params`` (as
  ``find`` does), ``sample_rate`` and ``max_df`` (containment sample).
  Queries always use the index's parameters, never the caller's defaults.
* ``documents(seq, id, text, source, date, length, n_tokens, n_shingles,
  n_samples, hash_a, hash_b)``: ``seq`` is an internal number (never reused
  while the row exists), ``id`` the caller's id, ``hash_a/hash_b`` the
  128-bit content hash of ``fingerprint_batch``.
* ``band_buckets(band, key, doc)``: one row per (LSH band, document); ``key``
  is ``candidates.band_keys`` (already band-specific), ART-indexed.
* ``samples(hash, doc)``: the consistent 1-in-``sample_rate`` sample of each
  document's distinct shingles (``fingerprint_batch(..., sample_rate)``),
  ART-indexed on ``hash``; used for containment candidates.

MinHash signatures themselves are not needed after banding and are not stored
(band keys are a function of them; verification is exact from the texts).

Query = the ``find`` pipeline for one document against the index: exact
content hash, LSH band buckets and the containment sample give candidates
(same filter as ``candidates.containment_pairs``: ``min_shared`` 2,
``candidate_fraction(threshold)`` of the smaller sample, items in more than ``max_df``
documents ignored), shingle sets recomputed from the stored texts score them
exactly (``verify.score_pairs``), ``align`` aligns every candidate, and the
rule of ``find`` and ``compare`` (``stages.rule``) decides which are matches
and gives their ``similarity`` — with or without passages in the answer
(``with_passages=False`` only leaves them out).  Differences from ``find`` on the same
collection: none for a collection without exact duplicates and without LSH
buckets larger than ``find``'s ``max_bucket``; ``find`` pairs exact-duplicate
copies with their group's first member only, and links the members of
oversized buckets to one member, while the index compares the query with
every stored document.

This module is the storage side (the tables, adding, removing, finding the
candidate rows); judging them against the query — the rule, a pure function —
is :func:`copytrace.index.query.verify_rows`.

Adding: each ``add`` call is ONE transaction (BEGIN … COMMIT; any error or a
crash before COMMIT leaves the index as it was).  Duplicate ids are *rejected*
by default (counted in ``AddResult.skipped["duplicate_id"]``, the stored
document wins, as in ``read``: the first document with an id wins);
``on_duplicate="replace"`` replaces the stored document instead.  Empty texts
are skipped (``empty_text``).

In-memory candidate tables (``memory=True``, the default): at the first query
the band keys, samples and content hashes are loaded into sorted numpy arrays
(:mod:`copytrace.index.memory`) and every later write of this process is
published to them after its COMMIT, so a query costs one SQL statement (the
candidates' texts) instead of five; ``memory=False`` queries the tables with
SQL (same results; the tests compare both).  With ``text_cache_bytes`` the
texts themselves (up to that many bytes, in ``seq`` order, then the added
ones while there is room) are kept with the tables and published the same
way, and a query reads from DuckDB only the candidates not cached (the SQL
round trip they save is the largest single cost of a query's lookup half;
measured in docs/notes-2026-12.md).  ``db_threads`` (default 1):
DuckDB's worker threads; point lookups are faster single-threaded.

Concurrency: DuckDB lets ONE process open a file read-write (others may open
it read-only only when no process writes).  Inside a process, writes are
serialized by a lock on the main connection; every reading thread gets its own
cursor (``connection.cursor()``: same database, own transaction), so reads see
the last committed state and never block on a write.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa

from copytrace._version import __version__
from copytrace.config import FingerprintConfig, IntRange
from copytrace.duckdb_util import connect, file_kind
from copytrace.errors import CopytraceError, OptionError
from copytrace.index.query import (
    MIN_SHARED,
    Match,
    check_query,
    containment_passes_reference,
    fingerprint_texts,
    single_threaded_kernels,
    verify_rows,
)
from copytrace.index.memory import SnapshotPart, Snapshot, containment_candidates, doc_rows, load_snapshot
from copytrace.stages import candidates as cand
from copytrace.stages import pairfilter
from copytrace.stages.fingerprint import FingerprintParams
from copytrace.stages.read import Document

# Match, verify_rows, single_threaded_kernels and containment_passes_reference live in index.query (re-exported)
__all__ = ["Index", "AddResult", "Match", "IndexStoreError", "IndexParamsError", "SCHEMA_VERSION", "verify_rows",
           "single_threaded_kernels", "containment_passes_reference"]

SCHEMA_VERSION = 1
ADD_CHUNK = 2000  # documents fingerprinted and inserted at a time (inside the one transaction)
SKIP_EXAMPLES = 100


class IndexStoreError(CopytraceError):
    """An index that cannot be opened, created or used."""


class IndexParamsError(IndexStoreError, OptionError):
    """An index whose stored parameters are invalid (edited by hand): both an
    index error and an option error, as the same values given to ``create``
    would be."""


@dataclass
class AddResult:
    """What an ``add`` did: ``added`` new documents, ``replaced`` ones (with
    ``on_duplicate="replace"``), and ``skipped`` per reason with the first
    skipped ids."""

    added: int = 0
    replaced: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_ids: list[str] = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def _skip(self, reason: str, doc_id: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if len(self.skipped_ids) < SKIP_EXAMPLES:
            self.skipped_ids.append(doc_id)

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "replaced": self.replaced, "skipped": dict(self.skipped),
                "skipped_ids": list(self.skipped_ids)}



_SCHEMA = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE documents (
    seq BIGINT PRIMARY KEY, id VARCHAR NOT NULL, text VARCHAR NOT NULL, source VARCHAR, date VARCHAR,
    length BIGINT NOT NULL, n_tokens INTEGER NOT NULL, n_shingles INTEGER NOT NULL,
    n_samples INTEGER NOT NULL, hash_a UBIGINT NOT NULL, hash_b UBIGINT NOT NULL);
CREATE INDEX documents_id ON documents (id);
CREATE INDEX documents_hash ON documents (hash_a);
CREATE TABLE band_buckets (band USMALLINT NOT NULL, key UBIGINT NOT NULL, doc BIGINT NOT NULL);
CREATE INDEX band_buckets_key ON band_buckets (key);
CREATE TABLE samples (hash UBIGINT NOT NULL, doc BIGINT NOT NULL);
CREATE INDEX samples_hash ON samples (hash);
"""





_KIND_MESSAGES = {
    "sqlite": "a SQLite database, not a copytrace index",
    "empty": "an empty file, not a copytrace index",
    "other": "not a copytrace index (not a DuckDB file)",
    "directory": "a directory, not a copytrace index",
}


def _check_file_kind(path: Path) -> None:
    """Refuse an existing file that is not a DuckDB database before DuckDB opens it (which
    would initialise an empty file, or look for an extension to read a SQLite one)."""
    kind = file_kind(path)
    if kind in _KIND_MESSAGES:
        raise IndexStoreError(f"{path}: {_KIND_MESSAGES[kind]}")


def open_error_message(path: Path, e: Exception) -> str:
    """One line for a failed open; the lock held by another process (a running
    `copytrace serve`, typically) gets its own explanation."""
    msg = str(e)
    if "lock" in msg.lower() and ("conflicting" in msg.lower() or "could not set" in msg.lower()):
        m = re.search(r"\(PID (\d+)\)", msg)
        who = f" (process {m.group(1)})" if m else ""
        return (f"{path}: the index is in use by another process{who}, such as a running `copytrace serve`: "
                f"use the server's HTTP API (POST /documents, POST /query, GET|DELETE /documents/ID) "
                f"or stop the server first")
    first = msg.strip().splitlines()[0] if msg.strip() else type(e).__name__
    return f"{path}: cannot open the index: {first}"











def _as_doc(d: Any) -> Document:
    if isinstance(d, Document):
        return d
    if isinstance(d, Mapping):
        doc_id, text = d.get("id", d.get("doc_id")), d.get("text")
        if not isinstance(doc_id, str) or not doc_id:
            raise OptionError(f"document without a string id: {str(d)[:80]!r}")
        if not isinstance(text, str):
            raise OptionError(f"document {doc_id!r}: text must be a string")
        src, date = d.get("source"), d.get("date")
        return Document(doc_id, text, None if src in (None, "") else str(src),
                        None if date in (None, "") else str(date))
    raise OptionError(f"not a document: {type(d).__name__} (give Document or dict(id, text, source?, date?))")


def _stored_params(rows: list[Any]) -> dict[str, Any]:
    """The parameters row of ``meta``, checked for its schema version (not yet its values)."""
    if not rows:
        raise IndexStoreError("no parameters row")
    try:
        params = json.loads(rows[0][0])
    except (TypeError, ValueError):
        raise IndexStoreError("the parameters are not JSON") from None
    if not isinstance(params, dict):
        raise IndexStoreError("the parameters are not a JSON object")
    if params.get("schema_version") != SCHEMA_VERSION:
        raise IndexStoreError(f"index schema version {params.get('schema_version')!r}"
                              f" (this copytrace reads {SCHEMA_VERSION})")
    return params


def _chunks(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    buf: list[Any] = []
    for x in items:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


class Index:
    """A persistent, incrementally updated index (one DuckDB file).

    >>> idx = Index.create("news.duckdb", threshold=0.5)          # doctest: +SKIP
    >>> idx.add([{"id": "a", "text": "..."}])                     # doctest: +SKIP
    >>> idx.query("some text")                                    # doctest: +SKIP

    ``Index(path)`` opens an existing index (``create=True``: create it when
    missing, with the parameters ``config``, a
    :class:`~copytrace.config.FingerprintConfig`, or its fields as keywords:
    ``threshold=``, ``ngram=`` …; the stored parameters are validated on
    opening, as ``self.config``).  Thread-safe: writes are serialized,
    reads run concurrently on per-thread cursors.  ``memory``: candidates from
    in-memory tables (module doc); ``db_threads``: DuckDB threads (None: its
    default); ``text_cache_bytes``: keep up to this many bytes of document texts
    in memory with those tables (the service's default is 256 MiB), so that
    queries whose candidates are all cached make no SQL round trip at all.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        create: bool = False,
        read_only: bool = False,
        config: FingerprintConfig | None = None,
        memory: bool = True,
        db_threads: int | None = 1,
        text_cache_bytes: int = 0,
        **params: Any,
    ) -> None:
        import duckdb

        # the parameters of a new index: ``config``, or its fields as keywords (threshold=, ngram= …)
        unknown = set(params) - set(FingerprintConfig.names())
        if unknown:
            raise OptionError(f"unknown index parameter(s): {', '.join(sorted(unknown))}"
                              f" (available: {', '.join(FingerprintConfig.names())})")
        if config is not None and params:
            raise OptionError("give the index parameters as config= or as keywords, not both")
        new_config = config if config is not None else FingerprintConfig(**params)
        self.path = Path(path)
        exists = self.path.exists()
        if not exists and not create:
            raise IndexStoreError(f"{self.path}: no index there (create it with `copytrace index create`)")
        if read_only and not exists:
            raise IndexStoreError(f"{self.path}: no index there")
        if exists:
            _check_file_kind(self.path)
        try:
            self._con = connect(self.path, read_only=read_only)
        except duckdb.Error as e:
            raise IndexStoreError(open_error_message(self.path, e)) from None
        if db_threads is not None:
            # point lookups and small batches: DuckDB's parallel scheduling costs more than it gains
            self._con.execute(f"SET threads = {int(db_threads)}")
        self.read_only = read_only
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[Any] = []
        self._cursors_lock = threading.Lock()
        self.memory = memory
        self._snap: Snapshot | None = None  # in-memory candidate tables (memory.py), loaded at the first query
        if text_cache_bytes < 0:
            raise OptionError(f"text_cache_bytes must be at least 0, got {text_cache_bytes}")
        self.text_cache_bytes = text_cache_bytes if memory else 0
        # seq -> (id, text, source, date), loaded with the snapshot, at most text_cache_bytes of texts
        self._texts: dict[int, tuple[str, str, str | None, str | None]] = {}
        self._text_bytes = 0
        self._seq_floor = 0  # the next seq is at least this (seqs are never reused in this process)
        tables = {r[0] for r in self._con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" not in tables:
            if tables or exists:  # only a file this call created becomes an index
                self._con.close()
                raise IndexStoreError(f"{self.path}: a DuckDB file, but not a copytrace index")
            try:
                self._init_schema(new_config)
            except BaseException:  # the file this call created goes again
                self._con.close()
                for created in (self.path, Path(str(self.path) + ".wal")):
                    created.unlink(missing_ok=True)
                raise
        rows = self._con.execute("SELECT value FROM meta WHERE key = 'params'").fetchall()
        try:
            self.params: dict[str, Any] = _stored_params(rows)
            self.config = FingerprintConfig.from_mapping(self.params)
            for name in ("bands", "rows"):
                IntRange(1, self.config.num_perm)(name, self.params.get(name))
            if self.params["bands"] * self.params["rows"] > self.config.num_perm:
                raise OptionError(f"bands × rows is more than num_perm ({self.config.num_perm})")
        except IndexStoreError as e:
            self._con.close()
            raise IndexStoreError(f"{self.path}: {e}") from None
        except OptionError as e:
            self._con.close()
            raise IndexParamsError(f"{self.path}: the index's stored parameters are invalid: {e}") from None
        self.fp_params = FingerprintParams(self.config.ngram, self.config.num_perm, self.config.seed)
        self.lsh = cand.LshParams(self.params["bands"], self.params["rows"])

    @classmethod
    def create(cls, path: str | os.PathLike, **params: Any) -> "Index":
        """Create a new index file (error if ``path`` exists)."""
        if Path(path).exists():
            raise IndexStoreError(f"{path}: already exists")
        return cls(path, create=True, **params)

    def _init_schema(self, config: FingerprintConfig) -> None:
        c = config  # validated on construction, with the same messages as `find`
        lsh = cand.optimal_params(c.threshold, c.num_perm)
        params = {
            "schema_version": SCHEMA_VERSION, "copytrace_version": __version__, "threshold": c.threshold,
            "ngram": c.ngram, "num_perm": c.num_perm, "seed": c.seed, "bands": lsh.bands, "rows": lsh.rows,
            "sample_rate": c.sample_rate, "max_df": c.max_df, "min_shared": MIN_SHARED,
        }
        self._con.execute("BEGIN")
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                self._con.execute(stmt)
        self._con.execute("INSERT INTO meta VALUES ('params', ?)", [json.dumps(params)])
        self._con.execute("COMMIT")

    # -- connections ----------------------------------------------------------------------------
    def _cursor(self) -> Any:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    def close(self) -> None:
        with self._cursors_lock:
            for c in self._cursors:
                try:
                    c.close()
                except Exception:
                    pass
            self._cursors.clear()
        self._con.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------
    def add(self, docs: Iterable[Document | Mapping[str, Any]], *, on_duplicate: str = "skip") -> AddResult:
        """Add documents, all in ONE transaction (an error leaves the index unchanged).

        ``on_duplicate``: ``"skip"`` (default: an id already stored, or repeated
        in ``docs``, is skipped and counted) or ``"replace"`` (the new text
        replaces the stored document; within ``docs`` the last one wins)."""
        if on_duplicate not in ("skip", "replace"):
            raise OptionError(f"on_duplicate must be 'skip' or 'replace', got {on_duplicate!r}")
        if self.read_only:
            raise IndexStoreError(f"{self.path}: opened read-only")
        res = AddResult()
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            delta: list[Any] = []
            try:
                seen: set[str] = set()
                next_seq = int(con.execute("SELECT coalesce(max(seq), -1) + 1 FROM documents").fetchall()[0][0])
                # never reuse a seq in this process: the in-memory tables may still hold a removed document's rows
                next_seq = max(next_seq, self._seq_floor)
                for chunk in _chunks((_as_doc(d) for d in docs), ADD_CHUNK):
                    next_seq = self._add_chunk(chunk, res, seen, on_duplicate, next_seq, delta)
                self._before_commit()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            self._seq_floor = next_seq
            self._apply(delta)
        return res

    def _apply(self, delta: list[Any]) -> None:
        """Publish a committed write to the in-memory tables (caller holds the write lock).

        ``delta``: ``("remove", seqs)`` and ``("add", segment, seqs, n_samples, rows, docs)`` in
        order (``docs``: the added documents' (id, text, source, date), for the text cache; None
        for a document without tokens)."""
        snap = self._snap
        if snap is None or not delta:
            return
        try:
            for op in delta:
                if op[0] == "remove":
                    snap = snap.with_removed(op[1])
                    for q in op[1]:
                        self._uncache(q)
                else:
                    snap = snap.with_added(op[1], op[2], op[3], op[4])
                    for q, row in zip(op[2].tolist(), op[5], strict=True):
                        if row is not None:
                            self._cache(q, row)
        except BaseException:
            self._snap = None  # reloaded from the database at the next query
            self._texts, self._text_bytes = {}, 0
            raise
        self._snap = snap

    def _cache(self, seq: int, row: tuple[str, str, str | None, str | None]) -> bool:
        """Keep a document's row in memory if the text cache has room (caller holds the write lock)."""
        size = sys.getsizeof(row[1])
        if self._text_bytes + size > self.text_cache_bytes:
            return False
        self._texts[seq] = row
        self._text_bytes += size
        return True

    def _uncache(self, seq: int) -> None:
        row = self._texts.pop(seq, None)
        if row is not None:
            self._text_bytes -= sys.getsizeof(row[1])

    def _load_texts(self) -> None:
        """Fill the text cache from the database, in seq order, until it is full (write lock held)."""
        self._texts, self._text_bytes = {}, 0
        if not self.text_cache_bytes:
            return
        cur = self._con.cursor()
        try:
            cur.execute("SELECT seq, id, text, source, date FROM documents WHERE n_tokens > 0 ORDER BY seq")
            while True:
                batch = cur.fetchmany(10_000)
                if not batch:
                    return
                for seq, *row in batch:
                    if not self._cache(int(seq), tuple(row)):
                        return
        finally:
            cur.close()

    def text_cache_stats(self) -> dict[str, int]:
        """Documents and bytes of text held in memory (0 before the first query loads the tables)."""
        return {"documents": len(self._texts), "bytes": self._text_bytes, "limit_bytes": self.text_cache_bytes}

    def _snapshot(self) -> Snapshot:
        snap = self._snap
        if snap is None:
            with self._write_lock:  # no write can commit while the tables are read
                snap = self._snap
                if snap is None:
                    snap = load_snapshot(self._con, self.lsh.bands)
                    self._load_texts()
                    self._snap = snap
        return snap

    def _before_commit(self) -> None:
        """Test hook: runs inside the add transaction just before COMMIT."""

    def _add_chunk(self, chunk: list[Document], res: AddResult, seen: set[str], on_duplicate: str,
                   next_seq: int, delta: list[Any]) -> int:
        con = self._con
        keep: list[Document] = []
        if on_duplicate == "replace":
            last: dict[str, Document] = {}
            for d in chunk:
                if not d.text:
                    res._skip("empty_text", d.doc_id)
                else:
                    last[d.doc_id] = d
            keep = list(last.values())
        else:
            for d in chunk:
                if not d.text:
                    res._skip("empty_text", d.doc_id)
                elif d.doc_id in seen:
                    res._skip("duplicate_id", d.doc_id)
                else:
                    seen.add(d.doc_id)
                    keep.append(d)
        if not keep:
            return next_seq
        ids_tbl = pa.table({"id": pa.array([d.doc_id for d in keep], pa.string())})  # noqa: F841
        con.register("_ct_ids", ids_tbl)
        try:
            existing = con.execute(
                "SELECT d.id, d.seq FROM documents d JOIN _ct_ids i ON d.id = i.id").fetchall()
        finally:
            con.unregister("_ct_ids")
        if existing:
            if on_duplicate == "replace":
                old = [int(s) for _, s in existing]
                self._delete_seqs(old)
                delta.append(("remove", old))
                res.replaced += len({i for i, _ in existing})
                res.added -= len({i for i, _ in existing})
            else:
                stored = {i for i, _ in existing}
                for d in keep:
                    if d.doc_id in stored:
                        res._skip("duplicate_id", d.doc_id)
                keep = [d for d in keep if d.doc_id not in stored]
                if not keep:
                    return next_seq
        texts = [d.text for d in keep]
        _, fps = fingerprint_texts(texts, self.fp_params, self.params["sample_rate"])
        n = len(keep)
        seqs = np.arange(next_seq, next_seq + n, dtype=np.int64)
        n_samples = np.bincount(fps.sample_docs, minlength=n).astype(np.int32)
        docs_tbl = pa.table({  # noqa: F841
            "seq": pa.array(seqs),
            "id": pa.array([d.doc_id for d in keep], pa.string()),
            "text": pa.array(texts, pa.string()),
            "source": pa.array([d.source for d in keep], pa.string()),
            "date": pa.array([d.date for d in keep], pa.string()),
            "length": pa.array(np.fromiter((len(t) for t in texts), np.int64, n)),
            "n_tokens": pa.array(fps.n_tokens.astype(np.int32)),
            "n_shingles": pa.array(fps.n_shingles.astype(np.int32)),
            "n_samples": pa.array(n_samples),
            "hash_a": pa.array(fps.content_hash[:, 0]),
            "hash_b": pa.array(fps.content_hash[:, 1]),
        })
        nonempty = np.flatnonzero(fps.n_tokens > 0)
        keys = cand.band_keys(fps.signatures[nonempty], self.lsh)  # (bands, k)
        bands = self.lsh.bands
        bb_tbl = pa.table({  # noqa: F841
            "band": pa.array(np.repeat(np.arange(bands, dtype=np.uint16), nonempty.shape[0])),
            "key": pa.array(keys.reshape(-1)),
            "doc": pa.array(np.tile(seqs[nonempty], bands)),
        })
        samp_tbl = pa.table({  # noqa: F841
            "hash": pa.array(fps.sample_hashes.astype(np.uint64)),
            "doc": pa.array(seqs[fps.sample_docs]),
        })
        for name, tbl, table in (("_ct_docs", docs_tbl, "documents"), ("_ct_bb", bb_tbl, "band_buckets"),
                                 ("_ct_samp", samp_tbl, "samples")):
            con.register(name, tbl)
            try:
                con.execute(f"INSERT INTO {table} SELECT * FROM {name}")
            finally:
                con.unregister(name)
        if self._snap is not None:
            delta.append(("add", SnapshotPart.build(
                keys.reshape(-1), np.repeat(np.arange(bands, dtype=np.uint16), nonempty.shape[0]),
                np.tile(seqs[nonempty], bands), fps.sample_hashes.astype(np.uint64), seqs[fps.sample_docs],
                fps.content_hash[:, 0], fps.content_hash[:, 1], seqs), seqs, n_samples,
                doc_rows(fps.n_tokens, n_samples, bands),
                [(d.doc_id, d.text, d.source, d.date) if t > 0 else None  # never a candidate
                 for d, t in zip(keep, fps.n_tokens.tolist(), strict=True)]))
        res.added += n
        return next_seq + n

    def _delete_seqs(self, seqs: Sequence[int]) -> None:
        con = self._con
        tbl = pa.table({"seq": pa.array(list(seqs), pa.int64())})  # noqa: F841
        con.register("_ct_del", tbl)
        try:
            con.execute("DELETE FROM band_buckets WHERE doc IN (SELECT seq FROM _ct_del)")
            con.execute("DELETE FROM samples WHERE doc IN (SELECT seq FROM _ct_del)")
            con.execute("DELETE FROM documents WHERE seq IN (SELECT seq FROM _ct_del)")
        finally:
            con.unregister("_ct_del")

    def remove(self, ids: Iterable[str]) -> int:
        """Remove documents by id (one transaction); returns how many were removed."""
        if self.read_only:
            raise IndexStoreError(f"{self.path}: opened read-only")
        ids = list(dict.fromkeys(ids))
        if not ids:
            return 0
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            try:
                seqs = [int(r[0]) for r in con.execute(
                    "SELECT seq FROM documents WHERE id = ANY(?)", [ids]).fetchall()]
                if seqs:
                    self._delete_seqs(seqs)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            if seqs:
                self._apply([("remove", seqs)])
        return len(seqs)

    # -- reading --------------------------------------------------------------------------------
    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The stored document (id, text, source, date, length, n_tokens, n_shingles) or None."""
        row = self._cursor().execute(
            "SELECT id, text, source, date, length, n_tokens, n_shingles FROM documents WHERE id = ?",
            [doc_id]).fetchall()
        if not row:
            return None
        row = row[0]
        return dict(zip(("id", "text", "source", "date", "length", "n_tokens", "n_shingles"), row, strict=True))

    def __len__(self) -> int:
        return int(self._cursor().execute("SELECT count(*) FROM documents").fetchall()[0][0])

    def __contains__(self, doc_id: str) -> bool:
        return self._cursor().execute("SELECT 1 FROM documents WHERE id = ?", [doc_id]).fetchall() != []

    def ids(self) -> list[str]:
        return [r[0] for r in self._cursor().execute("SELECT id FROM documents ORDER BY id").fetchall()]

    def stats(self) -> dict[str, Any]:
        cur = self._cursor()
        n, chars = cur.execute("SELECT count(*), coalesce(sum(length), 0) FROM documents").fetchall()[0]
        nb = cur.execute("SELECT count(*) FROM band_buckets").fetchall()[0][0]
        ns = cur.execute("SELECT count(*) FROM samples").fetchall()[0][0]
        size = self.path.stat().st_size if self.path.exists() else 0
        wal = Path(str(self.path) + ".wal")
        wal_size = wal.stat().st_size if wal.exists() else 0
        return {
            "path": str(self.path),
            "documents": int(n),
            "characters": int(chars),
            "band_bucket_rows": int(nb),
            "sample_rows": int(ns),
            "file_bytes": int(size + wal_size),
            "bytes_per_document": (size + wal_size) / n if n else None,
            "parameters": dict(self.params),
        }

    def query(
        self,
        text: str,
        threshold: float | None = None,
        limit: int | None = 10,
        with_passages: bool = True,
        *,
        exclude: Iterable[str] = (),
        date: str | None = None,
        source: str | None = None,
        pairs_within: float | None = None,
        pairs: str = "all",
    ) -> list[Match]:
        """Indexed documents that share at least ``threshold`` (default: the
        index's) of their shingles with ``text`` — Jaccard or containment either
        way — best first (similarity, then id); at most ``limit`` (None: all).
        With passages and more verified matches than ``limit``, the ``limit``
        best by shingle similarity (containment either way) are aligned and
        returned (alignment is most of a query's cost); ``limit=None`` aligns
        every match.  ``exclude``: ids never to return (e.g. the query's own id).
        ``pairs_within`` (days, with the query's ``date``) and ``pairs``
        (``across-sources`` / ``within-sources``, with its ``source``): the pair
        filters of ``find`` (``stages.pairfilter``), applied to the candidates.

        The same as ``verify_rows(text, *self.candidate_rows(text, threshold,
        exclude=exclude, date=..., pairs=...), limit, with_passages)``: the service runs the second,
        CPU-bound half in worker processes."""
        check_query(text, threshold, limit)
        rows, threshold, ngram = self.candidate_rows(text, threshold, exclude=exclude, date=date, source=source,
                                                     pairs_within=pairs_within, pairs=pairs)
        if not rows:
            return []
        with single_threaded_kernels():
            return verify_rows(text, rows, threshold, ngram, limit, with_passages)

    def candidate_rows(
        self, text: str, threshold: float | None = None, *, exclude: Iterable[str] = (),
        date: str | None = None, source: str | None = None, pairs_within: float | None = None,
        pairs: str = "all",
    ) -> tuple[list[tuple[str, str, str | None, str | None]], float, int]:
        """The first half of :meth:`query`: the candidate documents of ``text``
        (``(id, text, source, date)`` rows, from the exact hash, the LSH bands
        and the containment sample) that pass the pair filters (the query's
        ``date`` and ``source``; ``pairfilter.filter_rows``), with the threshold
        and n-gram size that :func:`verify_rows` needs to finish the query."""
        check_query(text, threshold, None)
        pairfilter.filter_rows([], date, source, pairs_within, pairs)  # bad filters fail before any work
        with single_threaded_kernels():
            rows, threshold, ngram = self._candidate_rows(text, threshold, exclude)
        return pairfilter.filter_rows(rows, date, source, pairs_within, pairs), threshold, ngram

    def _candidate_rows(self, text: str, threshold: float | None, exclude: Iterable[str]
                        ) -> tuple[list[tuple[str, str, str | None, str | None]], float, int]:
        if threshold is None:
            threshold = float(self.params["threshold"])
        ngram = int(self.params["ngram"])
        toks, fps = fingerprint_texts([text], self.fp_params, self.params["sample_rate"])
        if fps.n_tokens[0] == 0:
            return [], threshold, ngram
        cur = self._cursor()
        excl = list(dict.fromkeys(exclude))
        excl_seqs: set[int] = set()
        if excl:
            excl_seqs = {int(r[0]) for r in cur.execute(
                "SELECT seq FROM documents WHERE id = ANY(?)", [excl]).fetchall()}
        if self.memory:
            cands = self._candidates_memory(fps, threshold, excl_seqs)
        else:
            cands = self._candidates_sql(cur, fps, threshold, excl_seqs)
        if not cands:
            return [], threshold, ngram
        rows: list[tuple[str, str, str | None, str | None]] = []
        missing: list[int] = []
        texts = self._texts if self.memory else {}  # rows of documents alive at the snapshot or later
        for c in sorted(cands):
            row = texts.get(c)
            if row is None:
                missing.append(c)
            else:
                rows.append(row)
        if missing:
            # a literal IN list (ints only) plans faster than `= ANY(?)` with a list parameter; every
            # candidate has tokens (documents without are in no band bucket, no sample, and no text
            # with tokens has their content hash), and the rows' order does not matter to verify_rows
            rows += cur.execute("SELECT id, text, source, date FROM documents WHERE seq IN ("
                                + ",".join(str(int(c)) for c in missing) + ")").fetchall()
        return rows, threshold, ngram

    def _candidates_memory(self, fps: Any, threshold: float, excl_seqs: set[int]) -> set[int]:
        snap = self._snapshot()
        ha, hb = int(fps.content_hash[0, 0]), int(fps.content_hash[0, 1])
        parts = [snap.exact(ha, hb), snap.band_candidates(cand.band_keys(fps.signatures, self.lsh)[:, 0])]
        qh = np.unique(fps.sample_hashes)
        if qh.shape[0]:
            excl = np.fromiter(excl_seqs, np.int64, len(excl_seqs))
            parts.append(containment_candidates(snap, qh.astype(np.uint64), excl, threshold,
                                                int(self.params["max_df"]), MIN_SHARED))
        cands = set(np.unique(np.concatenate(parts)).tolist())
        return cands - excl_seqs

    def _candidates_sql(self, cur: Any, fps: Any, threshold: float, excl_seqs: set[int]) -> set[int]:
        """The candidates from the DuckDB tables (``memory=False``; the reference for the in-memory path)."""
        cands: set[int] = set()
        # exact duplicates
        ha, hb = int(fps.content_hash[0, 0]), int(fps.content_hash[0, 1])
        cands.update(int(r[0]) for r in cur.execute(
            "SELECT seq FROM documents WHERE hash_a = ? AND hash_b = ?", [ha, hb]).fetchall())
        # LSH
        keys = cand.band_keys(fps.signatures, self.lsh)[:, 0]
        key_list = ",".join(str(int(k)) for k in np.unique(keys))
        for band, key, doc in cur.execute(
                f"SELECT band, key, doc FROM band_buckets WHERE key IN ({key_list})").fetchall():
            if int(keys[band]) == key:
                cands.add(int(doc))
        # containment sample
        qh = np.unique(fps.sample_hashes)
        if qh.shape[0]:
            rows = cur.execute(
                f"SELECT hash, doc FROM samples WHERE hash IN ({','.join(str(int(h)) for h in qh)})").fetchall()
            rows = [(h, int(d)) for h, d in rows if int(d) not in excl_seqs]
            if rows:
                df: dict[int, int] = {}
                for h, _ in rows:
                    df[h] = df.get(h, 0) + 1
                max_df = self.params["max_df"]
                shared: dict[int, int] = {}
                for h, d in rows:
                    if df[h] + 1 <= max_df:  # + the query itself, as in `find`
                        shared[d] = shared.get(d, 0) + 1
                if shared:
                    docs_ = list(shared)
                    per_doc = dict(cur.execute(
                        "SELECT seq, n_samples FROM documents WHERE seq = ANY(?)", [docs_]).fetchall())
                    nq = qh.shape[0]
                    for d, s in shared.items():
                        if containment_passes_reference(s, min(nq, int(per_doc.get(d, 0))), threshold):
                            cands.add(d)
        return cands - excl_seqs
