"""Fast paths of find --no-align give what the plain paths give: masking
boilerplate while tokenizing, the word sample kernel."""

from __future__ import annotations

import random

import numpy as np

from copytrace.stages.boilerplate import mask_spans, mask_text
from copytrace.stages.fingerprint import MIN_WORD_CHARS, WORD_SALT, _stopword_hashes, word_sample
from copytrace.stages.normalize import tokenize_batch


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


def test_word_sample_kernel_matches_its_definition() -> None:
    toks = tokenize_batch(_texts(random.Random(5), 200) + ["", "the of a", "Market market MARKET rose"])
    h, d = word_sample(toks)
    docs = np.repeat(np.arange(len(toks)), np.diff(toks.doc_offsets))
    ok = ((toks.ends - toks.starts) >= MIN_WORD_CHARS) & ~np.isin(toks.hashes, _stopword_hashes())
    want = sorted({(int(dd), int(hh ^ WORD_SALT)) for dd, hh in zip(docs[ok], toks.hashes[ok], strict=True)})
    assert list(zip(d.tolist(), h.tolist(), strict=True)) == want
    assert h.dtype == np.uint64 and d.dtype == np.int64 and len(want) > 100
