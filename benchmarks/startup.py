"""Start-up benchmark (issue 17): how long the commands a user types first take.

    python benchmarks/startup.py [--runs 3] [--cold-runs 3] [--before REF]

Times, in fresh processes, each the median of ``--runs`` runs:

* ``copytrace --help``;
* a warm ``copytrace compare`` of the two seeds (examples/seeds/*.txt);
* a warm ``copytrace find examples/seeds --out OUT -q``;
* a cold first ``find``: empty numba cache (``NUMBA_CACHE_DIR``) and empty
  copytrace cache (``XDG_CACHE_HOME``: the folding tables), i.e. what a fresh
  install pays on its first run (``--cold-runs`` runs, each with new empty
  caches).

Each command runs as ``python -m copytrace.cli`` with ``PYTHONPATH`` set to
the tree measured, byte-code caching on (as in an installed package: the
tree is byte-compiled first) and its own numba cache folder, filled by one
untimed run before the warm timings.  ``--before REF`` also measures the
``src/`` of git revision REF (exported with ``git archive`` into a temporary
folder; the repository itself is not touched) and prints before/after
columns.  The last line is the table's last row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "examples" / "seeds"


def _env(src: Path, numba_cache: Path, xdg_cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(src), NUMBA_CACHE_DIR=str(numba_cache), XDG_CACHE_HOME=str(xdg_cache))
    return env


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"startup.py: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return dt


def measure(src: Path, work: Path, label: str, runs: int, cold_runs: int, python: str) -> dict[str, float]:
    """Median seconds per command for the copytrace under ``src``."""
    subprocess.run([python, "-m", "compileall", "-q", str(src)], check=True, stdout=subprocess.DEVNULL)
    seeds = sorted(str(p) for p in SEEDS.glob("*.txt"))
    warm = _env(src, work / f"numba-{label}", work / f"xdg-{label}")
    cli = [python, "-m", "copytrace.cli"]
    out = work / f"out-{label}"
    find = [*cli, "find", str(SEEDS), "--out", str(out), "-q"]
    compare = [*cli, "compare", *seeds]
    res: dict[str, float] = {}
    if cold_runs:
        times = []
        for i in range(cold_runs):
            cold = _env(src, work / f"numba-cold-{label}-{i}", work / f"xdg-cold-{label}-{i}")
            times.append(_time(find, cold))
            print(f"  {label}: cold find {times[-1]:.2f} s", file=sys.stderr, flush=True)
        res["cold"] = statistics.median(times)
        warm = cold  # the last cold run filled these caches: the warm runs go on from there
    _time(find, warm)  # fill this tree's caches (kernels of find and of compare)
    _time(compare, warm)
    for key, cmd in (("help", [*cli, "--help"]), ("compare", compare), ("find", find)):
        times = [_time(cmd, warm) for _ in range(runs)]
        print(f"  {label}: {key} " + " ".join(f"{t:.2f}" for t in times), file=sys.stderr, flush=True)
        res[key] = statistics.median(times)
    return res


ROWS = (
    ("help", "`copytrace --help`"),
    ("compare", "warm `copytrace compare` of the two seeds"),
    ("find", "warm `copytrace find examples/seeds`"),
    ("cold", "first `find` (empty numba and copytrace caches)"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per warm command (median)")
    ap.add_argument("--cold-runs", type=int, default=3, help="cold first runs (median); 0 = skip")
    ap.add_argument("--before", default=None, help="git revision to compare with (its src/, via git archive)")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="copytrace-startup-"))
    try:
        load0 = os.getloadavg()
        results: dict[str, dict[str, float]] = {}
        if args.before:
            tree = work / "before"
            tree.mkdir()
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before, "src"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
            results["before"] = measure(tree / "src", work, "before", args.runs, args.cold_runs, args.python)
        results["after"] = measure(REPO / "src", work, "after", args.runs, args.cold_runs, args.python)
        load1 = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cols = list(results)
    print(f"{os.cpu_count()} cores; load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end; "
          f"median of {args.runs} runs (cold: {args.cold_runs})")
    head = ["command"] + [f"{c} ({args.before})" if c == "before" else ("now" if c == "after" else c) for c in cols]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key, name in ROWS:
        if all(key in results[c] for c in cols):
            print("| " + " | ".join([name] + [f"{results[c][key]:.2f} s" for c in cols]) + " |")


if __name__ == "__main__":
    main()
