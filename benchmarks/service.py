"""Benchmark of the persistent index and the query service.

    python benchmarks/service.py [--docs 100000] [--queries 400] [--db PATH]

1. generates N random-word stories (a fifth of them reprints of earlier ones,
   with edits, a header and sometimes truncated; ``benchmarks/syndicate.py``'s
   ``generate`` is used instead when present);
2. adds them to a new index in batches of ``--batch`` (one transaction each):
   add throughput (docs/s);
3. starts the real server (uvicorn, a subprocess, loopback) and measures
   ``POST /query`` latency p50/p99 at 1, 8 and 32 concurrent clients (each at
   most ``--queries`` queries and ``--max-seconds`` seconds);
4. prints a table, with the DB size per document.

Targets: add >= 2,000 docs/s; query p99 < 50 ms at 8 clients on 100k docs.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _vocab(rng: random.Random, n: int = 20000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return sorted({"".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(n)})


def generate(n_docs: int, copy_rate: float = 0.2, edit_strength: float = 0.05, seed: int = 0,
             use_syndicate: bool = True) -> list[dict]:
    """``benchmarks/syndicate.py`` (Reuters-based) when present and its data is
    there; otherwise stories of 6–18 random-word sentences, ``copy_rate`` of
    them reprints of an earlier one."""
    if use_syndicate:
        try:
            sys.path.insert(0, str(Path(__file__).parent))
            from syndicate import generate as syn  # type: ignore

            docs, _truth = syn(n_docs, copy_rate, edit_strength, seed, None)
            print("generator: benchmarks/syndicate.py", flush=True)
            return list(docs)
        except Exception as e:  # no syndicate.py, or no Reuters data here
            print(f"generator: built-in (syndicate.py unavailable: {type(e).__name__}: {e})", flush=True)
    rng = random.Random(seed)
    v = _vocab(rng)
    docs: list[dict] = []
    for i in range(n_docs):
        if docs and rng.random() < copy_rate:
            src = docs[rng.randrange(len(docs))]["text"]
            words = src.split(" ")
            for k in range(len(words)):
                if rng.random() < edit_strength:
                    words[k] = rng.choice(v)
            text = " ".join(words)
            if rng.random() < 0.3:
                paras = text.split("\n\n")
                text = "\n\n".join(paras[: max(1, len(paras) - 1)])
            text = f"Site {rng.randint(1, 99)} News\n\n{text}"
        else:
            sents = [" ".join(rng.choice(v) for _ in range(rng.randint(10, 24))).capitalize() + "."
                     for _ in range(rng.randint(6, 18))]
            text = "\n\n".join(" ".join(sents[j:j + 3]) for j in range(0, len(sents), 3))
        docs.append({"id": f"doc{i:07d}", "text": text, "source": f"site{rng.randint(1, 50)}"})
    return docs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load(base: str, texts: list[str], clients: int, n_queries: int, max_s: float, passages: bool) -> dict:
    """``clients`` threads, each with one keep-alive connection, posting queries back to
    back (the stdlib client: it takes less of the CPUs that the server shares than httpx)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    host = urlsplit(base)
    lat: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(n_queries))
    stop = time.perf_counter() + max_s
    headers = {"Content-Type": "application/json"}

    def worker(k: int) -> None:
        nonlocal errors
        rng = random.Random(k)
        c = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        try:
            while time.perf_counter() < stop:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                body = json.dumps({"text": texts[rng.randrange(len(texts))], "limit": 10, "passages": passages})
                t0 = time.perf_counter()
                c.request("POST", "/query", body=body.encode(), headers=headers)
                r = c.getresponse()
                data = r.read()
                dt = time.perf_counter() - t0
                ok = r.status == 200 and data.startswith(b'{"matches":')
                with lock:
                    lat.append(dt)
                    errors += not ok
        finally:
            c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) >= 2 else [lat[0] * 1] * 99
    return {"clients": clients, "queries": len(lat), "errors": errors, "qps": len(lat) / wall,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a process and its children (Linux /proc; None elsewhere)."""
    try:
        pids = [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        kb = 0
        for p in pids:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb += int(line.split()[1])
        return kb / 1024
    except OSError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000, help="documents per add (one transaction each)")
    ap.add_argument("--queries", type=int, default=400, help="queries per concurrency level (at most)")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="per concurrency level (at most)")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--no-passages", action="store_true", help="query without passage alignment")
    ap.add_argument("--builtin-generator", action="store_true", help="do not use benchmarks/syndicate.py")
    ap.add_argument("--db", default=None, help="index file (default: a temporary one)")
    ap.add_argument("--query-processes", type=int, default=None,
                    help="the server's query worker processes (default: its own default, one per CPU)")
    args = ap.parse_args()

    from copytrace.index import Index

    tmp = tempfile.mkdtemp(prefix="copytrace-bench-")
    db = Path(args.db or os.path.join(tmp, "bench.duckdb"))
    if db.exists():
        sys.exit(f"{db} exists")
    t0 = time.perf_counter()
    docs = generate(args.docs, use_syndicate=not args.builtin_generator)
    print(f"generated {len(docs)} documents in {time.perf_counter() - t0:.1f} s", flush=True)
    idx = Index.create(db)
    idx.add(docs[:10])  # compile/load the kernels outside the timing
    idx.remove([d["id"] for d in docs[:10]])
    t0 = time.perf_counter()
    for lo in range(0, len(docs), args.batch):
        idx.add(docs[lo:lo + args.batch])
    add_s = time.perf_counter() - t0
    stats = idx.stats()
    idx.close()
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    print(f"added {len(docs)} in {add_s:.1f} s: {len(docs) / add_s:,.0f} docs/s; "
          f"{size / len(docs):,.0f} bytes/document ({size / 2**20:,.1f} MiB)", flush=True)

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from copytrace.cli_index import serve_cmd; serve_cmd()", str(db),
         "--port", str(port)] + ([] if args.query_processes is None else ["--query-processes", str(args.query_processes)]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    import httpx

    try:
        deadline = time.time() + 120
        while True:
            try:
                h = httpx.get(base + "/health", timeout=2)
                if h.status_code == 200:
                    workers = h.json().get("query_processes", 0)
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                sys.exit("server did not start")
            time.sleep(0.3)
        rng = random.Random(1)
        texts = [docs[rng.randrange(len(docs))]["text"] for _ in range(2000)]
        rows = []
        for c in [int(x) for x in args.clients.split(",")]:
            rows.append(_load(base, texts, c, args.queries, args.max_seconds, not args.no_passages))
            print(f"  {c} clients done", flush=True)
        rss = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    print()
    print(f"copytrace index/service benchmark: {len(docs):,} documents, CPUs {os.cpu_count()}, "
          f"LSH {stats['parameters']['bands']}x{stats['parameters']['rows']}, "
          f"passages {'off' if args.no_passages else 'on'}, query worker processes {workers}")
    print(f"{'metric':<34}{'value':>14}")
    print(f"{'add throughput (docs/s)':<34}{len(docs) / add_s:>14,.0f}")
    print(f"{'DB size per document (bytes)':<34}{size / len(docs):>14,.0f}")
    if rss is not None:
        print(f"{'server RSS with workers (MB)':<34}{rss:>14,.0f}")
    for r in rows:
        print(f"{'query @ %d clients p50 / p99 (ms)' % r['clients']:<34}"
              f"{r['p50_ms']:>6.1f} / {r['p99_ms']:<6.1f}  ({r['queries']} queries, {r['qps']:.0f}/s,"
              f" {r['errors']} errors)")


if __name__ == "__main__":
    main()
