"""In-memory ``lsh_pairs`` vs out-of-core ``external_lsh_pairs`` (DuckDB).

    python benchmarks/buckets.py [--docs 1000000] [--num-perm 128] [--dup-rate 0.2]
                                 [--memory-limit 1GB[,256MB...]] [--threads 2] [--work-dir DIR]

Random MinHash signatures with planted near-duplicates (a ``dup-rate`` share
of the documents copy 50–95 % of another's signature), bands/rows from
``optimal_params(0.5, num_perm)``.  Each method runs in its own process, so
that its peak RSS (``resource.getrusage``) is its own; the external one reads
the signatures batch by batch from a raw file (no memory map) in a shuffled
store order, spools the band keys to Parquet, then asks DuckDB for the pairs.
Prints a table and checks that both give the same pairs.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH = 50_000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def make_corpus(work: Path, n: int, num_perm: int, dup_rate: float, seed: int) -> None:
    """Signatures in *store* order in ``sigs.u32`` and ``rank`` (store row -> final index)."""
    rng = np.random.default_rng(seed)
    sig = rng.integers(0, 2**32, size=(n, num_perm), dtype=np.uint32)
    n_dup = int(n * dup_rate)
    targets = rng.choice(n, size=n_dup, replace=False)
    sources = rng.integers(0, n, size=n_dup)
    for lo in range(0, n_dup, BATCH):
        t, s = targets[lo : lo + BATCH], sources[lo : lo + BATCH]
        keep = rng.random((t.shape[0], num_perm)) < rng.uniform(0.5, 0.95, size=(t.shape[0], 1))
        sig[t] = np.where(keep, sig[s], sig[t])
    rank = rng.permutation(n).astype(np.int64)  # store row r holds final document rank[r]
    sig[rank].tofile(work / "sigs.u32")  # store row r holds final document rank[r]
    np.save(work / "rank.npy", rank)


def read_rows(path: Path, lo: int, hi: int, num_perm: int) -> np.ndarray:
    count = (hi - lo) * num_perm
    return np.fromfile(path, dtype=np.uint32, count=count, offset=lo * num_perm * 4).reshape(-1, num_perm)


def child(args: argparse.Namespace) -> None:
    from copytrace.stages import candidates as cand

    work = Path(args.work_dir)
    params = cand.optimal_params(0.5, args.num_perm)
    rank = np.load(work / "rank.npy")
    n = rank.shape[0]
    active = np.ones(n, dtype=bool)
    # warm the numba kernels on a tiny input so compile time is not timed
    tiny = np.random.default_rng(0).integers(0, 2**32, size=(4, args.num_perm), dtype=np.uint32)
    cand.lsh_pairs(tiny, params, np.ones(4, dtype=bool), 64)
    base = rss_mb()
    out: dict[str, float] = {"base_rss_mb": base}
    if args.child == "memory":
        t0 = time.perf_counter()
        sig = np.empty((n, args.num_perm), dtype=np.uint32)  # final order, as the engine holds it
        for lo in range(0, n, BATCH):
            hi = min(n, lo + BATCH)
            sig[rank[lo:hi]] = read_rows(work / "sigs.u32", lo, hi, args.num_perm)
        t1 = time.perf_counter()
        pairs = cand.lsh_pairs(sig, params, active, 64)
        t2 = time.perf_counter()
        out.update(load_s=t1 - t0, spool_s=0.0, pairs_s=t2 - t1)
    else:
        from copytrace.stages.buckets import BandKeySpool, external_lsh_pairs, parse_memory_limit

        shutil.rmtree(work / "ext", ignore_errors=True)
        t0 = time.perf_counter()
        spool = BandKeySpool(work / "ext" / "spool", params)
        for lo in range(0, n, BATCH):
            hi = min(n, lo + BATCH)
            rows = np.arange(lo, hi, dtype=np.int64)
            spool.append(rows, read_rows(work / "sigs.u32", lo, hi, args.num_perm))
        spool.close()
        t1 = time.perf_counter()
        cand.lsh_pairs(tiny, params, np.ones(4, dtype=bool), 64)
        from copytrace.stages import buckets

        buckets._codes_of_buckets(np.arange(3, dtype=np.int64), np.array([0, 3]), 64)
        pairs = external_lsh_pairs(
            spool, rank, active, 64,
            db_path=work / "ext" / "buckets.duckdb",
            memory_limit=parse_memory_limit(args.memory_limit),
            threads=args.threads,
            temp_dir=work / "ext" / "duckdb-tmp",
        )
        t2 = time.perf_counter()
        out.update(load_s=0.0, spool_s=t1 - t0, pairs_s=t2 - t1,
                   spool_mb=sum(f.stat().st_size for f in spool.files) / 2**20)
    np.save(work / f"pairs-{args.child}.npy", pairs)
    out.update(pairs=float(pairs.shape[0]), peak_rss_mb=rss_mb(), bands=params.bands, rows=params.rows)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--dup-rate", type=float, default=0.2)
    ap.add_argument("--memory-limit", default="1GB", help="one or more, comma-separated")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work-dir", default=None)
    ap.add_argument("--child", choices=["make", "memory", "external"], default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "make":
        make_corpus(Path(args.work_dir), args.docs, args.num_perm, args.dup_rate, args.seed)
        return
    if args.child:
        child(args)
        return
    own = args.work_dir is None
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="copytrace-buckets-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        # every step in its own process: Linux carries a parent's peak RSS into
        # its children's ru_maxrss (fork copies it, exec keeps it)
        subprocess.run([sys.executable, __file__, "--child", "make", "--work-dir", str(work),
                        "--docs", str(args.docs), "--num-perm", str(args.num_perm),
                        "--dup-rate", str(args.dup_rate), "--seed", str(args.seed)], check=True)
        print(f"corpus: {args.docs} docs × {args.num_perm} perms, dup rate {args.dup_rate} "
              f"({time.perf_counter() - t0:.1f} s to generate)", flush=True)
        limits = [x.strip() for x in args.memory_limit.split(",") if x.strip()]
        runs = [("memory", "lsh_pairs (in memory)", limits[0])]
        runs += [("external", f"external_lsh_pairs {lim}", lim) for lim in limits]
        rows_out = []
        same = True
        ref = None
        for mode, label, lim in runs:
            cmd = [sys.executable, __file__, "--child", mode, "--work-dir", str(work),
                   "--num-perm", str(args.num_perm), "--memory-limit", lim, "--threads", str(args.threads)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode:
                sys.exit(f"{label} failed:\n{res.stderr[-3000:]}")
            r = json.loads(res.stdout.strip().splitlines()[-1])
            got = np.load(work / f"pairs-{mode}.npy")
            if ref is None:
                ref = got
            else:
                same = same and np.array_equal(ref, got)
            rows_out.append((label, r))
        r0 = rows_out[0][1]
        print(f"LSH bands={int(r0['bands'])} rows={int(r0['rows'])}; threads {args.threads}")
        print(f"{'method':<30}{'load s':>8}{'spool s':>9}{'pairs s':>9}{'total s':>9}"
              f"{'base RSS MB':>13}{'peak RSS MB':>13}{'pairs':>11}")
        for label, r in rows_out:
            total = r["load_s"] + r["spool_s"] + r["pairs_s"]
            print(f"{label:<30}{r['load_s']:>8.1f}{r['spool_s']:>9.1f}{r['pairs_s']:>9.1f}{total:>9.1f}"
                  f"{r['base_rss_mb']:>13.0f}{r['peak_rss_mb']:>13.0f}{int(r['pairs']):>11}")
        print(f"spool on disk: {rows_out[-1][1]['spool_mb']:.0f} MB; identical pairs: {same}")
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
