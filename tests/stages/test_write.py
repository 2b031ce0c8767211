"""write: atomic and reproducible output files."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from copytrace import schemas
from copytrace.stages.write import atomic_open, write_json, write_jsonl, write_parquet


def _docs(n: int) -> pa.Table:
    return pa.table(
        {
            "doc_id": [f"d{i}" for i in range(n)],
            "length": list(range(n)),
            "cluster_id": [f"d{i}" for i in range(n)],
            "is_representative": [True] * n,
            "n_copies": [1] * n,
            "cluster_original": [f"d{i}" for i in range(n)],
        },
        schema=schemas.DOCUMENTS,
    )


def test_parquet_is_byte_identical_for_equal_tables(tmp_path):
    write_parquet(_docs(50), tmp_path / "a.parquet", schemas.DOCUMENTS)
    write_parquet(_docs(50), tmp_path / "b.parquet", schemas.DOCUMENTS)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_a_failed_write_leaves_the_old_file_and_no_temporaries(tmp_path):
    target = tmp_path / "out.jsonl"
    write_jsonl([{"id": "old"}], target)

    def records():
        yield {"id": "new"}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl(records(), target)
    assert target.read_text(encoding="utf-8") == '{"id":"old"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_jsonl_and_json_are_utf8_not_escaped(tmp_path):
    n = write_jsonl([{"text": "東京 café"}], tmp_path / "x.jsonl")
    assert n == 1 and "東京 café" in (tmp_path / "x.jsonl").read_text(encoding="utf-8")
    write_json({"k": "é"}, tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == {"k": "é"}
    with atomic_open(tmp_path / "t.txt") as fh:
        fh.write("line\n")
    assert (tmp_path / "t.txt").read_bytes() == b"line\n"
