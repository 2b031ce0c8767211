"""Unit tests of what every engine shares (``engines.common``) and of the local
engine's checkpoints: small hand-made arrays, expectations derived from the
documented contracts, real files in tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from copytrace import schemas
from copytrace.engines.checkpoints import Checkpoints
from copytrace.engines.common import TextStore, align_arrays, align_order, build_tables, cluster_originals
from copytrace.stages import rule
from copytrace.stages.align import Alignment, Passage
from copytrace.stages.cluster import cluster
from copytrace.stages.direction import Direction, join_reasons
from copytrace.stages.verify import VerifiedPairs

IDS = pa.array(["d0", "d1", "d2", "d3", "d4"], pa.string())
LENGTH = np.array([100, 250, 80, 40, 300], dtype=np.int64)


def _verified() -> VerifiedPairs:
    # pairs (0,1), (1,2), (3,4), sorted by (a, b)
    return VerifiedPairs(np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([0.6, 0.3, 0.9]),
                         np.array([0.7, 0.4, 0.95]), np.array([0.65, 0.2, 0.9]), np.array([40, 12, 80]))


def _results() -> list[tuple[int, tuple[Alignment, Direction, float]]]:
    al0 = Alignment([Passage(0, 50, 10, 60, "verbatim", 1.0), Passage(60, 90, 70, 95, "reworded", 0.7)], [], [],
                    0.8, 0.3)
    al2 = Alignment([Passage(5, 35, 0, 30, "verbatim", 1.0)], [], [], 0.75, 0.1)
    return [(0, (al0, Direction("b", 0.6, ["b is dated earlier", "b carries a wire credit"]), 0.72)),
            (2, (al2, Direction("a", 0.3, ["a contains more of b than the reverse"]), 0.5))]


def test_align_arrays_lays_out_passages_and_per_pair_values():
    pas = align_arrays(3, _results())
    assert pas["pair"].tolist() == [0, 0, 2]
    assert pas["kind"].tolist() == [0, 1, 0]  # 0 verbatim, 1 reworded
    assert pas["a_start"].tolist() == [0, 60, 5] and pas["b_end"].tolist() == [60, 95, 30]
    assert pas["coverage"].tolist() == [0.72, 0.0, 0.5]  # pair 1 not aligned: no evidence
    assert pas["coverage_a"].tolist() == [0.8, 0.0, 0.75]
    assert pas["original"].tolist() == [2, 0, 1]  # 0 unknown, 1 a, 2 b
    assert pas["confidence"].tolist() == [0.6, 0.0, 0.3]
    assert pas["reasons"].tolist() == [join_reasons(["b is dated earlier", "b carries a wire credit"]), "",
                                       "a contains more of b than the reverse"]
    empty = align_arrays(0, [])
    assert all(v.shape[0] == 0 for v in empty.values())


def test_align_arrays_take_results_in_any_pair_order():
    in_order = align_arrays(3, _results())
    shuffled = align_arrays(3, _results()[::-1])
    assert sorted(in_order) == sorted(shuffled)
    for k, v in in_order.items():
        assert v.tolist() == shuffled[k].tolist(), k


def test_align_order_goes_component_by_component():
    # pairs sorted by (a, b); components {0, 3, 5} and {1, 2, 4}
    a = np.array([0, 0, 1, 1, 2, 3])
    b = np.array([3, 5, 2, 4, 4, 5])
    perm = align_order(a, b)
    assert perm.tolist() == [0, 1, 5, 2, 3, 4]  # 0-3, 0-5, 3-5, then 1-2, 1-4, 2-4
    assert align_order(np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []


def test_cluster_originals_vote_by_direction_confidence():
    v = _verified()
    clusters = cluster(5, v.a, v.b, LENGTH)
    assert clusters.root.tolist() == [0, 0, 0, 3, 3]
    # pair (0,1): b=1 original (0.6); (1,2): unknown; (3,4): a=3 original (0.3)
    orig = cluster_originals(5, v, np.array([2, 0, 1]), np.array([0.6, 0.0, 0.3]), clusters)
    assert orig.tolist() == [1, 1, 1, 3, 3]
    # no evidence at all: the representative (longest) wins
    none = cluster_originals(5, v, np.zeros(3, np.int64), np.zeros(3), clusters)
    assert none.tolist() == [clusters.representative[0]] * 3 + [clusters.representative[3]] * 2
    assert none.tolist() == [1, 1, 1, 4, 4]


def test_build_tables_follow_the_schemas_and_the_rule():
    v = _verified()
    pas = align_arrays(3, _results())
    clusters = cluster(5, v.a, v.b, LENGTH)
    documents, pairs, passages = build_tables(IDS, LENGTH, clusters, v, pas, ngram=5)
    assert documents.schema.equals(schemas.DOCUMENTS) and pairs.schema.equals(schemas.PAIRS)
    assert passages.schema.equals(schemas.PASSAGES)
    assert documents.column("cluster_id").to_pylist() == ["d0", "d0", "d0", "d3", "d3"]
    assert documents.column("is_representative").to_pylist() == [False, True, False, False, True]
    assert documents.column("n_copies").to_pylist() == [3, 3, 3, 2, 2]
    assert documents.column("cluster_original").to_pylist() == ["d1", "d1", "d1", "d3", "d3"]
    assert pairs.column("doc_a").to_pylist() == ["d0", "d1", "d3"]
    assert pairs.column("original").to_pylist() == ["b", "", "a"]
    expected = rule.similarity(rule.floor(v.jaccard, v.containment_a_in_b, v.containment_b_in_a, v.shared, 5),
                               pas["coverage"])
    assert pairs.column("similarity").to_pylist() == expected.tolist()
    # passages sorted by (doc_a, doc_b, a_start, b_start), kinds as words
    assert passages.column("doc_a").to_pylist() == ["d0", "d0", "d3"]
    assert passages.column("kind").to_pylist() == ["verbatim", "reworded", "verbatim"]


def test_text_store_round_trip_and_reopen(tmp_path):
    path = tmp_path / "texts.arrow"
    store = TextStore(path)
    store.append(["a", "b"], ["alpha text", "beta"], ["S", None], ["1916-06-01", None])
    store.append(["c"], ["gamma ünïcode"], [None], [None], ["https://x"], ["T"])
    table = store.seal()
    assert table.schema.equals(schemas.TEXTS) and table.num_rows == 3
    assert store.texts(np.array([2, 0])) == ["gamma ünïcode", "alpha text"]
    assert table.column("url").to_pylist() == [None, None, "https://x"]
    store.close()
    again = TextStore(path, existing=True)
    assert again.texts(np.array([1])) == ["beta"]
    again.close()


def test_checkpoints_resume_and_drop_a_damaged_stage(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("some text", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    key = Checkpoints.make_key([inp], {"threshold": 0.5})
    assert key is not None and key == Checkpoints.make_key([inp], {"threshold": 0.5})
    assert key != Checkpoints.make_key([inp], {"threshold": 0.6})
    assert Checkpoints.make_key(["-"], {}) is None  # stdin: nothing to recognise on a rerun
    (work / "texts.arrow").write_bytes(b"store")
    ck = Checkpoints(work, key, resume=False)
    ck.save("fingerprint", {"x": np.arange(4)}, {"read_stats": {}})
    ck.save("verify", {"a": np.array([1, 2])}, {"n": 2})
    again = Checkpoints(work, key, resume=True)
    assert again.has("fingerprint") and again.has("verify") and not again.has("align")
    arrays, meta = again.load("verify")
    assert arrays["a"].tolist() == [1, 2] and meta == {"n": 2} and again.resumed == ["verify"]
    # an altered fingerprint file drops it and every later stage, with a warning
    (work / "fingerprint.npz").write_bytes(b"not an npz")
    damaged = Checkpoints(work, key, resume=True)
    assert not damaged.has("fingerprint") and not damaged.has("verify")
    assert len(damaged.warnings) == 1 and "fingerprint" in damaged.warnings[0]
    # another key (changed parameters): a fresh start, old arrays removed
    Checkpoints(work, "other", resume=True)
    assert json.loads((work / "checkpoints.json").read_text())["done"] == {}
    assert not list(work.glob("*.npz"))


@pytest.mark.parametrize("resume", [False, True])
def test_checkpoints_without_key_never_resume(tmp_path, resume):
    ck = Checkpoints(tmp_path, None, resume=resume)
    assert not ck.has("fingerprint") and ck.warnings == []
