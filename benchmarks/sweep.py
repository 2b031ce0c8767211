"""How clustering quality falls as copies are edited more.

    python benchmarks/sweep.py [--docs 10000] [--strengths 0,0.1,0.2,0.3,0.4,0.5]
                               [--settings "5:0.5"] [--no-align] [--seed 0]

For each edit strength it generates one ``syndicate.py`` corpus (the
Reuters base is loaded once; template-alike hard negatives included, as the
generator's default), runs ``copytrace find --no-report`` as users run it
(alignment on, so the rule judges reworded copies on the aligned text;
``--no-align``: the shingle-only fast path) in this process for each
``ngram:threshold`` setting, and scores the clusters with ``quality.py``.  Prints a table (rows: edit strength; columns:
ARI / precision / recall per setting); the generator's default strength is
0.2, copytrace's default setting 5:0.5.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--strengths", default="0,0.1,0.2,0.3,0.4,0.5")
    ap.add_argument("--settings", default="5:0.5", help="ngram:threshold pairs")
    ap.add_argument("--no-align", dest="align", action="store_false", help="the shingle-only fast path")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import pyarrow.parquet as pq

    import copytrace
    from quality import evaluate
    from syndicate import generate, load_reuters_base

    base = load_reuters_base()
    settings = [(int(a), float(b)) for a, b in (s.split(":") for s in args.settings.split(","))]
    strengths = [float(x) for x in args.strengths.split(",")]
    work = Path(tempfile.mkdtemp(prefix="copytrace-sweep-"))
    rows = []
    for strength in strengths:
        docs, truth = generate(args.docs, 0.3, strength, args.seed, base)
        truth_map = dict(truth)
        corpus = work / f"corpus-{strength}.jsonl"
        with corpus.open("w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        row = {"strength": strength}
        for ngram, threshold in settings:
            out = work / f"out-{strength}-{ngram}-{threshold}"
            t0 = time.perf_counter()
            copytrace.find(corpus, out, ngram=ngram, threshold=threshold, align=args.align, report=False,
                           progress=False)
            dt = time.perf_counter() - t0
            t = pq.read_table(out / "documents.parquet", columns=["doc_id", "cluster_id"])
            pred = dict(zip(t.column("doc_id").to_pylist(), t.column("cluster_id").to_pylist()))
            q = evaluate(truth_map, pred)
            row[(ngram, threshold)] = (q["ari"], q["precision"], q["recall"], dt)
            print(f"strength {strength}: ngram {ngram} threshold {threshold}: ari {q['ari']:.4f} "
                  f"({dt:.1f} s)", file=sys.stderr, flush=True)
        rows.append(row)

    head = f"{'edit strength':>13}" + "".join(f" | {f'{n}-gram, t={t}':^24}" for n, t in settings)
    print(f"\n{args.docs} documents per corpus, copy rate 0.3, seed {args.seed}, hard negatives on, "
          f"alignment {'on' if args.align else 'off'}; cells: ARI (precision/recall)\n")
    print(head)
    print("-" * len(head))
    for row in rows:
        cells = "".join(
            f" | {row[s][0]:.4f} ({row[s][1]:.3f}/{row[s][2]:.3f})" for s in settings
        )
        print(f"{row['strength']:>13}" + cells)


if __name__ == "__main__":
    main()  # guarded: find's align workers start from a forkserver that imports this module
