"""Local engine vs Spark engine on the same generated corpus, and an estimate for 1B documents.

Generates a syndication corpus (``syndicate.py``; Reuters-21578 base) of
``--docs`` documents once, as JSONL split into ``--shards`` files (the Spark
engine reads each input file in one task, so one big file would be read by
one core), cached under ``--cache`` (default ``/tmp/copytrace-bench-spark``).
Then runs ``copytrace find`` on it with each engine in its own subprocess,
with the same options (default threshold, boilerplate on, ``--source-field
source --date-field date``, ``--no-report``): ``--engine local``, and
``--engine spark --spark-master local[2]``.

For each run: wall-clock seconds, documents/s, the peak RSS of the whole
process tree (sampled from ``/proc`` every 0.2 s and summed: for Spark, the
driver Python + the JVM + the Python workers), and the per-stage timings of
``summary.json``.  Checks that ``documents.parquet``, ``pairs.parquet`` and
``passages.parquet`` are byte-identical between the two runs.

Last, an *estimate* (printed with its reasoning and assumptions) of the time
for 1 billion documents on a 32-node cluster of 16 cores per node, from the
measured per-document CPU costs of the stages, the shuffle volumes per
document, an assumed shuffle throughput, and the driver-side limits.

CLI::

    python benchmarks/spark.py [--docs 100000] [--shards 8] [--master local[2]]
        [--engines local,spark] [--cache DIR] [--nodes 32] [--cores-per-node 16]
        [--target-docs 1e9] [--shuffle-mb-s 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

OUTPUTS = ("documents.parquet", "pairs.parquet", "passages.parquet")


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------

def corpus(n_docs: int, shards: int, cache: Path, seed: int = 0) -> list[Path]:
    """The corpus as ``shards`` JSONL files (generated once, then reused)."""
    d = cache / f"syndicate-{n_docs}-s{seed}-x{shards}"
    files = [d / f"part-{i:03d}.jsonl" for i in range(shards)]
    if all(f.exists() for f in files) and (d / "DONE").exists():
        return files
    from syndicate import generate_to_files

    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    whole = d / "all.jsonl"
    generate_to_files(whole, n_docs, 0.3, 0.2, seed)
    per = -(-n_docs // shards)
    outs = [f.open("w", encoding="utf-8", newline="\n") for f in files]
    with whole.open(encoding="utf-8") as fin:
        for i, line in enumerate(fin):
            outs[min(i // per, shards - 1)].write(line)
    for o in outs:
        o.close()
    whole.unlink()
    (d / "DONE").write_text("ok\n")
    print(f"generated {n_docs} documents in {shards} files under {d} in {time.perf_counter() - t0:.1f}s", flush=True)
    return files


# --------------------------------------------------------------------------------------
# Running one engine, with the peak RSS of its process tree
# --------------------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(p))
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(root: int) -> float:
    kids = _children()
    total, stack = 0, [root]
    while stack:
        p = stack.pop()
        total += _rss_kb(p)
        stack.extend(kids.get(p, []))
    return total / 1024


def snapshot_src(cache: Path) -> Path:
    """A copy of ``src/`` that both engines run from (so that edits made to the working tree while
    the benchmark runs cannot make the engines run different code)."""
    dst = cache / "src-snapshot"
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(ROOT / "src", dst, ignore=shutil.ignore_patterns("*.nbi", "*.nbc", "__pycache__"))
    return dst


def run_engine(engine: str, files: list[Path], out: Path, master: str, timeout: float, src: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-c", "from copytrace.cli import main; main()",
           "find", *map(str, files), "--out", str(out), "--no-report", "--source-field", "source",
           "--date-field", "date", "-q", "--engine", engine]
    if engine == "spark":
        cmd += ["--spark-master", master]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))
            done.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        log, _ = proc.communicate()
        done.set()
        raise SystemExit(f"{engine}: did not finish in {timeout:.0f}s") from None
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed ({proc.returncode}):\n{log.decode(errors='replace')[-4000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"engine": engine, "seconds": wall, "peak_mb": peak[0], "summary": summary}


# --------------------------------------------------------------------------------------
# Shuffle volumes per document (measured on a sample of the corpus)
# --------------------------------------------------------------------------------------

def per_doc_volumes(files: list[Path], sample: int = 2000) -> dict[str, float]:
    import numpy as np

    from copytrace.stages import boilerplate as bpl
    from copytrace.stages.fingerprint import FingerprintParams, fingerprint_batch
    from copytrace.stages.normalize import tokenize_batch

    texts: list[str] = []
    raw = 0
    with files[0].open(encoding="utf-8") as f:
        for line in f:
            raw += len(line.encode("utf-8"))
            texts.append(json.loads(line)["text"])
            if len(texts) >= sample:
                break
    toks = tokenize_batch(texts)
    fps = fingerprint_batch(toks, FingerprintParams(5, 128, 42), 8)
    seg = bpl.segment_batch(texts, np.arange(len(texts), dtype=np.int64), bpl.BoilerplateOptions(), toks)
    n = len(texts)
    return {
        "json_bytes": raw / n,
        "text_bytes": sum(len(t.encode("utf-8")) for t in texts) / n,
        "samples": fps.sample_hashes.shape[0] / n,
        "segments": seg.key.shape[0] / n,
    }


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------

STAGES = ("read", "normalize", "fingerprint", "number", "boilerplate", "candidates", "verify", "cluster", "align", "collect",
          "write")


def table(results: list[dict], n: int) -> str:
    head = f"{'engine':<7} {'docs':>8} {'seconds':>8} {'docs/s':>8} {'peak RSS MB':>11}  per-stage seconds (summary.json timings_s)"
    lines = [head, "-" * len(head)]
    for r in results:
        t = r["summary"]["timings_s"]
        st = ", ".join(f"{k} {t[k]:.1f}" for k in STAGES if k in t)
        lines.append(f"{r['engine']:<7} {n:>8} {r['seconds']:>8.1f} {n / r['seconds']:>8.0f} {r['peak_mb']:>11.0f}  {st}")
    return "\n".join(lines)


def estimate(results: dict[str, dict], vol: dict[str, float], n: int, cores_here: int, args: argparse.Namespace) -> str:
    N = float(args.target_docs)
    nodes, cpn = args.nodes, args.cores_per_node
    cores = nodes * cpn
    L: list[str] = []
    p = L.append
    p(f"ESTIMATE (not a measurement): {N:.0e} documents on {nodes} nodes x {cpn} cores = {cores} cores")
    p("=" * 78)
    base = results.get("spark") or results.get("local")
    c = base["summary"]["counts"]
    cand_pairs = c.get("candidate_pairs", {}).get("near_total", 0) + c.get("candidate_pairs", {}).get("exact_duplicates", 0)
    verified = c.get("verified_pairs", 0)
    # per-document compute, in core-seconds per document (stage seconds x cores used / docs): an
    # upper bound, as not every stage keeps every core busy
    doc_stages = {"spark": ("read", "number", "fingerprint", "boilerplate", "candidates", "cluster", "collect"),
                  "local": ("read", "normalize", "fingerprint", "boilerplate", "candidates", "cluster")}
    pair_stages = ("verify", "align")
    comp: dict[str, float] = {}
    for eng, r in results.items():
        tt = r["summary"]["timings_s"]
        cs_doc = {s: tt[s] * cores_here / n for s in doc_stages[eng] if s in tt}
        cs_pair = {s: tt[s] * cores_here / max(1, cand_pairs if s == "verify" else verified)
                   for s in pair_stages if s in tt}
        p(f"Measured: {eng} engine, {n} docs, {cores_here} shared cores (core-seconds = stage seconds x {cores_here}):")
        for s, v in cs_doc.items():
            p(f"  {s:<12} {tt[s]:7.1f} s -> {v * 1e6:8.1f} core-us per document")
        for s, v in cs_pair.items():
            per = "candidate pair" if s == "verify" else "verified pair"
            p(f"  {s:<12} {tt[s]:7.1f} s -> {v * 1e6:8.1f} core-us per {per}")
        comp[eng] = (sum(cs_doc.values()) * N + cs_pair.get("verify", 0) * cand_pairs / n * N
                     + cs_pair.get("align", 0) * verified / n * N)
    if "spark" in results:
        tt = results["spark"]["summary"]["timings_s"]
        p(f"  (Spark's figures include its fixed costs: ~{tt.get('total', 0) - sum(tt.get(s, 0) for s in STAGES):.0f} s"
          " of session start-up outside the stages, ~100 small jobs, and the JVM and Python workers sharing the"
          " 2 cores)")
    pairs_per_doc = cand_pairs / n
    ver_per_doc = verified / n
    p(f"  candidate pairs per document {pairs_per_doc:.3f}, verified pairs per document {ver_per_doc:.3f} "
      f"(copy rate 0.3; assumed the same at 1B)")
    p("")
    p("1. Compute that scales with documents (read/parse, fingerprint, band keys, boilerplate segments,")
    p("   verify and align per pair), assumed to parallelize perfectly over the cluster's cores:")
    for eng, c_s in comp.items():
        p(f"   at the {eng} engine's measured costs: {c_s / 3600:,.0f} core-hours / {cores} cores = "
          f"{c_s / cores / 3600:.1f} h")
    comp_s = comp.get("spark", comp.get("local", 0.0))
    if "spark" in comp and "local" in comp:
        p("   (the local engine's costs are the kernels' own; Spark adds Arrow/JVM conversions, shuffles")
        p("    and scheduling: the Spark-measured figure is used below, the local one is a lower bound)")
    # shuffles
    bands = 0
    if base["summary"]["parameters"].get("lsh_bands"):
        bands = base["summary"]["parameters"]["lsh_bands"]
    text_b = vol["text_bytes"]
    sh = {
        "read -> number (sort by doc id; id+text+source+date)": vol["json_bytes"],
        "number -> fingerprint/docs cache (texts again, joined to verify/align)": text_b,
        f"band keys ({bands} bands x 16 B: key+idx; +4 B band)": bands * 20,
        f"containment samples ({vol['samples']:.0f}/doc x 16 B)": vol["samples"] * 16,
        f"boilerplate segments ({vol['segments']:.1f}/doc x 16 B key+idx, x3 shuffles)": vol["segments"] * 16 * 3,
        f"candidate pairs ({pairs_per_doc:.2f}/doc x 16 B, a few shuffles)": pairs_per_doc * 16 * 4,
        f"verify/align: both texts per pair ({pairs_per_doc:.2f}+{ver_per_doc:.2f} pairs/doc x 2 x {text_b:.0f} B)":
            (pairs_per_doc + ver_per_doc) * 2 * text_b,
    }
    p("")
    p("2. Shuffle volume per document (from the corpus: measured texts, samples and segments per document):")
    tot_b = 0.0
    for k, v in sh.items():
        p(f"   {v:9.0f} B  {k}")
        tot_b += v
    tot = tot_b * N
    rate = args.shuffle_mb_s * 1e6 * nodes
    p(f"   total {tot_b:,.0f} B/doc x {N:.0e} = {tot / 1e12:,.1f} TB shuffled (written and read once each)")
    p(f"   assumed shuffle throughput {args.shuffle_mb_s} MB/s per node (10 GbE, local SSD, serialization and"
      f" spill included) x {nodes} nodes = {rate / 1e9:.1f} GB/s")
    sh_t = tot / rate
    p(f"   -> {sh_t / 3600:.1f} h of shuffle (not overlapped with compute in this estimate)")
    cc_iters = 8
    p(f"   connected components: ~{cc_iters} large-star/small-star rounds over the verified edges "
      f"({ver_per_doc * N:.1e} edges x 16 B x ~4 shuffles/round = {ver_per_doc * N * 16 * 4 * cc_iters / 1e12:.1f} TB;"
      f" {ver_per_doc * N * 16 * 4 * cc_iters / rate / 3600:.1f} h)")
    cc_t = ver_per_doc * N * 16 * 4 * cc_iters / rate
    total_h = (comp_s / cores + sh_t + cc_t) / 3600
    p("")
    p(f"3. Executor-side total: {comp_s / cores / 3600:.1f} h compute + {sh_t / 3600:.1f} h shuffle + {cc_t / 3600:.1f} h"
      f" components = ~{total_h:.1f} h; planning figure x1.5 for skew, stragglers and spills = ~{total_h * 1.5:.0f} h.")
    p("")
    p("4. But the driver does not scale, and today it is the limit (the engine is not yet ready for 1B):")
    drv = N * (8 + 4 + 8 + 8 + 8 + 8)
    p("   - per-document arrays collected on the driver (length int64, n_tokens int32, root int64, and")
    p(f"     the cluster arrays of clusters_from_roots/build_tables ~3 x int64): ~44 B/doc x {N:.0e} = {drv / 1e9:.0f} GB")
    ids = N * 24
    p(f"   - doc ids in the output table (~24 B each with offsets): {ids / 1e9:.0f} GB; the Arrow documents table"
      " is built in one piece")
    pairs_b = ver_per_doc * N * (8 + 8 + 3 * 8)
    p(f"   - verified pairs (a, b int64 + 3 float64 = 40 B) x {ver_per_doc * N:.1e} = {pairs_b / 1e9:.0f} GB, plus the"
      " alignment results as Python objects (~1 kB each) = "
      f"{ver_per_doc * N * 1000 / 1e12:.1f} TB")
    p("   - the texts stay on the executors (no text store on the driver): deduplicated.jsonl is made there and")
    p(f"     only its part files are concatenated by the driver ({text_b:.0f} B/doc of the kept documents = up to"
      f" {N * text_b / 1e12:.1f} TB of sequential copy; at ~500 MB/s: {N * text_b / 5e8 / 3600:.0f} h), with one"
      " copy buffer in memory")
    p("   What would have to change: write documents/pairs/passages from the executors (partitioned Parquet")
    p("   directories; cluster ids and representatives computed by joins in Spark), leave deduplicated.jsonl")
    p("   as the executors' part files, and do the")
    p("   boilerplate story check on the executors. Then the driver holds O(boilerplate candidates) only and")
    p(f"   the executor-side figure above (~{total_h:.0f}-{total_h * 1.5:.0f} h) is the estimate.")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--engines", default="local,spark")
    ap.add_argument("--cache", default="/tmp/copytrace-bench-spark")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per engine run")
    ap.add_argument("--nodes", type=int, default=32)
    ap.add_argument("--cores-per-node", type=int, default=16)
    ap.add_argument("--target-docs", type=float, default=1e9)
    ap.add_argument("--shuffle-mb-s", type=float, default=200, help="assumed shuffle MB/s per node")
    ap.add_argument("--keep", action="store_true", help="keep the output directories")
    ap.add_argument("--merge", action="store_true",
                    help="add to the last run's saved measurements of the other engines (and their kept outputs)")
    ap.add_argument("--report-only", action="store_true",
                    help="print the table and estimate of the last run again (with --keep'd outputs)")
    args = ap.parse_args(argv)

    cache = Path(args.cache)
    files = corpus(args.docs, args.shards, cache)
    results: dict[str, dict] = {}
    outs: dict[str, Path] = {}
    saved = cache / f"results-{args.docs}.json"
    engines = args.engines.split(",")
    for engine in engines:
        outs[engine] = cache / f"out-{engine}-{args.docs}"
    if args.report_only:  # the last run's measurements, printed again
        results = json.loads(saved.read_text())
        args.keep = True
    else:
        if args.merge and saved.exists():  # keep the other engines' last measurements
            results = {k: v for k, v in json.loads(saved.read_text()).items() if k not in engines}
            for k in results:
                outs.setdefault(k, cache / f"out-{k}-{args.docs}")
        src = snapshot_src(cache)
        for engine in engines:
            print(f"running {engine} ...", flush=True)
            results[engine] = run_engine(engine, files, outs[engine], args.master, args.timeout, src)
            print(f"  {engine}: {results[engine]['seconds']:.1f} s, peak RSS {results[engine]['peak_mb']:.0f} MB",
                  flush=True)
        saved.write_text(json.dumps(results, indent=1))
    n = next(iter(results.values()))["summary"]["counts"]["documents"]
    print()
    print(table(list(results.values()), n))
    if "local" in results and "spark" in results:
        print()
        same = True
        for name in OUTPUTS:
            a = (outs["local"] / name).read_bytes()
            b = (outs["spark"] / name).read_bytes()
            ok = a == b
            same &= ok
            print(f"{name:<18} {'byte-identical' if ok else 'DIFFERENT'} ({len(a):,} / {len(b):,} bytes)")
        cl, cs = results["local"]["summary"]["counts"], results["spark"]["summary"]["counts"]
        print(f"summary counts {'identical' if cl == cs else 'DIFFERENT'}: clusters {cs['clusters']}, "
              f"verified pairs {cs['verified_pairs']}, passages {cs['passages']}, "
              f"boilerplate segments {cs['boilerplate_segments']}")
        if not same:
            print("OUTPUTS DIFFER")
    print()
    print(estimate(results, per_doc_volumes(files), n, os.cpu_count() or 1, args))
    if not args.keep:
        for o in outs.values():
            shutil.rmtree(o, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
