"""The align stage of find: each document prepared once per chunk, and the
worker processes, give the same results as aligning every pair on its own."""

from __future__ import annotations

import random

import copytrace
from copytrace.engines import local
from copytrace.engines.common import align_chunk
from copytrace.stages.boilerplate import mask_text

from helpers import make_copy, make_corpus, make_story, write_jsonl


def _items():
    """Pairs in which documents recur (a story and its copies, all against all),
    some with boilerplate spans, dates, a wire credit, and an empty text."""
    rng = random.Random(4)
    story = make_story(rng)
    texts = [story, make_copy(rng, story), make_copy(rng, story, edit=0.2),
             "WASHINGTON (AP) — " + story, make_story(rng), ""]
    spans = {1: [(0, 12)], 3: [(0, 18), (40, 60)]}
    dates = ["1916-06-01", None, "1916-06-03", "1916-06-01", None, None]
    items = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            items.append((texts[i], texts[j], spans.get(i, []), spans.get(j, []), dates[i], dates[j]))
    return items


def test_chunk_results_equal_pairs_aligned_alone():
    items = _items()
    together = align_chunk(items)
    alone = [align_chunk([it])[0] for it in items]
    assert together == alone
    assert any(al.passages for al, _, _ in together)  # the copies align
    assert any(aligned > 0 for _, _, aligned in together)
    assert any(dr.original for _, dr, _ in together)  # and a direction is judged


def test_chunk_masks_boilerplate_per_pair_side():
    """The same text with and without boilerplate spans is two sides, not one."""
    rng = random.Random(9)
    story = make_story(rng)
    copy = make_copy(rng, story, edit=0.0)
    head = (0, len(story) // 2)
    items = [(story, copy, [], [], None, None), (story, copy, [head], [], None, None)]
    plain, masked = align_chunk(items)
    assert plain == align_chunk(items[:1])[0] and masked == align_chunk(items[1:])[0]
    # nothing aligned inside the masked half of a
    assert masked[0].passages and all(p.a_start >= head[1] - 1 for p in masked[0].passages)
    assert mask_text(story, [head])[: head[1]].strip() == ""


def test_find_with_worker_processes_is_byte_identical(tmp_path, monkeypatch):
    """--workers 2 (a worker process aligns chunks while the main process aligns
    others) writes the same bytes as --workers 1."""
    docs, _ = make_corpus(n_stories=5, copies=4, uniques=4, seed=2)
    path = write_jsonl(tmp_path / "c.jsonl", docs)
    monkeypatch.setattr(local, "ALIGN_PROCESSES_MIN_PAIRS", 0)  # the pool even for a small corpus
    monkeypatch.setattr(local, "ALIGN_CHUNK_PAIRS", 3)  # and many chunks
    r1 = copytrace.find(path, tmp_path / "o1", progress=False, report=False, workers=1)
    copytrace.find(path, tmp_path / "o2", progress=False, report=False, workers=2)
    assert r1.summary["counts"]["passages"] > 10
    for name in ["documents.parquet", "pairs.parquet", "passages.parquet", "reuse.parquet", "deduplicated.jsonl"]:
        assert (tmp_path / "o1" / name).read_bytes() == (tmp_path / "o2" / name).read_bytes(), name


def test_chunk_results_do_not_depend_on_the_side_cache(monkeypatch):
    """Sides kept across chunks (common._SideCache) give what computing them
    afresh gives: a cold cache, a warm one, and one so small that every side
    is evicted at once; and the prepared anchors give the rule's aligned
    evidence as computed from the texts alone."""
    from copytrace.engines import common
    from copytrace.stages import rule
    from copytrace.stages.align import align
    from copytrace.stages.normalize import tokenize

    items = _items()
    monkeypatch.setattr(common, "_MASKED", common._SideCache(common.ALIGN_CACHE_CHARS))
    monkeypatch.setattr(common, "_RAW", common._SideCache(common.ALIGN_CACHE_CHARS))
    cold = align_chunk(items)
    assert len(common._MASKED.items) > 0
    warm = align_chunk(items)
    monkeypatch.setattr(common, "_MASKED", common._SideCache(1))
    monkeypatch.setattr(common, "_RAW", common._SideCache(1))
    tiny = align_chunk(items)
    assert len(common._MASKED.items) == 1 and len(common._RAW.items) == 1
    assert cold == warm == tiny
    for (a, b, sa, sb, _, _), (al, _, aligned) in zip(items, cold, strict=True):
        ma, mb = mask_text(a, sa) if sa else a, mask_text(b, sb) if sb else b
        assert align(ma, mb) == al
        ta, tb = tokenize(ma), tokenize(mb)
        assert aligned == rule.gated(rule.aligned_evidence(ma, ta, mb, tb, al)[0], rule.word_containment(ta, tb))
    assert any(aligned > 0 for _, _, aligned in cold)
