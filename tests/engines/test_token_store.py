"""Verification from the read stage's tokens (engines/tokenstore.py): the
local engine keeps every document's tokens and masks boilerplate on them,
instead of reading and tokenizing the texts a second time.  Past its budget
(an eighth of --memory-limit) the store gives up and verification tokenizes
the texts again: both ways give the same output files, byte for byte."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

import copytrace
from copytrace.engines.tokenstore import BYTES_PER_TOKEN, TokenStore, verify_tokens
from copytrace.stages.boilerplate import detect_boilerplate, mask_spans
from copytrace.stages.normalize import tokenize_batch
from helpers import make_footer_corpus, make_mixed_corpus, make_story, write_jsonl


def test_store_gives_each_rows_tokens_across_batches() -> None:
    rng = random.Random(2)
    texts = [make_story(rng, n_sentences=rng.randrange(0, 4)) for _ in range(230)]
    store = TokenStore(budget=10**9)
    for lo in range(0, len(texts), 50):  # batches of 50, the last of 30
        store.append(tokenize_batch(texts[lo:lo + 50]))
    store.seal()
    rows = np.array(rng.sample(range(len(texts)), 120) + [7, 7], dtype=np.int64)  # any order, repeats too
    got = store.batch(rows)
    want = tokenize_batch([texts[r] for r in rows.tolist()])
    assert got is not None
    for name in ("starts", "ends", "hashes", "doc_offsets"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    # past its budget the store keeps nothing and answers None
    small = TokenStore(budget=BYTES_PER_TOKEN * 100)
    for lo in range(0, len(texts), 50):
        small.append(tokenize_batch(texts[lo:lo + 50]))
    small.seal()
    assert small.gave_up and small.batch(rows) is None


def _same_outputs(a: Path, b: Path) -> None:
    for name in ("documents.parquet", "pairs.parquet", "boilerplate.parquet", "deduplicated.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_kept_tokens_and_tokenizing_again_give_the_same_outputs(tmp_path: Path) -> None:
    docs, _, _ = make_footer_corpus(n_stories=150, n_reprints=8)
    src = write_jsonl(tmp_path / "footer.jsonl", docs)
    opts = dict(source_field="source", align=False, report=False, progress=False)
    kept = copytrace.find([src], tmp_path / "kept", **opts)
    # 1 MB: a 128 kB token budget, under this corpus's ~60,000 tokens (16 bytes each)
    copytrace.find([src], tmp_path / "again", memory_limit="1MB", **opts)
    _same_outputs(tmp_path / "kept", tmp_path / "again")
    c = kept.summary["counts"]
    # the footer, masked, no longer pairs the stories under it: thousands of candidates turned down
    assert c["verified_pairs"] == 7 and c["rule"]["rejected_before_alignment"] > 8000, c
    assert c["boilerplate_segments"] > 0, c


def test_kept_tokens_with_site_boilerplate_and_alignment(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_mixed_corpus(tmp_path / "in")
    opts = dict(threshold=0.3, boilerplate_min_docs=4, source_field="source", date_field="date",
                report=False, progress=False)
    copytrace.find(inputs, tmp_path / "kept", **opts)
    copytrace.find(inputs, tmp_path / "again", memory_limit="64KB", **opts)
    _same_outputs(tmp_path / "kept", tmp_path / "again")
    assert (tmp_path / "kept" / "passages.parquet").read_bytes() == (tmp_path / "again" / "passages.parquet").read_bytes()


def test_kept_tokens_are_the_tokens_of_the_masked_texts():
    # verification (plain find and --against) takes the read stage's tokens and masks
    # boilerplate on them; only documents where a span cuts a token are tokenized
    # again, masked; every document's tokens are those
    # tokenize_batch gives the texts with the mask, in the order asked for

    docs, _, _ = make_footer_corpus(n_stories=40, n_reprints=3, seed=7)
    texts = [x["text"] for x in docs] + ["", "one two"]  # an empty text and a short one
    res = detect_boilerplate([f"d{i:03d}" for i in range(len(texts))], texts,
                             [x.get("source") for x in docs] + [None, None])
    spans = res.spans
    spool = TokenStore(1 << 30)
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
        got = verify_tokens(spool, doc_rows, mask, texts_of)
        assert got is not None
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
    spool = TokenStore(1 << 30)
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
    got = verify_tokens(spool, ask, mask, texts_of)
    assert got is not None
    want = tokenize_batch(texts, mask)
    for f in ("starts", "ends", "hashes", "doc_offsets"):
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
    assert 0 < len(fetched) < len(set(m_pos))  # some spans cut a token, others did not
    spool.close()
    assert verify_tokens(spool, ask, mask, texts_of) is None  # let go of: the caller tokenizes the texts
