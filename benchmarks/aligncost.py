#!/usr/bin/env python
"""What alignment costs ``find``: with and without ``--no-align``, 1 and 2 workers.

    python benchmarks/aligncost.py [--docs 20000] [--workers 1 --workers 2] [--edit-strength 0.2]
                                   [--seed 0] [--work DIR] [--corpus FILE.jsonl]

Generates one ``syndicate.py`` corpus of ``--docs`` documents (or takes
``--corpus``), then runs ``copytrace find --no-report`` on it, each run in its
own subprocess: once with ``--no-align --workers 1`` and once with alignment
per ``--workers`` value.  Per run the table gives:

* ``wall s``          the subprocess's wall time;
* ``cpu s``           its CPU time (user + system, all threads; worker
                      processes count only as far as the OS rolls their
                      times up to it, through the forkserver): what the run
                      costs on a loaded machine;
* ``align s``         ``summary.json``'s ``timings_s.align`` (wall);
* ``align cpu s``     the run's CPU time minus the ``--no-align`` run's: the
                      CPU alignment adds to ``find`` (the align stage, the
                      pairs the rule judges more, the reuse clusters built
                      from the passages);
* ``pairs``           pairs aligned (``counts.rule.judged``);
* ``pairs/s``         ``pairs`` / ``align s``.

The last line is ``align_over_noalign=X.XX at N docs`` (wall time of the
first aligned run over the ``--no-align`` run), preceded, when two or more
worker counts ran, by ``workers_speedup=X.XX`` (align stage wall time of the
first worker count over the last).  Wall times mean little on a loaded
machine: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _run_find(corpus: Path, out: Path, align: bool, workers: int) -> dict:
    cmd = [sys.executable, "-c", "import sys; from copytrace.cli import main; sys.argv[0] = 'copytrace'; main()",
           "find", str(corpus), "--out", str(out), "--no-report", "--workers", str(workers)]
    if not align:
        cmd.append("--no-align")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode != 0:
        sys.exit(f"find failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {
        "wall": wall,
        "cpu": cpu,
        "align": float(summary["timings_s"].get("align", 0.0)),
        "pairs": int(summary["counts"]["rule"].get("judged", 0)) if align else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--workers", type=int, action="append", help="worker counts for the aligned runs (default 1)")
    ap.add_argument("--edit-strength", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", default=None, help="a JSONL corpus instead of a generated one")
    ap.add_argument("--work", default=None, help="where the corpus and outputs go (default: a temporary directory)")
    args = ap.parse_args()
    workers = args.workers or [1]
    work = Path(args.work or tempfile.mkdtemp(prefix="copytrace-aligncost-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.corpus:
        corpus = Path(args.corpus)
        n_docs = sum(1 for _ in corpus.open(encoding="utf-8"))
    else:
        corpus = work / f"syndicate-{args.docs}.jsonl"
        n_docs = args.docs
        if not corpus.exists():
            subprocess.run([sys.executable, str(HERE / "syndicate.py"), str(corpus), "--docs", str(args.docs),
                            "--edit-strength", str(args.edit_strength), "--seed", str(args.seed)], check=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, stdout=subprocess.DEVNULL)
    # one untimed warm-up run, so that no timed run loads or compiles kernels first
    _run_find(corpus, work / "out-warmup", True, 1)
    rows = [("--no-align, 1 worker", _run_find(corpus, work / "out-noalign", False, 1))]
    for w in workers:
        rows.append((f"align, {w} worker{'s' if w != 1 else ''}", _run_find(corpus, work / f"out-align-{w}", True, w)))
    base = rows[0][1]
    print(f"{n_docs} documents, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    print("| run | wall s | cpu s | align s | align cpu s | pairs | pairs/s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows:
        extra = r["cpu"] - base["cpu"] if r["pairs"] else 0.0
        rate = r["pairs"] / r["align"] if r["pairs"] and r["align"] > 0 else 0.0
        print(f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['align']:.2f} | {extra:.2f} | {r['pairs']} | {rate:.0f} |")
    if len(rows) > 2:
        first, last = rows[1][1], rows[-1][1]
        print(f"workers_speedup={first['align'] / max(last['align'], 1e-9):.2f}")
    print(f"align_over_noalign={rows[1][1]['wall'] / max(base['wall'], 1e-9):.2f} at {n_docs} docs")


if __name__ == "__main__":
    main()
