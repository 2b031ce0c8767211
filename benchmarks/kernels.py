"""Throughput of the hot kernels on real news text (Reuters-21578).

    python benchmarks/kernels.py [REUTERS_DIR] [--repeat 3] [--workers N]

Prints MB/s (of UTF-8 text) per stage and for signatures end to end
(tokenizing included), single-threaded and with all workers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numba

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from copytrace.stages.fingerprint import FingerprintParams, fingerprint_batch  # noqa: E402
from copytrace.stages.normalize import tokenize_batch  # noqa: E402


def load_texts(reuters_dir: Path) -> list[str]:
    from reuters import iter_reuters

    return [d["text"] for d in iter_reuters(reuters_dir)]


def best(fn, repeat: int) -> tuple[float, float]:
    """Best wall time and best CPU time (all threads of the process) of ``repeat`` runs:
    on a shared, loaded machine the CPU time is the kernel's cost, the wall time is not."""
    times, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(times), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reuters", nargs="?", default=str(HERE.parent.parent / "shared" / "data" / "reuters21578"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-docs", type=int, default=1000)
    args = ap.parse_args()
    texts = load_texts(Path(args.reuters))
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    batches = [texts[i : i + args.batch_docs] for i in range(0, len(texts), args.batch_docs)]
    params = FingerprintParams()
    # warm up the JIT
    fingerprint_batch(tokenize_batch(batches[0][:10]), params, 8)

    rows = []
    for threads in sorted({1, args.workers}):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        toks = [tokenize_batch(b) for b in batches]
        t_tok = best(lambda: [tokenize_batch(b) for b in batches], args.repeat)
        t_fp = best(lambda: [fingerprint_batch(t, params, 8) for t in toks], args.repeat)
        t_all = best(lambda: [fingerprint_batch(tokenize_batch(b), params, 8) for b in batches], args.repeat)
        rows.append((threads, t_tok, t_fp, t_all))
    n_tokens = sum(len(t.hashes) for t in toks)
    print(f"Reuters-21578: {len(texts)} documents, {mb:.1f} MB of UTF-8 text, {n_tokens:,} tokens, "
          f"{params.num_perm} permutations, {params.ngram}-word shingles\n")
    print("MB/s of wall time, and (in brackets) MB per CPU second: the kernels' speed on a loaded machine\n")
    print(f"{'threads':>7} | {'tokenize MB/s':>15} | {'minhash MB/s':>15} | {'signatures MB/s':>17} | {'per core':>8}")
    print("-" * 76)
    for threads, (t_tok, c_tok), (t_fp, c_fp), (t_all, c_all) in rows:
        print(f"{threads:>7} | {mb / t_tok:>6.1f} ({mb / c_tok:>6.1f}) | {mb / t_fp:>6.1f} ({mb / c_fp:>6.1f}) | "
              f"{mb / t_all:>7.1f} ({mb / c_all:>7.1f}) | {mb / t_all / threads:>8.1f}")
    one = rows[0][3][1]  # one thread: MB per CPU second
    print(f"signatures_cpu_mb_per_s_one_core={mb / one:.1f}")
    threads, _, _, (t_all, _) = rows[-1]
    print(f"signatures_mb_per_s={mb / t_all:.1f} per_core={mb / t_all / threads:.1f}")


if __name__ == "__main__":
    main()
