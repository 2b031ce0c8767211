"""Interrupted runs: resume from the last finished stage, same output as a fresh run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import copytrace

from helpers import make_corpus, invoke_cli, write_jsonl

COMPARED = ["documents.parquet", "pairs.parquet", "passages.parquet", "deduplicated.jsonl"]


def _same_outputs(a, b):
    for name in COMPARED:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_resume_after_each_stage_gives_the_fresh_result(tmp_path):
    docs, _ = make_corpus(seed=11)
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    copytrace.find(src, tmp_path / "fresh", progress=False)
    work = tmp_path / "work"
    first = copytrace.find(src, tmp_path / "o1", work_dir=str(work), progress=False)
    assert first.summary["resumed_stages"] == []
    state = json.loads((work / "copytrace-work" / "checkpoints.json").read_text())
    assert set(state["done"]) == {"fingerprint", "verify", "align"}
    # as if interrupted after each stage in turn: forget the later checkpoints
    for keep in (["fingerprint", "verify"], ["fingerprint"]):
        state["done"] = {k: v for k, v in state["done"].items() if k in keep}
        (work / "copytrace-work" / "checkpoints.json").write_text(json.dumps(state))
        out = tmp_path / f"o-{len(keep)}"
        res = copytrace.find(src, out, work_dir=str(work), resume=True, progress=False)
        assert res.summary["resumed_stages"] == keep
        _same_outputs(tmp_path / "fresh", out)
        state = json.loads((work / "copytrace-work" / "checkpoints.json").read_text())


def test_changed_input_or_parameters_start_afresh(tmp_path):
    docs, _ = make_corpus(seed=12)
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    work = str(tmp_path / "work")
    copytrace.find(src, tmp_path / "o1", work_dir=work, progress=False)
    res = copytrace.find(src, tmp_path / "o2", work_dir=work, resume=True, threshold=0.6, progress=False)
    assert res.summary["resumed_stages"] == []
    write_jsonl(src, docs[:-1])
    res = copytrace.find(src, tmp_path / "o3", work_dir=work, resume=True, threshold=0.6, progress=False)
    assert res.summary["resumed_stages"] == []
    assert res.summary["counts"]["documents"] == len(docs) - 1


def test_killed_run_resumes_to_the_same_output(tmp_path):
    docs, _ = make_corpus(n_stories=12, copies=3, uniques=60, seed=13)
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    work = tmp_path / "work"
    r = invoke_cli("find", str(src), "--out", str(tmp_path / "fresh"), "-q")
    assert r.returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "copytrace.cli", "find", str(src), "--out", str(tmp_path / "out"),
         "--work-dir", str(work), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (work / "copytrace-work" / "verify.npz").exists():
            proc.send_signal(signal.SIGKILL)  # a hard kill, as by the OOM killer
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    r = invoke_cli("find", str(src), "--out", str(tmp_path / "out"), "--work-dir", str(work), "--resume")
    assert r.returncode == 0, r.stderr.decode()
    if proc.returncode == -signal.SIGKILL:
        assert b"Resumed after: fingerprint" in r.stdout
    _same_outputs(tmp_path / "fresh", tmp_path / "out")


def test_resume_needs_a_work_dir(tmp_path):
    write_jsonl(tmp_path / "x.jsonl", [{"id": "1", "text": "some words"}])
    r = invoke_cli("find", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o"), "--resume")
    assert r.returncode == 2 and b"--work-dir" in r.stderr


def test_out_of_core_lsh_gives_the_in_memory_pairs(tmp_path):
    """Under a small --memory-limit the band keys are spooled and DuckDB forms
    the buckets out of core: the same output files, byte for byte."""
    import random

    import copytrace
    from helpers import make_copy, make_story, write_jsonl

    rng = random.Random(5)
    docs = []
    for s in range(1500):
        story = make_story(rng, n_sentences=3)
        docs.append({"id": f"d{s:05d}", "text": story})
        if s % 3 == 0:
            docs.append({"id": f"d{s:05d}-copy", "text": make_copy(rng, story)})
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    opts = dict(align=False, boilerplate=False, report=False, progress=False)
    mem = copytrace.find([src], tmp_path / "mem", **opts)
    ext = copytrace.find([src], tmp_path / "ext", memory_limit="1MB", work_dir=str(tmp_path / "w"), **opts)
    assert mem.summary["lsh_out_of_core"] is False and ext.summary["lsh_out_of_core"] is True
    w = tmp_path / "w" / "copytrace-work"
    assert (w / "buckets.duckdb").exists() and list((w / "bands").glob("*.parquet"))
    for name in ("documents.parquet", "pairs.parquet"):
        assert (tmp_path / "mem" / name).read_bytes() == (tmp_path / "ext" / name).read_bytes(), name
    assert ext.summary["counts"]["verified_pairs"] >= 400
    # resumed after the fingerprint stage, the spool is reused
    again = copytrace.find([src], tmp_path / "ext2", memory_limit="1MB", work_dir=str(tmp_path / "w"),
                           resume=True, **opts)
    assert "fingerprint" in again.summary["resumed_stages"]
    assert (tmp_path / "ext2" / "pairs.parquet").read_bytes() == (tmp_path / "mem" / "pairs.parquet").read_bytes()


def test_work_dir_never_touches_the_users_files(tmp_path):
    docs, _ = make_corpus(seed=15)
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    work = tmp_path / "mine"
    work.mkdir()
    users = {"experiment.npz": b"user data 1", "texts.arrow": b"user data 2", "checkpoints.json": b"{}"}
    for name, data in users.items():
        (work / name).write_bytes(data)
    copytrace.find(src, tmp_path / "o1", work_dir=str(work), progress=False)
    copytrace.find(src, tmp_path / "o2", work_dir=str(work), resume=True, progress=False)
    copytrace.find(src, tmp_path / "o3", work_dir=str(work), threshold=0.7, progress=False)  # a fresh start
    for name, data in users.items():
        assert (work / name).read_bytes() == data, name
    assert sorted(p.name for p in work.iterdir()) == sorted([*users, "copytrace-work"])
    assert (work / "copytrace-work" / ".copytrace-work").is_file()


def test_a_foreign_copytrace_work_folder_is_refused(tmp_path):
    docs, _ = make_corpus(seed=16)
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    foreign = tmp_path / "w" / "copytrace-work"
    foreign.mkdir(parents=True)
    (foreign / "fingerprint.npz").write_bytes(b"not ours")
    r = invoke_cli("find", str(src), "--out", str(tmp_path / "o"), "--work-dir", str(tmp_path / "w"), "-q")
    assert r.returncode == 2
    assert b"was not made by copytrace" in r.stderr
    assert (foreign / "fingerprint.npz").read_bytes() == b"not ours"


def test_a_damaged_checkpoint_is_recomputed(tmp_path):
    docs, _ = make_corpus(seed=17)
    src = write_jsonl(tmp_path / "c.jsonl", docs)
    copytrace.find(src, tmp_path / "fresh", progress=False)
    work = tmp_path / "work"
    copytrace.find(src, tmp_path / "o1", work_dir=str(work), progress=False)
    ckpt = work / "copytrace-work"
    # truncate the verify checkpoint, as a kill -9 or a full disk could
    data = (ckpt / "verify.npz").read_bytes()
    (ckpt / "verify.npz").write_bytes(data[: len(data) // 2])
    r = invoke_cli("find", str(src), "--out", str(tmp_path / "o2"), "--work-dir", str(work), "--resume")
    assert r.returncode == 0, r.stderr.decode()
    assert b"checkpoint 'verify'" in r.stderr and b"damaged" in r.stderr
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert summary["resumed_stages"] == ["fingerprint"]
    assert any("verify" in w and "recomputing verify, align" in w for w in summary["warnings"])
    _same_outputs(tmp_path / "fresh", tmp_path / "o2")
    # a damaged text store invalidates the fingerprint stage and all after it
    store = ckpt / "texts.arrow"
    store.write_bytes(store.read_bytes()[:-100])
    res = copytrace.find(src, tmp_path / "o3", work_dir=str(work), resume=True, progress=False)
    assert res.summary["resumed_stages"] == []
    assert any("texts.arrow" in w for w in res.summary["warnings"])
    _same_outputs(tmp_path / "fresh", tmp_path / "o3")
