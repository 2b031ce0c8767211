"""copytrace against its peers on the same generated syndication corpus.

    python benchmarks/peers.py --docs 10000 --docs 100000 [--copytrace-only 1000000]
                               [--threshold 0.5] [--ngram 5] [--peers rensa,datasketch,text-dedup]

For each size it generates one corpus with ``syndicate.py`` (ground truth
known), then runs every tool in its own subprocess, started through a small
launcher process (so the peak RSS reported is the tool's own, not the
driver's) and scores the clusters with ``quality.py``:

* ``copytrace``          ``copytrace find --no-align --no-report`` at the threshold/shingles below
                         (and ``--memory-limit`` when given);
* ``copytrace+align``    the same with passage alignment on (its extra cost);
* ``datasketch``         MinHash + MinHashLSH, at copytrace's threshold and shingles
                         (``update_batch``, candidates kept when the MinHash estimate
                         reaches the threshold), and ``datasketch(defaults)`` at its
                         documented defaults (MinHashLSH threshold 0.9);
* ``rensa``              RMinHash + RMinHashLSH likewise, and ``rensa(defaults)`` with
                         the README's 16 bands;
* ``text-dedup``         its MinHash if the package imports (it needs Spark, datasets …:
                         otherwise the row says why).

Peers tokenize in Python as their documentation shows (lower-cased ``\\w+``
words, word n-grams); copytrace does it in its compiled pass.  Every tool's
clusters are connected components of its accepted pairs.

The table gives wall seconds and CPU seconds (user + system, all threads;
what a run costs on a loaded machine).  Before the last line,
``cpu_speedup_vs_rensa=X.XX cpu_speedup_vs_datasketch=X.XX`` (peer CPU time
over copytrace's).  The last line is, for the largest size that ran the peers:
``speedup_vs_rensa=X.XX speedup_vs_datasketch=X.XX ari=0.XXXX`` (peer wall time
over copytrace's; copytrace's ARI).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------------------------
# the tools (each runs inside its own subprocess: `peers.py --run TOOL ...`)
# --------------------------------------------------------------------------------------------
def _load(path: Path) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            ids.append(str(rec["id"]))
            texts.append(rec["text"])
    return ids, texts


def _shingles(text: str, n: int) -> list[str]:
    w = WORD.findall(text.lower())
    if len(w) < n:
        return [" ".join(w)] if w else []
    return list({" ".join(w[i : i + n]) for i in range(len(w) - n + 1)})


def _write_clusters(ids: list[str], edges: list[tuple[int, int]], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = [find(i) for i in range(len(ids))]
    best: dict[int, str] = {}
    for i, r in enumerate(roots):
        if r not in best or ids[i] < best[r]:
            best[r] = ids[i]
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"doc_id": ids, "cluster_id": [best[r] for r in roots]}), out / "documents.parquet")


def _lsh_edges(mh: list, lsh: object, threshold: float) -> list[tuple[int, int]]:
    """Pairs the LSH index proposes whose MinHash estimate reaches the threshold
    (datasketch and rensa share the query/jaccard API)."""
    edges = []
    for i, m in enumerate(mh):
        for j in lsh.query(m):  # type: ignore[attr-defined]
            if j > i and m.jaccard(mh[j]) >= threshold:
                edges.append((i, j))
    return edges


def run_datasketch(path: Path, out: Path, threshold: float, ngram: int, num_perm: int) -> None:
    from datasketch import MinHash, MinHashLSH

    ids, texts = _load(path)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    mh = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=1)
        sh = _shingles(t, ngram)
        if sh:
            m.update_batch([s.encode("utf-8") for s in sh])
        mh.append(m)
        lsh.insert(i, m)
    _write_clusters(ids, _lsh_edges(mh, lsh, threshold), out)


def run_rensa(path: Path, out: Path, threshold: float, ngram: int, num_perm: int, bands: int) -> None:
    from rensa import RMinHash, RMinHashLSH

    ids, texts = _load(path)
    lsh = RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=bands)
    mh = []
    for i, t in enumerate(texts):
        m = RMinHash(num_perm=num_perm, seed=42)
        m.update(_shingles(t, ngram))
        mh.append(m)
        lsh.insert(i, m)
    _write_clusters(ids, _lsh_edges(mh, lsh, threshold), out)


def run_copytrace(path: Path, out: Path, threshold: float, ngram: int, num_perm: int, align: bool,
                  memory_limit: str | None = None) -> None:
    import copytrace

    # dedup against dedup: no report.html (the +align row adds alignment's cost)
    copytrace.find(path, out, threshold=threshold, ngram=ngram, num_perm=num_perm, align=align, report=False,
                   memory_limit=memory_limit, progress=False)


def run_text_dedup(path: Path, out: Path, threshold: float, ngram: int, num_perm: int) -> None:
    import text_dedup  # noqa: F401  (raises ImportError when it is not installed)

    raise RuntimeError("text-dedup imports, but its MinHash runs only on Hugging Face datasets; not wired here")


def _rensa_bands(threshold: float, num_perm: int) -> int:
    """rensa needs bands × rows = num_perm exactly: of the divisors of num_perm,
    the band count minimising the same false-positive + false-negative areas
    that copytrace (and datasketch) minimise."""
    import numpy as np

    lo, hi = np.linspace(0, threshold, 257), np.linspace(threshold, 1, 257)
    best = None
    for b in (d for d in range(1, num_perm + 1) if num_perm % d == 0):
        r = num_perm // b
        err = np.trapezoid(1 - (1 - lo**r) ** b, lo) + np.trapezoid((1 - hi**r) ** b, hi)
        if best is None or err < best[0]:
            best = (err, b)
    return best[1]


def _run_tool(args: argparse.Namespace) -> None:
    path, out = Path(args.input), Path(args.out)
    t, n, p = args.threshold, args.ngram, args.num_perm
    if args.run == "copytrace":
        run_copytrace(path, out, t, n, p, align=False, memory_limit=args.memory_limit)
    elif args.run == "copytrace+align":
        run_copytrace(path, out, t, n, p, align=True, memory_limit=args.memory_limit)
    elif args.run == "datasketch":
        run_datasketch(path, out, t, n, p)
    elif args.run == "datasketch(defaults)":
        run_datasketch(path, out, 0.9, n, 128)
    elif args.run == "rensa":
        run_rensa(path, out, t, n, p, _rensa_bands(t, p))
    elif args.run == "rensa(defaults)":
        run_rensa(path, out, t, n, 128, 16)
    elif args.run == "text-dedup":
        run_text_dedup(path, out, t, n, p)
    else:
        raise SystemExit(f"unknown tool {args.run}")


# --------------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------------
# Linux keeps, in a child's ru_maxrss, the peak RSS of the image it had before
# exec: a tool spawned straight from this driver (or from a pytest worker)
# would report the driver's own peak when larger.  A tiny Python in between
# starts each tool from a small image and reports the tool's own peak RSS, CPU
# and wall seconds (its own start-up excluded) as its last stderr line.
_LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}),
      file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(tool: str, corpus: Path, out: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run", tool, "--input", str(corpus), "--out", str(out),
           "--threshold", str(args.threshold), "--ngram", str(args.ngram), "--num-perm", str(args.num_perm)]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    try:
        m = json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"tool": tool, "error": lines[-1] if lines else f"launcher exit {proc.returncode}"}
    if proc.returncode != 0:
        return {"tool": tool, "error": lines[-2] if len(lines) > 1 else f"exit {proc.returncode}"}
    return {"tool": tool, "seconds": m["wall"], "cpu_seconds": m["cpu"], "peak_rss_mb": m["maxrss_kib"] / 1024}


def score(truth_path: Path, out: Path) -> tuple[float, float]:
    from quality import evaluate, load_predictions, load_truth

    r = evaluate(load_truth(truth_path), load_predictions(out))
    return r["ari"], r["f1"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, action="append", help="corpus size (repeatable); default 10000 and 100000")
    ap.add_argument("--copytrace-only", type=int, action="append", default=[],
                    help="sizes run with copytrace alone (e.g. 1000000)")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--peers", default="rensa,datasketch,text-dedup")
    ap.add_argument("--edit-strength", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-limit", default=None, help="copytrace's --memory-limit (e.g. 4GB)")
    ap.add_argument("--work", default=None, help="where corpora and outputs go (default: a temporary directory)")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        _run_tool(args)
        return

    from syndicate import generate_to_files

    sizes = args.docs or [10_000, 100_000]
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    work = Path(args.work or tempfile.mkdtemp(prefix="copytrace-peers-"))
    rows: list[dict] = []
    last: dict[str, dict] = {}
    plan = [(n, True) for n in sizes] + [(n, False) for n in args.copytrace_only]
    for n, with_peers in plan:
        corpus = work / f"corpus-{n}.jsonl"
        truth = work / f"corpus-{n}.truth.jsonl"
        if not corpus.exists():
            generate_to_files(corpus, n_docs=n, edit_strength=args.edit_strength, seed=args.seed, truth=truth)
        tools = ["copytrace", "copytrace+align"] if with_peers else ["copytrace"]
        if with_peers:
            for p in peers:
                tools += [p] if p == "text-dedup" else [p, f"{p}(defaults)"]
        by_tool = {}
        for tool in tools:
            out = work / f"out-{n}-{re.sub(r'[^a-z+]', '_', tool)}"
            print(f"[{n} docs] {tool} …", file=sys.stderr, flush=True)
            r = measure(tool, corpus, out, args)
            r["docs"] = n
            if "error" not in r:
                r["ari"], r["f1"] = score(truth, out)
            rows.append(r)
            by_tool[tool] = r
        if with_peers:
            last = by_tool

    print(f"\nthreshold={args.threshold} ngram={args.ngram} num_perm={args.num_perm} "
          f"edit_strength={args.edit_strength} seed={args.seed}; {os.cpu_count()} cores\n")
    print(f"{'tool':<22} {'docs':>9} {'seconds':>9} {'CPU s':>8} {'docs/s':>9} {'peak RSS MB':>12} {'ARI':>7} {'F1':>7}")
    print("-" * 89)
    for r in rows:
        if "error" in r:
            print(f"{r['tool']:<22} {r['docs']:>9}   not run: {r['error'][:60]}")
            continue
        print(f"{r['tool']:<22} {r['docs']:>9} {r['seconds']:>9.2f} {r['cpu_seconds']:>8.2f} {r['docs'] / r['seconds']:>9.0f} "
              f"{r['peak_rss_mb']:>12.0f} {r['ari']:>7.4f} {r['f1']:>7.4f}")
    ct = last.get("copytrace", {})

    def speedup(tool: str) -> str:
        r = last.get(tool, {})
        if "seconds" not in r or "seconds" not in ct:
            return "nan"
        return f"{r['seconds'] / ct['seconds']:.2f}"

    def cpu_speedup(tool: str) -> str:
        r = last.get(tool, {})
        if "cpu_seconds" not in r or "cpu_seconds" not in ct:
            return "nan"
        return f"{r['cpu_seconds'] / ct['cpu_seconds']:.2f}"

    # CPU seconds (user + system, all threads): the comparison that holds on a loaded machine
    print(f"cpu_speedup_vs_rensa={cpu_speedup('rensa')} cpu_speedup_vs_datasketch={cpu_speedup('datasketch')}")
    print(f"speedup_vs_rensa={speedup('rensa')} speedup_vs_datasketch={speedup('datasketch')} "
          f"ari={ct.get('ari', float('nan')):.4f}")


if __name__ == "__main__":
    main()
