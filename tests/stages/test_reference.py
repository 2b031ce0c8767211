"""--against does the reference's work once: candidates only from the buckets
holding a new document, boilerplate spans only for the documents verified —
with the pairs and spans a run over everything, filtered afterwards, gives."""

from __future__ import annotations

import random

import numpy as np

from copytrace.stages import candidates as cand
from copytrace.stages.boilerplate import (
    BoilerplateSpans,
    document_spans,
    detect_boilerplate,
    mask_spans,
)
from copytrace.stages.reference import lsh_pairs_across

from helpers import make_footer_corpus


def _across(pairs: np.ndarray, side: np.ndarray) -> np.ndarray:
    return pairs[side[pairs[:, 0]] != side[pairs[:, 1]]]


def test_in_buckets_with_keeps_whole_buckets_of_marked_keys():
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 300, 5000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # spread 64-bit keys
    marked = rng.random(5000) < 0.02
    u, inv, size = np.unique(keys, return_inverse=True, return_counts=True)
    has_marked = np.zeros(u.shape[0], dtype=bool)
    has_marked[inv[marked]] = True
    for max_size in (None, 15, 18, 25):
        want = has_marked[inv] & (size[inv] <= (max_size or keys.shape[0]))
        got = cand.in_buckets_with(keys, marked, max_size)
        assert want.any() and (~want).any()
        np.testing.assert_array_equal(got, want)
    assert not cand.in_buckets_with(keys, np.zeros(5000, dtype=bool)).any()
    assert cand.in_buckets_with(np.zeros(0, np.uint64), np.zeros(0, bool)).shape == (0,)


def _near_copies(rng: np.random.Generator, n: int, num_perm: int = 64) -> np.ndarray:
    """Signatures of n documents in 20 families (copies share most rows)."""
    base = rng.integers(0, 2**32, (20, num_perm), dtype=np.uint64)
    fam = rng.integers(0, 20, n)
    sigs = base[fam].copy()
    noise = rng.random((n, num_perm)) < 0.3
    sigs[noise] = rng.integers(0, 2**32, int(noise.sum()), dtype=np.uint64)
    return sigs.astype(np.uint32)


def test_lsh_pairs_across_are_the_cross_pairs_of_lsh_pairs():
    rng = np.random.default_rng(2)
    sigs = _near_copies(rng, 400)
    params = cand.LshParams(bands=16, rows=4)
    side = (rng.random(400) < 0.8).astype(np.int8)  # 1: reference
    active = rng.random(400) < 0.95
    for max_bucket in (64, 5):  # 5: big buckets become stars around their first document
        want = _across(cand.lsh_pairs(sigs, params, active, max_bucket), side)
        got = lsh_pairs_across(sigs, params, active, side, max_bucket)
        assert want.shape[0] > 50
        np.testing.assert_array_equal(got, want)


def test_containment_pairs_across_are_the_cross_pairs_of_containment_pairs():
    rng = np.random.default_rng(3)
    n = 300
    # each document samples items of its family's pool and of a common pool (some past max_df)
    fam = rng.integers(0, 30, n)
    hashes, docs = [], []
    for d in range(n):
        own = rng.choice(40, 12, replace=False) + 1000 * (fam[d] + 1)
        common = rng.choice(60, 6, replace=False)
        h = np.unique(np.concatenate([own, common])).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        hashes.append(h)
        docs.append(np.full(h.shape[0], d, dtype=np.int64))
    h, d = np.concatenate(hashes), np.concatenate(docs)
    side = (rng.random(n) < 0.85).astype(np.int8)
    active = rng.random(n) < 0.97
    for max_df, passage in ((64, 0), (20, 0), (20, 3)):
        want = _across(cand.containment_pairs(h, d, n, active, 0.5, max_df=max_df, passage_samples=passage), side)
        got = cand.containment_pairs(h, d, n, active, 0.5, max_df=max_df, passage_samples=passage, sides=side)
        assert want.shape[0] > 20
        np.testing.assert_array_equal(got, want)


def test_boilerplate_spans_are_made_when_asked_and_equal_the_eager_ones():
    docs, _, _ = make_footer_corpus(n_stories=40, n_reprints=3, seed=2)
    ids = [x["id"] for x in docs]
    texts = [x["text"] for x in docs]
    fetched: list[int] = []

    def fetch(ds: list[int]) -> list[str]:
        fetched.extend(ds)
        return [texts[i] for i in ds]

    res = detect_boilerplate(ids, texts, [x.get("source") for x in docs])
    spans = res.spans
    assert isinstance(spans, BoilerplateSpans) and len(spans) > 10
    lazy = BoilerplateSpans(spans._hit, spans._keys, fetch)
    assert not fetched and len(lazy) == len(spans) and list(lazy) == list(spans)  # no text needed
    with_bp = list(lazy)
    without = [i for i in range(len(texts)) if i not in lazy]
    ask = np.array(with_bp[:5] + without[:2], dtype=np.int64)
    m = mask_spans(ask, lazy)  # verification's mask: from the segments, no text needed
    assert m is not None and set(m[0].tolist()) == set(range(5)) and not fetched
    lazy.load(ask)  # a batch of documents is made at once
    assert sorted(set(fetched)) == sorted(with_bp[:5])
    assert lazy.get(without[0]) is None and lazy.get(without[0], []) == []
    eager = document_spans(spans._hit, texts, spans._keys)
    assert dict(lazy.items()) == eager and set(eager) == set(with_bp)
    assert lazy[with_bp[-1]] == eager[with_bp[-1]]
    assert sorted(fetched) == sorted(set(fetched)) == sorted(with_bp)  # each text fetched once


def test_random_docs_shuffled_stay_correct():
    # hit segments given out of document order are regrouped
    rng = random.Random(5)
    docs, _, _ = make_footer_corpus(n_stories=30, n_reprints=2, seed=4)
    texts = [x["text"] for x in docs]
    res = detect_boilerplate([x["id"] for x in docs], texts, [x.get("source") for x in docs])
    hit = res.spans._hit
    perm = list(range(len(hit)))
    rng.shuffle(perm)
    lazy = BoilerplateSpans(hit.take(np.array(perm)), res.spans._keys, lambda ds: [texts[i] for i in ds])
    assert dict(lazy.items()) == dict(res.spans.items())


def test_against_out_of_core_lsh_gives_the_in_memory_outputs(tmp_path):
    # band keys spooled to disk (--memory-limit): the buckets are paired over every
    # document there, then filtered across; the outputs are those of the in-memory path
    import copytrace
    from helpers import make_copy, make_story, write_jsonl

    rng = random.Random(6)
    ref, new = [], []
    for s in range(900):
        story = make_story(rng, n_sentences=3)
        ref.append({"id": f"r{s:04d}", "text": story})
        if s % 4 == 0:
            new.append({"id": f"n{s:04d}", "text": make_copy(rng, story)})
        if s % 9 == 0:
            ref.append({"id": f"r{s:04d}-copy", "text": make_copy(rng, story)})
    new += [{"id": f"n-fresh{i}", "text": make_story(rng, n_sentences=3)} for i in range(50)]
    new_f, ref_f = write_jsonl(tmp_path / "new.jsonl", new), write_jsonl(tmp_path / "ref.jsonl", ref)
    opts = dict(align=False, report=False, progress=False, against=[str(ref_f)])
    mem = copytrace.find([new_f], tmp_path / "mem", **opts)
    ext = copytrace.find([new_f], tmp_path / "ext", memory_limit="1MB", work_dir=str(tmp_path / "w"), **opts)
    assert mem.summary["lsh_out_of_core"] is False and ext.summary["lsh_out_of_core"] is True
    for name in ("documents.parquet", "pairs.parquet", "deduplicated.jsonl"):
        assert (tmp_path / "mem" / name).read_bytes() == (tmp_path / "ext" / name).read_bytes(), name
    assert mem.pairs.num_rows >= 200
    ids = mem.pairs.column("doc_a").to_pylist() + mem.pairs.column("doc_b").to_pylist()
    assert sum(i.startswith("n") for i in ids) == mem.pairs.num_rows  # one side new in every pair


def test_spooled_tokens_are_the_tokens_of_the_masked_texts(tmp_path):
    # --against verifies from the read stage's tokens: documents with boilerplate
    # spans are tokenized again, masked; every document's tokens are those
    # tokenize_batch gives the texts with the mask, in the order asked for
    from copytrace.stages.normalize import tokenize_batch
    from copytrace.stages.reference import TokenSpool, chunk_tokens

    docs, _, _ = make_footer_corpus(n_stories=40, n_reprints=3, seed=7)
    texts = [x["text"] for x in docs] + ["", "one two"]  # an empty text and a short one
    res = detect_boilerplate([f"d{i:03d}" for i in range(len(texts))], texts,
                             [x.get("source") for x in docs] + [None, None])
    spans = res.spans
    spool = TokenSpool(tmp_path)
    for lo in range(0, len(texts), 17):  # batch by batch, as the read stage appends
        spool.append(tokenize_batch(texts[lo:lo + 17]))
    spool.seal()
    rows = np.arange(len(texts), dtype=np.int64)[::-1].copy()  # store rows in another order than the positions
    fetched: list[int] = []

    def texts_of(r: np.ndarray) -> list[str]:
        fetched.extend(r.tolist())
        return [texts[i] for i in r]

    with_bp = [i for i in range(len(texts)) if rows[i] in spans]
    without = [i for i in range(len(texts)) if rows[i] not in spans]
    assert len(with_bp) > 10 and len(without) >= 5
    for ask in (np.arange(len(texts), dtype=np.int64), np.array(sorted(with_bp[:4] + without[-5:]), dtype=np.int64),
                np.array(without[:6], dtype=np.int64)):
        fetched.clear()
        doc_rows = rows[ask]
        # the mask is keyed by store row here: mask_spans of the rows, positions into ask
        mask = mask_spans(doc_rows, spans)
        got = chunk_tokens(ask, doc_rows, spool, mask, texts_of)
        want = tokenize_batch([texts[i] for i in doc_rows], mask)
        for f in ("starts", "ends", "hashes", "doc_offsets"):
            np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
            assert getattr(got, f).dtype == getattr(want, f).dtype, f
        assert not fetched  # the segments' spans fall between tokens: masked on the tokens, no text re-read
    # spans anywhere (cutting words, over marks, CJK, newlines): the same tokens; only documents
    # where a span cuts a token are read again
    rng = np.random.default_rng(3)
    texts = texts + ["Cafe\u0301 de\u0301ja\u0300 vu\n\nna\u00efve 東京で会議 x\u0301y", "a\nb  c\u0301\u0301 d"]
    spool.close()
    spool = TokenSpool(tmp_path)
    spool.append(tokenize_batch(texts))
    spool.seal()
    ask = np.arange(len(texts), dtype=np.int64)
    m_pos, m_start, m_end = [], [], []
    for i, t in enumerate(texts):
        for _ in range(int(rng.integers(0, 4))):
            a = int(rng.integers(0, len(t) + 2))
            m_pos.append(i)
            m_start.append(a)
            m_end.append(a + int(rng.integers(0, 40)))
    mask = (np.array(m_pos, dtype=np.int64), np.array(m_start, dtype=np.int64), np.array(m_end, dtype=np.int64))
    fetched.clear()
    got = chunk_tokens(ask, ask, spool, mask, texts_of)
    want = tokenize_batch(texts, mask)
    for f in ("starts", "ends", "hashes", "doc_offsets"):
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
    assert 0 < len(fetched) < len(set(m_pos))  # some spans cut a token, others did not
    spool.close()
    assert not list(tmp_path.iterdir())  # its files are removed
