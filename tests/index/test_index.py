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

from helpers import make_corpus, write_jsonl


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
        # the rule (stages/rule.py) decides on the aligned text in both, even without passages shown;
        # find's passage channel (candidates for reuse clusters) is off: the index has none
        res = copytrace.find(path, threshold=threshold, progress=False, report=False, reuse_min_shingles=0)
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
    assert out.exit_code == 1 and "1 of 2" in out.output and "no document with id 'nope'" in out.output
    out = r.invoke(index_group, ["query", db])
    assert out.exit_code == 2 and "copytrace: error:" in out.output
    out = r.invoke(index_group, ["stats", str(tmp_path / "none.duckdb")])
    assert out.exit_code == 2 and "no index" in out.output


# -- the in-memory candidate tables (index/memory.py) ----------------------------------------------
def _answers(idx: Index, texts: list[str], **kw) -> list[list[dict]]:
    return [[m.to_dict() for m in idx.query(t, limit=None, **kw)] for t in texts]


def _same_as_sql(idx: Index, texts: list[str]) -> list[list[dict]]:
    """Query answers from the in-memory tables, checked equal to those of the SQL tables."""
    assert idx.memory
    mem = _answers(idx, texts)
    idx.memory = False
    try:
        sql = _answers(idx, texts)
    finally:
        idx.memory = True
    assert mem == sql
    # the text cache holds exactly the stored rows of live documents, within its budget
    cached = dict(idx._texts)
    if cached:
        stored = {int(r[0]): tuple(r[1:]) for r in idx._con.execute(
            "SELECT seq, id, text, source, date FROM documents").fetchall()}
        assert all(stored.get(q) == row for q, row in cached.items())
    stats = idx.text_cache_stats()
    assert stats["documents"] == len(cached) and stats["bytes"] <= stats["limit_bytes"]
    return mem


@pytest.mark.parametrize("text_cache", ["none", "some", "all"])
def test_memory_tables_follow_adds_removes_and_replaces(tmp_path, docs, text_cache):
    from copytrace.index.memory import Snapshot

    texts = [d["text"] for d in docs] + [docs[0]["text"][: len(docs[0]["text"]) // 2]]
    db = tmp_path / "m.duckdb"
    budget = {"none": 0, "some": sum(len(t) for t in texts) // 3, "all": 2**30}[text_cache]
    with Index.create(db, threshold=0.4, text_cache_bytes=budget) as idx:
        assert _answers(idx, texts[:2]) == [[], []]
        assert isinstance(idx._snap, Snapshot)  # loaded by the first query, then kept up to date
        for lo in range(0, len(docs), 3):  # many small adds: many segments, merged as they go
            idx.add(docs[lo:lo + 3])
            _same_as_sql(idx, texts[::7])
        assert len(idx._snap.segments) < len(docs) // 3
        full = _same_as_sql(idx, texts)
        assert sum(map(len, full)) > len(docs)
        n_cached = idx.text_cache_stats()["documents"]
        assert n_cached == {"none": 0, "all": len(idx)}.get(text_cache, n_cached)
        if text_cache == "some":
            assert 0 < n_cached < len(idx)  # the first ones by seq, until the budget is spent
        # remove the most recently added document, then add another: its seq must not come back
        last = docs[-1]
        assert idx.remove([last["id"]]) == 1
        idx.add([{"id": "newcomer", "text": docs[1]["text"] + " and one more sentence here for good measure"}])
        got = _same_as_sql(idx, texts)
        assert all(m["doc_id"] != last["id"] for ms in got for m in ms)
        assert any(m["doc_id"] == "newcomer" for m in got[1])
        # replace changes the text behind an id
        idx.add([{"id": docs[2]["id"], "text": docs[3]["text"]}], on_duplicate="replace")
        got = _same_as_sql(idx, texts)
        assert any(m["doc_id"] == docs[2]["id"] for m in got[3])
        # remove most documents: dead rows are compacted away
        gone = [d["id"] for d in docs[: len(docs) * 3 // 4]]
        idx.remove(gone)
        assert idx._snap.dead_rows * 4 <= idx._snap.n_rows
        got = _same_as_sql(idx, texts)
        assert all(m["doc_id"] not in set(gone) for ms in got for m in ms)
        # a failed add leaves the in-memory tables as they were
        before = idx._snap

        def boom() -> None:
            raise RuntimeError("boom")

        idx._before_commit = boom
        with pytest.raises(RuntimeError):
            idx.add(docs[:5])
        del idx._before_commit
        assert idx._snap is before
        final = _same_as_sql(idx, texts)
        if text_cache == "all":  # every add and remove since was published to the cache
            assert idx.text_cache_stats()["documents"] == len(idx)
    with Index(db, text_cache_bytes=budget) as fresh:  # a new process-like open loads the same state
        assert _answers(fresh, texts) == final
        assert fresh.query(texts[0], exclude=[docs[0]["id"]], limit=None) == [
            m for m in fresh.query(texts[0], limit=None) if m.doc_id != docs[0]["id"]]


@pytest.mark.parametrize("text_cache_bytes", [0, 2**30])
def test_memory_tables_under_concurrent_writes(tmp_path, docs, text_cache_bytes):
    import threading

    texts = [d["text"] for d in docs]
    db = tmp_path / "c.duckdb"
    errors: list[BaseException] = []
    with Index.create(db, text_cache_bytes=text_cache_bytes) as idx:
        idx.add(docs[: len(docs) // 2])
        idx.query(texts[0])

        def writer(w: int) -> None:
            try:
                for i, d in enumerate(docs):
                    if i % 3 == w:
                        idx.add([{"id": f"{d['id']}-w{w}", "text": d["text"] + f" writer {w}"}])
                        if i % 2:
                            idx.remove([f"{d['id']}-w{w}"])
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        def reader(k: int) -> None:
            try:
                for i in range(15):
                    ms = idx.query(texts[(k * 5 + i) % len(texts)], limit=None)
                    assert len({m.doc_id for m in ms}) == len(ms)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        threads += [threading.Thread(target=reader, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        expected_ids = {d["id"] for d in docs[: len(docs) // 2]} | {
            f"{d['id']}-w{i % 3}" for i, d in enumerate(docs) if not i % 2}
        assert set(idx.ids()) == expected_ids
        final = _same_as_sql(idx, texts)
    with Index(db) as fresh:
        assert _answers(fresh, texts) == final


def test_expand_ranges():
    import numpy as np

    from copytrace.index.memory import expand_ranges

    pos, which = expand_ranges(np.array([3, 7, 7, 0]), np.array([5, 7, 9, 1]))
    assert pos.tolist() == [3, 4, 7, 8, 0] and which.tolist() == [0, 0, 2, 2, 3]
    pos, which = expand_ranges(np.array([1]), np.array([1]))
    assert pos.shape == which.shape == (0,)


def test_limit_returns_the_best_by_the_rules_similarity(tmp_path):
    """With more matches than ``limit``, every candidate is still judged on the
    aligned text (stages/rule.py) and the ``limit`` best by similarity are
    returned — the same matches, passages and scores as in the unlimited answer."""
    import random

    from helpers import make_copy, make_story

    rng = random.Random(4)
    story = make_story(rng, n_sentences=12)
    docs = [Document(f"c{i}", make_copy(rng, story, edit=0.03 * i)) for i in range(7)]
    with Index.create(tmp_path / "l.duckdb") as idx:
        idx.add(docs)
        everything = idx.query(story, limit=None)
        top = idx.query(story, limit=3)
    assert len(everything) >= 5 and len(top) == 3
    best = sorted(everything, key=lambda m: (-m.similarity, m.doc_id))
    assert {m.doc_id for m in top} == {m.doc_id for m in best[:3]}
    by_id = {m.doc_id: m for m in everything}
    for m in top:
        assert m == by_id[m.doc_id] and m.passages
    assert [m.similarity for m in top] == sorted((m.similarity for m in top), reverse=True)
