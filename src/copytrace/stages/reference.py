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
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from copytrace.stages.read import Document, ReadOptions, ReadStats, iter_batches, skip_message, duplicate_id_detail

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from copytrace.stages.candidates import LshParams
    from copytrace.stages.verify import VerifiedPairs

__all__ = ["SIDES", "is_index_db", "batches_with_side", "cross_exact_pairs", "lsh_pairs_across", "new_not_copied"]

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
