"""Reuse clusters of passages (stages/reuse.py, reuse.parquet) and document
clusters that do not chain through a page holding many stories."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import copytrace
from copytrace import schemas
from copytrace.stages.reuse import BRIDGE_MIN_DOCS, BRIDGE_SCORE, reuse_clusters

from helpers import make_copy, make_corpus, make_story


def _write(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def _find(tmp_path: Path, docs: list[dict], **kw):
    src = _write(tmp_path / "in.jsonl", docs)
    return copytrace.find(str(src), out=tmp_path / "out", progress=False, report=False,
                          date_field="date", source_field="source", workers=1, **kw)


def _rows(tmp_path: Path) -> list[dict]:
    t = pq.read_table(tmp_path / "out" / "reuse.parquet")
    assert t.schema.equals(schemas.REUSE, check_metadata=False)
    return t.to_pylist()


def _page_corpus(seed: int = 3):
    """A page holding three stories, one separate reprint of each, and an
    unrelated document."""
    rng = random.Random(seed)
    stories = [make_story(rng) for _ in range(3)]
    page = "THE DAILY HERALD\n\n" + "\n\n".join(stories)
    spans = []
    pos = len("THE DAILY HERALD\n\n")
    for s in stories:
        spans.append((pos, pos + len(s)))
        pos += len(s) + 2
    docs = [{"id": "page", "text": page, "date": "1916-06-01", "source": "Herald"}]
    for i, s in enumerate(stories):
        docs.append({"id": f"copy{i}", "text": make_copy(rng, s, edit=0.03), "date": f"1916-06-0{2 + i}",
                     "source": f"Paper {i}"})
    docs.append({"id": "other", "text": make_story(rng), "date": "1916-06-09", "source": "Other"})
    return docs, spans


def test_page_with_three_stories_gives_three_clusters_and_no_chain(tmp_path: Path) -> None:
    docs, spans = _page_corpus()
    res = _find(tmp_path, docs)
    rows = _rows(tmp_path)
    by_cluster: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_cluster[r["reuse_id"]].append(r)
    assert len(by_cluster) == 3
    for i, (s, e) in enumerate(spans):
        # the page's occurrence of story i is one row, in a cluster with copy i only
        mine = [r for r in rows if r["doc_id"] == "page" and min(r["end"], e) - max(r["start"], s) > 0.8 * (e - s)]
        assert len(mine) == 1
        members = by_cluster[mine[0]["reuse_id"]]
        assert sorted(r["doc_id"] for r in members) == sorted(["page", f"copy{i}"])
        assert all(r["n_docs"] == 2 for r in members)
        # the page is dated first: its occurrence is the original; first date and sources
        orig = [r for r in members if r["is_original"]]
        assert [r["doc_id"] for r in orig] == ["page"]
        assert {r["first_date"] for r in members} == {"1916-06-01"}
        assert members[0]["sources"] == sorted(["Herald", f"Paper {i}"])
        assert mine[0]["reuse_id"] == min((r["doc_id"], r["start"]) for r in members)[0] + ":" + str(
            min((r["doc_id"], r["start"]) for r in members)[1])
    # documents: nothing chained — the page is no copy of any single story as a whole
    n_copies = dict(zip(res.documents.column("doc_id").to_pylist(), res.documents.column("n_copies").to_pylist(),
                        strict=True))
    assert n_copies["page"] == 1
    # deduplicated.jsonl keeps the page and every copy (no document is a copy of another as a whole)
    kept = [json.loads(x)["id"] for x in (tmp_path / "out" / "deduplicated.jsonl").read_text().splitlines()]
    assert "page" in kept and {"copy0", "copy1", "copy2"} <= set(kept)
    assert res.summary["counts"]["reuse_clusters"] == 3


def test_page_with_one_copied_story_among_originals_is_kept(tmp_path: Path) -> None:
    rng = random.Random(5)
    copied = make_story(rng)
    originals = [make_story(rng) for _ in range(3)]
    page = "\n\n".join([originals[0], copied, originals[1], originals[2]])
    docs = [{"id": "page", "text": page, "date": "1916-06-02"},
            {"id": "wire", "text": copied, "date": "1916-06-01"},
            {"id": "reprint", "text": make_copy(rng, copied, edit=0.02), "date": "1916-06-03"}]
    _find(tmp_path, docs)
    kept = {json.loads(x)["id"] for x in (tmp_path / "out" / "deduplicated.jsonl").read_text().splitlines()}
    assert "page" in kept
    rows = _rows(tmp_path)
    assert len({r["reuse_id"] for r in rows}) == 1
    assert {r["doc_id"] for r in rows} == {"page", "wire", "reprint"}


def test_reuse_agrees_with_document_clusters_when_each_document_holds_one_story(tmp_path: Path) -> None:
    docs, truth = make_corpus(n_stories=6, copies=3, uniques=6, seed=11)
    res = _find(tmp_path, docs)
    rows = _rows(tmp_path)
    cluster_of = dict(zip(res.documents.column("doc_id").to_pylist(),
                          res.documents.column("cluster_id").to_pylist(), strict=True))
    reuse_docs: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        reuse_docs[r["reuse_id"]].add(r["doc_id"])
    doc_clusters: dict[str, set[str]] = defaultdict(set)
    for d, c in cluster_of.items():
        doc_clusters[c].add(d)
    multi = {frozenset(v) for v in doc_clusters.values() if len(v) > 1}
    assert multi  # the corpus has copies
    assert {frozenset(v) for v in reuse_docs.values()} == multi
    # and both follow the truth
    assert all(len({truth[d] for d in v}) == 1 for v in multi)


def test_reuse_clusters_is_deterministic_and_order_free() -> None:
    # two documents pairs: (0,1) share a span, (1,2) share an overlapping span, (2,3) a disjoint one
    pair_a = np.array([0, 1, 2], np.int64)
    pair_b = np.array([1, 2, 3], np.int64)
    pas = {"pair": np.array([0, 1, 2]), "a_start": np.array([0, 10, 500]), "a_end": np.array([300, 300, 800]),
           "b_start": np.array([20, 0, 0]), "b_end": np.array([320, 290, 300]), "kind": np.array([0, 1, 1]),
           "original": np.array([1, 1, 2]), "confidence": np.array([0.9, 0.5, 0.7])}
    r1 = reuse_clusters(pair_a, pair_b, pas)
    perm = np.array([2, 0, 1])
    pas2 = {k: (v[perm] if k not in ("original", "confidence") else v) for k, v in pas.items()}
    r2 = reuse_clusters(pair_a, pair_b, pas2)
    for f in ("cluster", "doc", "start", "end", "n_docs", "is_original", "confidence", "verbatim"):
        assert np.array_equal(getattr(r1, f), getattr(r2, f)), f
    # docs 0,1,2 share one text; doc 2's second span and doc 3 another
    assert r1.n_clusters == 2
    assert sorted(r1.doc[r1.cluster == 0].tolist()) == [0, 1, 2]
    assert r1.is_original[(r1.cluster == 0) & (r1.doc == 0)].all()


@pytest.mark.parametrize("align", [False])
def test_no_align_gives_an_empty_valid_reuse_table(tmp_path: Path, align: bool) -> None:
    docs, _ = _page_corpus()
    _find(tmp_path, docs, align=align)
    assert _rows(tmp_path) == []


def test_dedup_passages_cuts_reused_stories_from_all_but_the_original(tmp_path: Path) -> None:
    docs, spans = _page_corpus()
    _find(tmp_path, docs, dedup_passages=True)
    recs = {json.loads(x)["id"]: json.loads(x)
            for x in (tmp_path / "out" / "deduplicated-passages.jsonl").read_text(encoding="utf-8").splitlines()}
    assert set(recs) == {d["id"] for d in docs}  # every document, none lost
    texts = {d["id"]: d["text"] for d in docs}
    # the page is dated first: it is the original of all three stories and keeps them
    assert recs["page"]["removed"] == [] and recs["page"]["text"] == texts["page"]
    for i in range(3):
        rec = recs[f"copy{i}"]
        assert rec["removed"], rec
        # the cut is on sentence boundaries: what is left is the site line, not story fragments
        for s, e in rec["removed"]:
            assert s == 0 or texts[f"copy{i}"][s - 1] in " \n"
            assert e == len(texts[f"copy{i}"]) or texts[f"copy{i}"][e - 1] in " \n"
        assert rec["text"].strip().startswith("Site") and len(rec["text"]) < 40
        # the text is the original minus the removed spans
        rebuilt, pos = [], 0
        for s, e in rec["removed"]:
            rebuilt.append(texts[f"copy{i}"][pos:s])
            pos = e
        rebuilt.append(texts[f"copy{i}"][pos:])
        assert "".join(rebuilt) == rec["text"]
    assert recs["other"]["removed"] == [] and recs["other"]["text"] == texts["other"]


def test_a_passage_over_three_clusters_joins_none_of_them() -> None:
    # docs 0, 1, 2: one story each; pages 3 and 4 print all three in a row, and
    # one alignment between the pages spans all three stories
    pair_a = np.array([0, 1, 2, 0, 1, 2, 3], np.int64)
    pair_b = np.array([3, 3, 3, 4, 4, 4, 4], np.int64)
    pas = {"pair": np.arange(7),
           "a_start": np.array([0, 0, 0, 0, 0, 0, 0]), "a_end": np.array([1000, 1000, 1000, 1000, 1000, 1000, 3000]),
           "b_start": np.array([0, 1000, 2000, 100, 1100, 2100, 100]),
           "b_end": np.array([1000, 2000, 3000, 1100, 2100, 3100, 3100]),
           "kind": np.array([0, 1, 1, 0, 1, 1, 1]), "score": np.array([1.0, 0.9, 0.8, 1.0, 0.9, 0.8, 0.9]),
           "original": np.ones(7, np.int64), "confidence": np.full(7, 0.5)}
    r = reuse_clusters(pair_a, pair_b, pas)
    assert r.n_clusters == 3
    for c in range(3):
        assert sorted(r.doc[r.cluster == c].tolist()) == [c, 3, 4]
    assert ((r.end - r.start) <= 1000).all()  # no occurrence straddles two stories
    assert r.passage_cluster[6] == -1 and (r.passage_cluster[:6] >= 0).all()


def test_template_stories_aligned_weakly_do_not_join() -> None:
    # two pairs of printings of two stories from one template: the cross alignment
    # is reworded with a low score (below rule.SCORE_HIGH) and joins nothing
    pair_a = np.array([0, 2, 0], np.int64)
    pair_b = np.array([1, 3, 2], np.int64)
    pas = {"pair": np.arange(3), "a_start": np.zeros(3, np.int64), "a_end": np.full(3, 600),
           "b_start": np.zeros(3, np.int64), "b_end": np.full(3, 600), "kind": np.array([1, 1, 1]),
           "score": np.array([0.9, 0.85, 0.5]), "original": np.ones(3, np.int64), "confidence": np.full(3, 0.5)}
    r = reuse_clusters(pair_a, pair_b, pas)
    assert r.n_clusters == 2
    assert sorted(r.doc[r.cluster == 0].tolist()) == [0, 1] and sorted(r.doc[r.cluster == 1].tolist()) == [2, 3]


def test_two_stories_written_alike_do_not_join_through_one_weak_alignment() -> None:
    # stories X (docs 0, 1, 2) and Y (docs 3, 4, 5), each printed three times and aligned at
    # 0.9; one printing of each aligns with the other at 0.74 (over rule.SCORE_HIGH, under
    # reuse.BRIDGE_SCORE): two groups of three documents stay apart
    pair_a = np.array([0, 1, 3, 4, 2], np.int64)
    pair_b = np.array([1, 2, 4, 5, 3], np.int64)
    rows = [(k, 0, 600, 0, 600, 1, 0.9) for k in range(4)] + [(4, 0, 600, 0, 600, 1, 0.74)]
    r = reuse_clusters(pair_a, pair_b, _pas(rows, 5))
    assert r.n_clusters == 2
    assert sorted(r.doc[r.cluster == 0].tolist()) == [0, 1, 2] and sorted(r.doc[r.cluster == 1].tolist()) == [3, 4, 5]
    assert r.passage_cluster[4] == -1
    # at reuse.BRIDGE_SCORE the same alignment joins them
    rows[4] = (4, 0, 600, 0, 600, 1, BRIDGE_SCORE)
    assert reuse_clusters(pair_a, pair_b, _pas(rows, 5)).n_clusters == 1


def test_a_weakly_reworded_printing_still_joins_its_story() -> None:
    # docs 0 and 1 print a story (0.9); doc 2's heavily reworded printing aligns with
    # doc 1 at 0.74: a group of one document joins, whatever the score under the bridge bar
    pas = _pas([(0, 0, 600, 0, 600, 1, 0.9), (1, 0, 600, 0, 620, 1, 0.74)], 2)
    r = reuse_clusters(np.array([0, 1], np.int64), np.array([1, 2], np.int64), pas)
    assert r.n_clusters == 1 and sorted(r.doc.tolist()) == [0, 1, 2]
    # so do two pairs of printings (groups under reuse.BRIDGE_MIN_DOCS): heavily reworded reprints
    assert BRIDGE_MIN_DOCS == 3
    pas = _pas([(0, 0, 600, 0, 600, 1, 0.9), (1, 0, 600, 0, 600, 1, 0.9), (2, 0, 600, 0, 600, 1, 0.74)], 3)
    r = reuse_clusters(np.array([0, 2, 1], np.int64), np.array([1, 3, 2], np.int64), pas)
    assert r.n_clusters == 1 and sorted(r.doc.tolist()) == [0, 1, 2, 3]


def test_a_document_of_one_repeated_paragraph_gives_valid_rows() -> None:
    # doc 0 repeats one 500-character paragraph 40 times; doc 1 prints it twice:
    # every repetition aligns with both of doc 1's
    reps = [(i * 502, i * 502 + 500) for i in range(40)]
    a_s, a_e, b_s, b_e = [], [], [], []
    for s, e in reps:
        for bs, be in ((0, 500), (502, 1002)):
            a_s.append(s), a_e.append(e), b_s.append(bs), b_e.append(be)
    n = len(a_s)
    pas = {"pair": np.zeros(n, np.int64), "a_start": np.array(a_s), "a_end": np.array(a_e),
           "b_start": np.array(b_s), "b_end": np.array(b_e), "kind": np.zeros(n, np.int64), "score": np.ones(n),
           "original": np.array([1]), "confidence": np.array([0.4])}
    r = reuse_clusters(np.array([0]), np.array([1]), pas, ["1916-06-01", "1916-06-02"])
    assert r.n_clusters == 1 and set(r.doc.tolist()) == {0, 1}
    assert (r.n_docs == 2).all() and (r.start < r.end).all()
    assert int(r.is_original.sum()) == 1 and r.doc[r.is_original][0] == 0  # dated first
    for d in (0, 1):  # a document's occurrences of one cluster do not overlap
        s, e = r.start[r.doc == d], r.end[r.doc == d]
        assert (s[1:] >= e[:-1]).all()


def _pas(rows: list[tuple[int, int, int, int, int, int, float]], n_pairs: int) -> dict[str, np.ndarray]:
    """Align arrays from (pair, a_start, a_end, b_start, b_end, kind, score) rows."""
    cols = list(zip(*rows, strict=True))
    names = ("pair", "a_start", "a_end", "b_start", "b_end", "kind", "score")
    pas = {k: np.array(c, np.float64 if k == "score" else np.int64) for k, c in zip(names, cols, strict=True)}
    return pas | {"original": np.ones(n_pairs, np.int64), "confidence": np.full(n_pairs, 0.5)}


def test_a_reprint_cut_short_joins_its_story_through_a_lopsided_passage() -> None:
    # docs 0 and 1 print a 1000-character story in full; doc 2 prints its first half
    # (the reprint was cut): its one alignment is lopsided (1000 against 500)
    pair_a = np.array([0, 0], np.int64)
    pair_b = np.array([1, 2], np.int64)
    pas = _pas([(0, 0, 1000, 0, 1000, 1, 0.9), (1, 0, 1000, 0, 500, 1, 0.85)], 2)
    r = reuse_clusters(pair_a, pair_b, pas)
    assert r.n_clusters == 1
    assert sorted(r.doc.tolist()) == [0, 1, 2]
    assert r.end[r.doc == 2].tolist() == [500]  # the cut reprint's own span
    assert (r.passage_cluster == 0).all()


def test_a_lopsided_passage_over_two_stories_joins_neither() -> None:
    # doc 0 holds stories A (0-1000) and B (1000-2000), each printed alone in docs 1
    # and 2; doc 3's 600 characters align with all of doc 0 (lopsided, two stories)
    pair_a = np.array([0, 0, 0], np.int64)
    pair_b = np.array([1, 2, 3], np.int64)
    pas = _pas([(0, 0, 1000, 0, 1000, 1, 0.9), (1, 1000, 2000, 0, 1000, 1, 0.9), (2, 0, 2000, 0, 600, 1, 0.8)], 3)
    r = reuse_clusters(pair_a, pair_b, pas)
    assert r.n_clusters == 2
    assert 3 not in r.doc.tolist()
    assert sorted(r.doc[r.cluster == 0].tolist()) == [0, 1] and sorted(r.doc[r.cluster == 1].tolist()) == [0, 2]
    assert r.passage_cluster[2] == -1


def _valid_rows(rows: list[dict], texts: dict[str, str]) -> dict[str, list[dict]]:
    """Every row well formed (offsets inside the text, one original per cluster,
    ``n_docs`` its cluster's documents); the rows by ``reuse_id``."""
    by_cluster: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        assert 0 <= r["start"] < r["end"] <= len(texts[r["doc_id"]])
        assert r["kind"] in ("verbatim", "reworded") and 0.0 <= r["direction_confidence"] <= 1.0
        by_cluster[r["reuse_id"]].append(r)
    for members in by_cluster.values():
        assert sum(r["is_original"] for r in members) == 1
        assert all(r["n_docs"] == len({m["doc_id"] for m in members}) for r in members)
    return by_cluster


def test_bad_input_a_document_of_one_repeated_paragraph(tmp_path: Path) -> None:
    rng = random.Random(21)
    para = make_story(rng, n_sentences=3).replace("\n\n", " ")
    docs = [{"id": "repeated", "text": "\n\n".join([para] * 60)},
            {"id": "once", "text": "Site 1 News\n\n" + para},
            {"id": "other", "text": make_story(rng)}]
    res = _find(tmp_path, docs)
    by_cluster = _valid_rows(_rows(tmp_path), {d["id"]: d["text"] for d in docs})
    # the aligner answers with one passage: the paragraph against the whole repeated
    # document (lopsided, 60 to 1): the two are copies, and no reuse cluster chains anything
    pairs = res.pairs.select(["doc_a", "doc_b"]).to_pylist()
    assert pairs == [{"doc_a": "once", "doc_b": "repeated"}]
    assert len(by_cluster) <= 1
    for members in by_cluster.values():
        assert {r["doc_id"] for r in members} == {"repeated", "once"}
        spans = sorted((r["start"], r["end"]) for r in members if r["doc_id"] == "repeated")
        assert all(s2 >= e1 for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False))


def test_bad_input_a_page_of_500_stories_each_printed_once_more(tmp_path: Path) -> None:
    # one page of 500 stories, each printed once more: 50 digests of 10 of them, in
    # another order (none of a digest's stories next to each other on the page) — 500 clusters over one page, none chaining two of its stories
    rng = random.Random(22)
    stories = [make_story(rng, n_sentences=3).replace("\n\n", " ") for _ in range(500)]
    docs = [{"id": "page", "text": "\n\n".join(stories)}]
    # digest k: stories k, k + 50, ... (no two of them neighbours on the page), last first
    docs += [{"id": f"digest{k:02d}", "text": "\n\n".join(stories[i] for i in range(450 + k, -1, -50))}
             for k in range(50)]
    _find(tmp_path, docs)
    by_cluster = _valid_rows(_rows(tmp_path), {d["id"]: d["text"] for d in docs})
    assert 450 <= len(by_cluster) <= 500
    bounds = np.cumsum([0] + [len(s) + 2 for s in stories])
    for members in by_cluster.values():
        assert len({r["doc_id"] for r in members}) == 2 and "page" in {r["doc_id"] for r in members}
        for r in (m for m in members if m["doc_id"] == "page"):
            # no row straddles two stories of the page (stories are 2 characters apart)
            k = int(np.searchsorted(bounds, r["start"], side="right")) - 1
            assert r["end"] <= bounds[k + 1], (r, k)


def test_bad_input_a_passage_over_three_clusters(tmp_path: Path) -> None:
    # three stories, each with a copy of its own; two pages print all three in a row,
    # so one alignment between the pages spans all three clusters
    rng = random.Random(23)
    three = [make_story(rng, n_sentences=6) for _ in range(3)]
    docs = [{"id": "page1", "text": "\n\n".join(three)},
            {"id": "page2", "text": "THE EVENING STAR\n\n" + "\n\n".join(three)}]
    docs += [{"id": f"story{i}", "text": make_copy(rng, s, edit=0.02)} for i, s in enumerate(three)]
    _find(tmp_path, docs)
    by_cluster = _valid_rows(_rows(tmp_path), {d["id"]: d["text"] for d in docs})
    clusters_of = [{r["reuse_id"] for r in _rows(tmp_path) if r["doc_id"] == f"story{i}"} for i in range(3)]
    assert all(len(c) == 1 for c in clusters_of)
    assert len(set.union(*clusters_of)) == 3  # the three stories never merge
    for i in range(3):
        (cid,) = clusters_of[i]
        assert {r["doc_id"] for r in by_cluster[cid]} >= {"page1", f"story{i}"}


def test_a_cut_reprint_aligned_only_with_the_opening_of_the_story_joins_it() -> None:
    # docs 0 and 1 print a 1000-character story in full (aligned with each other); doc 2
    # prints its first 300 characters, aligned with the opening of both: in both documents
    # that opening lies inside the full story's occurrence — a cut version, one cluster
    pair_a = np.array([0, 0, 1], np.int64)
    pair_b = np.array([1, 2, 2], np.int64)
    pas = _pas([(0, 0, 1000, 0, 1000, 1, 0.9), (1, 0, 300, 0, 300, 1, 0.9), (2, 0, 300, 0, 300, 1, 0.9)], 3)
    r = reuse_clusters(pair_a, pair_b, pas)
    assert r.n_clusters == 1 and sorted(r.doc.tolist()) == [0, 1, 2]
    assert r.end[r.doc == 0].tolist() == [1000]


def test_a_sentence_quoted_in_two_different_stories_joins_neither() -> None:
    # a 300-character sentence printed alone in doc 4 is quoted inside story A (docs 0, 1)
    # and inside story B (docs 2, 3): nested in two clusters, it stays a cluster of its own
    pair_a = np.array([0, 2, 4, 4, 4, 4], np.int64)
    pair_b = np.array([1, 3, 0, 1, 2, 3], np.int64)
    pas = _pas([(0, 0, 1000, 0, 1000, 1, 0.9), (1, 0, 1000, 0, 1000, 1, 0.9),
                (2, 0, 300, 200, 500, 0, 1.0), (3, 0, 300, 200, 500, 0, 1.0),
                (4, 0, 300, 600, 900, 0, 1.0), (5, 0, 300, 600, 900, 0, 1.0)], 6)
    r = reuse_clusters(pair_a, pair_b, pas)
    assert r.n_clusters == 3
    quote = r.cluster[r.doc == 4]
    assert sorted(r.doc[r.cluster == quote[0]].tolist()) == [0, 1, 2, 3, 4]
    assert sorted(set(r.cluster.tolist()) - {int(quote[0])}) and all(
        sorted(r.doc[r.cluster == c].tolist()) in ([0, 1], [2, 3]) for c in set(r.cluster.tolist()) - {int(quote[0])})


def test_an_alignment_run_over_a_short_story_above_leaves_it_out_of_the_occurrence() -> None:
    # doc 0 prints a short story S (0-250) above story T (250-2000); doc 1 prints S alone, docs 2
    # and 3 print T alone.  The aligner bridged S when aligning doc 0 with doc 2 (0-2000 against
    # 0-1750): T's occurrence in doc 0 starts where S's ends, so each printing of S takes S's row
    pair_a = np.array([0, 0, 2], np.int64)
    pair_b = np.array([1, 2, 3], np.int64)
    pas = _pas([(0, 0, 250, 0, 250, 0, 1.0), (1, 0, 2000, 0, 1750, 1, 0.8), (2, 0, 1750, 0, 1750, 1, 0.9)], 3)
    r = reuse_clusters(pair_a, pair_b, pas)
    assert r.n_clusters == 2
    s = r.cluster[(r.doc == 1)][0]
    assert sorted(r.doc[r.cluster == s].tolist()) == [0, 1]
    assert sorted((int(a), int(b)) for a, b in zip(r.start[r.doc == 0], r.end[r.doc == 0])) == [(0, 250), (250, 2000)]
    # the same at the tail: T above S
    pas = _pas([(0, 1750, 2000, 0, 250, 0, 1.0), (1, 0, 2000, 0, 1750, 1, 0.8), (2, 0, 1750, 0, 1750, 1, 0.9)], 3)
    r = reuse_clusters(pair_a, pair_b, pas)
    assert sorted((int(a), int(b)) for a, b in zip(r.start[r.doc == 0], r.end[r.doc == 0])) == [(0, 1750), (1750, 2000)]
