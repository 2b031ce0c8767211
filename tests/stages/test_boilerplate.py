"""Boilerplate detection on a generated corpus: the seed's donation appeal
pasted into many stories of one source is found; the stories are not, not
even a story reprinted many times."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from helpers import SEEDS, make_copy, make_footer_corpus, make_story
from copytrace.stages.boilerplate import BoilerplateOptions, detect_boilerplate, mask_text
from copytrace.stages.normalize import tokenize

SEED_B = sorted(SEEDS.glob("001_*.txt"))[0].read_text(encoding="utf-8")
APPEAL_START = SEED_B.index("Your support helps us")
APPEAL_END = SEED_B.index("Your support makes all the difference.") + len("Your support makes all the difference.")
APPEAL = SEED_B[APPEAL_START:APPEAL_END]


def _corpus(seed: int = 7):
    rng = random.Random(seed)
    ids, texts, sources, appeal_spans = [], [], [], {}
    # 24 Independent stories, each different, each with the appeal after its headline
    for i in range(24):
        story = make_story(rng, n_sentences=10)
        head = story.split(".")[0] + "."
        text = f"{head}\n{APPEAL}\n{story}"
        appeal_spans[len(ids)] = (len(head) + 1, len(head) + 1 + len(APPEAL))
        ids.append(f"indy{i:02d}")
        texts.append(text)
        sources.append("The Independent")
    # one wire story reprinted by 8 other sites (and twice by the Independent)
    wire = make_story(rng, n_sentences=12)
    for i in range(8):
        ids.append(f"wire{i}")
        texts.append(make_copy(rng, wire, edit=0.0))
        sources.append(f"Site {i}")
    for i in range(2):
        ids.append(f"indywire{i}")
        texts.append(wire)
        sources.append("The Independent")
    # unrelated stories from other sources
    for i in range(20):
        ids.append(f"other{i:02d}")
        texts.append(make_story(rng))
        sources.append(f"Paper {i % 4}")
    return ids, texts, sources, appeal_spans, wire


def test_appeal_detected_stories_not():
    ids, texts, sources, appeal_spans, wire = _corpus()
    res = detect_boilerplate(ids, texts, sources)
    assert isinstance(res.table, pa.Table)
    assert res.table.column_names == ["text", "doc_frequency", "sources"]
    rows = res.table.to_pylist()
    found = " ".join(r["text"] for r in rows)
    # every appeal sentence of ≥ 4 words is found, in 24 documents of The Independent
    for sent in ("Your support helps us to tell the story", "Your donation allows us to keep sending",
                 "We believe quality journalism should be available", "Your support makes all the difference."):
        assert sent in found, sent
    assert all(r["doc_frequency"] == 24 and r["sources"] == ["The Independent"] for r in rows)
    # no story sentence: the wire story's sentences travel with their story
    wire_first = wire.split(".")[0]
    assert wire_first not in found
    # per-document spans: exactly the appeal, merged into one span
    for d, (s, e) in appeal_spans.items():
        assert res.spans[d] == [(s, e)], (ids[d], res.spans.get(d))
    assert set(res.spans) == set(appeal_spans)


def test_unknown_sources_and_thresholds():
    ids, texts, _, appeal_spans, _ = _corpus(seed=3)
    res = detect_boilerplate(ids, texts, None)
    assert set(res.spans) == set(appeal_spans)
    assert all(r["sources"] == [] for r in res.table.to_pylist())
    # too few documents: nothing
    few = detect_boilerplate(ids[:4], texts[:4], None)
    assert few.table.num_rows == 0 and few.spans == {}
    lowered = detect_boilerplate(ids[:4], texts[:4], None, BoilerplateOptions(min_docs=3))
    assert set(lowered.spans) == {0, 1, 2, 3}


def test_short_segments_ignored_and_normalized_matching():
    rng = random.Random(1)
    texts = []
    for i in range(10):
        story = make_story(rng, n_sentences=6)
        variant = "SIGN UP for our Newsletter today!" if i % 2 else "Sign up for our newsletter — today"
        texts.append(f"Advertisement\n{story}\n{variant}")
    res = detect_boilerplate([str(i) for i in range(10)], texts, ["x"] * 10)
    found = [r["text"] for r in res.table.to_pylist()]
    assert len(found) == 1 and "newsletter" in found[0].lower()  # "Advertisement" (1 word) ignored
    assert res.table.column("doc_frequency").to_pylist() == [10]


def test_mask_text_keeps_offsets():
    text = "Story one.\nYour support makes all the difference.\nStory two."
    s = text.index("Your")
    e = text.index("difference.") + len("difference.")
    masked = mask_text(text, [(s, e)])
    assert len(masked) == len(text)
    assert masked[:s] == text[:s] and masked[e:] == text[e:]
    assert masked[s:e].strip() == ""
    assert mask_text("a\nb", [(0, 3)]) == " \n "
    toks = tokenize(masked)
    assert all(not (s <= st < e) for st in toks.starts.tolist())
    assert mask_text(text, []) == text


@pytest.mark.parametrize("bad", [(["a"], ["x", "y"], None)])
def test_length_mismatch(bad):
    with pytest.raises(ValueError):
        detect_boilerplate(*bad)


def test_find_flags_the_appeal_and_keeps_it_out_of_pairs_and_passages(tmp_path):
    import pyarrow.parquet as pq

    import copytrace
    from helpers import write_jsonl

    ids, texts, sources, appeal_spans, _ = _corpus()
    write_jsonl(tmp_path / "c.jsonl", [{"id": i, "text": t, "source": s} for i, t, s in zip(ids, texts, sources)])
    res = copytrace.find(tmp_path / "c.jsonl", tmp_path / "out", source_field="source", progress=False)
    bp = pq.read_table(tmp_path / "out" / "boilerplate.parquet").to_pylist()
    assert bp and all(r["sources"] == ["The Independent"] and r["doc_frequency"] >= 24 for r in bp)
    assert "Your support helps us" in " ".join(r["text"] for r in bp)
    # different stories sharing only the appeal are not copies of each other
    clusters = res.clusters()
    assert not any(sum(m.startswith("indy") and not m.startswith("indywire") for m in v) > 1 for v in clusters.values())
    # the wire story's reprints still are
    assert any({"wire0", "wire1", "indywire0"} <= set(v) for v in clusters.values())
    # and no passage covers the appeal in an Independent story
    text_of = dict(zip(ids, texts))
    for p in res.passages.to_pylist():
        for side in ("a", "b"):
            doc = p[f"doc_{side}"]
            if doc in text_of and ids.index(doc) in appeal_spans:
                lo, hi = appeal_spans[ids.index(doc)]
                assert p[f"{side}_end"] <= lo or p[f"{side}_start"] >= hi

    # with --no-boilerplate the appeal pairs the Independent's stories with each other; the
    # document clusters (copies as wholes, stages.reuse) still keep them apart, and the appeal
    # is a reused passage of its own
    res2 = copytrace.find(tmp_path / "c.jsonl", source_field="source", boilerplate=False, threshold=0.2,
                          progress=False)
    indy_pairs = [(a, b) for a, b in zip(res2.pairs.column("doc_a").to_pylist(), res2.pairs.column("doc_b").to_pylist())
                  if a.startswith("indy") and b.startswith("indy") and not (a.startswith("indywire") or
                                                                            b.startswith("indywire"))]
    assert len(indy_pairs) > 2
    assert not any(sum(m.startswith("indy") and not m.startswith("indywire") for m in v) > 1
                   for v in res2.clusters().values())
    appeal_rows = [r for r in res2.reuse.to_pylist() if r["doc_id"].startswith("indy")]
    assert max((r["n_docs"] for r in appeal_rows), default=0) > 2


def test_long_footer_under_short_stories_is_boilerplate(tmp_path):
    """A ~300-word footer under short stories of one source (60: six times the
    long-block rule's min_stories; without the rule each pair of them is a
    copy to align, so the test stays small) covers most of each document, yet
    it sits next to a different story every time: it is boilerplate (issue 12),
    and joins no stories; a story reprinted verbatim across sources is still a
    story."""
    import copytrace
    from helpers import write_jsonl

    n = 60
    docs, footer, wire = make_footer_corpus(n_stories=n)
    ids, texts, sources = ([d[k] for d in docs] for k in ("id", "text", "source"))
    n_tok = [len(tokenize(t).starts) for t in texts[:n]]
    assert sum(len(tokenize(footer).starts) / k > 0.7 for k in n_tok) > 2 * n // 3  # the footer dominates
    res = detect_boilerplate(ids, texts, sources)
    found = " ".join(r["text"] for r in res.table.to_pylist())
    for sent in footer.split(". ")[:3]:
        assert sent.split("\n")[-1][:40] in found
    assert wire.split(".")[0] not in found
    assert set(res.spans) == set(range(n))
    # with fewer stories than min_stories, or without sources, the long-block rule does not apply
    assert detect_boilerplate(ids[:8], texts[:8], sources[:8], BoilerplateOptions(min_docs=5)).spans == {}
    assert detect_boilerplate(ids, texts, None).spans == {}

    write_jsonl(tmp_path / "c.jsonl", docs)
    out = copytrace.find(tmp_path / "c.jsonl", tmp_path / "out", source_field="source", progress=False)
    assert out.summary["counts"]["documents_with_boilerplate"] == n
    clusters = list(out.clusters().values())
    assert not any(sum(m.startswith("gazette") for m in v) > 1 for v in clusters)
    assert sorted(m for v in clusters for m in v) == [f"wire{i}" for i in range(8)]
    # with --no-boilerplate the footer chains the stories together (what the rule prevents)
    off = copytrace.find(tmp_path / "c.jsonl", source_field="source", boilerplate=False, progress=False)
    assert max(sum(m.startswith("gazette") for m in v) for v in off.clusters().values()) > 2 * n // 3


def test_mask_spans_from_segments_tokenize_as_the_merged_spans():
    # the mask for verification comes from the boilerplate segments alone (no text is fetched);
    # their gaps are whitespace only, so the tokens are those of the merged spans
    import numpy as np

    from copytrace.stages.boilerplate import detect_from_segments, encode_sources, mask_spans, segment_batch
    from copytrace.stages.normalize import tokenize_batch

    ids, texts, sources, appeal_spans, _ = _corpus()
    toks = tokenize_batch(texts)
    codes, names, sizes = encode_sources(sources)
    fetched: list[list[int]] = []

    def fetch(docs: list[int]) -> list[str]:
        fetched.append(docs)
        return [texts[d] for d in docs]

    res = detect_from_segments(segment_batch(texts, None, None, toks), np.diff(toks.doc_offsets), codes, names,
                               sizes, fetch)
    fetched.clear()
    docs = np.array([40, 3, 0, 30, 17, 5], dtype=np.int64)  # documents with and without the appeal, any order
    mask = mask_spans(docs, res.spans)
    assert mask is not None and not fetched
    assert mask[0].shape[0] > len([d for d in docs if d in appeal_spans])  # one span per sentence: not merged
    got = tokenize_batch([texts[d] for d in docs], mask)
    want = tokenize_batch([mask_text(texts[d], res.spans.get(int(d), [])) for d in docs])
    for name in ("starts", "ends", "hashes", "doc_offsets"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert res.spans[0] == [appeal_spans[0]]


def test_table_rows_gather_every_key_at_once_as_per_key():
    import numpy as np

    from copytrace.stages.boilerplate import KeyDocs, table_rows

    rng = np.random.default_rng(1)
    keys = rng.integers(0, 2**63, 300, dtype=np.uint64)
    kd = KeyDocs.from_pairs(rng.choice(keys, 5000), rng.integers(0, 2000, 5000))
    names = [f"site {i:02d}" for i in range(12)]
    boiler = np.sort(kd.keys[rng.choice(kd.keys.shape[0], 100, replace=False)])
    for source in (rng.integers(-1, 12, 2000).astype(np.int32), np.full(2000, -1, np.int32)):
        want_df, want_src = [], []
        for p in kd.lookup(boiler).tolist():
            docs = kd.docs[kd.ptr[p]:kd.ptr[p + 1]]
            want_df.append(int(docs.shape[0]))
            want_src.append(sorted({names[c] for c in source[docs].tolist() if c >= 0}))
        assert table_rows(boiler, kd, source, names) == (want_df, want_src)
    assert table_rows(boiler[:0], kd, source, names) == ([], [])
