"""The output directory after a hard kill during the write stage: one complete
run or the other, never a mix; the next run succeeds and cleans up.

Real processes: `copytrace find` runs in a subprocess and is SIGKILLed when the
file system shows it has reached a given point of the write stage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import copytrace
from copytrace.api import DEDUP_PASSAGES_FILE, OUTPUT_FILES

# what a run without --dedup-passages writes
WRITTEN = tuple(n for n in OUTPUT_FILES if n != DEDUP_PASSAGES_FILE)
from copytrace.stages.output_set import COMMIT, STAGING_PREFIX, recover

from helpers import make_corpus, write_jsonl

DATA_FILES = ["documents.parquet", "pairs.parquet", "passages.parquet", "boilerplate.parquet",
              "deduplicated.jsonl"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[dict[str, Path], dict[str, dict[str, bytes]]]:
    """Two inputs A and B, and the data files of a complete run of each."""
    tmp = tmp_path_factory.mktemp("sets")
    src, ref = {}, {}
    for name, seed in (("A", 21), ("B", 22)):
        docs, _ = make_corpus(n_stories=10, copies=3, uniques=60, seed=seed)
        src[name] = write_jsonl(tmp / f"{name}.jsonl", docs)
        d = tmp / f"ref-{name}"
        copytrace.find(src[name], d, progress=False)
        ref[name] = {f: (d / f).read_bytes() for f in DATA_FILES}
    return src, ref


def _which_set(out: Path, ref: dict[str, dict[str, bytes]], src: dict[str, Path]) -> str:
    """'A' or 'B' when out holds exactly that run's complete set; fails otherwise."""
    present = sorted(n for n in OUTPUT_FILES if (out / n).exists())
    assert present == sorted(WRITTEN), f"incomplete set: {present}"
    summary = json.loads((out / "summary.json").read_text())
    run = next(k for k, p in src.items() if summary["inputs"] == [str(p)])
    for f in DATA_FILES:
        assert (out / f).read_bytes() == ref[run][f], f"{f} is not from run {run} like summary.json"
    return run


def _kill_at(cmd: list[str], reached, timeout: float = 120) -> bool:
    """Run cmd; SIGKILL it as soon as reached() is true. True if it was killed."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + timeout
    killed = False
    while time.time() < deadline and proc.poll() is None:
        if reached():
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.0005)
    _, err = proc.communicate(timeout=60)
    assert killed or proc.returncode == 0, err.decode()
    return killed and proc.returncode == -signal.SIGKILL


def _staged(parent: Path, prefix: str, inner: str | None = None) -> bool:
    try:
        for e in os.listdir(parent):
            if e.startswith(prefix):
                if inner is None:
                    return True
                try:
                    if any(x == inner or x.startswith(f".{inner}.") for x in os.listdir(parent / e)):
                        return True
                except FileNotFoundError:
                    pass
    except FileNotFoundError:
        pass
    return False


def _no_leftovers(out: Path) -> None:
    assert not [e for e in os.listdir(out) if e.startswith(".")], os.listdir(out)
    assert not [e for e in os.listdir(out.parent) if ".copytrace-" in e], os.listdir(out.parent)


def _cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "copytrace.cli", "find", str(src), "--out", str(out), "-q"]


def test_kill_during_write_leaves_one_complete_set(tmp_path, runs):
    src, ref = runs
    out = tmp_path / "runs" / "out"
    copytrace.find(src["A"], out, progress=False)
    assert _which_set(out, ref, src) == "A"
    summary = json.loads((out / "summary.json").read_text())
    assert "atomic directory exchange" in summary["output_guarantee"]
    prefix = f".{out.name}.copytrace-staging-"
    points = {
        "staging folder made": lambda: _staged(out.parent, prefix),
        "writing report.html": lambda: _staged(out.parent, prefix, "report.html"),
        "summary.json staged": lambda: _staged(out.parent, prefix, "summary.json"),
    }
    old, new = "A", "B"
    hits = 0
    for point, reached in points.items():
        killed = _kill_at(_cmd(src[new], out), reached)
        hits += killed
        got = _which_set(out, ref, src)
        assert got in (old, new), point
        if not killed:
            assert got == new
        # the next run succeeds and removes what the killed one left
        copytrace.find(src[new], out, progress=False)
        assert _which_set(out, ref, src) == new
        _no_leftovers(out)
        old, new = new, old
    assert hits >= 1, "no kill landed inside the write stage"


def test_kill_during_write_keeps_the_users_files(tmp_path, runs):
    src, ref = runs
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine", encoding="utf-8")
    copytrace.find(src["A"], out, progress=False)
    assert _which_set(out, ref, src) == "A"
    points = {
        "documents.parquet staged": lambda: _staged(out, STAGING_PREFIX, "documents.parquet"),
        "set committed": lambda: _staged(out, STAGING_PREFIX, COMMIT),
    }
    old, new = "A", "B"
    for point, reached in points.items():
        killed = _kill_at(_cmd(src[new], out), reached)
        assert (out / "my-notes.txt").read_text(encoding="utf-8") == "mine"
        if (out / "summary.json").exists():
            assert _which_set(out, ref, src) in (old, new), point
        else:
            # killed inside the move: the committed set is rolled forward by the next run
            assert killed and _staged(out, STAGING_PREFIX, COMMIT), point
            recover(out, OUTPUT_FILES)
            assert _which_set(out, ref, src) == new
        copytrace.find(src[new], out, progress=False)
        assert _which_set(out, ref, src) == new
        assert (out / "my-notes.txt").read_text(encoding="utf-8") == "mine"
        assert not [e for e in os.listdir(out) if e.startswith(".")]
        old, new = new, old


def test_no_report_removes_only_copytraces_report(tmp_path, runs):
    src, _ = runs
    out = tmp_path / "out"
    copytrace.find(src["A"], out, progress=False)
    assert (out / "report.html").exists()
    copytrace.find(src["A"], out, report=False, progress=False)
    assert not (out / "report.html").exists()  # a stale report would describe another run
    (out / "keep.csv").write_text("x", encoding="utf-8")
    copytrace.find(src["A"], out, progress=False)
    copytrace.find(src["A"], out, report=False, progress=False)
    assert sorted(os.listdir(out)) == sorted([n for n in WRITTEN if n != "report.html"] + ["keep.csv"])


@pytest.mark.parametrize("mode", ["exchange", "per-file"])
def test_a_failed_write_leaves_the_previous_set(tmp_path, runs, mode):
    from copytrace.stages.output_set import staged_outputs

    src, ref = runs
    out = tmp_path / "out"
    copytrace.find(src["A"], out, progress=False)
    if mode == "per-file":
        (out / "user.txt").write_text("u", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with staged_outputs(out, OUTPUT_FILES) as stage:
            assert stage.mode == mode
            (stage.path / "documents.parquet").write_bytes(b"half a new set")
            raise RuntimeError("the write stage failed")
    assert _which_set(out, ref, src) == "A"
    assert not [e for e in os.listdir(out) if e.startswith(".")]
    assert not [e for e in os.listdir(out.parent) if ".copytrace-" in e]


def test_stale_temporaries_of_earlier_runs_are_cleaned_and_nothing_else(tmp_path, runs):
    src, ref = runs
    out = tmp_path / "out"
    out.mkdir()
    # left by a run killed as writing began (an older copytrace wrote temporaries in --out itself)
    (out / ".documents.parquet.k2j4f.tmp").write_bytes(b"partial")
    stale_inner = out / f"{STAGING_PREFIX}abc123"
    stale_inner.mkdir()
    (stale_inner / ".copytrace-staging").write_text("x")
    (stale_inner / "pairs.parquet").write_bytes(b"half")
    stale_sibling = tmp_path / ".out.copytrace-staging-zz9"
    stale_sibling.mkdir()
    (stale_sibling / "documents.parquet").write_bytes(b"half")
    # the user's: similar names, but not copytrace's
    (out / ".documents.parquet.bak").write_bytes(b"mine")
    (tmp_path / ".out.copytrace-staging-mine").mkdir()
    (tmp_path / ".out.copytrace-staging-mine" / "thesis.tex").write_bytes(b"mine")
    copytrace.find(src["A"], out, progress=False)
    assert _which_set(out, ref, src) == "A"
    assert not (out / ".documents.parquet.k2j4f.tmp").exists() and not stale_inner.exists()
    assert not stale_sibling.exists()
    assert (out / ".documents.parquet.bak").read_bytes() == b"mine"
    assert (tmp_path / ".out.copytrace-staging-mine" / "thesis.tex").read_bytes() == b"mine"
