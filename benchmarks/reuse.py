"""Reuse clusters on a page corpus: do passages cluster by story, and do
document clusters stay free of chains?

Builds a ``syndicate.py --pages`` corpus (pages holding 1–6 stories, each
story printed 1–7 times, cut, reworded, OCR noise, mastheads and "Continued
on page N" lines), runs ``copytrace find`` on it, and scores:

* **ARI** of reuse clusters over the story occurrences of the truth: each
  occurrence takes the ``reuse_id`` of the ``reuse.parquet`` row of its page
  that overlaps it most (ties: the shorter row), or a label of its own when
  no row overlaps it; the truth label is the story.
* **pairs sharing no story**: among documents that share a document-level
  cluster (``documents.parquet``), the share of document pairs that hold no
  story in common (chaining).
* the time of the ``rule`` stage (the rule, reuse clusters and the
  whole-copy mask: ``engines.common.decide_pairs``) against the whole run
  (``summary.json``).

    python benchmarks/reuse.py [--pages 1400] [--seed 0] [--ngram 5] [--workers 2] [--reuse-min-shingles N]
                               [--keep DIR] [--record FILE.npz] [--replay FILE.npz]

Last line: ``ari=… no_story_pairs=… reuse_share=…`` (with ``--replay``: ``ari=…``).

``--record FILE`` keeps what the reuse stage was given (the inputs of
``engines.common.decide_pairs``: the scored pairs, the align arrays of every
aligned pair, the dates and the options) in an ``.npz``; with ``--keep DIR``
(the corpus, its truth and find's output), ``--replay FILE --keep DIR`` then
re-runs only the rule + reuse stage on them (a second, not the minutes of
alignment) with the code as it is now, and scores it the same way — the way
to try a change to ``stages.reuse`` on the page corpus (with ``--record``
the rule stage's time includes writing the file).  Both also print
what each kind of error costs (:func:`error_prices`: each kind fixed in the
predicted labels, the ARI gained).

``--docs N`` instead scores the syndication corpus (``syndicate.py --docs N``:
every document holds one story), where reuse clusters must agree with
document clusters: each document takes the ``reuse_id`` of the row covering
most of it (a label of its own when none), and the ARI between those labels
and ``cluster_id`` is printed, with each one's ARI against the truth.  With
``--without-channel`` find runs a second time with ``--reuse-min-shingles 0``
(no passage channel: reuse clusters from the rule's copies alone), and the
extra time of the first run is printed as ``channel_extra``.  Last line:
``agreement_ari=… reuse_share=… [channel_extra=…]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402
import syndicate  # noqa: E402


def occurrence_labels(truth: list[dict], reuse_rows: list[dict]) -> tuple[list[str], list[str]]:
    """(truth story, predicted reuse_id) per truth occurrence."""
    by_doc: dict[str, list[dict]] = defaultdict(list)
    for r in reuse_rows:
        by_doc[r["doc_id"]].append(r)
    true_l, pred_l = [], []
    for i, occ in enumerate(truth):
        best, best_key = None, None
        for r in by_doc.get(occ["doc"], []):
            ov = min(occ["end"], r["end"]) - max(occ["start"], r["start"])
            if ov <= 0:
                continue
            key = (ov, -(r["end"] - r["start"]))
            if best_key is None or key > best_key:
                best, best_key = r["reuse_id"], key
        true_l.append(occ["story"])
        pred_l.append(best if best is not None else f"__none{i}")
    return true_l, pred_l


def error_prices(true_l: list[str], pred_l: list[str]) -> dict[str, float]:
    """What each kind of error costs: the ARI gained when it alone is fixed in
    the predicted labels (``pred_l``, as :func:`occurrence_labels` gives them;
    ``__none…``: no row).  A story's *main* cluster is the predicted cluster
    holding most of its occurrences that have a row; a cluster's *main* story
    the story most of its occurrences belong to.

    * ``missed``: an occurrence of a story printed more than once that has no
      row takes its story's main cluster (a label of the story's own when no
      occurrence of it has a row);
    * ``merges``: an occurrence in a cluster whose main story is not its own
      takes a label of its own (cluster, story);
    * ``splits``: an occurrence of a cluster's main story outside that story's
      main cluster moves to it."""
    from collections import Counter

    base = quality.adjusted_rand_index(true_l, pred_l)
    n_story = Counter(true_l)
    story_main: dict[str, str | None] = {}
    by_story: dict[str, Counter] = defaultdict(Counter)
    by_cluster: dict[str, Counter] = defaultdict(Counter)
    for t, p in zip(true_l, pred_l, strict=True):
        if not p.startswith("__none"):
            by_story[t][p] += 1
            by_cluster[p][t] += 1
    for t in n_story:
        story_main[t] = by_story[t].most_common(1)[0][0] if by_story[t] else None
    cluster_main = {p: c.most_common(1)[0][0] for p, c in by_cluster.items()}
    missed = [p if not p.startswith("__none") or n_story[t] < 2 else (story_main[t] or f"__story:{t}")
              for t, p in zip(true_l, pred_l, strict=True)]
    merges = [p if p.startswith("__none") or cluster_main[p] == t else f"{p}|{t}" for t, p in zip(true_l, pred_l, strict=True)]
    splits = [p if p.startswith("__none") or cluster_main[p] != t else str(story_main[t])
              for t, p in zip(true_l, pred_l, strict=True)]
    return {name: quality.adjusted_rand_index(true_l, fixed) - base
            for name, fixed in (("missed", missed), ("merges", merges), ("splits", splits))}


def _price_line(true_l: list[str], pred_l: list[str]) -> str:
    n_story = defaultdict(int)
    for t in true_l:
        n_story[t] += 1
    n_missed = sum(1 for t, p in zip(true_l, pred_l, strict=True) if p.startswith("__none") and n_story[t] > 1)
    prices = error_prices(true_l, pred_l)
    return (f"priced errors (ARI gained if fixed): missed {prices['missed']:+.4f} ({n_missed} occurrences of "
            f"reprinted stories with no row), merges {prices['merges']:+.4f}, splits {prices['splits']:+.4f}")


_SCORED = ("a", "b", "jaccard", "containment_a_in_b", "containment_b_in_a", "shared")


def record_reuse_inputs(path: Path):
    """A context manager: while it is open, ``find`` (local engine) writes the
    inputs of ``engines.common.decide_pairs`` to ``path`` (``.npz``) as it
    calls it; :func:`replay_reuse` runs the stage again on them."""
    import contextlib

    import copytrace.engines.local as local

    @contextlib.contextmanager
    def cm():
        inner = local.decide_pairs

        def recording(scored, pas, threshold, ngram, n_candidates, aligned, dates, min_passage=0):
            arrays = {f"scored_{k}": getattr(scored, k) for k in _SCORED if getattr(scored, k) is not None}
            arrays.update({f"pas_{k}": v for k, v in pas.items()})
            arrays["dates"] = np.array(["" if x is None else str(x) for x in dates], dtype=np.str_)
            arrays["has_date"] = np.array([x is not None for x in dates], dtype=bool)
            arrays["options"] = np.array([threshold, ngram, n_candidates, int(aligned), min_passage], dtype=np.float64)
            np.savez_compressed(path, **arrays)
            return inner(scored, pas, threshold, ngram, n_candidates, aligned, dates, min_passage)

        local.decide_pairs = recording
        try:
            yield
        finally:
            local.decide_pairs = inner

    return cm()


def replay_reuse(path: Path):
    """``engines.common.decide_pairs`` (the rule, reuse clusters, the
    whole-copy mask) on inputs :func:`record_reuse_inputs` kept: (its result,
    seconds)."""
    from copytrace.engines.common import decide_pairs
    from copytrace.stages.verify import VerifiedPairs

    z = np.load(path)
    scored = VerifiedPairs(*(z[f"scored_{k}"] if f"scored_{k}" in z else None for k in _SCORED))
    pas = {k[4:]: z[k] for k in z.files if k.startswith("pas_")}
    dates = [d if h else None for d, h in zip(z["dates"].tolist(), z["has_date"].tolist(), strict=True)]
    threshold, ngram, n_candidates, aligned, min_passage = z["options"].tolist()
    t0 = time.perf_counter()
    out = decide_pairs(scored, pas, threshold, int(ngram), int(n_candidates), bool(aligned), dates, int(min_passage))
    return out, time.perf_counter() - t0


def replay(args: argparse.Namespace) -> int:
    """``--replay``: the reuse stage re-run on recorded inputs, scored on the kept corpus."""
    keep = Path(args.keep)
    truth = [json.loads(x) for x in (keep / "pages.truth.jsonl").read_text("utf-8").splitlines()]
    ids = sorted(pq.read_table(keep / "out" / "documents.parquet", columns=["doc_id"]).column("doc_id").to_pylist())
    (_, _, _, reuse, whole), secs = replay_reuse(Path(args.replay))
    rows = [{"doc_id": ids[d], "start": int(s), "end": int(e), "reuse_id": str(c)}
            for c, d, s, e in zip(reuse.cluster.tolist(), reuse.doc.tolist(), reuse.start.tolist(), reuse.end.tolist(), strict=True)]
    true_l, pred_l = occurrence_labels(truth, rows)
    ari = quality.adjusted_rand_index(true_l, pred_l)
    print(f"replayed the rule + reuse stage in {secs:.2f}s: reuse clusters {reuse.n_clusters}, occurrences {len(reuse)}")
    print(_price_line(true_l, pred_l))
    print(f"ari={ari:.4f}")
    return 0


def no_story_pairs(truth: list[dict], documents: list[dict]) -> tuple[int, int]:
    """(pairs of documents in one document cluster, of which hold no common story)."""
    stories: dict[str, set[str]] = defaultdict(set)
    for occ in truth:
        stories[occ["doc"]].add(occ["story"])
    members: dict[str, list[str]] = defaultdict(list)
    for d in documents:
        members[d["cluster_id"]].append(d["doc_id"])
    total = bad = 0
    for docs in members.values():
        for i in range(len(docs)):
            for j in range(i + 1, len(docs)):
                total += 1
                bad += not (stories[docs[i]] & stories[docs[j]])
    return total, bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--edit-strength", type=float, default=0.2)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reuters", default=None)
    ap.add_argument("--keep", default=None, help="keep the corpus, its truth and find's output in this directory")
    ap.add_argument("--docs", type=int, default=0,
                    help="score the syndication corpus of this many one-story documents instead of pages")
    ap.add_argument("--reuse-min-shingles", type=int, default=None,
                    help="find's --reuse-min-shingles (default: find's own default)")
    ap.add_argument("--without-channel", action="store_true",
                    help="with --docs: also run find with --reuse-min-shingles 0 and print the passage channel's cost")
    ap.add_argument("--record", default=None,
                    help="write the reuse stage's inputs (engines.common.decide_pairs') to this .npz")
    ap.add_argument("--replay", default=None,
                    help="re-run only the rule + reuse stage on inputs --record wrote; needs --keep of that run")
    args = ap.parse_args(argv)
    if args.replay:
        if not args.keep:
            ap.error("--replay needs --keep DIR (the corpus, truth and output of the recorded run)")
        return replay(args)
    if args.docs:
        return syndication(args)

    import copytrace

    t0 = time.perf_counter()
    docs, truth = syndicate.generate_pages(args.pages, args.edit_strength, args.seed, reuters_dir=args.reuters)
    print(f"corpus: {len(docs)} pages, {len(truth)} story occurrences, "
          f"{len({o['story'] for o in truth})} stories ({time.perf_counter() - t0:.1f}s)")
    with tempfile.TemporaryDirectory(prefix="copytrace-reuse-bench-") as tmp_dir:
        tmp = args.keep or tmp_dir
        Path(tmp).mkdir(parents=True, exist_ok=True)
        src = Path(tmp) / "pages.jsonl"
        src.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
        (Path(tmp) / "pages.truth.jsonl").write_text("".join(json.dumps(o) + "\n" for o in truth), encoding="utf-8")
        t1 = time.perf_counter()
        with record_reuse_inputs(Path(args.record)) if args.record else contextlib.nullcontext():
            res = copytrace.find(str(src), out=Path(tmp) / "out", ngram=args.ngram, threshold=args.threshold,
                                 workers=args.workers, date_field="date", source_field="source", report=False,
                                 progress=False, **_rms(args))
        wall = time.perf_counter() - t1
        reuse_rows = pq.read_table(Path(tmp) / "out" / "reuse.parquet").to_pylist()
    documents = res.documents.to_pylist()
    true_l, pred_l = occurrence_labels(truth, reuse_rows)
    ari = quality.adjusted_rand_index(true_l, pred_l)
    total, bad = no_story_pairs(truth, documents)
    share = bad / total if total else 0.0
    timings = res.summary["timings_s"]
    reuse_s = timings.get("rule", 0.0)
    sizes = np.bincount(np.unique([r["reuse_id"] for r in reuse_rows], return_counts=True)[1]) if reuse_rows else []
    largest_doc_cluster = max((d["n_copies"] for d in documents), default=0)
    print(f"find: {wall:.1f}s (align {timings.get('align', 0):.1f}s, rule + reuse stage {reuse_s:.2f}s); "
          f"pairs aligned {res.summary['counts']['rule']['judged']}; reuse clusters "
          f"{res.summary['counts'].get('reuse_clusters', 0)}, occurrences {len(reuse_rows)}; "
          f"occurrence-count histogram {list(sizes)[:10]}")
    print(f"document clusters: {res.summary['counts']['clusters']}, largest {largest_doc_cluster}; "
          f"pairs in one document cluster {total}, sharing no story {bad}")
    print(_price_line(true_l, pred_l))
    print(f"ari={ari:.4f} no_story_pairs={share:.4f} reuse_share={reuse_s / max(timings.get('total', wall), 1e-9):.3f}")
    return 0


def _rms(args: argparse.Namespace) -> dict[str, int]:
    """find's ``reuse_min_shingles`` when ``--reuse-min-shingles`` is given."""
    return {} if args.reuse_min_shingles is None else {"reuse_min_shingles": args.reuse_min_shingles}


def doc_labels(documents: list[dict], reuse_rows: list[dict]) -> list[str]:
    """Per document (in ``documents`` order): the ``reuse_id`` of the row
    covering most of it, or a label of its own."""
    best: dict[str, tuple[int, str]] = {}
    for r in reuse_rows:
        ln = r["end"] - r["start"]
        if ln > best.get(r["doc_id"], (-1, ""))[0]:
            best[r["doc_id"]] = (ln, r["reuse_id"])
    return [best[d["doc_id"]][1] if d["doc_id"] in best else f"__none:{d['doc_id']}" for d in documents]


def syndication(args: argparse.Namespace) -> int:
    """Reuse clusters against document clusters on one-story documents."""
    import copytrace

    with tempfile.TemporaryDirectory(prefix="copytrace-reuse-synd-") as tmp_dir:
        tmp = Path(args.keep or tmp_dir)
        tmp.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        n, src, truth_path = syndicate.generate_to_files(tmp / "synd.jsonl", args.docs, seed=args.seed,
                                                         edit_strength=args.edit_strength, reuters_dir=args.reuters)
        print(f"corpus: {n} documents ({time.perf_counter() - t0:.1f}s)")
        truth = {json.loads(x)["id"]: json.loads(x)["cluster"] for x in truth_path.read_text("utf-8").splitlines()}
        runs = [("with channel", None)] + ([("without channel", 0)] if args.without_channel else [])
        walls = []
        for name, rms in runs:
            kw = _rms(args) if rms is None else {"reuse_min_shingles": rms}
            t1 = time.perf_counter()
            res = copytrace.find(str(src), out=tmp / f"out-{len(walls)}", ngram=args.ngram, threshold=args.threshold,
                                 workers=args.workers, report=False, progress=False, **kw)
            walls.append(time.perf_counter() - t1)
            documents = res.documents.to_pylist()
            rows = pq.read_table(tmp / f"out-{len(walls) - 1}" / "reuse.parquet").to_pylist()
            doc_l = [d["cluster_id"] for d in documents]
            reuse_l = doc_labels(documents, rows)
            true_l = [truth[d["doc_id"]] for d in documents]
            agree = quality.adjusted_rand_index(doc_l, reuse_l)
            t = res.summary["timings_s"]
            print(f"{name}: find {walls[-1]:.1f}s (total {t.get('total', 0):.1f}s, align {t.get('align', 0):.1f}s, "
                  f"rule + reuse stage {t.get('rule', 0):.2f}s); pairs aligned {res.summary['counts']['rule']['judged']}, "
                  f"copies {res.summary['counts']['verified_pairs']}; "
                  f"reuse clusters {res.summary['counts'].get('reuse_clusters', 0)}; ARI vs truth: documents "
                  f"{quality.adjusted_rand_index(true_l, doc_l):.4f}, reuse {quality.adjusted_rand_index(true_l, reuse_l):.4f}; "
                  f"documents vs reuse {agree:.4f}")
            if len(walls) == 1:
                first_agree, share = agree, t.get("rule", 0.0) / max(t.get("total", walls[-1]), 1e-9)
    extra = f" channel_extra={walls[0] / walls[1] - 1:.3f}" if len(walls) == 2 else ""
    print(f"agreement_ari={first_agree:.4f} reuse_share={share:.3f}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
