"""Tests for the read stage: every input format, every kind of bad input."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from copytrace.errors import InputError, OptionError
from copytrace.stages.read import (
    MAX_EXAMPLES,
    Document,
    ReadOptions,
    ReadStats,
    iter_batches,
    read_all,
    read_text_file,
)

def write_jsonl(path: Path, records: list, gz: bool = False) -> Path:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read(inputs, stats: ReadStats | None = None, **kw) -> list[Document]:
    return read_all([str(p) for p in inputs], ReadOptions(**kw), stats)


def read_strict(inputs, stats: ReadStats | None = None, **kw) -> list[Document]:
    """Reading with encoding="utf-8": bytes that are not UTF-8 are bad records."""
    return read(inputs, stats, encoding="utf-8", **kw)


# --------------------------------------------------------------------------
# Formats


def test_directory_of_txt_files(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"first\r\nline two\r\n")  # CRLF must stay
    (root / "b" / "deep" / "x.TXT").write_bytes("漢字かな 😀 emoji".encode())
    (root / "b" / "c.txt").write_bytes(b"\xef\xbb\xbfwith BOM")
    (root / "b" / "skip.jsonl").write_text('{"id": 1, "text": "not read"}\n')
    (root / "notes.md").write_text("not read")
    docs = read([root])
    assert [d.doc_id for d in docs] == ["a.txt", "b/c.txt", "b/deep/x.TXT"]
    assert docs[0].text == "first\r\nline two\r\n"
    assert docs[1].text == "with BOM"
    assert docs[2].text == "漢字かな 😀 emoji"
    assert docs[0].origin == os.path.join(str(root), "a.txt")
    assert docs[0].date is None and docs[0].source is None


def test_directory_order_is_deterministic(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    names = ["zeta.txt", "alpha.txt", "Mid.txt", "m/a.txt", "a-b.txt", "10.txt", "9.txt"]
    for name in reversed(names):
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(f"text of {name}")
    ids = [d.doc_id for d in read([root])]
    assert ids == sorted(n for n in names)
    assert ids == [d.doc_id for d in read([root])]


def test_single_txt_file_id_is_path_as_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("sub").mkdir()
    Path("sub/one.txt").write_text("hello")
    Path("two.txt.gz").write_bytes(gzip.compress(b"gzipped text"))
    docs = read_all(["./sub/one.txt", "two.txt.gz"])
    assert [(d.doc_id, d.text, d.origin) for d in docs] == [
        ("sub/one.txt", "hello", "./sub/one.txt"),
        ("two.txt.gz", "gzipped text", "two.txt.gz"),
    ]


def test_jsonl_fields_and_types(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    raw = (
        b'{"id": "x", "text": "caf\\u00e9 \\ud83d\\ude00", "year": 1999, "src": "lib"}\n'
        b"\n"  # blank lines are not records
        b'{"id": 7, "text": "\xe6\xbc\xa2\xe5\xad\x97 ok\\r\\n", "year": null}\r\n'
        b'{"id": 2.5, "text": "t", "year": "2001-02-03", "src": ""}'  # no final newline
    )
    f.write_bytes(raw)
    stats = ReadStats()
    docs = read([f], stats, date_field="year", source_field="src")
    assert [d.doc_id for d in docs] == ["x", "7", "2.5"]
    assert docs[0].text == "café 😀"
    assert docs[1].text == "漢字 ok\r\n"
    assert [d.date for d in docs] == ["1999", None, "2001-02-03"]
    assert [d.source for d in docs] == ["lib", None, None]
    assert [d.origin for d in docs] == [f"{f}:1", f"{f}:3", f"{f}:4"]
    assert stats.skipped == {} and stats.warnings == []
    chars = len("café 😀") + len("漢字 ok\r\n") + 1
    assert (stats.files, stats.documents, stats.chars) == (1, 3, chars)


def test_jsonl_custom_fields_gz_ndjson_and_bom(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl.gz", [{"key": "a1", "body": "gz text"}], gz=True)
    b = tmp_path / "b.ndjson"
    b.write_bytes(b'\xef\xbb\xbf{"key": "b1", "body": "after BOM"}\n')
    docs = read([a, b], id_field="key", text_field="body")
    assert [(d.doc_id, d.text) for d in docs] == [("a1", "gz text"), ("b1", "after BOM")]


def test_missing_optional_field_warns(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": "t"}, {"id": 2, "text": "u"}])
    stats = ReadStats()
    docs = read([f], stats, date_field="dat")
    assert [d.date for d in docs] == [None, None]
    assert stats.skipped == {}
    assert len(stats.warnings) == 1 and "'dat'" in stats.warnings[0]


def test_csv(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    big = "w" * 300_000  # over the csv module's default field size limit
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "id", "date"])
        w.writerow(["line one\r\nline two, with comma", "1", "2020"])
        w.writerow(["漢字 😀 \"quoted\"", "2", ""])
        fh.write("\r\n")  # a blank line is no record
        w.writerow([big, "3", "1999-01-01"])
        w.writerow(["short row, no date", "4"])
    docs = read([f], date_field="date")
    assert [d.doc_id for d in docs] == ["1", "2", "3", "4"]
    assert docs[0].text == "line one\r\nline two, with comma"
    assert docs[1].text == '漢字 😀 "quoted"'
    assert docs[2].text == big
    assert [d.date for d in docs] == ["2020", None, "1999-01-01", None]
    # origin is the physical line the row starts on (row 1 spans lines 2-3)
    assert [d.origin.rsplit(":", 1)[1] for d in docs] == ["2", "4", "6", "7"]


def test_csv_gz_and_bom(tmp_path: Path) -> None:
    f = tmp_path / "a.csv.gz"
    f.write_bytes(gzip.compress(b"\xef\xbb\xbfid,text\r\n1,hello\r\n"))
    assert [(d.doc_id, d.text) for d in read([f])] == [("1", "hello")]


def test_parquet(tmp_path: Path) -> None:
    f = tmp_path / "a.parquet"
    table = pa.table(
        {
            "id": pa.array([10, 11, 12], type=pa.int64()),
            "text": ["alpha\r\n", "漢字 😀", "gamma"],
            "when": pa.array([None, "2020-05-01", "1999"]),
            "unused": [1, 2, 3],
        }
    )
    pq.write_table(table, f, row_group_size=2)
    docs = read([f], date_field="when", batch_docs=2)
    assert [(d.doc_id, d.text, d.date) for d in docs] == [
        ("10", "alpha\r\n", None),
        ("11", "漢字 😀", "2020-05-01"),
        ("12", "gamma", "1999"),
    ]
    assert docs[2].origin == f"{f}:3"


def test_parquet_bad_values_are_skipped_per_row(tmp_path: Path) -> None:
    f = tmp_path / "a.parquet"
    text = pa.array([b"fine", b"\xff bad", b"", None], type=pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": ["a", "b", "c", "d"], "text": text}), f)
    stats = ReadStats()
    docs = read([f], stats)
    assert [d.doc_id for d in docs] == ["a"]
    assert stats.skipped == {"not_utf8": 1, "empty_text": 1, "missing_text": 1}
    assert stats.examples[0].startswith(f"{f}:2: not_utf8:")


def test_stdin_jsonl_and_csv(monkeypatch) -> None:
    data = b'{"id": "s1", "text": "from stdin \xf0\x9f\x98\x80"}\n{"id": "s2", "text": "two"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    stats = ReadStats()
    docs = read_all(["-"], stats=stats)
    assert [(d.doc_id, d.text, d.origin) for d in docs] == [
        ("s1", "from stdin 😀", "<stdin>:1"),
        ("s2", "two", "<stdin>:2"),
    ]
    assert stats.files == 1
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"id,text\nc1,csv text\n")))
    docs = read_all(["-"], ReadOptions(format="csv"))
    assert [(d.doc_id, d.text) for d in docs] == [("c1", "csv text")]
    with pytest.raises(InputError, match="stdin"):
        read_all(["-"], ReadOptions(format="parquet"))


def test_format_overrides_extension(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "data.dat", [{"id": "a", "text": "t"}])
    with pytest.raises(InputError, match="cannot tell the format") as e:
        read([f])
    assert e.value.file == str(f)
    assert [d.doc_id for d in read([f], format="jsonl")] == ["a"]
    t = tmp_path / "plain.data"
    t.write_text("just text")
    assert [d.text for d in read([t], format="txt")] == ["just text"]


def test_encoding_option(tmp_path: Path) -> None:
    (tmp_path / "l1.txt").write_bytes("café naïve".encode("latin-1"))
    assert [d.text for d in read([tmp_path / "l1.txt"], encoding="latin-1")] == ["café naïve"]
    (tmp_path / "u16.txt").write_bytes("漢字\r\nline".encode("utf-16"))  # with its BOM
    assert [d.text for d in read([tmp_path / "u16.txt"], encoding="utf-16")] == ["漢字\r\nline"]
    # UTF-16 JSONL cannot be split into lines as bytes: a clear error, no garbage
    f = tmp_path / "u16.jsonl"
    f.write_bytes('{"id": 1, "text": "x"}\n'.encode("utf-16"))
    with pytest.raises(InputError, match="convert to UTF-8"):
        read([f], encoding="utf-16")
    # other encodings name their own reason
    g = tmp_path / "a.jsonl"
    g.write_bytes(b'{"id": 1, "text": "\xe9"}\n')
    stats = ReadStats()
    assert read([g], stats, encoding="ascii") == []
    assert stats.skipped == {"bad_encoding": 1}


# --------------------------------------------------------------------------
# Bad records: a counted skip naming file:line, or InputError with on_error="fail"

GOOD = b'{"id": "good", "text": "kept"}\n'

BAD_JSONL = {
    "invalid_json": b'{"id": "x", "text": "unterminated}\n',
    "not_an_object": b'["id", "text"]\n',
    "missing_id": b'{"text": "no id"}\n',
    "bad_id_type": b'{"id": ["a"], "text": "t"}\n',
    "missing_text": b'{"id": "x", "body": "wrong field"}\n',
    "bad_text_type": b'{"id": "x", "text": 42}\n',
    "not_utf8": b'{"id": "x", "text": "caf\xe9"}\n',
    "empty_text": b'{"id": "x", "text": " \\n\\t "}\n',
    "too_large": b'{"id": "x", "text": "' + b"y" * 101 + b'"}\n',
    "duplicate_id": b'{"id": "good", "text": "again"}\n',
    "bad_unicode": b'{"id": "x", "text": "lone \\ud800 surrogate"}\n',
}


@pytest.mark.parametrize("reason", sorted(BAD_JSONL))
def test_bad_jsonl_line_is_counted(tmp_path: Path, reason: str) -> None:
    f = tmp_path / "in.jsonl"
    f.write_bytes(GOOD + BAD_JSONL[reason] + b'{"id": "after", "text": "also kept"}\n')
    stats = ReadStats()
    docs = read_strict([f], stats, max_doc_chars=100)
    assert [d.doc_id for d in docs] == ["good", "after"]
    assert stats.skipped == {reason: 1}
    assert stats.examples[0].startswith(f"{f}:2: {reason}: ")
    assert stats.documents == 2


@pytest.mark.parametrize("reason", sorted(BAD_JSONL))
def test_bad_jsonl_line_fails(tmp_path: Path, reason: str) -> None:
    f = tmp_path / "in.jsonl"
    f.write_bytes(GOOD + BAD_JSONL[reason])
    with pytest.raises(InputError) as e:
        read_strict([f], on_error="fail", max_doc_chars=100)
    assert (e.value.file, e.value.line) == (str(f), 2)
    assert str(e.value).startswith(f"{f}:2: ")


def test_messages_say_what_is_wrong(tmp_path: Path) -> None:
    f = tmp_path / "in.jsonl"
    bad = BAD_JSONL
    f.write_bytes(GOOD + bad["not_utf8"] + bad["invalid_json"] + bad["duplicate_id"])
    stats = ReadStats()
    read_strict([f], stats)
    offset = len(GOOD) + BAD_JSONL["not_utf8"].index(b"\xe9")
    assert f"byte offset {offset}" in stats.examples[0] and "\\xe9" in stats.examples[0]
    assert "invalid JSON" in stats.examples[1] and "column" in stats.examples[1]
    assert "'good'" in stats.examples[2]


def test_too_long_jsonl_line_is_not_held(tmp_path: Path) -> None:
    # a line longer than 12 * max_doc_chars + 1 MiB is skipped while reading it
    f = tmp_path / "in.jsonl"
    huge = b'{"id": "x", "text": "' + b"z" * (1 << 20) + b'"}\n'
    f.write_bytes(GOOD + huge + GOOD.replace(b"good", b"g2"))
    stats = ReadStats()
    docs = read([f], stats, max_doc_chars=1)
    assert docs == []  # "kept" is over 1 char too
    assert stats.skipped == {"too_large": 3}
    assert stats.examples[1].startswith(f"{f}:2: too_large: line is over")
    stats = ReadStats()
    assert [d.doc_id for d in read([f], stats, max_doc_chars=4)] == ["good", "g2"]
    assert stats.skipped == {"too_large": 1}


def test_bad_txt_files(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.txt").write_bytes(b"fine")
    (root / "b.txt").write_bytes(b"\xef\xbb\xbfline 1\nline 2 caf\xe9\n")
    (root / "c.txt").write_bytes(b"  \n\t")
    (root / "d.txt").write_bytes(b"x" * 50)
    (root / "e.txt").write_bytes(b"y" * 500)  # over 4 * max_doc_chars bytes: not even decoded
    stats = ReadStats()
    docs = read_strict([root], stats, max_doc_chars=20)
    assert [d.doc_id for d in docs] == ["a.txt"]
    assert stats.skipped == {"not_utf8": 1, "empty_text": 1, "too_large": 2}
    b = os.path.join(str(root), "b.txt")
    # byte offsets count the BOM: they are offsets into the file
    assert stats.examples[0] == (
        f"{b}:2: not_utf8: not valid UTF-8 at byte offset 20 (line 2): b'\\xe9'; file skipped"
    )
    assert stats.files == 5
    with pytest.raises(InputError) as e:
        read_strict([root], on_error="fail", max_doc_chars=20)
    assert (e.value.file, e.value.line) == (b, 2)


def test_bad_csv_rows(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_bytes(
        b"id,text\n"
        b"1,ok\n"
        b'2,"multi\nline caf\xe9"\n'  # bad byte on line 4, row starts on line 3
        b"3,\n"
        b"1,duplicate\n"
        b",no id\n"
        b"7\n"
        b"8,fine\n"
    )
    stats = ReadStats()
    docs = read_strict([f], stats)
    assert [d.doc_id for d in docs] == ["1", "8"]
    assert stats.skipped == {
        "not_utf8": 1,
        "empty_text": 1,
        "duplicate_id": 1,
        "missing_id": 1,
        "missing_text": 1,
    }
    assert [m.split(": ")[0].rsplit(":", 1)[1] for m in stats.examples] == ["3", "5", "6", "7", "8"]
    assert "byte offset 30" in stats.examples[0]
    with pytest.raises(InputError) as e:
        read_strict([f], on_error="fail")
    assert e.value.line == 3


@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_missing_columns_always_raise(tmp_path: Path, on_error: str) -> None:
    c = tmp_path / "a.csv"
    c.write_text("key,body\n1,text\n")
    with pytest.raises(InputError, match=r"no column 'id' \(id_field\).*'key', 'body'") as e:
        read([c], on_error=on_error)
    assert e.value.file == str(c)
    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": ["1"], "content": ["x"]}), p)
    with pytest.raises(InputError, match=r"no column 'text' \(text_field\).*'id', 'content'"):
        read([p], on_error=on_error)


def test_missing_and_empty_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file") as e:
        read([tmp_path / "nope.jsonl"])
    assert e.value.file == str(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "x.jsonl").write_text("{}\n")
    with pytest.raises(InputError, match="no .txt files") as e:
        read([empty])
    assert e.value.file == str(empty)
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InputError, match="no header"):
        read([tmp_path / "e.csv"])
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="not a readable Parquet"):
        read([tmp_path / "junk.parquet"])
    (tmp_path / "trunc.jsonl.gz").write_bytes(gzip.compress(GOOD * 100)[:-30])
    with pytest.raises(InputError, match="trunc.jsonl.gz"):
        read([tmp_path / "trunc.jsonl.gz"])
    with pytest.raises(OptionError):
        read([])


def test_inputs_checked_before_reading(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": "t"}])
    # the missing second input is reported by the call itself, before any reading
    with pytest.raises(InputError, match="missing.txt"):
        iter_batches([str(f), str(tmp_path / "missing.txt")])


def test_examples_are_capped(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(b"not json\n" * 50)
    stats = ReadStats()
    assert read([f], stats) == []
    assert stats.skipped == {"invalid_json": 50}
    assert len(stats.examples) == MAX_EXAMPLES
    d = stats.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["skipped_total"] == 50 and d["documents"] == 0


# --------------------------------------------------------------------------
# Batching and streaming


def test_batch_docs_limit(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", [{"id": i, "text": f"t{i}"} for i in range(10)])
    batches = list(iter_batches([str(f)], ReadOptions(batch_docs=3)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [d.doc_id for b in batches for d in b] == [str(i) for i in range(10)]


def test_batch_chars_limit_and_big_doc_alone(tmp_path: Path) -> None:
    sizes = [4, 4, 4, 25, 3, 3, 9, 1]
    f = write_jsonl(tmp_path / "a.jsonl", [{"id": i, "text": "x" * n} for i, n in enumerate(sizes)])
    stats = ReadStats()
    batches = list(iter_batches([str(f)], ReadOptions(batch_chars=10), stats))
    assert [[len(d.text) for d in b] for b in batches] == [[4, 4], [4], [25], [3, 3], [9, 1]]
    assert all(sum(len(d.text) for d in b) <= 10 or len(b) == 1 for b in batches)
    assert (stats.documents, stats.chars) == (len(sizes), sum(sizes))


def test_batches_are_lazy(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(GOOD + GOOD.replace(b"good", b"g2") + b"broken\n")
    it = iter_batches([str(f)], ReadOptions(batch_docs=2, on_error="fail"))
    assert [d.doc_id for d in next(it)] == ["good", "g2"]
    with pytest.raises(InputError):
        next(it)


def test_duplicates_across_inputs(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "same", "text": "first"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": "same", "text": "second"}])
    stats = ReadStats()
    assert [d.text for d in read([a, b], stats)] == ["first"]
    assert stats.skipped == {"duplicate_id": 1} and stats.examples[0].startswith(f"{b}:1: ")


# --------------------------------------------------------------------------
# read_text_file and options


def test_read_text_file(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"\xef\xbb\xbf\xe6\xbc\xa2 one\r\ntwo\n")
    assert read_text_file(f) == "漢 one\r\ntwo\n"
    g = tmp_path / "bad.txt"
    g.write_bytes(b"ok\nok\nbad \xc3\x28 here")
    with pytest.raises(InputError) as e:
        read_text_file(g, encoding="utf-8")
    assert (e.value.file, e.value.line) == (str(g), 3)
    assert "byte offset 10" in str(e.value)
    with pytest.raises(InputError, match="no such file"):
        read_text_file(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="directory"):
        read_text_file(tmp_path)


@pytest.mark.parametrize(
    "kw",
    [
        {"format": "xml"},
        {"on_error": "ignore"},
        {"batch_docs": 0},
        {"batch_chars": -1},
        {"max_doc_chars": 0},
        {"encoding": "no-such-codec"},
        {"id_field": ""},
        {"id_field": "x", "text_field": "x"},
    ],
)
def test_bad_options(kw: dict) -> None:
    with pytest.raises(OptionError):
        ReadOptions(**kw)


def test_directory_with_other_format_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="directory"):
        read([tmp_path], format="jsonl")


# --------------------------------------------------------------------------
# encoding="auto" (the default): UTF-8 when valid, else detected, and said so

FRENCH = (
    "Le café coûte 3 € — « très cher », dit-il. Où est la gare ? Ça va très bien, merci.\n"
    "Naïve façade, déjà vu : l'élève a reçu un cœur en pâte d'amande.\n"
)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16"])
def test_auto_encoding_txt(tmp_path: Path, encoding: str) -> None:
    text = FRENCH if encoding != "latin-1" else "".join(c if ord(c) < 256 else "-" for c in FRENCH)
    f = tmp_path / "d" / "legacy.txt"
    f.parent.mkdir()
    f.write_bytes(text.encode(encoding))
    (tmp_path / "d" / "plain.txt").write_bytes("déjà UTF-8".encode())
    stats = ReadStats()
    docs = read([tmp_path / "d"], stats)
    assert [d.text for d in docs] == [text, "déjà UTF-8"]  # character offsets index the decoded text
    assert len(stats.warnings) == 1  # only the file that is not UTF-8
    assert "legacy.txt: not UTF-8; decoded as" in stats.warnings[0]
    # a codec given explicitly is used strictly
    stats = ReadStats()
    assert read([f], stats, encoding="utf-8") == [] and stats.skipped == {"not_utf8": 1}


def test_auto_encoding_jsonl_and_csv_lines(tmp_path: Path) -> None:
    j = tmp_path / "a.jsonl"
    rows = [{"id": "1", "text": "plain ascii"}, {"id": "2", "text": FRENCH}, {"id": "3", "text": "déjà"}]
    j.write_bytes(b"".join(json.dumps(r, ensure_ascii=False).encode("cp1252") + b"\n" for r in rows))
    stats = ReadStats()
    assert [d.text for d in read([j], stats)] == [r["text"] for r in rows]
    assert stats.skipped == {} and "a.jsonl: not UTF-8" in stats.warnings[0] and "cp1252" in stats.warnings[0]
    c = tmp_path / "a.csv"
    c.write_bytes(("id,text\n1,plain\n2,\"" + FRENCH + "\"\n").encode("cp1252"))
    stats = ReadStats()
    assert [d.text for d in read([c], stats)] == ["plain", FRENCH]
    assert "a.csv: not UTF-8" in stats.warnings[0]


def test_undecodable_file_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "binary.txt"
    f.write_bytes(b"line one\n" + bytes(range(256)) * 8)
    stats = ReadStats()
    assert read([f], stats) == []
    assert stats.skipped == {"not_utf8": 1}
    assert stats.examples[0].startswith(f"{f}:3: not_utf8: not valid UTF-8 at byte offset 137 (line 3)")
    assert "no other encoding fits" in stats.examples[0]
    with pytest.raises(InputError) as e:
        read_text_file(f)
    assert (e.value.file, e.value.line) == (str(f), 3)


# --------------------------------------------------------------------------
# Directories: special files are never opened, other files are never silently dropped


def test_named_pipe_in_a_directory_is_a_counted_skip(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.txt").write_text("a regular file", encoding="utf-8")
    os.mkfifo(root / "x.txt")  # reading it would block forever
    stats = ReadStats()
    docs = read([root], stats)  # returns: the pipe is not opened
    assert [d.doc_id for d in docs] == ["a.txt"]
    assert stats.skipped == {"not_a_regular_file": 1}
    assert stats.examples == [f"{root / 'x.txt'}: not_a_regular_file: a named pipe (FIFO), not a regular file;"
                              " not opened"]
    with pytest.raises(InputError, match="named pipe"):
        read([root], on_error="fail")


def test_unknown_files_in_a_directory_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "reuters"
    root.mkdir()
    for i in range(22):
        (root / f"reut2-{i:03d}.sgm").write_text("<REUTERS>", encoding="utf-8")
    (root / "README.txt").write_text("the readme", encoding="utf-8")
    (root / "all.jsonl.gz").write_bytes(b"")
    stats = ReadStats()
    docs = read([root], stats)
    assert [d.doc_id for d in docs] == ["README.txt"]
    assert stats.warnings == [
        f"{root}: 23 files ignored (22 .sgm, 1 .jsonl.gz); known formats: .txt, .html and .htm in a directory;"
        " .txt, .jsonl, .ndjson, .csv (each optionally .gz), .parquet, .html, .htm, .warc, .warc.gz and .wet"
        " given as files"
    ]
    (root / "README.txt").unlink()
    with pytest.raises(InputError, match=r"no \.txt files \(nor \.html/\.htm pages\) \(23 files ignored \(22 \.sgm"):
        read([root])


# --------------------------------------------------------------------------
# Wrong field names stop with the fields present and the option to use


def test_jsonl_without_the_text_field_stops_with_the_fields_present(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", [
        {"id": str(i), "content": f"story number {i} " * 20, "url": f"http://x/{i}"} for i in range(300)])
    with pytest.raises(InputError) as e:
        read([f])
    assert str(e.value) == (
        f"{f}: no 'text' field in 100 of the first 100 records; the records have: id, content, url"
        " — use --text-field content"
    ) or str(e.value) == f"{f}: no 'text' field; the records have: id, content, url — use --text-field content"
    assert [d.doc_id for d in read([f], text_field="content")][:2] == ["0", "1"]
    # a few records without it are ordinary skips
    g = write_jsonl(tmp_path / "b.jsonl", [{"id": "1", "text": "t"}, {"id": "2", "text": "u"}, {"id": "3"}])
    stats = ReadStats()
    assert len(read([g], stats)) == 2 and stats.skipped == {"missing_text": 1}


def test_jsonl_without_the_id_field(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", [{"doc_id": "1", "text": "t"}, {"doc_id": "2", "text": "u"}])
    with pytest.raises(InputError, match="no 'id' field; the records have: doc_id, text — use --id-field doc_id"):
        read([f])


def test_parquet_without_the_text_column(tmp_path: Path) -> None:
    f = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": ["a"], "content": ["words"], "url": ["u"]}), f)
    with pytest.raises(InputError, match=r"no column 'text' \(text_field\).*— use --text-field content"):
        read([f])


# --------------------------------------------------------------------------
# CSV: an unterminated quote does not merge the following rows into one document


def test_csv_unterminated_quote_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    rows = [f'{i},"story {i} text, with a comma"' for i in range(1, 51)]
    rows[9] = '10,"story 10 has a quote that never closes'
    body = "id,text\n" + "\n".join(rows) + "\n"
    f = tmp_path / "a.csv"
    f.write_text(body, encoding="utf-8")
    stats = ReadStats()
    docs = read([f], stats)
    assert [d.doc_id for d in docs] == [str(i) for i in range(1, 51) if i != 10]
    assert all(d.text.startswith(f"story {d.doc_id} text") and "\n" not in d.text for d in docs)
    assert stats.skipped == {"invalid_csv": 1}
    assert stats.examples[0].startswith(f"{f}:11: invalid_csv: unterminated quote")
    with pytest.raises(InputError, match="unterminated quote") as e:
        read([f], on_error="fail")
    assert e.value.line == 11
    # unquoted rows after it: everything to the end would be swallowed
    plain = "id,text\n1,first\n2,\"opens here\n3,third row\n4,fourth row\n"
    g = tmp_path / "b.csv"
    g.write_text(plain, encoding="utf-8")
    stats = ReadStats()
    assert [d.doc_id for d in read([g], stats)] == ["1", "3", "4"]
    # a quoted field over several lines is not mistaken for one
    ok = 'id,text\n1,"para one\n2,not a record, just text\n\nthe end"\n2,second\n'
    h = tmp_path / "c.csv"
    h.write_text(ok, encoding="utf-8")
    stats = ReadStats()
    assert [d.doc_id for d in read([h], stats)] == ["1", "2"] and stats.skipped == {}
