"""`find` end to end: the Python API and the CLI in a subprocess."""

from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq

import copytrace
from copytrace import schemas

from helpers import SEEDS, invoke_cli, make_corpus, run_cli, write_jsonl

OUT_FILES = [
    "documents.parquet", "pairs.parquet", "passages.parquet", "boilerplate.parquet",
    "deduplicated.jsonl", "report.html", "summary.json",
]


def test_find_groups_generated_copies(corpus, tmp_path):
    path, docs, truth = corpus
    res = copytrace.find(path, tmp_path / "out", progress=False)
    clusters = res.clusters()
    got = sorted(sorted(v) for v in clusters.values())
    want: dict[str, list[str]] = {}
    for did, sid in truth.items():
        want.setdefault(sid, []).append(did)
    want_groups = sorted(sorted(v) for v in want.values() if len(v) > 1)
    assert got == want_groups
    # cluster id is the smallest doc id, representative the longest
    docs_t = res.documents.to_pylist()
    by_id = {d["id"]: d["text"] for d in docs}
    for row in docs_t:
        members = clusters.get(row["cluster_id"], [row["doc_id"]])
        assert row["cluster_id"] == min(members)
        assert row["n_copies"] == len(members)
    for cid, members in clusters.items():
        reps = [r["doc_id"] for r in docs_t if r["cluster_id"] == cid and r["is_representative"]]
        longest = max(len(by_id[m]) for m in members)
        assert reps == [min(m for m in members if len(by_id[m]) == longest)]
    for name in OUT_FILES:
        assert (tmp_path / "out" / name).exists()


def test_output_schemas_and_passages(corpus, tmp_path):
    path, docs, _ = corpus
    copytrace.find(path, tmp_path / "out", progress=False)
    out = tmp_path / "out"
    assert pq.read_schema(out / "documents.parquet").names == schemas.DOCUMENTS.names
    assert pq.read_schema(out / "pairs.parquet").names == schemas.PAIRS.names
    assert pq.read_schema(out / "passages.parquet").names == schemas.PASSAGES.names
    texts = {d["id"]: d["text"] for d in docs}
    pairs = pq.read_table(out / "pairs.parquet").to_pylist()
    assert pairs and all(p["doc_a"] < p["doc_b"] for p in pairs)
    for p in pairs:
        assert 0 <= p["jaccard"] <= min(p["containment_a_in_b"], p["containment_b_in_a"]) + 1e-9
        assert p["similarity"] >= max(p["containment_a_in_b"], p["containment_b_in_a"]) - 1e-9
    passages = pq.read_table(out / "passages.parquet").to_pylist()
    assert passages
    pair_keys = {(p["doc_a"], p["doc_b"]) for p in pairs}
    for p in passages:
        assert (p["doc_a"], p["doc_b"]) in pair_keys
        assert p["kind"] in ("verbatim", "reworded")
        a, b = texts[p["doc_a"]], texts[p["doc_b"]]
        assert 0 <= p["a_start"] < p["a_end"] <= len(a)
        assert 0 <= p["b_start"] < p["b_end"] <= len(b)
        if p["kind"] == "verbatim":  # the same words, up to a rare slip
            import difflib

            wa = [w.strip(".,") for w in a[p["a_start"] : p["a_end"]].lower().split()]
            wb = [w.strip(".,") for w in b[p["b_start"] : p["b_end"]].lower().split()]
            assert difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio() >= 0.95
    dedup = [json.loads(line) for line in (out / "deduplicated.jsonl").read_text().splitlines()]
    kept = {r["doc_id"] for r in pq.read_table(out / "documents.parquet").to_pylist() if r["is_representative"]}
    assert {d["id"] for d in dedup} == kept
    assert all(d["text"] == texts[d["id"]] for d in dedup)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["documents"] == len(docs)
    assert set(summary["timings_s"]) >= {"read", "normalize", "fingerprint", "candidates", "verify", "cluster", "align", "write"}


def test_deterministic_outputs_byte_identical(tmp_path):
    docs, _ = make_corpus(seed=3)
    p1 = write_jsonl(tmp_path / "a.jsonl", docs)
    p2 = write_jsonl(tmp_path / "b.jsonl", list(reversed(docs)))  # other input order
    copytrace.find(p1, tmp_path / "o1", progress=False, seed=7)
    copytrace.find(p1, tmp_path / "o2", progress=False, seed=7, workers=1)
    copytrace.find(p2, tmp_path / "o3", progress=False, seed=7)
    for name in ["documents.parquet", "pairs.parquet", "passages.parquet", "deduplicated.jsonl"]:
        b1 = (tmp_path / "o1" / name).read_bytes()
        assert b1 == (tmp_path / "o2" / name).read_bytes(), name
        assert b1 == (tmp_path / "o3" / name).read_bytes(), name


def test_exact_duplicates_across_files_and_formats(tmp_path):
    text = "The same press release, word for word, pasted by three outlets. " * 5
    write_jsonl(tmp_path / "a.jsonl", [{"id": "a1", "text": text}, {"id": "a2", "text": "Something else entirely here."}])
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "b1", "text": text.upper()}) + "\n")
    (tmp_path / "c.csv").write_text('id,text\nc1,"' + text + '"\n', encoding="utf-8")
    res = copytrace.find([tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz", tmp_path / "c.csv"], progress=False)
    assert res.clusters() == {"a1": ["a1", "b1", "c1"]}
    assert res.summary["counts"]["exact_duplicate_documents"] == 2


def test_seed_pair_found_as_copies_with_containment(tmp_path):
    res = copytrace.find(SEEDS, tmp_path / "out", threshold=0.2, progress=False)
    ids = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert res.clusters() == {ids[0]: ids}
    pair = res.pairs.to_pylist()[0]
    assert pair["containment_b_in_a"] > pair["containment_a_in_b"]  # the short copy is inside the long one
    assert pair["similarity"] > 0.5  # aligned coverage counts reworded sentences
    assert res.passages.num_rows >= 1
    # the donation appeal of the shorter copy stays out of every passage
    b_text = (SEEDS / ids[1]).read_text(encoding="utf-8")
    lo = b_text.index("Your support helps us")
    hi = b_text.index("makes all the difference.") + len("makes all the difference.")
    for p in res.passages.to_pylist():
        assert p["b_end"] <= lo or p["b_start"] >= hi


def test_empty_collection_and_no_copies(tmp_path):
    write_jsonl(tmp_path / "one.jsonl", [{"id": "x", "text": "just one document here"}])
    res = copytrace.find(tmp_path / "one.jsonl", tmp_path / "out", progress=False)
    assert res.documents.num_rows == 1 and res.pairs.num_rows == 0
    assert res.documents.to_pylist()[0]["n_copies"] == 1


def test_cli_find_end_to_end(corpus, tmp_path):
    path, docs, _ = corpus
    r = run_cli("find", str(path), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    assert f"{len(docs)} documents read" in out and "Output written to" in out
    assert all((tmp_path / "out" / n).exists() for n in OUT_FILES)


def test_cli_reads_stdin(corpus, tmp_path):
    path, docs, _ = corpus
    r = invoke_cli("find", "-", "--out", str(tmp_path / "out"), "--quiet", input=path.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["documents"] == len(docs)


def test_cli_bad_input_is_counted_or_reported_never_a_traceback(tmp_path):
    good = {"id": "g1", "text": "a perfectly fine document with enough words in it"}
    lines = [
        json.dumps(good),
        '{"id": "broken", "text": "unterminated',
        json.dumps({"id": "notext"}),
        json.dumps({"id": "empty", "text": "   "}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "bin", "text": "caf\xe9"}\n')
    d = tmp_path / "dir"
    d.mkdir()
    (d / "latin1.txt").write_bytes(b"caf\xe9 au lait")
    (d / "empty.txt").write_bytes(b"")
    (d / "ok.txt").write_text("a fine text file", encoding="utf-8")

    r = invoke_cli("find", str(src), str(d), "--out", str(tmp_path / "out"), "--quiet", "--encoding", "utf-8")
    assert r.returncode == 0, r.stderr.decode()
    assert b"Traceback" not in r.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    skipped = summary["read"]["skipped"]
    assert skipped.get("invalid_json") == 1
    assert skipped.get("missing_text") == 1
    assert skipped.get("empty_text") == 2
    assert skipped.get("not_utf8") == 2
    assert summary["counts"]["documents"] == 2
    examples = "\n".join(summary["read"]["examples"])
    assert f"{src}:2" in examples and "latin1.txt" in examples

    r = invoke_cli("find", str(src), "--out", str(tmp_path / "out2"), "--on-error", "fail", "--encoding", "utf-8")
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.startswith("copytrace: error:") and f"{src}:2" in err and "Traceback" not in err
    assert not (tmp_path / "out2" / "summary.json").exists()


def test_cli_missing_input_and_bad_option(tmp_path):
    r = invoke_cli("find", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and b"nope.jsonl" in r.stderr and b"Traceback" not in r.stderr
    write_jsonl(tmp_path / "x.jsonl", [{"id": "1", "text": "t"}])
    r = invoke_cli("find", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "out"), "--threshold", "1.5")
    assert r.returncode == 2 and b"--threshold" in r.stderr
    # a wrong field name stops with the fields the records have (not "0 documents read", exit 0)
    r = invoke_cli("find", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o"), "--text-field", "body")
    assert r.returncode == 2
    assert r.stderr.decode().strip() == (
        f"copytrace: error: {tmp_path / 'x.jsonl'}: no 'body' field; the records have: id, text — use --text-field text"
    )
    assert not (tmp_path / "o").exists()


def test_output_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    write_jsonl(tmp_path / "one.jsonl", [{"id": "x", "text": "just one document here"}])
    copytrace.find(tmp_path / "one.jsonl", tmp_path / "out", progress=False)
    umask = os.umask(0)
    os.umask(umask)
    for name in ("documents.parquet", "summary.json", "deduplicated.jsonl"):
        mode = stat.S_IMODE((tmp_path / "out" / name).stat().st_mode)
        assert mode == 0o666 & ~umask, (name, oct(mode))


def test_direction_and_cluster_original(tmp_path):
    # the wire story (dated first, AP credit) and two later reprints with additions
    story = (SEEDS / "000_9c66197dbdb99078.txt").read_text(encoding="utf-8")
    body = story.split("\n\n", 1)[1]
    docs = [
        {"id": "c-reprint", "text": "Site C\n\n" + body + "\n\nSubscribe to Site C.", "date": "2021-06-30"},
        {"id": "a-wire", "text": body, "date": "2021-06-29"},
        {"id": "b-reprint", "text": "Site B\n\n" + body[: len(body) // 2], "date": "2021-06-30"},
    ]
    write_jsonl(tmp_path / "c.jsonl", docs)
    res = copytrace.find(tmp_path / "c.jsonl", progress=False, date_field="date")
    for p in res.pairs.to_pylist():
        if "a-wire" in (p["doc_a"], p["doc_b"]):
            wire_side = "a" if p["doc_a"] == "a-wire" else "b"
            assert p["original"] == wire_side and p["direction_confidence"] > 0.5
            assert "earlier" in p["direction_reasons"]
    assert {r["cluster_original"] for r in res.documents.to_pylist()} == {"a-wire"}


def test_failed_run_leaves_no_temporary_work_dir(tmp_path, monkeypatch):
    import tempfile

    import pytest

    from copytrace.errors import InputError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "text": "fine words here"}\n{broken\n', encoding="utf-8")
    with pytest.raises(InputError):
        copytrace.find(bad, on_error="fail", progress=False)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_cli_find_reads_legacy_encodings_and_reports_them(tmp_path):
    story = (SEEDS / "000_9c66197dbdb99078.txt").read_text(encoding="utf-8")
    d = tmp_path / "d"
    d.mkdir()
    text = story.replace("\u2019", "'") + "\nCafé, naïve façade — déjà vu.\n"
    (d / "a.txt").write_bytes(text.encode("cp1252", errors="replace"))
    (d / "b.txt").write_text(text, encoding="utf-8")
    (d / "c.sgm").write_text("<REUTERS/>", encoding="utf-8")
    r = invoke_cli("find", str(d), "--out", str(tmp_path / "out"), "--quiet")
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    assert f"{d / 'a.txt'}: not UTF-8; decoded as cp1252" in err
    assert f"{d}: 1 file ignored (1 .sgm); known formats:" in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("a.txt: not UTF-8; decoded as cp1252" in w for w in summary["read"]["warnings"])
    assert any("1 file ignored (1 .sgm)" in w for w in summary["read"]["warnings"])
    assert summary["counts"]["documents"] == 2 and summary["counts"]["verified_pairs"] == 1
