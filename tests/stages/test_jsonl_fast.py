"""The JSONL fast path (stages.jsonl_fast: Arrow's JSON parser by blocks)
reads exactly what the line-by-line path reads: the same documents, origins,
skips, messages and warnings.  A plain ``.jsonl`` file takes the fast path; the
same bytes gzip-compressed take the line-by-line path."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from copytrace.errors import InputError
from copytrace.stages import jsonl_fast
from copytrace.stages.read import ReadOptions, ReadStats, read_all


def _both(tmp_path: Path, data: bytes, **kw) -> tuple[tuple, tuple]:
    plain = tmp_path / "in.jsonl"
    plain.write_bytes(data)
    gz = tmp_path / "in.jsonl.gz"
    gz.write_bytes(gzip.compress(data))
    out = []
    for f in (plain, gz):
        stats = ReadStats()
        try:
            docs = read_all([f], ReadOptions(**kw), stats)
        except InputError as e:
            out.append(("error", str(e).replace(str(f), "IN")))
            continue
        rows = [(d.doc_id, d.text, d.source, d.date, d.origin.replace(str(f), "IN"), d.url, d.title) for d in docs]
        st = stats.to_dict()
        st["examples"] = [x.replace(str(f), "IN") for x in st["examples"]]
        st["warnings"] = [x.replace(str(f), "IN") for x in st["warnings"]]
        out.append((rows, st))
    return out[0], out[1]


def _good(i: int) -> dict:
    return {"id": f"d{i}", "text": f"text number {i} with words é 中文", "src": f"s{i % 3}", "day": "1916-06-01",
            "meta": {"k": [1, 2, {"x": None}]}}


def _bad_lines() -> list[bytes]:
    return [
        b"", b"   ", b"{not json", b"[1, 2]", b'{"id": 7, "text": "a number id"}',
        b'{"id": 7.5, "text": "a float id"}', b'{"id": null, "text": "null id"}', b'{"id": "  ", "text": "blank id"}',
        b'{"text": "no id"}', b'{"id": "noText"}', b'{"id": "emptyText", "text": ""}',
        b'{"id": "wsText", "text": " \\n\\t "}', b'{"id": "objText", "text": {"a": 1}}',
        b'{"id": "d3", "text": "a duplicate id"}', b'{"id": "sur", "text": "bad \\ud800 surrogate"}',
        b'{"id": "okpair", "text": "good \\ud83d\\ude00 pair"}', b'{"id": "twice", "id": "again", "text": "twice"}',
        b'{"id": "latin", "text": "caf\xe9"}', b'{"id": "latin2", "text": "fine", "other": "caf\xe9"}',
        b'{"id": "numdate", "text": "a number date", "day": 1916}', b'{"id": "big", "text": "' + b"w " * 400 + b'"}',
        b'{"id": "crlf", "text": "windows line"}\r', b'{"id": "esc\\u0041", "text": "escaped \\/ \\" \\\\ done"}',
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("block", [256, 1 << 20])
def test_fast_path_reads_what_the_line_path_reads(tmp_path: Path, monkeypatch, seed: int, block: int) -> None:
    # small blocks: many blocks, the halving and the line-by-line fallbacks all run
    monkeypatch.setattr(jsonl_fast, "BLOCK_BYTES", block)
    monkeypatch.setattr(jsonl_fast, "SPLIT_BYTES", 128)
    rng = random.Random(seed)
    bad = _bad_lines()
    lines = [json.dumps(_good(i), ensure_ascii=rng.random() < 0.5).encode() for i in range(400)]
    for line in bad:
        lines.insert(rng.randrange(150, len(lines)), line)  # after the field check's sample
    for line in bad[:4]:
        lines.insert(rng.randrange(0, 100), line)  # and inside it
    data = b"\xef\xbb\xbf" * (seed == 1) + b"\n".join(lines) + b"\n" * (seed != 2)
    for kw in ({}, {"source_field": "src", "date_field": "day"}, {"max_doc_chars": 300},
               {"encoding": "utf-8"}, {"max_doc_chars": 10}):
        fast, slow = _both(tmp_path, data, **kw)
        assert fast == slow, kw
        if kw == {}:
            assert len(fast[0]) > 380 and fast[1]["skipped_total"] > 10


def test_fast_path_field_warnings_and_errors(tmp_path: Path) -> None:
    good = b"\n".join(json.dumps(_good(i)).encode() for i in range(300)) + b"\n"
    # a date field no record has: the warning, from both paths
    fast, slow = _both(tmp_path, good, date_field="nodate")
    assert fast == slow and any("no record has the date field" in w for w in fast[1]["warnings"])
    # a wrong text field: the same error
    fast, slow = _both(tmp_path, good, text_field="body")
    assert fast == slow and fast[0] == "error"
    # a line too long for max_doc_chars (not held), in the middle of the file
    lines = good.split(b"\n")
    lines.insert(200, b'{"id": "long", "text": "' + b"x" * 5000 + b'"}')
    fast, slow = _both(tmp_path, b"\n".join(lines), max_doc_chars=1)
    assert fast == slow


def test_fast_path_line_too_long_across_blocks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(jsonl_fast, "BLOCK_BYTES", 64)
    opts = ReadOptions(max_doc_chars=1)
    limit = 12 * opts.max_doc_chars + (1 << 20)
    lines = [json.dumps(_good(i)).encode() for i in range(150)]
    lines.insert(120, b'{"id": "huge", "text": "' + b"y" * limit + b'"}')
    lines.append(b'{"id": "tail", "text": "' + b"z" * limit + b'"}')  # the last line, no newline
    fast, slow = _both(tmp_path, b"\n".join(lines), max_doc_chars=1)
    assert fast == slow and fast[1]["skipped"].get("too_large", 0) >= 2
