"""Bad input at small scale (issue 17; the big versions are benchmarks): a
corpus where 30% of the documents are one 50 KB boilerplate block, and a
corpus of one-line documents.  Each run finishes, keeps every document, and
stays within --memory-limit (the peak RSS of the copytrace process)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

LIMIT_MB = 1024


# Linux keeps the peak RSS of the image a process had before exec (the
# pytest worker's, which a spawned child inherits through vfork/fork + exec)
# in the child's ru_maxrss.  A small Python in between starts copytrace from a
# tiny image, so the ru_maxrss it reads is copytrace's own peak.
_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _find(inp: Path, out: Path) -> tuple[int, float, str]:
    cmd = [sys.executable, "-m", "copytrace.cli", "find", str(inp), "--out", str(out), "--no-align", "--no-report",
           "--ngram", "3", "--memory-limit", f"{LIMIT_MB}MB"]
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    err = proc.stderr.decode(errors="replace")
    lines = err.strip().splitlines()
    peak_kib = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return proc.returncode, peak_kib / 1024, err


def _words(rng: random.Random, k: int) -> str:
    return " ".join(f"w{rng.randrange(20000)}" for _ in range(k))


def test_thirty_percent_one_big_block(tmp_path: Path) -> None:
    rng = random.Random(0)
    block = _words(rng, 9000)[:50_000]
    n = 400
    docs = [{"id": f"d{i:04d}", "text": block if i % 10 < 3 else _words(rng, 150)} for i in range(n)]
    inp = tmp_path / "c.jsonl"
    inp.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    rc, peak_mb, err = _find(inp, tmp_path / "out")
    assert rc == 0, err
    assert peak_mb < LIMIT_MB
    table = pq.read_table(tmp_path / "out" / "documents.parquet").to_pylist()
    assert len(table) == n
    cluster = {r["doc_id"]: r["cluster_id"] for r in table}
    blocks = {cluster[d["id"]] for d in docs if d["text"] == block}
    assert len(blocks) == 1  # the copies of the block are one cluster
    kept = (tmp_path / "out" / "deduplicated.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(kept) == n - 3 * n // 10 + 1


def test_many_one_line_documents(tmp_path: Path) -> None:
    rng = random.Random(1)
    n = 20_000
    inp = tmp_path / "lines.jsonl"
    inp.write_text("".join(json.dumps({"id": f"l{i:06d}", "text": _words(rng, rng.randrange(1, 8))}) + "\n"
                           for i in range(n)), encoding="utf-8")
    rc, peak_mb, err = _find(inp, tmp_path / "out")
    assert rc == 0, err
    assert peak_mb < LIMIT_MB
    assert pq.read_metadata(tmp_path / "out" / "documents.parquet").num_rows == n
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["read"]["documents"] == n and summary["read"]["skipped_total"] == 0
    kept = sum(1 for _ in open(tmp_path / "out" / "deduplicated.jsonl", encoding="utf-8"))
    assert 0 < kept <= n

