"""The persistent index: add/query/get/remove/stats, transactions, consistency with `find`, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import copytrace
from copytrace.errors import CopytraceError
from copytrace.index import Index, IndexStoreError
from copytrace.stages.read import Document

from conftest import make_corpus, write_jsonl


def _counts(idx: Index) -> tuple[int, int, int]:
    s = idx.stats()
    return s["documents"], s["band_bucket_rows"], s["sample_rows"]


@pytest.fixture(scope="module")
def docs():
    return make_corpus(n_stories=6, copies=3, uniques=8, seed=3)[0]


def test_add_query_get_stats_remove(tmp_path, docs):
    db = tmp_path / "i.duckdb"
    with Index.create(db, threshold=0.5) as idx:
        res = idx.add(docs[:10])
        assert res.added == 10 and res.n_skipped == 0
        res = idx.add([Document(d["id"], d["text"]) for d in docs[10:]])
        assert res.added == len(docs) - 10
        assert len(idx) == len(docs)
        d0 = docs[0]
        got = idx.get(d0["id"])
        assert got["text"] == d0["text"] and got["id"] == d0["id"]
        assert idx.get("no-such-id") is None
        matches = idx.query(d0["text"], limit=None)
        assert next(m for m in matches if m.doc_id == d0["id"]).similarity == 1.0
        story = d0["id"].split("-")[0]
        if story.startswith("story"):
            assert {m.doc_id for m in matches} == {d["id"] for d in docs if d["id"].startswith(story)}
            copy = next(m for m in matches if m.doc_id != d0["id"])
            assert copy.passages, "aligned passages expected between a story and its copy"
            p = copy.passages[0]
            assert 0 <= p.a_start < p.a_end <= len(d0["text"])
            assert 0 <= p.b_start < p.b_end <= len(idx.get(copy.doc_id)["text"])
        assert idx.query("", limit=None) == []
        assert idx.query("!!! ...", limit=None) == []
        assert len(idx.query(d0["text"], limit=1)) == 1
        st = idx.stats()
        assert st["documents"] == len(docs) and st["parameters"]["threshold"] == 0.5
        assert st["band_bucket_rows"] == len(docs) * st["parameters"]["bands"]
        assert idx.remove([d0["id"], "no-such-id"]) == 1
        assert d0["id"] not in idx and len(idx) == len(docs) - 1
        assert all(m.doc_id != d0["id"] for m in idx.query(d0["text"], limit=None))
        assert _counts(idx)[1] == (len(docs) - 1) * st["parameters"]["bands"]


def test_parameters_persist_and_errors(tmp_path):
    db = tmp_path / "p.duckdb"
    Index.create(db, threshold=0.7, ngram=4, num_perm=64, seed=9).close()
    with Index(db) as idx:  # reopened: the stored parameters, not the defaults
        assert (idx.params["threshold"], idx.params["ngram"], idx.params["num_perm"], idx.params["seed"]) == (
            0.7, 4, 64, 9)
    with pytest.raises(IndexStoreError, match="already exists"):
        Index.create(db)
    with pytest.raises(IndexStoreError, match="no index"):
        Index(tmp_path / "missing.duckdb")
    with pytest.raises(CopytraceError, match="threshold"):
        Index.create(tmp_path / "bad.duckdb", threshold=1.5)
    with Index(db) as idx:
        with pytest.raises(CopytraceError):
            idx.add([{"id": 3, "text": "x"}])
        with pytest.raises(CopytraceError):
            idx.query("some words", threshold=0)


def test_duplicate_ids_skipped_or_replaced(tmp_path, docs):
    with Index.create(tmp_path / "d.duckdb") as idx:
        idx.add(docs[:5])
        res = idx.add(docs[3:8] + [docs[6]] + [{"id": "empty", "text": ""}])
        assert res.added == 3 and res.skipped == {"duplicate_id": 3, "empty_text": 1}
        assert set(res.skipped_ids) == {docs[3]["id"], docs[4]["id"], docs[6]["id"], "empty"}
        assert len(idx) == 8
        res = idx.add([{"id": docs[0]["id"], "text": docs[1]["text"]}], on_duplicate="replace")
        assert res.replaced == 1 and res.added == 0 and len(idx) == 8
        assert idx.get(docs[0]["id"])["text"] == docs[1]["text"]
        assert {m.doc_id for m in idx.query(docs[1]["text"], limit=None)} >= {docs[0]["id"], docs[1]["id"]}
        assert _counts(idx)[1] == 8 * idx.params["bands"]


def test_failed_add_leaves_index_unchanged(tmp_path, docs):
    db = tmp_path / "t.duckdb"
    with Index.create(db) as idx:
        idx.add(docs[:5])
        before = _counts(idx)
        q_before = [m.doc_id for m in idx.query(docs[6]["text"], limit=None)]

        def boom() -> None:
            raise RuntimeError("crash inside the transaction")

        idx._before_commit = boom  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            idx.add(docs[5:])
        assert _counts(idx) == before
        assert [m.doc_id for m in idx.query(docs[6]["text"], limit=None)] == q_before

        def bad_docs():  # an error while reading the input, mid-batch
            yield from docs[5:9]
            raise ValueError("bad input")

        del idx._before_commit
        with pytest.raises(ValueError):
            idx.add(bad_docs())
        assert _counts(idx) == before
        assert idx.add(docs[5:]).added == len(docs) - 5  # and the index still works


def test_killed_process_mid_add_leaves_index_unchanged(tmp_path, docs):
    db = tmp_path / "k.duckdb"
    with Index.create(db) as idx:
        idx.add(docs[:5])
        before = _counts(idx)
    data = write_jsonl(tmp_path / "rest.jsonl", docs[5:])
    script = textwrap.dedent(f"""
        import json, os
        from copytrace.index import Index
        idx = Index({str(db)!r})
        idx._before_commit = lambda: os._exit(9)   # die hard, inside the transaction
        idx.add(json.loads(l) for l in open({str(data)!r}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert proc.returncode == 9
    with Index(db) as idx:
        assert _counts(idx) == before
        assert idx.add(docs[5:]).added == len(docs) - 5


def test_query_doc_by_doc_gives_the_pairs_of_find(tmp_path):
    docs, _ = make_corpus(n_stories=8, copies=3, uniques=12, seed=11)
    path = write_jsonl(tmp_path / "c.jsonl", docs)
    for threshold in (0.3, 0.6):
        res = copytrace.find(path, threshold=threshold, progress=False, align=False)
        want = set(zip(res.pairs.column("doc_a").to_pylist(), res.pairs.column("doc_b").to_pylist()))
        assert want
        with Index.create(tmp_path / f"c{threshold}.duckdb", threshold=threshold) as idx:
            idx.add(docs)
            got = set()
            for d in docs:
                for m in idx.query(d["text"], limit=None, with_passages=False, exclude=[d["id"]]):
                    got.add(tuple(sorted((d["id"], m.doc_id))))
        assert got == want


def test_cli_index_commands(tmp_path, docs):
    from click.testing import CliRunner

    from copytrace.cli_index import index_group

    db = str(tmp_path / "cli.duckdb")
    data = write_jsonl(tmp_path / "docs.jsonl", docs)
    r = CliRunner()
    out = r.invoke(index_group, ["create", db, "--threshold", "0.4"])
    assert out.exit_code == 0, out.output
    out = r.invoke(index_group, ["add", db, str(data)])
    assert out.exit_code == 0 and f"{len(docs)} documents added" in out.output, out.output
    out = r.invoke(index_group, ["add", db, str(data)])
    assert f"duplicate_id {len(docs)}" in out.output
    (tmp_path / "q.txt").write_text(docs[0]["text"], encoding="utf-8")
    out = r.invoke(index_group, ["query", db, str(tmp_path / "q.txt"), "--json"])
    assert out.exit_code == 0, out.output
    matches = json.loads(out.output)["matches"]
    assert any(m["doc_id"] == docs[0]["id"] and m["similarity"] == 1.0 for m in matches)
    out = r.invoke(index_group, ["query", db, "--text", docs[0]["text"]])
    assert out.exit_code == 0 and docs[0]["id"] in out.output
    out = r.invoke(index_group, ["stats", db])
    assert out.exit_code == 0 and f"{len(docs)} documents" in out.output
    out = r.invoke(index_group, ["remove", db, "--id", docs[0]["id"], "--id", "nope"])
    assert out.exit_code == 0 and "1 of 2" in out.output
    out = r.invoke(index_group, ["query", db])
    assert out.exit_code == 2 and "copytrace: error:" in out.output
    out = r.invoke(index_group, ["stats", str(tmp_path / "none.duckdb")])
    assert out.exit_code == 2 and "no index" in out.output
