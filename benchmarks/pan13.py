#!/usr/bin/env python
"""Score copytrace's passage alignment on a PAN 2013 text-alignment corpus.

    python benchmarks/pan13.py CORPUS_DIR [--jobs N] [--out DIR] [--limit K]
                               [--split even|odd|all] [--align MODULE:FUNCTION]

Aligns every pair of every ``NN-*`` folder of the corpus with
``copytrace.stages.align.align(susp_text, src_text)`` (or ``--align``), prints
one row per folder (pairs, precision, recall, granularity, plagdet, pairs/s,
share of pairs with no detection) and an overall row, and as its very last
line::

    plagdet=0.XXXX precision=0.XXXX recall=0.XXXX granularity=X.XXXX pairs_per_s=N

Folder rows score the folder's pairs alone; the overall row pools all pairs.
pairs_per_s is wall-clock over the whole run, reading the corpus included.
The measures follow the official PAN script; see
``copytrace.evaluation.pan`` for the conventions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus_dir", metavar="CORPUS_DIR", help="corpus in the PAN 2013 text-alignment layout")
    ap.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: number of cores)")
    ap.add_argument("--out", metavar="DIR", default=None, help="also write one PAN detection XML per pair here")
    ap.add_argument("--limit", metavar="K", type=int, default=None, help="only the first K pairs of each folder")
    ap.add_argument(
        "--split",
        choices=("all", "even", "odd"),
        default="all",
        help="pairs by index within each folder, for cross-validation (default: all)",
    )
    ap.add_argument(
        "--align",
        metavar="MODULE:FUNCTION",
        default=None,
        help="alignment function (default: copytrace.stages.align:align)",
    )
    ap.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)

    try:
        from copytrace.evaluation.pan import DEFAULT_ALIGN, resolve_align, format_table, run_corpus, summary_line
    except ImportError:  # run from a checkout without the package installed
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from copytrace.evaluation.pan import DEFAULT_ALIGN, resolve_align, format_table, run_corpus, summary_line
    from copytrace.errors import CopytraceError

    spec = args.align or DEFAULT_ALIGN
    try:  # import it here once, so a missing engine is one clear line
        resolve_align(spec)
    except (ImportError, AttributeError) as exc:
        print(f"pan13: cannot load the alignment function {spec}: {exc}", file=sys.stderr)
        return 2

    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        result = run_corpus(
            args.corpus_dir,
            spec,
            jobs=args.jobs,
            out_dir=args.out,
            limit=args.limit,
            split=args.split,
            progress=progress,
        )
    except CopytraceError as exc:
        print(f"pan13: {exc}", file=sys.stderr)
        return 2
    if result.overall.n_pairs == 0:
        print("pan13: no pairs selected", file=sys.stderr)
        return 2
    print(format_table(result))
    print(summary_line(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
