"""Fast paths of find --no-align give what the plain paths give: masking
boilerplate while tokenizing, masking the read stage's tokens (verification
without a second tokenization), the word sample kernel."""

from __future__ import annotations

import random

import numpy as np

from copytrace.stages.boilerplate import mask_spans, mask_text
from copytrace.stages.fingerprint import MIN_WORD_CHARS, WORD_SALT, _stopword_hashes, word_sample
from copytrace.stages.normalize import mask_tokens, splice_docs, tokenize_batch


def _texts(rng: random.Random, n: int) -> list[str]:
    words = ["the", "Market", "rose", "café", "Straße", "ﬁnance", "a", "of", "1916", "d'Arc", "\n", "\r\n", "—", "中文"]
    return ["".join(rng.choice(words) + rng.choice([" ", "", "\n", ". "]) for _ in range(rng.randrange(0, 60)))
            for _ in range(n)]


def test_masked_tokenizing_equals_tokenizing_masked_texts() -> None:
    rng = random.Random(3)
    texts = _texts(rng, 300)
    spans: dict[int, list[tuple[int, int]]] = {}
    for d in range(0, 300, 2):
        n = len(texts[d])
        spans[d] = [(rng.randrange(-2, n + 3), rng.randrange(-2, n + 5)) for _ in range(rng.randrange(0, 4))]
    docs = np.arange(300, dtype=np.int64)[::-1].copy()  # any order of documents
    batch = [texts[int(d)] for d in docs]
    got = tokenize_batch(batch, mask_spans(docs, spans))
    want = tokenize_batch([mask_text(texts[int(d)], spans.get(int(d), [])) for d in docs])
    for name in ("starts", "ends", "hashes", "doc_offsets"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert mask_spans(docs, {}) is None
    assert got.hashes.shape[0] > 1000


def test_masking_kept_tokens_equals_tokenizing_masked_texts() -> None:
    """normalize.mask_tokens on the unmasked tokens gives the masked text's tokens
    for every document no span cuts a token of; the cut ones, tokenized again and
    spliced in (as the local engine's verification does), complete the batch."""
    rng = random.Random(11)
    texts = _texts(rng, 400) + ["", "solo"]
    spans: dict[int, list[tuple[int, int]]] = {}
    for d in range(0, len(texts), 2):
        n = len(texts[d])
        spans[d] = [(rng.randrange(-2, n + 3), rng.randrange(-2, n + 5)) for _ in range(rng.randrange(0, 4))]
    docs = np.arange(len(texts), dtype=np.int64)
    mask = mask_spans(docs, spans)
    assert mask is not None
    want = tokenize_batch(texts, mask)
    got, cut = mask_tokens(tokenize_batch(texts), mask)
    assert 0 < int(cut.sum()) < len(texts) // 4  # random spans cut some tokens, not most
    same = ~cut
    for d in np.flatnonzero(same).tolist():
        for name in ("starts", "ends", "hashes"):
            assert np.array_equal(getattr(got.doc(d), name), getattr(want.doc(d), name)), (d, name)
    redo = np.flatnonzero(cut)
    sel = np.isin(mask[0], redo)
    sub = (np.searchsorted(redo, mask[0][sel]), mask[1][sel], mask[2][sel])
    full = splice_docs(got, redo, tokenize_batch([texts[int(d)] for d in redo], sub))
    for name in ("starts", "ends", "hashes", "doc_offsets"):
        assert np.array_equal(getattr(full, name), getattr(want, name)), name
    # no spans: the batch as it is
    plain = tokenize_batch(texts)
    same_batch, no_cut = mask_tokens(plain, None)
    assert same_batch is plain and not no_cut.any()


def test_word_sample_kernel_matches_its_definition() -> None:
    toks = tokenize_batch(_texts(random.Random(5), 200) + ["", "the of a", "Market market MARKET rose"])
    h, d = word_sample(toks)
    docs = np.repeat(np.arange(len(toks)), np.diff(toks.doc_offsets))
    ok = ((toks.ends - toks.starts) >= MIN_WORD_CHARS) & ~np.isin(toks.hashes, _stopword_hashes())
    want = sorted({(int(dd), int(hh ^ WORD_SALT)) for dd, hh in zip(docs[ok], toks.hashes[ok], strict=True)})
    assert list(zip(d.tolist(), h.tolist(), strict=True)) == want
    assert h.dtype == np.uint64 and d.dtype == np.int64 and len(want) > 100


def test_jsonl_lines_equal_json_dumps() -> None:
    import json

    import pyarrow as pa

    from copytrace.stages.write import jsonl_lines

    rng = random.Random(7)
    alphabet = ["a", "é", "中", "😀", '"', "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "\u2028", "/", " "]
    n = 500
    ids = [f"id{i}" + "".join(rng.choice(alphabet) for _ in range(3)) for i in range(n)]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(n)]
    sources = [None if rng.random() < 0.3 else rng.choice(["", "s\"1", "src"]) for _ in range(n)]
    cids = [None if rng.random() < 0.1 else f"c{i % 7}" for i in range(n)]
    counts = [rng.randrange(0, 10**12) for _ in range(n)]
    got = jsonl_lines([
        ("id", pa.array(ids, pa.string()), False),
        ("text", pa.chunked_array([pa.array(texts[:200], pa.large_string()), pa.array(texts[200:], pa.large_string())]),
         False),
        ("source", pa.array(sources, pa.string()).slice(0), False),
        ("cluster_id", pa.array(cids, pa.string()), True),
        ("n_copies", pa.array(counts, pa.int64()), True),
    ])
    want = []
    for i in range(n):
        rec = {"id": ids[i], "text": texts[i]}
        if sources[i] is not None:
            rec["source"] = sources[i]
        rec["cluster_id"] = cids[i]
        rec["n_copies"] = counts[i]
        want.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    assert got == "".join(want).encode("utf-8")
    # a slice of an array (an Arrow offset into its buffers), and no rows at all
    sl = pa.array(texts, pa.string()).slice(100, 50)
    assert jsonl_lines([("text", sl, False)]) == "".join(
        json.dumps({"text": t}, ensure_ascii=False, separators=(",", ":")) + "\n" for t in texts[100:150]).encode()
    assert jsonl_lines([("id", pa.array([], pa.string()), False)]) == b""


def test_masked_and_unmasked_tokenizing_share_one_compiled_specialization() -> None:
    # a masked batch is tokenized from a copy of the code points; left writable, it would make numba
    # compile (first run) and load (every run) a second tokenizer
    import os

    import pytest

    from copytrace.stages import normalize

    if os.environ.get("COPYTRACE_INTERPRET_MAX") != "0":
        pytest.skip("kernels interpreted: nothing compiles (the suite runs with every kernel compiled)")
    texts = _texts(random.Random(8), 50)
    tokenize_batch(texts)
    tokenize_batch(texts, (np.array([0, 3]), np.array([0, 2]), np.array([5, 9])))
    assert len(normalize._tokenize_kernel.dispatcher().signatures) == 1
