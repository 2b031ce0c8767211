"""Stage 6 — cluster: verified pairs → groups of copies.

Data contract
-------------
``cluster(n_docs, pair_a, pair_b, lengths) -> Clusters`` over document *indices*.
The engine numbers documents in doc-id order, so "smallest index" means
"smallest doc id":

* ``root`` (int64, per document): the smallest index in its connected
  component of the verified-pair graph (union-find with path halving,
  linking the larger root under the smaller — so the result does not depend
  on the order of the pairs);
* ``size`` (int64, per document): documents in its component (1 for a
  singleton);
* ``representative`` (int64, per document): the index of its component's
  representative — the longest document (in characters), ties broken by the
  smallest index.

The cluster id written to the outputs is the doc id of ``root``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copytrace.kernels import njit

__all__ = ["Clusters", "cluster", "clusters_from_roots", "connected_components"]


@dataclass(frozen=True)
class Clusters:
    root: np.ndarray  # int64
    size: np.ndarray  # int64
    representative: np.ndarray  # int64

    @property
    def n_clusters(self) -> int:
        """Components with two or more documents."""
        return int(np.count_nonzero((self.root == np.arange(self.root.shape[0])) & (self.size > 1)))


@njit(cache=True, nogil=True)
def find_root(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _union_find(n, pair_a, pair_b):
    parent = np.arange(n)
    for t in range(pair_a.shape[0]):
        ra = find_root(parent, pair_a[t])
        rb = find_root(parent, pair_b[t])
        if ra == rb:
            continue
        if ra < rb:
            parent[rb] = ra
        else:
            parent[ra] = rb
    for x in range(n):
        parent[x] = find_root(parent, x)
    return parent


def connected_components(n_docs: int, pair_a: np.ndarray, pair_b: np.ndarray) -> np.ndarray:
    """Smallest index of each document's component."""
    return _union_find(n_docs, pair_a.astype(np.int64), pair_b.astype(np.int64))


def cluster(n_docs: int, pair_a: np.ndarray, pair_b: np.ndarray, lengths: np.ndarray) -> Clusters:
    return clusters_from_roots(connected_components(n_docs, pair_a, pair_b), lengths)


def clusters_from_roots(root: np.ndarray, lengths: np.ndarray) -> Clusters:
    """Sizes and representatives from each document's component root (the
    smallest index of its component, however the components were found)."""
    root = np.asarray(root, dtype=np.int64)
    n_docs = int(root.shape[0])
    size = np.bincount(root, minlength=n_docs)[root].astype(np.int64)
    # representative: max length, then min index, within each root
    idx = np.arange(n_docs, dtype=np.int64)
    order = np.lexsort((idx, -lengths.astype(np.int64), root))
    first = np.ones(n_docs, dtype=bool)
    first[1:] = root[order][1:] != root[order][:-1]
    rep_of_root = np.empty(n_docs, dtype=np.int64)
    rep_of_root[root[order][first]] = order[first]
    return Clusters(root=root, size=size, representative=rep_of_root[root])
