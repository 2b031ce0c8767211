"""What the commands say: the file compare --html wrote, singular and plural, a non-zero exit for
unknown ids, and help that lists every command and input format."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from copytrace.cli import main
from copytrace.index import Index

SEEDS = sorted((Path(__file__).resolve().parents[2] / "examples" / "seeds").glob("*.txt"))


def test_compare_html_says_where_the_page_is(tmp_path):
    page = tmp_path / "pair.html"
    r = CliRunner().invoke(main, ["compare", str(SEEDS[0]), str(SEEDS[1]), "--html", str(page)])
    assert r.exit_code == 0, r.output
    assert page.is_file() and f"HTML view written to {page.resolve()}\n" in r.stdout
    page.unlink()
    r = CliRunner().invoke(main, ["compare", str(SEEDS[0]), str(SEEDS[1]), "--html", str(page), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["passages"]  # stdout stays pure JSON
    assert r.stderr == f"HTML view written to {page.resolve()}\n" and page.is_file()


def test_index_messages_use_singular_and_plural(tmp_path):
    db = tmp_path / "m.duckdb"
    Index.create(db).close()
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"id": "a", "text": "alpha beta gamma delta epsilon zeta eta theta"}) + "\n")
    r = CliRunner().invoke(main, ["index", "add", str(db), str(one)])
    assert r.exit_code == 0, r.output
    assert r.stdout == f"1 document added; 1 document in {db}\n"
    two = tmp_path / "two.jsonl"
    two.write_text("".join(json.dumps({"id": i, "text": f"text {i} " * 8}) + "\n" for i in ("b", "c")))
    r = CliRunner().invoke(main, ["index", "add", str(db), str(two)])
    assert r.stdout == f"2 documents added; 3 documents in {db}\n"
    r = CliRunner().invoke(main, ["index", "stats", str(db)])
    assert re.match(rf"{re.escape(str(db))}: 3 documents, \d+ characters, ", r.stdout)


def test_removing_an_unknown_id_exits_non_zero_and_names_it(tmp_path):
    db = tmp_path / "r.duckdb"
    with Index.create(db) as idx:
        idx.add([{"id": "a", "text": "one two three four five six"}, {"id": "b", "text": "seven eight nine ten"}])
    r = CliRunner().invoke(main, ["index", "remove", str(db), "--id", "a", "--id", "nope"])
    assert r.exit_code == 1
    assert r.stdout == "1 of 2 documents removed\n"
    assert r.stderr == f"copytrace: error: no document with id 'nope' in {db}\n"
    r = CliRunner().invoke(main, ["index", "remove", str(db), "--id", "b"])
    assert r.exit_code == 0 and r.stdout == "1 of 1 document removed\n" and not r.stderr
    with Index(db, read_only=True) as idx:
        assert len(idx) == 0


def test_help_lists_every_command_and_input_format():
    r = CliRunner().invoke(main, ["--help"])
    intro = r.stdout.split("Options:")[0]
    for cmd in ("find", "compare", "align", "index", "serve"):
        assert re.search(rf"^\s+copytrace {cmd}\b", intro, re.M), (cmd, intro)
    r = CliRunner().invoke(main, ["find", "--help"])
    for ext in (".txt", ".jsonl", ".jsonl.gz", ".ndjson", ".csv", ".parquet"):
        assert ext in r.stdout


def test_compact_gives_the_free_space_back_and_keeps_the_index(tmp_path):
    """After a bulk load, a small add grows the file (DuckDB writes changed blocks anew); compact
    rewrites it without the free blocks, with the same documents, answers and parameters."""
    import random

    from copytrace.index.compact import file_bytes

    rng = random.Random(3)
    words = [f"w{i}" for i in range(3000)]
    docs = [{"id": f"d{i}", "text": " ".join(rng.choice(words) for _ in range(120))} for i in range(1500)]
    db = tmp_path / "c.duckdb"
    with Index.create(db) as idx:
        idx.add(docs[:-2])
    bulk = file_bytes(db)
    for d in docs[-2:]:
        with Index(db) as idx:
            idx.add([d])
    grown = file_bytes(db)
    assert grown > bulk
    with Index(db, read_only=True) as idx:
        want = ([m.to_dict() for m in idx.query(docs[5]["text"])], idx.ids(), idx.params)
    r = CliRunner().invoke(main, ["index", "compact", str(db)])
    assert r.exit_code == 0, r.output
    after = file_bytes(db)
    assert r.stdout == f"{db}: {grown / 1e6:.1f} MB before, {after / 1e6:.1f} MB after\n"
    assert after < grown and after <= bulk * 1.05
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.duckdb"]  # no temporary file, no WAL left
    with Index(db, read_only=True) as idx:
        assert ([m.to_dict() for m in idx.query(docs[5]["text"])], idx.ids(), idx.params) == want
    with Index(db) as idx:  # still writable, keys and indexes intact
        assert idx.add([docs[0]]).skipped == {"duplicate_id": 1}
        assert idx.remove(["d1"]) == 1
