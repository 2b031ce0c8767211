"""Clustering quality of a copytrace run against a known truth.

Usage::

    python benchmarks/quality.py TRUTH OUTDIR

``TRUTH`` is a JSONL file of ``{"id": ..., "cluster": ...}`` (as written by
``syndicate.py``); ``OUTDIR`` a copytrace output directory, of which
``documents.parquet`` (``doc_id``, ``cluster_id`` …) is read.  Documents of the
truth missing from the output count as singletons of the prediction;
documents of the output missing from the truth are ignored (and counted).

Measures, all from the contingency table ``n_ij`` (documents in true cluster
``i`` and predicted cluster ``j``; ``a_i`` and ``b_j`` its row and column
sums, ``n`` documents), never from the O(n²) list of pairs:

* adjusted Rand index (Hubert & Arabie 1985)::

      index    = sum_ij C(n_ij, 2)
      expected = sum_i C(a_i, 2) * sum_j C(b_j, 2) / C(n, 2)
      max      = (sum_i C(a_i, 2) + sum_j C(b_j, 2)) / 2
      ARI      = (index - expected) / (max - expected)

  (1.0 when the denominator is 0, which happens only when both clusterings
  are the same trivial one: all singletons, or one cluster);
* pairwise precision, recall and F1 over pairs of documents put in the same
  cluster: ``TP = sum_ij C(n_ij, 2)``, precision ``TP / sum_j C(b_j, 2)``,
  recall ``TP / sum_i C(a_i, 2)``.  With no predicted pair precision is 1.0,
  with no true pair recall is 1.0 (nothing to get wrong / to find).

The last line printed is exactly
``ari=0.XXXX precision=0.XXXX recall=0.XXXX f1=0.XXXX``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np

__all__ = [
    "contingency",
    "adjusted_rand_index",
    "pair_scores",
    "load_truth",
    "load_predictions",
    "evaluate",
    "main",
]


def _codes(labels: Sequence[Hashable] | np.ndarray) -> np.ndarray:
    """Labels → dense int codes (0..k-1)."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError("labels must be one-dimensional")
    if arr.dtype == object:  # mixed/odd labels: go through a dict
        index: dict[Hashable, int] = {}
        return np.fromiter((index.setdefault(x, len(index)) for x in arr), dtype=np.int64, count=arr.shape[0])
    return np.unique(arr, return_inverse=True)[1].astype(np.int64).reshape(-1)


def contingency(
    true_labels: Sequence[Hashable] | np.ndarray, pred_labels: Sequence[Hashable] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero cells ``n_ij`` of the contingency table, the true cluster
    sizes ``a_i`` and the predicted cluster sizes ``b_j`` (int64 arrays)."""
    t = _codes(true_labels)
    p = _codes(pred_labels)
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"label lists differ in length: {t.shape[0]} vs {p.shape[0]}")
    if t.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    n_pred = int(p.max()) + 1
    cells = np.unique(t * n_pred + p, return_counts=True)[1]
    return cells.astype(np.int64), np.bincount(t).astype(np.int64), np.bincount(p).astype(np.int64)


def _pairs(sizes: np.ndarray) -> int:
    """sum of C(size, 2), exact (Python int)."""
    s = sizes.astype(np.int64)
    return int((s * (s - 1) // 2).sum())


def adjusted_rand_index(
    true_labels: Sequence[Hashable] | np.ndarray, pred_labels: Sequence[Hashable] | np.ndarray
) -> float:
    """Adjusted Rand index of two clusterings given as one label per item."""
    cells, a, b = contingency(true_labels, pred_labels)
    n = int(a.sum())
    if n < 2:
        return 1.0
    index, sum_a, sum_b = _pairs(cells), _pairs(a), _pairs(b)
    total = n * (n - 1) // 2
    expected = sum_a * sum_b / total
    max_index = (sum_a + sum_b) / 2
    if max_index == expected:
        return 1.0
    return float((index - expected) / (max_index - expected))


def pair_scores(
    true_labels: Sequence[Hashable] | np.ndarray, pred_labels: Sequence[Hashable] | np.ndarray
) -> tuple[float, float, float]:
    """Pairwise (precision, recall, F1) over pairs of items clustered together."""
    cells, a, b = contingency(true_labels, pred_labels)
    tp, true_pairs, pred_pairs = _pairs(cells), _pairs(a), _pairs(b)
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def load_truth(path: str | Path) -> dict[str, str]:
    """Truth JSONL (``{"id", "cluster"}`` per line) → id → cluster."""
    truth: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                truth[str(rec["id"])] = str(rec["cluster"])
    return truth


def load_predictions(outdir: str | Path) -> dict[str, str]:
    """``OUTDIR/documents.parquet`` → doc_id → cluster_id."""
    import pyarrow.parquet as pq

    table = pq.read_table(Path(outdir) / "documents.parquet", columns=["doc_id", "cluster_id"])
    return dict(zip(table.column("doc_id").to_pylist(), table.column("cluster_id").to_pylist()))


def evaluate(truth: dict[str, str], predicted: dict[str, str]) -> dict[str, Any]:
    """Score ``predicted`` (doc → cluster) against ``truth`` (doc → cluster)
    over the documents of the truth; missing ones are predicted singletons.
    Returns the measures and the counts behind them."""
    ids = list(truth)
    true_labels = [truth[i] for i in ids]
    missing = 0
    pred_labels = []
    for i in ids:
        c = predicted.get(i)
        if c is None:
            missing += 1
            pred_labels.append("\x00missing:" + i)  # its own cluster
        else:
            pred_labels.append(c)
    cells, a, b = contingency(true_labels, pred_labels)
    precision, recall, f1 = pair_scores(true_labels, pred_labels)
    return {
        "documents": len(ids),
        "missing_from_output": missing,
        "extra_in_output": sum(1 for i in predicted if i not in truth),
        "true_clusters": int(a.shape[0]),
        "true_clusters_multi": int((a > 1).sum()),
        "pred_clusters": int(b.shape[0]),
        "pred_clusters_multi": int((b > 1).sum()),
        "true_pairs": _pairs(a),
        "pred_pairs": _pairs(b),
        "tp_pairs": _pairs(cells),
        "ari": adjusted_rand_index(true_labels, pred_labels),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: ``quality.py TRUTH OUTDIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python benchmarks/quality.py TRUTH OUTDIR", file=sys.stderr)
        return 2
    r = evaluate(load_truth(args[0]), load_predictions(args[1]))
    rows = [
        ("documents (truth)", r["documents"]),
        ("missing from output", r["missing_from_output"]),
        ("in output, not in truth", r["extra_in_output"]),
        ("true clusters / with copies", f"{r['true_clusters']} / {r['true_clusters_multi']}"),
        ("predicted clusters / with copies", f"{r['pred_clusters']} / {r['pred_clusters_multi']}"),
        ("true pairs", r["true_pairs"]),
        ("predicted pairs", r["pred_pairs"]),
        ("correct pairs", r["tp_pairs"]),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(f"ari={r['ari']:.4f} precision={r['precision']:.4f} recall={r['recall']:.4f} f1={r['f1']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
