"""Pair filters (--pairs-within, --pairs), dedup against a reference
(--against), and in-memory Arrow / Hugging Face inputs."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import copytrace
from copytrace.errors import OptionError
from copytrace.stages.pairfilter import parse_days
from copytrace.stages.reference import cross_exact_pairs

from helpers import make_copy, make_corpus, make_story, invoke_cli, write_jsonl

FAST = dict(align=False, report=False, progress=False, threshold=0.3)


def dated_corpus(tmp_path: Path, seed: int = 0) -> tuple[Path, dict[str, dict]]:
    """make_corpus's stories and copies with dates spread over 40 days (some
    missing or unreadable) and sources (some missing), plus exact duplicates."""
    docs, _ = make_corpus(n_stories=10, copies=4, uniques=6, seed=seed)
    rng = random.Random(seed)
    dup = dict(docs[0])
    dup["id"] = "exact-dup"
    docs.append(dup)
    for d in docs:
        r = rng.random()
        d["date"] = None if r < 0.05 else ("someday" if r < 0.08 else
                                           f"2024-02-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z")
        d["site"] = None if rng.random() < 0.05 else f"site{rng.randint(0, 3)}"
    return write_jsonl(tmp_path / "c.jsonl", docs), {d["id"]: d for d in docs}


def post_filter(pairs: list[tuple[str, str]], meta: dict[str, dict], within: float | None, mode: str):
    out = []
    for a, b in pairs:
        if within is not None:
            da, db = parse_days([meta[a]["date"], meta[b]["date"]])
            if math.isnan(da) or math.isnan(db) or abs(da - db) > within:
                continue
        if mode != "all":
            sa, sb = meta[a]["site"], meta[b]["site"]
            if sa is None or sb is None or (sa != sb) != (mode == "across-sources"):
                continue
        out.append((a, b))
    return sorted(out)


def pair_list(res) -> list[tuple[str, str]]:
    return sorted(zip(res.pairs.column("doc_a").to_pylist(), res.pairs.column("doc_b").to_pylist()))


@pytest.mark.parametrize("within,mode", [(3, "all"), (None, "across-sources"), (None, "within-sources"),
                                         (10.5, "across-sources"), (0, "all")])
def test_filters_give_the_pairs_of_filtering_afterwards(tmp_path, within, mode):
    src, meta = dated_corpus(tmp_path)
    opts = dict(FAST, date_field="date", source_field="site")
    full = copytrace.find(src, **opts)
    assert full.pairs.num_rows > 20
    filt = copytrace.find(src, pairs_within=within, pairs=mode, **opts)
    assert pair_list(filt) == post_filter(pair_list(full), meta, within, mode)
    cands = filt.summary["counts"]["candidate_pairs"]
    assert cands["removed_by_pair_filters"] > 0  # filtered before verification
    assert filt.summary["pair_filters"]["documents_without_date" if within is not None else
                                        "documents_without_source"] > 0


def test_filter_options_need_their_fields(tmp_path):
    src, _ = dated_corpus(tmp_path)
    with pytest.raises(OptionError, match="date_field"):
        copytrace.find(src, pairs_within=3, progress=False)
    with pytest.raises(OptionError, match="source_field"):
        copytrace.find(src, pairs="across-sources", progress=False)
    with pytest.raises(OptionError, match="pairs must be one of"):
        copytrace.find(src, pairs="sideways", source_field="site", progress=False)
    r = invoke_cli("find", str(src), "--out", str(tmp_path / "o"), "--pairs-within", "2")
    assert r.returncode == 2 and b"--date-field" in r.stderr


def test_parse_days():
    d = parse_days(["2024-02-01", "2024-02-02T12:00:00Z", "Fri, 02 Feb 2024 12:00:00 GMT",
                    "26-FEB-1987 15:01:01.79", "1916-06", "nonsense", None])
    assert d[1] - d[0] == pytest.approx(1.5) and d[2] == d[1]
    assert d[3] == pytest.approx(parse_days(["1987-02-26T15:01:01.790"])[0])
    assert not math.isnan(d[4]) and math.isnan(d[5]) and math.isnan(d[6])


def against_corpus(tmp_path: Path):
    rng = random.Random(4)
    ref_stories = [make_story(rng) for _ in range(6)]
    new = [{"id": f"new-copy{i}", "text": make_copy(rng, ref_stories[i])} for i in range(3)]
    new.append({"id": "new-exact", "text": ref_stories[3]})
    new.append({"id": "new-exact-twin", "text": ref_stories[3]})  # identical to new-exact
    fresh = make_story(rng)
    new += [{"id": "new-fresh", "text": fresh}, {"id": "new-fresh-copy", "text": make_copy(rng, fresh)}]
    new += [{"id": f"new-unique{i}", "text": make_story(rng)} for i in range(3)]
    ref = [{"id": f"ref{i}", "text": s} for i, s in enumerate(ref_stories)]
    ref.append({"id": "ref0-copy", "text": make_copy(rng, ref_stories[0])})  # a copy inside the reference
    ref.append({"id": "ref-exact3", "text": ref_stories[3]})
    return write_jsonl(tmp_path / "new.jsonl", new), write_jsonl(tmp_path / "ref.jsonl", ref), new, ref


def test_against_reports_only_pairs_across_the_sets(tmp_path):
    new_f, ref_f, new, ref = against_corpus(tmp_path)
    res = copytrace.find(new_f, tmp_path / "out", against=[str(ref_f)], **FAST)
    new_ids = {d["id"] for d in new}
    pairs = pair_list(res)
    assert pairs and all((a in new_ids) != (b in new_ids) for a, b in pairs)
    # the same as a run over both sets, filtered afterwards, except that identical
    # documents pair across the sets (not each with its group's first document)
    both = copytrace.find([new_f, ref_f], **FAST)
    cross = [(a, b) for a, b in pair_list(both) if (a in new_ids) != (b in new_ids)]
    assert set(cross) <= set(pairs)
    # identical: new-exact, new-exact-twin, ref-exact3, ref3 (in id order): every new one with
    # the first reference one, the other reference one with the first new one
    assert {p for p in pairs if "exact" in p[0]} == {
        ("new-exact", "ref-exact3"), ("new-exact-twin", "ref-exact3"), ("new-exact", "ref3")}
    docs = pq.read_table(tmp_path / "out" / "documents.parquet").to_pylist()
    assert {d["doc_id"]: d["set"] for d in docs} == {**{i: "new" for i in new_ids},
                                                     **{d["id"]: "reference" for d in ref}}
    kept = [json.loads(x)["id"] for x in (tmp_path / "out" / "deduplicated.jsonl").read_text().splitlines()]
    assert sorted(kept) == sorted(["new-fresh", "new-fresh-copy", "new-unique0", "new-unique1", "new-unique2"])
    assert res.summary["pair_filters"]["reference_documents"] == len(ref)


def test_against_an_index_db_gives_the_same_pairs(tmp_path):
    new_f, ref_f, _, ref = against_corpus(tmp_path)
    db = tmp_path / "ref.db"
    with copytrace.Index.create(db, threshold=0.3) as idx:
        idx.add(ref)
    by_files = copytrace.find(new_f, tmp_path / "a", against=[str(ref_f)], **FAST)
    r = invoke_cli("find", str(new_f), "--against", str(db), "--out", str(tmp_path / "b"), "--threshold", "0.3",
                "--no-align", "--no-report", "-q")
    assert r.returncode == 0, r.stderr
    for name in ("pairs.parquet", "documents.parquet", "deduplicated.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert by_files.pairs.num_rows > 0


def test_cross_exact_pairs():
    # group heads 0 and 5; sides: 0 new, 1 reference
    side = np.array([0, 1, 0, 1, 0, 0, 0], dtype=np.int8)
    exact = np.array([[0, 1], [0, 2], [0, 3], [5, 6]], dtype=np.int64)
    got = cross_exact_pairs(exact, side).tolist()
    assert got == [[0, 1], [0, 3], [1, 2]]  # new 0, 2 → first reference 1; reference 3 → first new 0


def test_arrow_and_dataset_inputs_read_like_files(tmp_path):
    docs, _ = make_corpus(n_stories=5, copies=2, uniques=4, seed=3)
    src = write_jsonl(tmp_path / "c.jsonl", [{"key": d["id"], "body": d["text"]} for d in docs])
    table = pa.table({"key": [d["id"] for d in docs], "body": [d["text"] for d in docs],
                      "n": list(range(len(docs)))})
    opts = dict(FAST, id_field="key", text_field="body")
    want = copytrace.find(src, **opts)
    for obj in (table, pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=7))):
        got = copytrace.find(obj, **opts)
        assert got.documents.equals(want.documents) and got.pairs.equals(want.pairs)
        assert got.summary["inputs"][0].startswith("<")
    with pytest.raises(OptionError, match="local engine"):
        copytrace.find(table, engine="spark", progress=False)
    with pytest.raises(OptionError, match="cannot read an input"):
        copytrace.find([{"a": 1}], progress=False)
    bad = pa.table({"key": ["x"], "text": ["y"]})
    with pytest.raises(Exception, match="no column 'body'"):
        copytrace.find(bad, **opts)


def test_hugging_face_dataset_input(tmp_path):
    datasets = pytest.importorskip("datasets", reason="datasets is not installed (pip install 'copytrace[hf]')")
    docs, _ = make_corpus(n_stories=4, copies=2, uniques=3, seed=5)
    ds = datasets.Dataset.from_dict({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]})
    want = copytrace.find(pa.table({"id": ds["id"], "text": ds["text"]}), **FAST)
    got = copytrace.find(ds, **FAST)
    assert got.pairs.equals(want.pairs) and got.documents.equals(want.documents)
    part = copytrace.find(ds.select(range(0, len(ds), 2)), **FAST)  # an indices mapping
    assert part.documents.column("doc_id").to_pylist() == sorted(ds["id"][::2])


def test_index_query_applies_the_same_filters(tmp_path):
    src, meta = dated_corpus(tmp_path)
    docs = [json.loads(x) for x in src.read_text().splitlines()]
    db = tmp_path / "i.db"
    with copytrace.Index.create(db, threshold=0.3) as idx:
        idx.add([{"id": d["id"], "text": d["text"], "date": d["date"], "source": d["site"]} for d in docs])
    q = next(d for d in docs if d["id"].endswith("-orig") and d["date"] and d["date"] != "someday" and d["site"])
    with copytrace.Index(db, read_only=True) as idx:
        every = idx.query(q["text"], limit=None, with_passages=False)
        assert len(every) > 2
        for within, mode in ((5, "all"), (None, "across-sources"), (20, "within-sources")):
            got = idx.query(q["text"], limit=None, with_passages=False, date=q["date"], source=q["site"],
                            pairs_within=within, pairs=mode)
            meta_q = {**meta, "<q>": {"date": q["date"], "site": q["site"]}}
            want = [m.doc_id for m in every if post_filter([("<q>", m.doc_id)], meta_q, within, mode)]
            assert [m.doc_id for m in got] == want
        with pytest.raises(OptionError, match="--date"):
            idx.query(q["text"], pairs_within=3)
    r = invoke_cli("index", "query", str(db), "--text", q["text"], "--json", "--date", q["date"], "--pairs-within", "5")
    assert r.returncode == 0, r.stderr
