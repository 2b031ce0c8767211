"""Dedup against a reference (``find NEW --against REFERENCE...``).

Data contract
-------------
* ``batches_with_side(inputs, against, options, stats)`` yields
  ``(batch, side)``: the documents of the inputs (side 0, "new"), then those
  of the reference (side 1, "reference"), one id space (an id already read
  is a counted ``duplicate_id`` skip, as within one input).  A reference item
  may be files/directories (any format ``find`` reads) or a copytrace index
  (a DuckDB file made by ``copytrace index create``): its stored documents
  (id, text, source, date) are read from it.
* ``cross_exact_pairs(exact, side)``: exact-duplicate pairs when only pairs
  across the two sides count — in each group of identical documents, every
  new document is paired with the group's first reference document and every
  reference document with its first new one (instead of everything with the
  group's first document).
* ``lsh_pairs_across(signatures, params, active, side, max_bucket)``: the
  LSH candidates across the sides, from the band buckets holding at least
  one new document — every such bucket whole, so its pairs are those
  ``candidates.lsh_pairs`` finds, kept when across; buckets of reference
  documents alone are never looked at (``containment_pairs(sides=side)``
  does the same for the containment sample).  So the work grows with the
  new documents and the buckets they fall in, not with the reference.
* ``new_not_copied(n, side, a, b, exact)``: the new documents (sorted
  positions) that copy no reference document: in no reported pair, and not
  identical to a new document that is.  These are what ``deduplicated.jsonl``
  holds.
* ``TokenSpool`` / ``chunk_tokens``: the read stage's tokens kept (in the
  work directory) so that verifying the cross candidates does not re-read and
  re-tokenize the reference documents they touch; boilerplate spans are
  masked on the tokens (``masked_tokens``), and only a document where a span
  cuts a token is tokenized again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from copytrace.kernels import njit
from copytrace.stages.read import Document, ReadOptions, ReadStats, iter_batches, skip_message, duplicate_id_detail

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from copytrace.stages.candidates import LshParams
    from copytrace.stages.normalize import TokenBatch
    from copytrace.stages.verify import VerifiedPairs

__all__ = ["SIDES", "is_index_db", "batches_with_side", "cross_exact_pairs", "lsh_pairs_across", "new_not_copied",
           "TokenSpool", "chunk_tokens", "masked_tokens", "merge_token_batches"]

SIDES = np.array(["new", "reference"])


def is_index_db(path: str | os.PathLike[str]) -> bool:
    """Whether a path is a DuckDB file (a copytrace index)."""
    name = os.fsdecode(path)
    if not os.path.isfile(name):
        return False
    try:
        with open(name, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head[8:12] == b"DUCK"


def _index_batches(path: str, options: ReadOptions, stats: ReadStats, seen: set[str]) -> Iterator[list[Document]]:
    import duckdb

    from copytrace.duckdb_util import connect
    from copytrace.errors import InputError

    try:
        con = connect(path, read_only=True)  # extensions never installed or loaded
    except duckdb.Error as e:
        raise InputError(path, f"cannot open the index: {e}") from None
    try:
        try:
            res = con.execute("SELECT id, text, source, date, seq FROM documents ORDER BY seq")
        except duckdb.Error:
            raise InputError(path, "is a DuckDB file but not a copytrace index (no documents table)") from None
        stats.files += 1
        while True:
            rows = res.fetchmany(options.batch_docs)
            if not rows:
                break
            batch = []
            for doc_id, text, source, date, seq in rows:
                if doc_id in seen:
                    stats.skip("duplicate_id", skip_message(f"{path}:{seq}", "duplicate_id", duplicate_id_detail(doc_id)))
                    continue
                seen.add(doc_id)
                batch.append(Document(doc_id, text, source, date, f"{path}:{seq}"))
            if batch:
                stats.documents += len(batch)
                stats.chars += sum(len(d.text) for d in batch)
                yield batch
    finally:
        con.close()


def batches_with_side(inputs: Sequence[str | os.PathLike[str]], against: Sequence[str | os.PathLike[str]],
                      options: ReadOptions, stats: ReadStats) -> Iterator[tuple[list[Document], int]]:
    """(batch, side) of the inputs (side 0) then of the reference (side 1)."""
    seen: set[str] = set()
    files = [a for a in against if not is_index_db(a)]
    dbs = [os.fsdecode(a) for a in against if is_index_db(a)]
    if files:
        # plan (check) the reference before anything is read
        from copytrace.stages.read import plan_files

        plan_files(files, options)
    for batch in iter_batches(inputs, options, stats, seen=seen):
        yield batch, 0
    if files:
        for batch in iter_batches(files, options, stats, seen=seen):
            yield batch, 1
    for db in dbs:
        for batch in _index_batches(db, options, stats, seen):
            yield batch, 1


def cross_exact_pairs(exact: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Exact-duplicate pairs across sides (see the module docstring); ``exact``:
    ``(head, duplicate)`` rows as ``candidates.exact_groups`` gives them
    (head: the group's smallest index).  Rows come back as ``(smaller, larger)``,
    sorted and unique."""
    if exact.shape[0] == 0:
        return exact
    heads = np.unique(exact[:, 0])
    docs = np.concatenate([exact[:, 1], heads])
    gi = np.searchsorted(heads, np.concatenate([exact[:, 0], heads]))
    sd = side[docs]
    big = np.iinfo(np.int64).max
    first = {}
    for k in (0, 1):
        f = np.full(heads.shape[0], big, dtype=np.int64)
        sel = sd == k
        np.minimum.at(f, gi[sel], docs[sel])
        first[k] = f
    f_new, f_ref = first[0][gi], first[1][gi]
    sel_new = (sd == 0) & (f_ref != big)  # every new document → the group's first reference one
    sel_ref = (sd == 1) & (docs != f_ref) & (f_new != big)  # other reference ones → the first new one
    a = np.concatenate([docs[sel_new], docs[sel_ref]])
    b = np.concatenate([f_ref[sel_new], f_new[sel_ref]])
    pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1).astype(np.int64)
    if pairs.shape[0] == 0:
        return pairs
    return np.unique(pairs, axis=0)


def lsh_pairs_across(signatures: np.ndarray, params: "LshParams", active: np.ndarray, side: np.ndarray,
                     max_bucket: int) -> np.ndarray:
    """``candidates.lsh_pairs``' pairs across the sides, made from the band
    buckets holding a new document only (see the module docstring)."""
    from copytrace.stages import candidates as cand

    docs = np.flatnonzero(active).astype(np.int64)
    if docs.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    keys = cand.band_keys(signatures[docs], params)
    d_side = side[docs]
    found = []
    for bnd in range(params.bands):
        sel = cand.in_buckets_with(keys[bnd], d_side == 0)
        p = cand.pairs_from_keys(keys[bnd][sel], docs[sel], max_bucket)
        found.append(p[side[p[:, 0]] != side[p[:, 1]]])
    return cand.merge_pairs(*found)


def new_not_copied(n: int, side: np.ndarray, a: np.ndarray, b: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Sorted positions of the new documents that copy no reference document;
    ``exact``: all exact-duplicate ``(head, duplicate)`` pairs, unfiltered."""
    copied = np.zeros(n, dtype=bool)
    copied[a] = True
    copied[b] = True
    if exact.shape[0]:
        group = np.arange(n, dtype=np.int64)
        group[exact[:, 1]] = exact[:, 0]
        g_copied = np.zeros(n, dtype=bool)
        np.logical_or.at(g_copied, group, copied)
        copied |= g_copied[group]
    return np.flatnonzero((side == 0) & ~copied).astype(np.int64)


def mark_sides(documents: "pa.Table", side: np.ndarray | None, verified: "VerifiedPairs",
               exact_all: np.ndarray) -> "tuple[pa.Table, np.ndarray | None]":
    """With a reference: documents.parquet gets its ``set`` column, and the
    positions for deduplicated.jsonl (``new_not_copied``); else unchanged, None."""
    if side is None:
        return documents, None
    import pyarrow as pa

    documents = documents.append_column("set", pa.array(SIDES[side], pa.string()))
    return documents, new_not_copied(documents.num_rows, side, verified.a, verified.b, exact_all)


class TokenSpool:
    """The tokens of every document as the read stage made them (hashes, start
    and end offsets), by store row, in three flat files of the work directory,
    memory-mapped once sealed: with ``--against``, verification takes the
    tokens of the documents it meets from here instead of re-reading and
    re-tokenizing their texts (a cross candidate set touches most of the
    reference).  16 bytes a token on disk, nothing in memory but the offsets."""

    _FIELDS = (("hashes", np.uint64), ("starts", np.int32), ("ends", np.int32))

    def __init__(self, directory: "os.PathLike[str] | str") -> None:
        self._dir = os.fspath(directory)
        self._files = {f: open(os.path.join(self._dir, f"tokens.{f}"), "wb") for f, _ in self._FIELDS}
        self._counts: list[np.ndarray] = []
        self._arrays: dict[str, np.ndarray] = {}
        self.offsets = np.zeros(1, dtype=np.int64)

    def append(self, toks: "TokenBatch") -> None:
        """The tokens of the next documents (store rows in order)."""
        for f, dt in self._FIELDS:
            np.ascontiguousarray(getattr(toks, f), dtype=dt).tofile(self._files[f])
        self._counts.append(np.diff(toks.doc_offsets))

    def seal(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files = {}
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, dtype=np.int64)
        self.offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=self.offsets[1:])
        total = int(self.offsets[-1])
        for f, dt in self._FIELDS:
            path = os.path.join(self._dir, f"tokens.{f}")
            self._arrays[f] = (np.memmap(path, dtype=dt, mode="r", shape=(total,)) if total
                               else np.zeros(0, dtype=dt))

    def gather(self, rows: np.ndarray) -> "TokenBatch":
        """The tokens of store rows ``rows``, as one TokenBatch in that order."""
        from copytrace.stages.normalize import TokenBatch

        rows = np.asarray(rows, dtype=np.int64)
        a = self._arrays
        if not rows.shape[0] or not a or not a["hashes"].shape[0]:
            n = self.offsets[rows + 1] - self.offsets[rows]
            assert not n.any()
            z32 = np.zeros(0, dtype=np.int32)
            return TokenBatch(z32, z32.copy(), np.zeros(0, dtype=np.uint64), np.zeros(rows.shape[0] + 1, dtype=np.int64))
        # np.asarray: the memory maps' buffers as plain arrays (no copy) for the compiled copy
        starts, ends, hashes, doc_offsets = _gather_kernel(
            np.asarray(a["starts"]), np.asarray(a["ends"]), np.asarray(a["hashes"]), self.offsets, rows)
        return TokenBatch(starts, ends, hashes, doc_offsets)

    def close(self) -> None:
        """Closes and removes the files (a user's work directory keeps none)."""
        for fh in self._files.values():
            fh.close()
        self._files = {}
        self._arrays = {}
        for f, _ in self._FIELDS:
            try:
                os.remove(os.path.join(self._dir, f"tokens.{f}"))
            except OSError:
                pass


@njit(cache=True, nogil=True)
def _gather_kernel(starts, ends, hashes, offsets, rows):  # pragma: no cover - compiled
    n_docs = rows.shape[0]
    doc_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    for i in range(n_docs):
        doc_offsets[i + 1] = doc_offsets[i] + offsets[rows[i] + 1] - offsets[rows[i]]
    total = doc_offsets[n_docs]
    o_starts = np.empty(total, dtype=starts.dtype)
    o_ends = np.empty(total, dtype=ends.dtype)
    o_hashes = np.empty(total, dtype=hashes.dtype)
    for i in range(n_docs):
        lo = offsets[rows[i]]
        k = doc_offsets[i]
        for t in range(doc_offsets[i + 1] - k):
            o_starts[k + t] = starts[lo + t]
            o_ends[k + t] = ends[lo + t]
            o_hashes[k + t] = hashes[lo + t]
    return o_starts, o_ends, o_hashes, doc_offsets


def merge_token_batches(first: "TokenBatch", second: "TokenBatch", in_second: np.ndarray) -> "TokenBatch":
    """One TokenBatch of ``len(first) + len(second)`` documents: document ``i``
    is the next of ``second`` where ``in_second[i]``, else the next of ``first``."""
    from copytrace.stages.normalize import TokenBatch

    in_second = np.asarray(in_second, dtype=bool)
    n = np.empty(in_second.shape[0], dtype=np.int64)
    n[~in_second] = np.diff(first.doc_offsets)
    n[in_second] = np.diff(second.doc_offsets)
    doc_offsets = np.zeros(n.shape[0] + 1, dtype=np.int64)
    np.cumsum(n, out=doc_offsets[1:])
    total = int(doc_offsets[-1])
    starts = np.empty(total, dtype=np.int32)
    ends = np.empty(total, dtype=np.int32)
    hashes = np.empty(total, dtype=np.uint64)
    for part, sel in ((first, ~in_second), (second, in_second)):
        k = n[sel]
        dest = np.arange(int(k.sum()), dtype=np.int64) + np.repeat(doc_offsets[:-1][sel] - part.doc_offsets[:-1], k)
        starts[dest] = part.starts
        ends[dest] = part.ends
        hashes[dest] = part.hashes
    return TokenBatch(starts, ends, hashes, doc_offsets)


@njit(cache=True, nogil=True)
def _masked_tokens_kernel(starts, ends, hashes, doc_offsets, m_ptr, m_start, m_end):  # pragma: no cover - compiled
    total = starts.shape[0]
    n_docs = doc_offsets.shape[0] - 1
    o_starts = np.empty(total, dtype=starts.dtype)
    o_ends = np.empty(total, dtype=ends.dtype)
    o_hashes = np.empty(total, dtype=hashes.dtype)
    counts = np.zeros(n_docs, dtype=np.int64)
    partial = np.zeros(n_docs, dtype=np.bool_)
    k = 0
    for d in range(n_docs):
        t0 = doc_offsets[d]
        t1 = doc_offsets[d + 1]
        k0 = k
        if m_ptr[d] == m_ptr[d + 1] or t0 == t1:
            for t in range(t0, t1):
                o_starts[k] = starts[t]
                o_ends[k] = ends[t]
                o_hashes[k] = hashes[t]
                k += 1
            counts[d] = k - k0
            continue
        length = ends[t1 - 1]  # tokens in text order: the last one ends last
        pre = np.zeros(length + 1, dtype=np.int64)
        for j in range(m_ptr[d], m_ptr[d + 1]):
            a = max(0, m_start[j])
            b = min(length, m_end[j])
            for i in range(a, b):
                pre[i + 1] = 1
        for i in range(length):
            pre[i + 1] += pre[i]
        for t in range(t0, t1):
            c = pre[ends[t]] - pre[starts[t]]
            if c == 0:
                o_starts[k] = starts[t]
                o_ends[k] = ends[t]
                o_hashes[k] = hashes[t]
                k += 1
            elif c != ends[t] - starts[t]:
                partial[d] = True
                break
        if partial[d]:
            k = k0
        counts[d] = k - k0
    return o_starts[:k], o_ends[:k], o_hashes[:k], counts, partial


def masked_tokens(toks: "TokenBatch", mask: tuple[np.ndarray, np.ndarray, np.ndarray]) -> "tuple[TokenBatch, np.ndarray]":
    """The tokens of the texts of ``toks`` with ``mask``'s spans masked (every
    character but newlines a space, as ``tokenize_batch(texts, mask)`` does),
    from the tokens alone: a token with no character in a span is kept as it
    is (its characters are unchanged, and masking only turns characters into
    separators, so it starts and ends where it did, with the same hash), one
    with every character in spans is gone, and no token is made (a masked
    character is a separator).  A token partly in a span would be cut, with
    another hash: its document is returned as ``partial`` (tokenize its text
    again) and left out of the batch, which holds the other documents in order."""
    from copytrace.stages.normalize import TokenBatch

    n_docs = len(toks)
    pos = np.asarray(mask[0], dtype=np.int64)
    o = np.argsort(pos, kind="stable")
    m_ptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(pos, minlength=n_docs), out=m_ptr[1:])
    starts, ends, hashes, counts, partial = _masked_tokens_kernel(
        toks.starts, toks.ends, toks.hashes, toks.doc_offsets, m_ptr,
        np.asarray(mask[1], dtype=np.int64)[o], np.asarray(mask[2], dtype=np.int64)[o])
    counts = counts[~partial]
    doc_offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=doc_offsets[1:])
    return TokenBatch(starts, ends, hashes, doc_offsets), partial


def chunk_tokens(docs: np.ndarray, rows: np.ndarray, spool: TokenSpool,
                 mask: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
                 texts_of: "Callable[[np.ndarray], list[str]]") -> "TokenBatch":
    """The tokens verification needs for documents ``docs`` (store rows
    ``rows``), boilerplate masked (``mask`` as ``boilerplate.mask_spans`` gives
    it, positions into ``docs``): the read stage's tokens of the same texts
    from the spool, masked by :func:`masked_tokens`; the few documents where a
    span cuts a token are tokenized again from their texts with their spans
    masked — the same tokens ``tokenize_batch(texts, mask)`` gives for all."""
    from copytrace.stages.normalize import tokenize_batch

    plain = spool.gather(rows)
    if mask is None or not mask[0].shape[0]:
        return plain
    plain, partial = masked_tokens(plain, mask)
    if not partial.any():
        return plain
    m_pos = np.flatnonzero(partial)
    remap = np.full(docs.shape[0], -1, dtype=np.int64)
    remap[m_pos] = np.arange(m_pos.shape[0], dtype=np.int64)
    pos = np.asarray(mask[0], dtype=np.int64)
    sel = partial[pos]
    again = tokenize_batch(texts_of(rows[m_pos]),
                           (remap[pos[sel]], np.asarray(mask[1])[sel], np.asarray(mask[2])[sel]))
    return merge_token_batches(plain, again, partial)
