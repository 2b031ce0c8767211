"""Verification from the read stage's tokens (engines/tokenstore.py): the
local engine keeps every document's tokens and masks boilerplate on them,
instead of reading and tokenizing the texts a second time.  Past its budget
(a quarter of --memory-limit) the store gives up and verification tokenizes
the texts again: both ways give the same output files, byte for byte."""

from __future__ import annotations

from pathlib import Path

import copytrace
from helpers import make_footer_corpus, make_mixed_corpus, write_jsonl


def _same_outputs(a: Path, b: Path) -> None:
    for name in ("documents.parquet", "pairs.parquet", "boilerplate.parquet", "deduplicated.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_kept_tokens_and_tokenizing_again_give_the_same_outputs(tmp_path: Path) -> None:
    docs, _, _ = make_footer_corpus(n_stories=150, n_reprints=8)
    src = write_jsonl(tmp_path / "footer.jsonl", docs)
    opts = dict(source_field="source", align=False, report=False, progress=False)
    kept = copytrace.find([src], tmp_path / "kept", work_dir=str(tmp_path / "w"), **opts)
    # 1 MB: a 256 kB token budget, under this corpus's ~60,000 tokens (16 bytes each)
    again = copytrace.find([src], tmp_path / "again", memory_limit="1MB", **opts)
    _same_outputs(tmp_path / "kept", tmp_path / "again")
    c = kept.summary["counts"]
    # the footer, masked, no longer pairs the stories under it: thousands of candidates turned down
    assert c["verified_pairs"] == 7 and c["rule"]["rejected_before_alignment"] > 8000, c
    assert c["boilerplate_segments"] > 0, c
    # the token files serve one run: none left in the work directory
    assert not (tmp_path / "w" / "copytrace-work" / "tokens").exists()


def test_kept_tokens_with_site_boilerplate_and_alignment(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    inputs = make_mixed_corpus(tmp_path / "in")
    opts = dict(threshold=0.3, boilerplate_min_docs=4, source_field="source", date_field="date",
                report=False, progress=False)
    copytrace.find(inputs, tmp_path / "kept", **opts)
    copytrace.find(inputs, tmp_path / "again", memory_limit="64KB", **opts)
    _same_outputs(tmp_path / "kept", tmp_path / "again")
    assert (tmp_path / "kept" / "passages.parquet").read_bytes() == (tmp_path / "again" / "passages.parquet").read_bytes()
