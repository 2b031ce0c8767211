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
columns; the two trees alternate run by run, so that a drifting load on a
shared machine hits both alike.  Cells: median (minimum) wall seconds, and
the median CPU seconds (user + system) of the process, which a loaded
machine inflates less.  The last line is
the table's last row.
"""

from __future__ import annotations

import argparse
import os
import resource
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


CPU: dict[str, list[float]] = {}  # CPU seconds (user + system) per tree label and command, in run order


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _time(cmd: list[str], env: dict[str, str], cpu_key: str | None = None) -> float:
    c0 = _cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"startup.py: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    if cpu_key is not None:
        CPU.setdefault(cpu_key, []).append(_cpu() - c0)
    return dt


class Tree:
    """One copytrace source tree to time, with its own caches."""

    def __init__(self, label: str, src: Path, work: Path, python: str) -> None:
        self.label, self.src, self.work, self.python = label, src, work, python
        subprocess.run([python, "-m", "compileall", "-q", str(src)], check=True, stdout=subprocess.DEVNULL)
        self.warm = _env(src, work / f"numba-{label}", work / f"xdg-{label}")
        cli = [python, "-m", "copytrace.cli"]
        seeds = sorted(str(p) for p in SEEDS.glob("*.txt"))
        self.cmds = {
            "help": [*cli, "--help"],
            "compare": [*cli, "compare", *seeds],
            "find": [*cli, "find", str(SEEDS), "--out", str(work / f"out-{label}"), "-q"],
        }

    def cold(self, i: int) -> float:
        """A first find with empty caches; its caches then serve the warm runs."""
        self.warm = _env(self.src, self.work / f"numba-cold-{self.label}-{i}", self.work / f"xdg-cold-{self.label}-{i}")
        return _time(self.cmds["find"], self.warm, f"{self.label}:cold")

    def run(self, key: str, timed: bool = True) -> float:
        return _time(self.cmds[key], self.warm, f"{self.label}:{key}" if timed else None)


def measure(trees: list[Tree], runs: int, cold_runs: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per run, per tree and command; the trees alternate run by run (the load drifts)."""
    res: dict[str, dict[str, list[float]]] = {t.label: {} for t in trees}
    for i in range(cold_runs):
        for t in trees:
            res[t.label].setdefault("cold", []).append(t.cold(i))
            print(f"  {t.label}: cold find {res[t.label]['cold'][-1]:.2f} s", file=sys.stderr, flush=True)
    for t in trees:  # fill each tree's caches (kernels of find and of compare), untimed
        t.run("find", timed=False)
        t.run("compare", timed=False)
    for key in ("help", "compare", "find"):
        for _ in range(runs):
            for t in trees:
                res[t.label].setdefault(key, []).append(t.run(key))
        for t in trees:
            print(f"  {t.label}: {key} " + " ".join(f"{x:.2f}" for x in res[t.label][key]), file=sys.stderr,
                  flush=True)
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
        trees = []
        if args.before:
            tree = work / "before"
            tree.mkdir()
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before, "src"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
            trees.append(Tree("before", tree / "src", work, args.python))
        trees.append(Tree("after", REPO / "src", work, args.python))
        results = measure(trees, args.runs, args.cold_runs)
        load1 = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cols = list(results)
    print(f"{os.cpu_count()} cores; load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end; "
          f"median (min) of {args.runs} runs, cold: {args.cold_runs}; before and now alternate run by run; "
          "CPU: median CPU seconds of the process")
    head = ["command"] + [f"before ({args.before})" if c == "before" else "now" for c in cols]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key, name in ROWS:
        if all(key in results[c] for c in cols):
            cells = [f"{statistics.median(results[c][key]):.2f} s ({min(results[c][key]):.2f}; "
                     f"CPU {statistics.median(CPU[f'{c}:{key}']):.2f} s)" for c in cols]
            print("| " + " | ".join([name] + cells) + " |")

if __name__ == "__main__":
    main()
