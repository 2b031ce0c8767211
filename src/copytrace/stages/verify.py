"""Stage 5 — verify: candidate pairs → exact shingle measures.

Data contract
-------------
``score_pairs(pairs, values, starts, sizes) -> VerifiedPairs`` (every pair,
scored) and ``verify_pairs(pairs, values, starts, sizes, threshold, ngram)``
(those passing the rule's shingle floor) where the arrays give each
document's sorted distinct shingles (``fingerprint.shingle_sets_batch``
layout: ``values``, ``starts``, ``sizes``, indexed by document index).
Whether a pair is a copy is decided by ``stages.rule`` (on these measures and
the aligned passages), not here.

For each pair (a, b):

* ``jaccard`` = |A ∩ B| / |A ∪ B| over distinct word n-gram shingles;
* ``containment_a_in_b`` = |A ∩ B| / |A| (how much of A is found in B), and
  ``containment_b_in_a`` likewise;
* ``shared`` = |A ∩ B|; a containment is evidence only when the shared
  shingles can span at least ``MIN_CONTAINED_WORDS`` (5) words
  (``min_contained(ngram)``: 1 shingle of 5-grams, 3 of 3-grams) — a short
  copy inside a long document is a copy, but one shared 3-gram (what is left
  of a tiny text once its boilerplate is masked: a site name, a table row) is
  not evidence of copying (``rule.floor``).

The measures are *exact* over the shingle sets (the MinHash estimate only
chooses the candidates), so verification never lets LSH noise through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copytrace.kernels import njit, prange

MIN_CONTAINED_WORDS = 5


def min_contained(ngram: int) -> int:
    """Shared shingles a containment needs: enough n-grams to span
    ``MIN_CONTAINED_WORDS`` words (1 for 5-grams, 3 for 3-grams)."""
    return max(1, MIN_CONTAINED_WORDS + 1 - ngram)


__all__ = ["MIN_CONTAINED_WORDS", "min_contained", "VerifiedPairs", "score_pairs", "verify_pairs", "set_stats"]


@dataclass(frozen=True)
class VerifiedPairs:
    a: np.ndarray  # int64 doc index, a < b
    b: np.ndarray  # int64
    jaccard: np.ndarray  # float64
    containment_a_in_b: np.ndarray  # float64
    containment_b_in_a: np.ndarray  # float64
    shared: np.ndarray | None = None  # int64 |A ∩ B| (None: not known, taken as enough)

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def shared_or_enough(self) -> np.ndarray:
        """``shared``, or (when unknown) a count that always satisfies ``min_contained``."""
        if self.shared is not None:
            return self.shared
        return np.full(len(self), MIN_CONTAINED_WORDS, dtype=np.int64)

    def take(self, mask: np.ndarray) -> "VerifiedPairs":
        return VerifiedPairs(
            self.a[mask],
            self.b[mask],
            self.jaccard[mask],
            self.containment_a_in_b[mask],
            self.containment_b_in_a[mask],
            None if self.shared is None else self.shared[mask],
        )

    @staticmethod
    def empty() -> "VerifiedPairs":
        z = np.zeros(0, dtype=np.int64)
        f = np.zeros(0, dtype=np.float64)
        return VerifiedPairs(z, z.copy(), f, f.copy(), f.copy())

    @staticmethod
    def concat(parts: list["VerifiedPairs"]) -> "VerifiedPairs":
        parts = [p for p in parts if len(p)]
        if not parts:
            return VerifiedPairs.empty()
        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])

        return VerifiedPairs(cat("a"), cat("b"), cat("jaccard"), cat("containment_a_in_b"), cat("containment_b_in_a"),
                             np.concatenate([p.shared_or_enough() for p in parts]))


@njit(cache=True, inline="always")
def _intersect_count(values, sa, na, sb, nb_):
    i = sa
    j = sb
    ea = sa + na
    eb = sb + nb_
    c = 0
    while i < ea and j < eb:
        x = values[i]
        y = values[j]
        if x == y:
            c += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return c


@njit(cache=True, nogil=True, parallel=True)
def pair_stats_kernel(values, starts, sizes, pair_a, pair_b):
    k = pair_a.shape[0]
    inter = np.zeros(k, dtype=np.int64)
    for t in prange(k):
        a = pair_a[t]
        b = pair_b[t]
        inter[t] = _intersect_count(values, starts[a], sizes[a], starts[b], sizes[b])
    return inter


def _measures(inter: np.ndarray, na: np.ndarray, nb_: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    union = na + nb_ - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union > 0, inter / union, 0.0)
        cab = np.where(na > 0, inter / na, 0.0)
        cba = np.where(nb_ > 0, inter / nb_, 0.0)
    return jac, cab, cba


def set_stats(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(jaccard, containment_a_in_b, containment_b_in_a) of two sorted
    distinct shingle arrays."""
    inter = float(np.intersect1d(a, b, assume_unique=True).shape[0])
    na, nb_ = float(a.shape[0]), float(b.shape[0])
    union = na + nb_ - inter
    return (
        inter / union if union else 0.0,
        inter / na if na else 0.0,
        inter / nb_ if nb_ else 0.0,
    )


def score_pairs(
    pairs: np.ndarray, values: np.ndarray, starts: np.ndarray, sizes: np.ndarray
) -> VerifiedPairs:
    """Exact measures of every candidate pair (none dropped); ``starts``/``sizes``
    are indexed by the document indices used in ``pairs``."""
    if pairs.shape[0] == 0:
        return VerifiedPairs.empty()
    pair_a = np.ascontiguousarray(pairs[:, 0])
    pair_b = np.ascontiguousarray(pairs[:, 1])
    inter = pair_stats_kernel(values, starts, sizes, pair_a, pair_b)
    jac, cab, cba = _measures(inter.astype(np.float64), sizes[pair_a].astype(np.float64), sizes[pair_b].astype(np.float64))
    return VerifiedPairs(pair_a, pair_b, jac, cab, cba, inter.astype(np.int64))


def verify_pairs(
    pairs: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    threshold: float,
    ngram: int = 5,
    min_passage: int = 0,
) -> VerifiedPairs:
    """Score candidate pairs exactly and keep those whose shingle evidence
    alone (``rule.floor``: containment either way with ``min_contained(ngram)``
    shared shingles, else Jaccard) reaches ``threshold`` — the rule without
    aligned evidence."""
    from copytrace.stages.rule import floor

    v = score_pairs(pairs, values, starts, sizes)
    if not len(v):
        return v
    evidence = floor(v.jaccard, v.containment_a_in_b, v.containment_b_in_a, v.shared_or_enough(), ngram)
    return v.take(evidence >= threshold - 1e-12)
