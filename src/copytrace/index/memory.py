"""In-memory candidate tables of an :class:`~copytrace.index.Index` (one per process).

Querying the DuckDB tables costs four SQL round trips per query (exact hash,
band buckets, containment samples, sample counts; most of the time goes to the
``samples`` ``IN (...)`` lookup: docs/notes-2026-12.md), so the index keeps what
candidate generation needs in sorted numpy arrays, loaded once from the
database (lazily, at the first query) and then updated by the writes of the
same process; only the texts of the candidates are read from DuckDB.

State and concurrency
    A :class:`Snapshot` is immutable: a tuple of *segments* (each sorted
    arrays: band keys, sample hashes and content hashes, with their document
    ``seq``) and per-``seq`` arrays (``alive``, ``n_samples``).  Writers hold
    the index's write lock and, after their COMMIT, publish a new snapshot
    (one reference assignment); readers take the current snapshot once per
    query, so a query sees a committed state, never a half-applied batch.
    An ``add`` appends one segment; segments are merged LSM-style (the last
    two while the newer is at least half the older), so each row is merged
    O(log n) times.  ``remove`` only clears ``alive`` (rows of dead documents
    are skipped at query time and dropped at the next merge, or by a full
    compaction once they are a quarter of all rows).

Only one process may write a DuckDB file, so no other process can change the
tables behind this cache; a read-only index never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from copytrace.stages.candidates import containment_passes

__all__ = ["SnapshotPart", "Snapshot", "load_snapshot", "expand_ranges", "containment_candidates",
           "doc_rows"]

_EMPTY_U64 = np.zeros(0, np.uint64)
_EMPTY_I64 = np.zeros(0, np.int64)


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All positions ``lo[i] <= p < hi[i]`` (concatenated) and, for each, its ``i``."""
    lens = (hi - lo).astype(np.int64)
    total = int(lens.sum())
    if total == 0:
        return _EMPTY_I64, _EMPTY_I64
    which = np.repeat(np.arange(lo.shape[0], dtype=np.int64), lens)
    starts = np.cumsum(lens) - lens  # start of each range in the output
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts - lo.astype(np.int64), lens)
    return pos, which


def _sorted_by(key: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.argsort(key, kind="stable")
    return (key[order],) + tuple(c[order] for c in cols)


@dataclass(frozen=True)
class SnapshotPart:
    """Rows of some documents, each table sorted by its key."""

    band_key: np.ndarray  # uint64, sorted
    band_band: np.ndarray  # uint16
    band_doc: np.ndarray  # int64 seq
    samp_hash: np.ndarray  # uint64, sorted
    samp_doc: np.ndarray  # int64
    hash_a: np.ndarray  # uint64, sorted (content hash, first half)
    hash_b: np.ndarray  # uint64
    hash_doc: np.ndarray  # int64

    @classmethod
    def build(cls, band_key: np.ndarray, band_band: np.ndarray, band_doc: np.ndarray, samp_hash: np.ndarray,
              samp_doc: np.ndarray, hash_a: np.ndarray, hash_b: np.ndarray, hash_doc: np.ndarray) -> "SnapshotPart":
        bk, bb, bd = _sorted_by(np.ascontiguousarray(band_key, np.uint64), np.asarray(band_band, np.uint16),
                                np.asarray(band_doc, np.int64))
        sh, sd = _sorted_by(np.ascontiguousarray(samp_hash, np.uint64), np.asarray(samp_doc, np.int64))
        ha, hb, hd = _sorted_by(np.ascontiguousarray(hash_a, np.uint64), np.asarray(hash_b, np.uint64),
                                np.asarray(hash_doc, np.int64))
        return cls(bk, bb, bd, sh, sd, ha, hb, hd)

    @property
    def n_rows(self) -> int:
        return int(self.band_key.shape[0] + self.samp_hash.shape[0] + self.hash_a.shape[0])

    @staticmethod
    def merge(segs: Sequence["SnapshotPart"], alive: np.ndarray) -> "SnapshotPart":
        """One segment with the rows of ``segs`` whose document is alive."""

        def live(doc: str) -> tuple[np.ndarray, np.ndarray]:
            d = np.concatenate([getattr(s, doc) for s in segs])
            return alive[d], d

        kb, db = live("band_doc")
        ks, ds = live("samp_doc")
        kh, dh = live("hash_doc")
        return SnapshotPart.build(
            np.concatenate([s.band_key for s in segs])[kb], np.concatenate([s.band_band for s in segs])[kb], db[kb],
            np.concatenate([s.samp_hash for s in segs])[ks], ds[ks],
            np.concatenate([s.hash_a for s in segs])[kh], np.concatenate([s.hash_b for s in segs])[kh], dh[kh])


@dataclass(frozen=True)
class Snapshot:
    """An immutable committed state of the candidate tables."""

    segments: tuple[SnapshotPart, ...]
    alive: np.ndarray  # bool, by seq
    n_samples: np.ndarray  # int64, by seq
    rows: np.ndarray  # int64, by seq: the document's rows in the segments
    dead_rows: int  # rows in segments that belong to removed documents

    # -- reading ------------------------------------------------------------------------------
    def exact(self, ha: int, hb: int) -> np.ndarray:
        """seqs of live documents with content hash (ha, hb)."""
        out = []
        a = np.uint64(ha)
        for s in self.segments:
            lo, hi = np.searchsorted(s.hash_a, a, "left"), np.searchsorted(s.hash_a, a, "right")
            if hi > lo:
                m = s.hash_b[lo:hi] == np.uint64(hb)
                out.append(s.hash_doc[lo:hi][m])
        return self._live(np.concatenate(out)) if out else _EMPTY_I64

    def band_candidates(self, keys: np.ndarray) -> np.ndarray:
        """seqs of live documents sharing a band bucket: ``keys[b]`` is the query's key in band b."""
        keys = np.ascontiguousarray(keys, np.uint64)
        uk = np.unique(keys)
        out = []
        for s in self.segments:
            lo = np.searchsorted(s.band_key, uk, "left")
            hi = np.searchsorted(s.band_key, uk, "right")
            pos, _ = expand_ranges(lo, hi)
            if pos.shape[0]:
                band = s.band_band[pos].astype(np.int64)
                ok = keys[band] == s.band_key[pos]
                out.append(s.band_doc[pos][ok])
        return self._live(np.concatenate(out)) if out else _EMPTY_I64

    def sample_rows(self, qh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hash, seq) of the sample rows of live documents whose hash is in ``qh`` (sorted, unique)."""
        hs, ds = [], []
        for s in self.segments:
            lo = np.searchsorted(s.samp_hash, qh, "left")
            hi = np.searchsorted(s.samp_hash, qh, "right")
            pos, _ = expand_ranges(lo, hi)
            if pos.shape[0]:
                hs.append(s.samp_hash[pos])
                ds.append(s.samp_doc[pos])
        if not hs:
            return _EMPTY_U64, _EMPTY_I64
        h, d = np.concatenate(hs), np.concatenate(ds)
        ok = self.alive[d]
        return h[ok], d[ok]

    def _live(self, seqs: np.ndarray) -> np.ndarray:
        return seqs[self.alive[seqs]]

    @property
    def n_rows(self) -> int:
        return sum(s.n_rows for s in self.segments)

    # -- writing (return new snapshots) ---------------------------------------------------------
    def with_removed(self, seqs: Sequence[int] | np.ndarray) -> "Snapshot":
        arr = np.asarray(seqs, np.int64)
        arr = arr[(arr >= 0) & (arr < self.alive.shape[0])]
        arr = arr[self.alive[arr]]
        if not arr.shape[0]:
            return self
        alive = self.alive.copy()
        alive[arr] = False
        dead = self.dead_rows + int(self.rows[arr].sum())
        snap = Snapshot(self.segments, alive, self.n_samples, self.rows, dead)
        if dead * 4 > snap.n_rows:  # compact
            snap = Snapshot((SnapshotPart.merge(snap.segments, alive),), alive, self.n_samples, self.rows, 0)
        return snap

    def with_added(self, seg: SnapshotPart, seqs: np.ndarray, n_samples: np.ndarray, rows: np.ndarray) -> "Snapshot":
        """``seqs`` must be new: above every seq this snapshot has seen (a dead document's
        rows may still be in the segments)."""
        seqs = np.asarray(seqs, np.int64)
        if seqs.shape[0] and int(seqs.min()) < self.alive.shape[0]:
            raise ValueError("seq reused")
        top = int(seqs.max()) + 1 if seqs.shape[0] else 0
        size = max(self.alive.shape[0], top)

        def grow(a: np.ndarray, new: np.ndarray | bool) -> np.ndarray:
            out = np.zeros(size, a.dtype)
            out[: a.shape[0]] = a
            out[seqs] = new
            return out

        alive = grow(self.alive, True)
        ns = grow(self.n_samples, np.asarray(n_samples, np.int64))
        nr = grow(self.rows, np.asarray(rows, np.int64))
        segs = list(self.segments) + [seg]
        dead = self.dead_rows
        while len(segs) >= 2 and 2 * segs[-1].n_rows >= segs[-2].n_rows:
            before = segs[-2].n_rows + segs[-1].n_rows
            merged = SnapshotPart.merge(segs[-2:], alive)
            dead -= before - merged.n_rows
            segs[-2:] = [merged]
        return Snapshot(tuple(segs), alive, ns, nr, max(dead, 0))


def load_snapshot(con: Any, bands: int) -> Snapshot:
    """Read the candidate tables from a DuckDB connection (callers hold the write lock)."""
    docs = con.execute("SELECT seq, n_samples, n_tokens, hash_a, hash_b FROM documents").fetchnumpy()
    bb = con.execute("SELECT key, band, doc FROM band_buckets").fetchnumpy()
    sp = con.execute("SELECT hash, doc FROM samples").fetchnumpy()
    seq = np.asarray(docs["seq"], np.int64)
    size = int(seq.max()) + 1 if seq.shape[0] else 0
    alive = np.zeros(size, bool)
    alive[seq] = True
    ns = np.zeros(size, np.int64)
    ns[seq] = np.asarray(docs["n_samples"], np.int64)
    nr = np.zeros(size, np.int64)
    nr[seq] = doc_rows(np.asarray(docs["n_tokens"]), ns[seq], bands)
    seg = SnapshotPart.build(np.asarray(bb["key"], np.uint64), np.asarray(bb["band"], np.uint16),
                        np.asarray(bb["doc"], np.int64), np.asarray(sp["hash"], np.uint64),
                        np.asarray(sp["doc"], np.int64), np.asarray(docs["hash_a"], np.uint64),
                        np.asarray(docs["hash_b"], np.uint64), seq)
    return Snapshot((seg,), alive, ns, nr, 0)


def doc_rows(n_tokens: np.ndarray, n_samples: np.ndarray, bands: int) -> np.ndarray:
    """Rows of each document in a segment: its band keys (none without tokens), samples, content hash."""
    return np.where(np.asarray(n_tokens) > 0, bands, 0) + np.asarray(n_samples, np.int64) + 1


def containment_candidates(snap: Snapshot, qh: np.ndarray, excl: np.ndarray, threshold: float, max_df: int,
                           min_shared: int) -> np.ndarray:
    """The containment-sample filter of ``candidates.containment_pairs`` for one query
    (``qh``: its sorted distinct sample hashes; ``excl``: seqs left out, also of the counts)."""
    h, d = snap.sample_rows(qh)
    if excl.shape[0] and d.shape[0]:
        keep = ~np.isin(d, excl)
        h, d = h[keep], d[keep]
    if not d.shape[0]:
        return _EMPTY_I64
    _, inv, df = np.unique(h, return_inverse=True, return_counts=True)
    ok = df[inv] + 1 <= max_df  # + the query itself, as in `find`
    docs, shared = np.unique(d[ok], return_counts=True)
    if not docs.shape[0]:
        return _EMPTY_I64
    smaller = np.minimum(qh.shape[0], snap.n_samples[docs])
    return docs[containment_passes(shared, smaller, threshold, min_shared)]
