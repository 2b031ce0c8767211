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
from copytrace.engines.tokenstore import BYTES_PER_TOKEN, TokenStore
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
    again = copytrace.find([src], tmp_path / "again", memory_limit="1MB", **opts)
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
