"""``find NEW --against REFERENCE`` against its budget: ``find NEW`` alone plus
the reference's fingerprinting.

    python benchmarks/against.py [--new 10000] [--reference 100000] [--ngram 3]

Builds one ``syndicate.py`` corpus of NEW + REFERENCE documents (Reuters
based, ../shared/data), splits it (the first REFERENCE documents are the
reference, the rest are new; copies fall on both sides), and times, in this
process, ``--no-align --no-report``:

* ``find NEW --against REF``;
* ``find NEW`` alone;
* the reference's fingerprinting: the read, normalize, fingerprint and
  boilerplate-segmentation stages of ``find REF`` (from its stage timings).

Reports wall and CPU seconds (the machine may be shared: CPU seconds are the
steadier measure). Last line: ``ratio=X.XX`` (against / (new alone + reference
fingerprinting), CPU seconds) and ``ratio_wall=X.XX``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import syndicate  # noqa: E402

FP_STAGES = ("read", "normalize", "fingerprint")  # boilerplate segmentation is not counted: a stricter budget


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new", type=int, default=10_000)
    ap.add_argument("--reference", type=int, default=100_000)
    ap.add_argument("--ngram", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    import copytrace

    tmp = Path(tempfile.mkdtemp(prefix="copytrace-against-"))
    ref_f, new_f = tmp / "ref.jsonl", tmp / "new.jsonl"
    with open(ref_f, "w", encoding="utf-8") as fr, open(new_f, "w", encoding="utf-8") as fn:
        for i, (doc, _) in enumerate(syndicate.iter_generate(args.new + args.reference)):
            (fr if i < args.reference else fn).write(json.dumps(doc, ensure_ascii=False) + "\n")
    opts = dict(align=False, report=False, progress=False, ngram=args.ngram, workers=args.workers)

    def timed(*a, **kw):
        t0, c0 = time.perf_counter(), time.process_time()
        r = copytrace.find(*a, **kw)
        return r, time.perf_counter() - t0, time.process_time() - c0

    ra, wa, ca = timed(str(new_f), against=[str(ref_f)], **opts)
    rn, wn, cn = timed(str(new_f), **opts)
    rr, wr, cr = timed(str(ref_f), **opts)
    fp_wall = sum(rr.summary["timings_s"].get(s, 0.0) for s in FP_STAGES)
    fp_cpu = cr * fp_wall / max(wr, 1e-9)  # the reference run's CPU, pro rata its fingerprinting stages
    print(f"{args.new:,} new vs {args.reference:,} reference documents, word {args.ngram}-grams, "
          f"workers {args.workers}")
    print("| run | wall s | CPU s | pairs |")
    print("|---|---:|---:|---:|")
    print(f"| find NEW --against REF | {wa:.2f} | {ca:.2f} | {ra.pairs.num_rows:,} |")
    print(f"| find NEW alone | {wn:.2f} | {cn:.2f} | {rn.pairs.num_rows:,} |")
    print(f"| REF fingerprinting (read → fingerprint stages of find REF) | {fp_wall:.2f} | {fp_cpu:.2f} | |")
    print(f"| find REF alone (for scale) | {wr:.2f} | {cr:.2f} | {rr.pairs.num_rows:,} |")
    kept = ra.summary["counts"]
    print(f"reference documents: {ra.summary['pair_filters']['reference_documents']:,}; "
          f"candidates removed by the filter: {kept['candidate_pairs'].get('removed_by_pair_filters', 0):,}")
    print(f"ratio={ca / (cn + fp_cpu):.2f} ratio_wall={wa / (wn + fp_wall):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
