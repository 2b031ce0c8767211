"""Stage 4 — candidates: fingerprints → pairs of documents worth verifying.

Data contract
-------------
Documents are referred to by their *index* (int64, 0..n-1, in the order the
engine assigned; the engine sorts by doc id, so a smaller index means a
smaller id).  Every function here returns candidate pairs as an int64 array of
shape (k, 2) with ``pairs[:, 0] < pairs[:, 1]``, unique and sorted — a
deterministic function of the fingerprints alone.

Three sources of candidates:

* **exact duplicates** (``exact_groups``): equal 128-bit content hashes.  Each
  group keeps its first document as the *head*; the others are paired with
  the head and stay out of LSH (so a thousand identical copies cost a
  thousand pairs, not half a million).
* **MinHash LSH** (``lsh_pairs``): signatures cut into ``bands`` bands of
  ``rows`` rows; documents sharing a band bucket are candidates.  ``bands`` and
  ``rows`` come from the threshold by minimising the weighted false-positive
  and false-negative areas under the S-curve (as datasketch does).  Buckets
  larger than ``max_bucket`` link their members to the bucket's first member
  only (a star), bounding the work on pathological buckets.
* **containment** (``containment_candidates``): a consistent 1-in-``rate`` sample
  of each document's shingles plus its distinct content words (the word
  channel, ``fingerprint.word_sample``); documents sharing at least
  ``min_shared`` sampled items, and ``candidate_fraction(threshold)`` of the
  smaller one's sample, are candidates.  This finds a short copy inside a
  long document, which Jaccard-based LSH misses, and a reworded copy, whose
  n-grams break but whose rare words (names, figures, content words) stay.
  Items found in more than ``max_df`` documents are ignored here (boilerplate
  and common words, not evidence of copying).  Its **passage channel**
  (``--reuse-min-shingles``) also keeps pairs sharing a few sampled
  *shingles* (words do not count), however small a share of either: a reused
  passage, the evidence of reuse clusters.  Those pairs are marked
  ``passage_only`` (no other source proposed them): the rule aligns them only
  when they really share ``--reuse-min-shingles`` shingles
  (``rule.worth_aligning``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copytrace.kernels import njit, prange

from copytrace.stages.normalize import mix64

__all__ = [
    "LshParams",
    "optimal_params",
    "lsh_params",
    "MIN_SHARED",
    "band_keys",
    "exact_groups",
    "lsh_pairs",
    "containment_pairs",
    "containment_candidates",
    "passage_samples",
    "pairs_in",
    "containment_passes",
    "candidate_fraction",
    "CANDIDATE_DIVISOR",
    "merge_pairs",
    "in_buckets_with",
]


# sampled shingles two documents must share at least to be containment candidates (1 when the
# smaller sample has fewer than 2 * MIN_SHARED): one shared sample is chance in a long document
MIN_SHARED = 2


@dataclass(frozen=True)
class LshParams:
    bands: int
    rows: int


def optimal_params(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
) -> LshParams:
    """Bands and rows minimising ``fp_w * FP_area + fn_w * FN_area``.

    FP area: integral over s in [0, t] of P(candidate | s) = 1 - (1 - s^r)^b;
    FN area: integral over s in [t, 1] of 1 - P(candidate | s).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    grid_lo = np.linspace(0.0, threshold, 257)
    grid_hi = np.linspace(threshold, 1.0, 257)
    best: tuple[float, int, int] | None = None
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p_lo = 1.0 - (1.0 - grid_lo**r) ** b
            p_hi = 1.0 - (1.0 - grid_hi**r) ** b
            fp = float(np.trapezoid(p_lo, grid_lo))
            fn = float(np.trapezoid(1.0 - p_hi, grid_hi))
            err = fp * false_positive_weight + fn * false_negative_weight
            if best is None or err < best[0] - 1e-15:
                best = (err, b, r)
    assert best is not None
    return LshParams(bands=best[1], rows=best[2])


def lsh_params(threshold: float, num_perm: int, bands: int | None = None, rows: int | None = None) -> LshParams:
    """The LSH parameters of a run: ``bands`` × ``rows`` when both are given
    (``--bands``/``--rows``), else :func:`optimal_params` at ``threshold``."""
    if bands is not None and rows is not None:
        return LshParams(bands, rows)
    return optimal_params(threshold, num_perm)


@njit(cache=True, nogil=True, parallel=True)
def _band_keys_kernel(sigs, bands, rows):
    n = sigs.shape[0]
    keys = np.empty((bands, n), dtype=np.uint64)
    for d in prange(n):
        for bnd in range(bands):
            h = np.uint64(0x9E3779B97F4A7C15) * np.uint64(bnd + 1)
            for j in range(bnd * rows, (bnd + 1) * rows):
                h = mix64(h ^ np.uint64(sigs[d, j]))
            keys[bnd, d] = h
    return keys


def band_keys(signatures: np.ndarray, params: LshParams) -> np.ndarray:
    """Bucket key of every (band, document): uint64 array (bands, n)."""
    if params.bands * params.rows > signatures.shape[1]:
        raise ValueError("bands * rows exceeds the signature length")
    return _band_keys_kernel(np.ascontiguousarray(signatures), params.bands, params.rows)


@njit(cache=True, nogil=True, tables=("out_a", "out_b"))  # output buffers: their size is not work
def _group_pairs(order, sorted_keys, max_bucket, out_a, out_b, k):
    """Append pairs of documents sharing a key; returns the new count."""
    n = order.shape[0]
    i = 0
    while i < n:
        j = i + 1
        while j < n and sorted_keys[j] == sorted_keys[i]:
            j += 1
        size = j - i
        if size >= 2:
            if size <= max_bucket:
                for x in range(i, j):
                    for y in range(x + 1, j):
                        if k >= out_a.shape[0]:
                            return -1
                        out_a[k] = order[x]
                        out_b[k] = order[y]
                        k += 1
            else:
                for y in range(i + 1, j):
                    if k >= out_a.shape[0]:
                        return -1
                    out_a[k] = order[i]
                    out_b[k] = order[y]
                    k += 1
        i = j
    return k


def pairs_from_keys(keys: np.ndarray, docs: np.ndarray, max_bucket: int) -> np.ndarray:
    """Pairs of ``docs`` (indices) that share a key; ``keys`` parallel to ``docs``."""
    if docs.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    order = np.lexsort((docs, keys))
    sorted_keys = keys[order]
    sorted_docs = docs[order]
    cap = max(1024, 4 * docs.shape[0])
    while True:
        out_a = np.empty(cap, dtype=np.int64)
        out_b = np.empty(cap, dtype=np.int64)
        k = _group_pairs(sorted_docs, sorted_keys, max_bucket, out_a, out_b, 0)
        if k >= 0:
            break
        cap *= 4
    a = out_a[:k]
    b = out_b[:k]
    return np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)


def in_buckets_with(keys: np.ndarray, marked: np.ndarray, max_size: int | None = None) -> np.ndarray:
    """Bool mask over ``keys``: the items whose key (bucket) is also the key of a
    ``marked`` item (``marked`` parallel to ``keys``) and, with ``max_size``,
    that at most ``max_size`` items share.  Whole buckets are kept, so every
    bucket kept has the members, size and pairs it had.  One pass over a hash
    table of the marked keys: the work grows with the items, not their sort."""
    if keys.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    limit = keys.shape[0] if max_size is None else max_size
    return _in_buckets_kernel(np.ascontiguousarray(keys, dtype=np.uint64), np.ascontiguousarray(marked, dtype=np.bool_),
                              limit)


@njit(cache=True, nogil=True)
def _in_buckets_kernel(keys, marked, max_size):
    n = keys.shape[0]
    m = 0
    for i in range(n):
        if marked[i]:
            m += 1
    size = 1
    while size < 2 * m + 2:
        size *= 2
    mask = np.uint64(size - 1)
    mult = np.uint64(0x9E3779B97F4A7C15)
    table = np.zeros(size, dtype=np.uint64)
    used = np.zeros(size, dtype=np.bool_)
    count = np.zeros(size, dtype=np.int64)
    for i in range(n):  # the marked keys
        if marked[i]:
            k = keys[i]
            j = ((k * mult) >> np.uint64(20)) & mask
            while used[j] and table[j] != k:
                j = (j + np.uint64(1)) & mask
            used[j] = True
            table[j] = k
    slot = np.full(n, -1, dtype=np.int64)
    for i in range(n):  # every item of a marked key, counted
        k = keys[i]
        j = ((k * mult) >> np.uint64(20)) & mask
        while used[j]:
            if table[j] == k:
                count[j] += 1
                slot[i] = j
                break
            j = (j + np.uint64(1)) & mask
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if slot[i] >= 0 and count[slot[i]] <= max_size:
            out[i] = True
    return out


def merge_pairs(*pair_arrays: np.ndarray) -> np.ndarray:
    """Union of pair arrays: unique, ``a < b``, sorted by (a, b)."""
    arrays = [p for p in pair_arrays if p.shape[0]]
    if not arrays:
        return np.zeros((0, 2), dtype=np.int64)
    allp = np.concatenate(arrays)
    allp = allp[allp[:, 0] != allp[:, 1]]
    lo = np.minimum(allp[:, 0], allp[:, 1])
    hi = np.maximum(allp[:, 0], allp[:, 1])
    code = np.unique(_codes(lo, hi))
    return np.stack(
        [(code >> np.uint64(32)).astype(np.int64), (code & np.uint64(0xFFFFFFFF)).astype(np.int64)],
        axis=1,
    )


def _codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pair codes ``(a << 32) | b``, as the bucket kernels make them."""
    return (a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64)


def pairs_in(pairs: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Which rows of ``pairs`` (k, 2) are also rows of ``among`` (m, 2) (both ``a < b``)."""
    if pairs.shape[0] == 0 or among.shape[0] == 0:
        return np.zeros(pairs.shape[0], dtype=bool)
    return np.isin(_codes(pairs[:, 0], pairs[:, 1]), _codes(among[:, 0], among[:, 1]))


def exact_groups(content_hash: np.ndarray, nonempty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact duplicates by content hash.

    Returns ``(pairs, is_head)``: pairs (head, duplicate) for every duplicate,
    and a boolean mask of documents that head their group (or are unique);
    only heads take part in LSH.  Empty documents are never grouped.
    """
    n = content_hash.shape[0]
    is_head = nonempty.copy()
    idx = np.flatnonzero(nonempty)
    if idx.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64), is_head
    h = content_hash[idx]
    order = np.lexsort((idx, h[:, 1], h[:, 0]))
    hs = h[order]
    ids = idx[order]
    new_group = np.ones(ids.shape[0], dtype=bool)
    new_group[1:] = (hs[1:, 0] != hs[:-1, 0]) | (hs[1:, 1] != hs[:-1, 1])
    group_id = np.cumsum(new_group) - 1
    head_of_group = ids[new_group]
    heads = head_of_group[group_id]
    dup = ~new_group
    pairs = np.stack([heads[dup], ids[dup]], axis=1).astype(np.int64)
    is_head[ids[dup]] = False
    del n
    return merge_pairs(pairs), is_head


def lsh_pairs(
    signatures: np.ndarray, params: LshParams, active: np.ndarray, max_bucket: int = 64
) -> np.ndarray:
    """Candidate pairs among ``active`` documents from MinHash LSH banding."""
    docs = np.flatnonzero(active).astype(np.int64)
    if docs.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    keys = band_keys(signatures[docs], params)
    found = [pairs_from_keys(keys[bnd], docs, max_bucket) for bnd in range(params.bands)]
    return merge_pairs(*found)


def containment_pairs(
    sample_hashes: np.ndarray,
    sample_docs: np.ndarray,
    n_docs: int,
    active: np.ndarray,
    threshold: float,
    min_shared: int = MIN_SHARED,
    max_df: int = 64,
    passage_samples: int = 0,
    sample_is_word: np.ndarray | None = None,
    sides: np.ndarray | None = None,
) -> np.ndarray:
    """The pairs of :func:`containment_candidates` (without which channel found them)."""
    return containment_candidates(sample_hashes, sample_docs, n_docs, active, threshold, min_shared, max_df,
                                  passage_samples, sample_is_word, sides)[0]


def containment_candidates(
    sample_hashes: np.ndarray,
    sample_docs: np.ndarray,
    n_docs: int,
    active: np.ndarray,
    threshold: float,
    min_shared: int = MIN_SHARED,
    max_df: int = 64,
    passage_samples: int = 0,
    sample_is_word: np.ndarray | None = None,
    sides: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs that share a good part of the smaller one's sample, or a passage.

    ``sample_hashes``/``sample_docs``: the containment sample (see
    ``fingerprint.fingerprint_batch``: sampled distinct shingles and the word
    channel) with global document indices; ``sample_is_word`` marks the word
    channel's items (None: all are shingles).  A pair is kept when it shares
    ``>= min_shared`` sampled items (1 when the smaller document has fewer than
    ``2 * min_shared``) and at least ``candidate_fraction(threshold)`` of the
    smaller sample — a loose filter; verification and the rule
    (``stages.rule``) judge the pair.  ``passage_samples`` > 0 (the passage
    channel, :func:`passage_samples`): pairs sharing that many sampled
    *shingles* are kept too, however small a share of either (a reused
    passage).  Words do not count there: on OCR'd pages two unrelated pages
    share a few rare words far more often than a passage (chronam: 1.6 M of
    the 3 M page pairs share two sampled items, 113 k one sampled shingle).
    ``sides`` (``--against``: 0 new, 1 reference, per document): only pairs
    across the sides are made, from the buckets holding a new document — the
    pairs across found without it.

    Returns ``(pairs, passage_only)``: the pairs (sorted by (a, b)), and which
    of them only the passage channel kept (``rule.worth_aligning`` aligns those
    only when they really share a passage).
    """
    empty = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=bool)
    keep = active[sample_docs]
    hashes = sample_hashes[keep]
    docs = sample_docs[keep]
    words = np.zeros(hashes.shape[0], dtype=bool) if sample_is_word is None else sample_is_word[keep]
    if docs.shape[0] < 2:
        return empty
    per_doc = np.bincount(docs, minlength=n_docs)
    if sides is not None:  # the buckets of a new document, as small as the filter below keeps
        sel = in_buckets_with(hashes, sides[docs] == 0, max_df)
        hashes, docs, words = hashes[sel], docs[sel], words[sel]
    # one sort by (item, document); then drop the items too common to be evidence of
    # copying (their runs longer than max_df): what is left stays sorted
    order = np.lexsort((docs, hashes))
    sorted_keys = hashes[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.append(starts, sorted_keys.shape[0])).astype(np.int64)
    rare = sizes <= max_df
    if not rare.all():
        order = order[np.repeat(rare, sizes)]
        sizes = sizes[rare]
        starts = np.zeros(sizes.shape[0], dtype=np.int64)
        if sizes.shape[0] > 1:
            np.cumsum(sizes[:-1], out=starts[1:])
    if order.shape[0] < 2:
        return empty
    sorted_docs = docs[order].astype(np.int64)
    # buckets hold at most max_df documents here: all their pairs count.  The
    # pairs are made and counted a range of first documents at a time, so
    # memory stays bounded however many pairs the buckets hold.
    # a bucket of the shingles (no word of the word channel in it): the passage channel's
    shingle_bucket = ~np.logical_or.reduceat(words[order], starts) if starts.shape[0] else np.zeros(0, dtype=bool)
    sh_starts, sh_sizes = starts[shingle_bucket], sizes[shingle_bucket]
    total = int((sizes * (sizes - 1) // 2).sum())
    n_chunks = max(1, -(-total // CONTAINMENT_PAIRS_PER_CHUNK))
    bounds = np.linspace(0, n_docs, n_chunks + 1).astype(np.int64)
    # no sides: every pair of a bucket; with: the pairs across the sides only
    doc_side = np.zeros(0, np.int8) if sides is None else np.ascontiguousarray(sides, dtype=np.int8)
    out, only = [], []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if hi <= lo:
            continue
        code = _bucket_pair_codes(sorted_docs, starts, sizes, lo, hi, doc_side)
        if code.shape[0] == 0:
            continue
        code, shared = np.unique(code, return_counts=True)
        a = (code >> np.uint64(32)).astype(np.int64)
        b = (code & np.uint64(0xFFFFFFFF)).astype(np.int64)
        smaller = np.minimum(per_doc[a], per_doc[b])
        good = containment_passes(shared, smaller, threshold, min_shared)
        if passage_samples > 0:
            sh_code, sh_count = np.unique(_bucket_pair_codes(sorted_docs, sh_starts, sh_sizes, lo, hi, doc_side),
                                          return_counts=True)
            shared_sh = np.zeros(code.shape[0], dtype=np.int64)
            shared_sh[np.searchsorted(code, sh_code)] = sh_count  # every shingle pair is a pair
            passage = containment_passes(shared, smaller, threshold, min_shared, passage_samples, shared_sh) & ~good
        else:
            passage = np.zeros(code.shape[0], dtype=bool)
        sel = good | passage
        out.append(np.stack([a[sel], b[sel]], axis=1))
        only.append(passage[sel])
    if not out:
        return empty
    return np.concatenate(out), np.concatenate(only)


# the containment-sample filter asks for threshold / CANDIDATE_DIVISOR of the smaller sample:
# reworded copies keep few n-grams but most of their rare words (benchmarks/candidates.py)
CANDIDATE_DIVISOR = 5.0


def candidate_fraction(threshold: float) -> float:
    """Share of the smaller sample two documents must share to be a candidate
    (``threshold / CANDIDATE_DIVISOR``: 0.1 at the default threshold 0.5)."""
    return threshold / CANDIDATE_DIVISOR


def containment_passes(
    shared: np.ndarray, smaller: np.ndarray, threshold: float, min_shared: int, passage_samples: int = 0,
    shared_shingles: np.ndarray | None = None,
) -> np.ndarray:
    """The containment-sample filter: pairs sharing ``shared`` sampled shingles and words, the
    smaller sample of the two holding ``smaller``, are candidates when they share ``min_shared``
    (1 when the smaller sample has fewer than ``2 * min_shared``) and
    ``candidate_fraction(threshold)`` of it — or, with ``passage_samples`` > 0, when
    ``shared_shingles`` (the sampled shingles among the shared items) is at least that (a shared
    passage)."""
    need = np.where(smaller < 2 * min_shared, 1, min_shared)
    ok = (shared >= need) & (shared >= np.ceil(candidate_fraction(threshold) * np.asarray(smaller, np.float64)))
    if passage_samples > 0:
        if shared_shingles is None:
            raise ValueError("passage_samples needs shared_shingles: the passage channel counts shingles only")
        ok |= np.asarray(shared_shingles) >= passage_samples
    return ok


def passage_samples(reuse_min_shingles: int, sample_rate: int) -> int:
    """Sampled shingles two documents must share to be candidates for sharing a
    passage of ``reuse_min_shingles`` shingles (0: off): half the expected
    count in a 1-in-``sample_rate`` sample, rounded down — rewording and OCR
    noise thin it — and at least 1 (1 at the defaults, 25 and 8: a passage of
    25 shared shingles has none sampled 3.6 % of the time, fewer than 2 16 %;
    on chronam, 1 finds 98.6 % of the page pairs sharing 25 shingles, 2 94.3 %;
    verification then keeps those really sharing ``reuse_min_shingles``)."""
    if reuse_min_shingles <= 0:
        return 0
    return max(1, reuse_min_shingles // (2 * sample_rate))


CONTAINMENT_PAIRS_PER_CHUNK = 16_000_000  # pair codes (8 bytes each) made at once


@njit(cache=True, nogil=True)
def _bucket_pair_codes(sorted_docs, starts, sizes, lo, hi, sides):
    """Codes ``(a << 32) | b`` of all pairs a < b within each bucket whose
    first document ``a`` lies in ``[lo, hi)`` (documents sorted in buckets);
    with ``sides`` (per document, ``--against``; empty: none) only the pairs
    whose documents lie on different sides, without making the others."""
    cross = sides.shape[0] > 0
    count = 0
    for g in range(starts.shape[0]):
        s = starts[g]
        m = sizes[g]
        for x in range(m - 1):
            a = sorted_docs[s + x]
            if lo <= a < hi:
                if not cross:
                    count += m - 1 - x
                else:
                    for y in range(x + 1, m):
                        if sides[sorted_docs[s + y]] != sides[a]:
                            count += 1
    out = np.empty(count, dtype=np.uint64)
    k = 0
    for g in range(starts.shape[0]):
        s = starts[g]
        m = sizes[g]
        for x in range(m - 1):
            a = sorted_docs[s + x]
            if lo <= a < hi:
                for y in range(x + 1, m):
                    b = sorted_docs[s + y]
                    if not cross or sides[b] != sides[a]:
                        out[k] = (np.uint64(a) << np.uint64(32)) | np.uint64(b)
                        k += 1
    return out
