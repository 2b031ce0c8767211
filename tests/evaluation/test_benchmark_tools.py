"""Tests of the benchmark tools: benchmarks/quality.py, syndicate.py, reuters.py."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
REUTERS_DIR = REPO.parent / "shared" / "data" / "reuters21578"


@pytest.fixture(scope="module")
def bench():
    """The benchmark scripts, importable as modules."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import quality
    import reuters
    import syndicate

    return type("Bench", (), {"quality": quality, "reuters": reuters, "syndicate": syndicate})


def _grams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


# ---------------------------------------------------------------- quality measures


def test_identical_clusterings_score_one(bench):
    q = bench.quality
    t = ["a", "a", "b", "c", "c", "c"]
    p = [7, 7, 1, 2, 2, 2]  # same partition, other names
    assert q.adjusted_rand_index(t, p) == pytest.approx(1.0)
    assert q.pair_scores(t, p) == pytest.approx((1.0, 1.0, 1.0))
    # trivial partitions, identical: all singletons / one cluster
    assert q.adjusted_rand_index([1, 2, 3], ["x", "y", "z"]) == 1.0
    assert q.adjusted_rand_index([1, 1, 1], ["x", "x", "x"]) == 1.0


def test_fractional_case_worked_by_hand(bench):
    q = bench.quality
    true = [0, 0, 0, 1, 1, 1]
    pred = [0, 0, 1, 1, 2, 2]
    # contingency n_ij: true0 = {pred0: 2, pred1: 1}, true1 = {pred1: 1, pred2: 2}
    # index     = C(2,2)+C(1,2)+C(1,2)+C(2,2) = 1+0+0+1 = 2   (= correct pairs TP)
    # sum_a     = C(3,2)+C(3,2) = 6                          (= true pairs)
    # sum_b     = C(2,2)*3 = 3                               (= predicted pairs)
    # expected  = 6*3 / C(6,2) = 18/15 = 1.2
    # max       = (6+3)/2 = 4.5
    # ARI       = (2-1.2)/(4.5-1.2) = 0.8/3.3 = 8/33 = 0.242424...
    assert q.adjusted_rand_index(true, pred) == pytest.approx(8 / 33)
    # precision = 2/3, recall = 2/6 = 1/3, F1 = 2*(2/3)*(1/3)/(2/3+1/3) = 4/9
    p, r, f = q.pair_scores(true, pred)
    assert (p, r, f) == pytest.approx((2 / 3, 1 / 3, 4 / 9))
    # symmetric in its arguments: ARI unchanged, precision/recall swap
    assert q.adjusted_rand_index(pred, true) == pytest.approx(8 / 33)
    assert q.pair_scores(pred, true) == pytest.approx((1 / 3, 2 / 3, 4 / 9))


def test_degenerate_predictions(bench):
    q = bench.quality
    true = ["a", "a", "b", "b"]
    # all singletons: no predicted pair -> precision 1 by convention, recall 0;
    # index 0, expected = 2*0/6 = 0, max = (2+0)/2 = 1 -> ARI 0
    assert q.pair_scores(true, [1, 2, 3, 4]) == pytest.approx((1.0, 0.0, 0.0))
    assert q.adjusted_rand_index(true, [1, 2, 3, 4]) == pytest.approx(0.0)
    # one big cluster: TP = 2, predicted pairs C(4,2) = 6, true pairs 2
    # precision 1/3, recall 1, F1 = 2*(1/3)/(4/3) = 1/2;
    # index 2, expected = 2*6/6 = 2, max = (2+6)/2 = 4 -> ARI 0
    assert q.pair_scores(true, [0, 0, 0, 0]) == pytest.approx((1 / 3, 1.0, 0.5))
    assert q.adjusted_rand_index(true, [0, 0, 0, 0]) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        q.pair_scores([1, 2], [1])


def test_reuse_error_prices_fix_one_kind_each(bench):
    """benchmarks/reuse.py's error_prices: each kind of error fixed alone in the
    labels, against partitions written out by hand."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import reuse

    q = bench.quality
    # story a: 3 printings, one without a row; b: one printing merged into a's cluster x;
    # c: 2 printings, one without a row; d: printed once, no row (right); e: split v/w
    true = ["a", "a", "a", "b", "b", "b", "c", "c", "d", "e", "e", "e", "e"]
    pred = ["x", "x", "__none2", "x", "y", "y", "z", "__none7", "__none8", "v", "v", "v", "w"]
    fixed = {
        "missed": ["x", "x", "x", "x", "y", "y", "z", "z", "__none8", "v", "v", "v", "w"],
        "merges": ["x", "x", "__none2", "x|b", "y", "y", "z", "__none7", "__none8", "v", "v", "v", "w"],
        "splits": ["x", "x", "__none2", "x", "y", "y", "z", "__none7", "__none8", "v", "v", "v", "v"],
    }
    base = q.adjusted_rand_index(true, pred)
    prices = reuse.error_prices(true, pred)
    assert set(prices) == set(fixed)
    for kind, labels in fixed.items():
        assert prices[kind] == pytest.approx(q.adjusted_rand_index(true, labels) - base)
        assert prices[kind] > 0
    # nothing to fix: every price is 0
    assert reuse.error_prices(["a", "a", "b"], ["x", "x", "__none2"]) == pytest.approx(
        {"missed": 0.0, "merges": 0.0, "splits": 0.0})


def test_reuse_replay_gives_finds_rows(bench, small_base, tmp_path):
    """benchmarks/reuse.py --record / --replay: the reuse stage re-run on the
    recorded inputs gives the rows find wrote to reuse.parquet."""
    import pyarrow.parquet as pq

    import copytrace

    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import reuse

    docs, truth = bench.syndicate.generate_pages(40, base=small_base, seed=2)
    src = tmp_path / "pages.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    rec = tmp_path / "inputs.npz"
    with reuse.record_reuse_inputs(rec):
        res = copytrace.find(str(src), out=tmp_path / "out", workers=1, date_field="date", source_field="source",
                             report=False, progress=False)
    written = pq.read_table(tmp_path / "out" / "reuse.parquet").to_pylist()
    assert written, "the page corpus has reused stories"
    (verified, _, _, rows, _), _ = reuse.replay_reuse(rec)
    ids = sorted(d["doc_id"] for d in res.documents.to_pylist())
    replayed = sorted((ids[d], s, e) for d, s, e in zip(rows.doc.tolist(), rows.start.tolist(), rows.end.tolist(), strict=True))
    assert replayed == sorted((r["doc_id"], r["start"], r["end"]) for r in written)
    assert len(set(rows.cluster.tolist())) == len({r["reuse_id"] for r in written})
    assert len(verified) == res.summary["counts"]["verified_pairs"] == len(res.pairs)


def test_quality_cli_counts_missing_as_singletons(bench, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    q = bench.quality
    truth = {"d1": "d1", "d2": "d1", "d3": "d1", "d4": "d4", "d5": "d5"}
    (tmp_path / "truth.jsonl").write_text("".join(json.dumps({"id": k, "cluster": v}) + "\n" for k, v in truth.items()))
    out = tmp_path / "out"
    out.mkdir()
    # d3 is missing from the output (-> its own cluster); "zz" is not in the truth (ignored)
    pq.write_table(
        pa.table(
            {
                "doc_id": ["d1", "d2", "d4", "d5", "zz"],
                "length": [10, 10, 10, 10, 10],
                "cluster_id": ["d1", "d1", "d4", "d4", "zz"],
                "is_representative": [True, False, True, False, True],
                "n_copies": [2, 2, 2, 2, 1],
            }
        ),
        out / "documents.parquet",
    )
    # true pairs: C(3,2) = 3; predicted pairs: (d1,d2), (d4,d5) = 2; correct: (d1,d2) = 1
    # precision 1/2, recall 1/3, F1 = 2*(1/6)/(5/6) = 0.4
    # ARI: index 1, expected = 3*2/C(5,2) = 0.6, max = 2.5 -> 0.4/1.9 = 0.210526...
    assert q.main([str(tmp_path / "truth.jsonl"), str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "ari=0.2105 precision=0.5000 recall=0.3333 f1=0.4000"
    r = q.evaluate(truth, q.load_predictions(out))
    assert r["missing_from_output"] == 1 and r["extra_in_output"] == 1


# ---------------------------------------------------------------- generator


@pytest.fixture(scope="module")
def small_base(bench):
    return bench.syndicate.synthetic_base(150, seed=3)


@pytest.fixture(scope="module")
def corpus(bench, small_base):
    # 600 docs from 150 base stories: 420 stories, so most are built by splicing
    return bench.syndicate.generate(600, base=small_base, seed=1)


def test_generator_truth(bench, corpus):
    docs, truth = corpus
    outlets = {o.name for o in bench.syndicate.OUTLETS}
    ids = [d["id"] for d in docs]
    assert len(docs) == 600 and len(set(ids)) == 600 and set(truth) == set(ids)
    assert all(set(d) == {"id", "text", "source", "date"} and d["text"] for d in docs)
    by_id = {d["id"]: d for d in docs}
    copies = [i for i in ids if truth[i] != i]
    assert len(copies) == round(0.3 * 600)
    members: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        members[truth[i]].append(i)
    for cluster, mem in members.items():
        assert truth[cluster] == cluster  # the cluster id is a document of its own cluster
        if len(mem) > 1:  # a wire story and its copies
            assert by_id[cluster]["source"] == "wire"
            for i in mem:
                if i != cluster:
                    assert by_id[i]["source"] in outlets
                    assert by_id[i]["date"] >= by_id[cluster]["date"]
    # unique stories are singletons: only copies point at another document
    sizes = Counter(truth.values())
    uniques = [i for i in ids if truth[i] == i and sizes[i] == 1]
    assert len(uniques) == 600 - len(copies) - sum(1 for c, n in sizes.items() if n > 1)
    assert {by_id[i]["source"] for i in uniques} > {"wire"}  # some published by outlets


def test_copies_share_text_with_their_original(corpus):
    docs, truth = corpus
    by_id = {d["id"]: d for d in docs}
    kept = []
    for i, c in truth.items():
        if i != c:
            g = _grams(by_id[c]["text"])
            kept.append(len(g & _grams(by_id[i]["text"])) / len(g))
    assert min(kept) >= 0.3
    assert sorted(kept)[len(kept) // 2] >= 0.5


def test_distinct_stories_stay_distinct(bench, small_base):
    # no boilerplate on unique docs; 500 stories from 150 base stories
    docs, truth = bench.syndicate.generate(500, copy_rate=0.0, base=small_base, seed=2, unique_outlet_share=0.0)
    assert all(truth[d["id"]] == d["id"] for d in docs)
    grams = [_grams(d["text"]) for d in docs]
    owners: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for k, g in enumerate(grams):
        for x in g:
            owners[x].append(k)
    worst = 0.0
    for k, g in enumerate(grams):
        shared = Counter(o for x in g for o in owners[x] if o != k)
        if shared:
            worst = max(worst, shared.most_common(1)[0][1] / len(g))
    assert worst < 0.3


def test_generator_is_deterministic(bench, small_base, tmp_path):
    s = bench.syndicate
    a = s.generate(300, base=small_base, seed=5)
    b = s.generate(300, base=small_base, seed=5)
    c = s.generate(300, base=small_base, seed=6)
    assert a == b
    assert a[0] != c[0]
    n, out, truth = s.generate_to_files(tmp_path / "c.jsonl", 300, base=small_base, seed=5)
    assert n == 300 and truth == tmp_path / "c.truth.jsonl"
    assert [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()] == a[0]
    assert {r["id"]: r["cluster"] for r in map(json.loads, truth.read_text().splitlines())} == a[1]
    s.generate_to_files(tmp_path / "d.jsonl", 300, base=small_base, seed=5)
    assert (tmp_path / "d.jsonl").read_bytes() == out.read_bytes()


def test_edit_strength_scales_edits(bench, small_base):
    def kept(strength: float) -> float:
        docs, truth = bench.syndicate.generate(300, base=small_base, seed=4, edit_strength=strength)
        by_id = {d["id"]: d for d in docs}
        vals = []
        for i, c in truth.items():
            if i != c:
                g = _grams(by_id[c]["text"])
                vals.append(len(g & _grams(by_id[i]["text"])) / len(g))
        return sum(vals) / len(vals)

    k0, k2, k10 = kept(0.0), kept(0.2), kept(1.0)
    assert k0 > 0.85 and k0 > k2 > k10


# ---------------------------------------------------------------- Reuters loader


def test_reuters_loader_counts_stories(bench):
    if not REUTERS_DIR.is_dir():
        pytest.skip(f"Reuters-21578 data not found at {REUTERS_DIR}")
    recs = list(bench.reuters.iter_reuters(REUTERS_DIR))
    assert len(recs) == 19043
    assert len({r["id"] for r in recs}) == 19043
    first = recs[0]
    assert first["id"] == "reuters-1" and first["source"] == "reuters" and first["date"] == "1987-02-26"
    assert first["text"].startswith("BAHIA COCOA REVIEW\n\nShowers continued throughout the week")
    assert not any(re.search(r"[\x00-\x08\x0b-\x1f\x7f]|&lt;|&#\d+;", r["text"]) for r in recs)
