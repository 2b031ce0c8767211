"""``find NEW --against REF`` against its budget: ``find NEW`` alone plus
the reference's fingerprinting.

    python benchmarks/against.py [--new 10000] [--reference 100000] [--ngram 3] [--workers 2]

Builds one ``syndicate.py`` corpus of NEW + REFERENCE documents (Reuters
based, ../shared/data), splits it (the first REFERENCE documents are the
reference, the rest are new; copies fall on both sides), runs a small warm-up
``find`` (imports and compiled kernels are then loaded, as for any run after
the first), and times in this process, ``--no-align --no-report``:

* ``find NEW alone``;
* the reference's fingerprinting: every REF document read, tokenized and
  fingerprinted (MinHash signature, containment sample) with the stage
  functions ``find`` uses — the per-document work any search of REF needs.
  Storing REF's texts and boilerplate segmentation are not counted in it: a
  stricter budget (the segmentation's CPU is reported on its own line, and a
  second ratio counts it in);
* ``find NEW --against REF``.

Reports wall and CPU seconds (all threads of this process; the machine may
be shared: CPU seconds are the steadier measure). Last line: ``ratio=X.XX``
(against / (new alone + reference fingerprinting), CPU seconds) and
``ratio_wall=X.XX``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import syndicate  # noqa: E402


def fingerprint_only(path: Path, **kw: object) -> float:
    """Read, tokenize and fingerprint every document of ``path`` as ``find``
    does (no text store); then, separately timed, cut the tokens into
    boilerplate segment keys.  Returns the CPU seconds of the segmentation."""
    from copytrace.options import FindOptions
    from copytrace.stages.boilerplate import BoilerplateOptions, segment_batch
    from copytrace.stages.fingerprint import FingerprintParams, fingerprint_batch
    from copytrace.stages.normalize import tokenize_batch
    from copytrace.stages.read import ReadStats, iter_batches

    opts = FindOptions(**kw)  # type: ignore[arg-type]
    params = FingerprintParams(opts.ngram, opts.num_perm, opts.seed)
    bp = BoilerplateOptions(min_docs=opts.boilerplate_min_docs)
    seg = 0.0
    for batch in iter_batches([path], opts.read, ReadStats()):
        texts = [d.text for d in batch]
        toks = tokenize_batch(texts)
        fingerprint_batch(toks, params, opts.sample_rate if opts.containment else 0)
        c0 = time.process_time()
        segment_batch(texts, None, bp, toks)
        seg += time.process_time() - c0
    return seg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new", type=int, default=10_000)
    ap.add_argument("--reference", type=int, default=100_000)
    ap.add_argument("--ngram", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="copytrace-against-"))
    try:
        return _run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # ~120 MB of generated corpus at 10k/100k


def _run(args: argparse.Namespace, tmp: Path) -> int:
    import numba

    import copytrace

    ref_f, new_f, warm_f = tmp / "ref.jsonl", tmp / "new.jsonl", tmp / "warm.jsonl"
    with open(ref_f, "w", encoding="utf-8") as fr, open(new_f, "w", encoding="utf-8") as fn:
        for i, (doc, _) in enumerate(syndicate.iter_generate(args.new + args.reference)):
            (fr if i < args.reference else fn).write(json.dumps(doc, ensure_ascii=False) + "\n")
    with open(new_f, encoding="utf-8") as fn, open(warm_f, "w", encoding="utf-8") as fw:
        fw.writelines(itertools.islice(fn, 300))
    opts = dict(align=False, report=False, progress=False, ngram=args.ngram, workers=args.workers)

    def timed(fn, *a, **kw):
        t0, c0 = time.perf_counter(), time.process_time()
        r = fn(*a, **kw)
        return r, time.perf_counter() - t0, time.process_time() - c0

    copytrace.find(str(warm_f), against=[str(warm_f)], **opts)  # warm-up: imports, compiled kernels
    fingerprint_only(warm_f, **opts)
    rn, wn, cn = timed(copytrace.find, str(new_f), **opts)
    cs, wf, cf = timed(fingerprint_only, ref_f, **opts)
    cf -= cs  # the segmentation: reported apart
    ws = wf * cs / max(cf + cs, 1e-9)
    wf -= ws
    ra, wa, ca = timed(copytrace.find, str(new_f), against=[str(ref_f)], **opts)
    print(f"{args.new:,} new vs {args.reference:,} reference documents, word {args.ngram}-grams, "
          f"workers {args.workers} ({numba.get_num_threads()} threads)")
    print("| run | wall s | CPU s | pairs |")
    print("|---|---:|---:|---:|")
    print(f"| find NEW --against REF | {wa:.2f} | {ca:.2f} | {ra.pairs.num_rows:,} |")
    print(f"| find NEW alone | {wn:.2f} | {cn:.2f} | {rn.pairs.num_rows:,} |")
    print(f"| REF fingerprinting (read, tokenize, fingerprint) | {wf:.2f} | {cf:.2f} | |")
    print(f"| budget: find NEW alone + REF fingerprinting | {wn + wf:.2f} | {cn + cf:.2f} | |")
    print(f"| REF boilerplate segment keys (from the same tokens; not in the budget) | {ws:.2f} | {cs:.2f} | |")
    timings = ra.summary["timings_s"]
    print("against, stage wall s: " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    cand = ra.summary["counts"]["candidate_pairs"]
    print(f"reference documents: {ra.summary['pair_filters']['reference_documents']:,}; "
          f"candidates: {cand}")
    print("NEW alone, stage wall s: " + ", ".join(f"{k} {v:.2f}" for k, v in rn.summary["timings_s"].items()))
    print(f"NEW alone, candidates: {rn.summary['counts']['candidate_pairs']}")
    print(f"with REF's segment keys counted as part of its fingerprint: ratio {ca / (cn + cf + cs):.2f}")
    print(f"ratio={ca / (cn + cf):.2f} ratio_wall={wa / (wn + wf):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
