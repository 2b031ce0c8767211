#!/usr/bin/env python
"""How well compare's similarity separates plagiarism from no-plagiarism pairs (PAN 2013).

    python benchmarks/pan13_auc.py [CORPUS_DIR] [--per-folder K] [--jobs N]

For the pairs of a PAN 2013 text-alignment corpus (default
``../shared/data/pan13-text-alignment-train``; the first ``K`` pairs of each
folder, default all), computes ``copytrace.compare(susp, src).similarity``
(the rule of ``stages/rule.py``) and, as a baseline, plain word-unigram
containment (distinct normalized words of the smaller text found in the
other).  Positives: the pairs of folders 02–05 whose truth XML holds a
plagiarism case; negatives: folder 01 (no case).  In the training corpus,
947 of the 1,185 pairs of ``05-summary-obfuscation`` hold no case: their
suspicious document is a DUC 2006 story unrelated to the source (no summary
in it; their XML names only DUC 2006 as author) — they are no plagiarism
pairs, whatever their folder.  They are left out of the positives and
reported on a row of their own, as is the AUC with folders as labels
(those pairs counted as positives).  Prints the ROC AUC of both measures per
positive folder and overall, and as its last line::

    auc_similarity=0.XXXX auc_unigram_containment=0.XXXX pairs=N

(``pairs``: the positives and negatives that the two AUCs are computed on.)
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pan13-text-alignment-train"


def _score(item: tuple[str, str]) -> tuple[float, float]:
    import copytrace
    from copytrace.stages.normalize import tokenize

    susp, src = (Path(p).read_text(encoding="utf-8", errors="replace") for p in item)
    sim = copytrace.compare(susp, src).similarity
    a, b = np.unique(tokenize(susp).hashes), np.unique(tokenize(src).hashes)
    small = min(a.shape[0], b.shape[0])
    uni = np.intersect1d(a, b, assume_unique=True).shape[0] / small if small else 0.0
    return float(sim), float(uni)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC (ties count half) by ranks."""
    if not pos.size or not neg.size:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(allv.shape[0], dtype=np.float64)
    sorted_v = allv[order]
    i = 0
    while i < sorted_v.shape[0]:  # average ranks of ties
        j = i
        while j + 1 < sorted_v.shape[0] and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    r_pos = ranks[: pos.shape[0]].sum()
    return float((r_pos - pos.shape[0] * (pos.shape[0] + 1) / 2.0) / (pos.shape[0] * neg.shape[0]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus_dir", nargs="?", default=str(DEFAULT))
    ap.add_argument("--per-folder", type=int, default=None, help="only the first K pairs of each folder")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    root = Path(args.corpus_dir)
    if not root.is_dir():
        print(f"{root}: no PAN 2013 corpus here", file=sys.stderr)
        return 2
    try:
        from copytrace.evaluation.pan import load_corpus
    except ImportError:  # run from a checkout without the package installed
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from copytrace.evaluation.pan import load_corpus
    corpus = load_corpus(root)
    folders = sorted({p.folder for p in corpus})
    items = [p for f in folders for p in [q for q in corpus if q.folder == f][: args.per_folder]]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        scores = list(pool.map(_score, [(str(root / "susp" / p.susp), str(root / "src" / p.src)) for p in items],
                               chunksize=8))
    name = np.array([p.folder for p in items])
    case = np.array([bool(p.truth) for p in items])
    sim = np.array([s for s, _ in scores])
    uni = np.array([u for _, u in scores])
    neg = (name == folders[0]) & ~case
    pos = (name != folders[0]) & case
    print(f"{'positive folder (pairs with a case)':<36} {'pairs':>6} {'AUC similarity':>15} {'AUC unigram containment':>24}")
    for f in folders[1:]:
        sel = (name == f) & case
        print(f"{f:<36} {int(sel.sum()):>6} {auc(sim[sel], sim[neg]):>15.4f} {auc(uni[sel], uni[neg]):>24.4f}")
    a_s, a_u = auc(sim[pos], sim[neg]), auc(uni[pos], uni[neg])
    print(f"{'02-05 vs 01':<36} {int(pos.sum()):>6} {a_s:>15.4f} {a_u:>24.4f}")
    nocase = (name != folders[0]) & ~case
    if nocase.any():
        print(f"{'(02-05 pairs with no case, vs 01)':<36} {int(nocase.sum()):>6} {auc(sim[nocase], sim[neg]):>15.4f}"
              f" {auc(uni[nocase], uni[neg]):>24.4f}")
        fold = name != folders[0]
        print(f"{'(folders as labels: 02-05 vs 01)':<36} {int(fold.sum()):>6} {auc(sim[fold], sim[neg]):>15.4f}"
              f" {auc(uni[fold], uni[neg]):>24.4f}")
    print(f"auc_similarity={a_s:.4f} auc_unigram_containment={a_u:.4f} pairs={int(pos.sum() + neg.sum())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
