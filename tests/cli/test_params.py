"""Parameters are defined once (copytrace.config) and checked there: the CLI
answers a bad value with one line naming the flag (exit 2), the Python API
raises OptionError naming the parameter, and the index refuses stored
parameters that were edited into nonsense (issue 12, issue 15 item 3)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

import copytrace
from helpers import SEEDS, invoke_cli, write_jsonl
from copytrace.config import FingerprintConfig, spec_of
from copytrace.errors import OptionError
from copytrace.index import IndexStoreError
from copytrace.options import FindOptions

SEED_A = sorted(SEEDS.glob("000_*.txt"))[0]
SEED_B = sorted(SEEDS.glob("001_*.txt"))[0]


def _one_line_error(r, *expect: str) -> str:
    err = r.stderr.decode("utf-8", "replace").strip()
    assert r.returncode == 2, (r.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.splitlines()) == 1, err
    for e in expect:
        assert e in err, err
    return err


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("params")
    return write_jsonl(d / "c.jsonl", [{"id": "a", "text": SEED_A.read_text(encoding="utf-8")},
                                       {"id": "b", "text": SEED_B.read_text(encoding="utf-8")}])


@pytest.mark.parametrize("args, expect", [
    (["--ngram", str(2**70)], "--ngram must be in 1..64, got 1180591620717411303424"),
    (["--ngram", "0"], "--ngram must be in 1..64, got 0"),
    (["--seed", "-1"], "--seed must be in 0..2^63-1, got -1"),
    (["--threshold", "5"], "--threshold must be in (0, 1], got 5"),
    (["--sample-rate", str(2**70)], "--sample-rate must be in 1..2^31-1"),
    (["--bands", "4"], "--bands and --rows go together"),
    (["--resume"], "--resume needs --work-dir"),
])
def test_find_rejects_bad_parameters_in_one_line(corpus, tmp_path, args, expect):
    r = invoke_cli("find", str(corpus), "--out", str(tmp_path / "out"), "-q", *args)
    _one_line_error(r, expect)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, expect", [
    (["--ngram", "0"], "--ngram must be in 1..64, got 0"),
    (["--ngram", "-1"], "--ngram must be in 1..64, got -1"),
    (["--threshold", "5"], "--threshold must be in (0, 1], got 5"),
])
def test_compare_rejects_bad_parameters(args, expect):
    _one_line_error(invoke_cli("compare", str(SEED_A), str(SEED_B), *args), expect)


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_serve_rejects_a_port_out_of_range(tmp_path, port):
    r = invoke_cli("serve", str(tmp_path / "x.db"), "--create", "--port", port)
    _one_line_error(r, f"--port must be in 1..65535, got {port}")
    assert not (tmp_path / "x.db").exists()  # refused before --create made anything


def test_align_rejects_negative_jobs_and_a_non_utf8_pairs_file(tmp_path):
    (tmp_path / "susp").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "susp" / "s.txt").write_text(SEED_A.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "src" / "r.txt").write_text(SEED_B.read_text(encoding="utf-8"), encoding="utf-8")
    pairs = tmp_path / "pairs"
    pairs.write_text("s.txt r.txt\n", encoding="utf-8")
    common = ["--susp-dir", str(tmp_path / "susp"), "--src-dir", str(tmp_path / "src"), "--out", str(tmp_path / "o"),
              "-q"]
    _one_line_error(invoke_cli("align", "--pairs", str(pairs), "--jobs", "-5", *common), "--jobs must be in 0..4096, got -5")
    pairs.write_bytes(b"s.txt r.txt\nsusp-\xff.txt r.txt\n")
    _one_line_error(invoke_cli("align", "--pairs", str(pairs), *common), f"{pairs}:2: not UTF-8")

    from copytrace.evaluation.pan import align_pairs_file

    with pytest.raises(OptionError, match="^jobs must be in 0..4096, got -5$"):
        align_pairs_file(pairs, tmp_path / "susp", tmp_path / "src", tmp_path / "o", jobs=-5)


def _edit_params(db: Path, **changes) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    params = json.loads(con.execute("SELECT value FROM meta WHERE key = 'params'").fetchall()[0][0])
    params.update(changes)
    con.execute("UPDATE meta SET value = ? WHERE key = 'params'", [json.dumps(params)])
    con.close()


@pytest.mark.parametrize("changes, expect", [
    ({"ngram": 0}, "ngram must be in 1..64, got 0"),
    ({"ngram": "5"}, "ngram must be an integer in 1..64, got '5'"),
    ({"threshold": "high"}, "threshold must be a number in (0, 1], got 'high'"),
    ({"bands": "x"}, "bands must be an integer"),
])
def test_an_index_with_edited_parameters_is_refused(tmp_path, changes, expect):
    db = tmp_path / "i.db"
    copytrace.Index.create(db).close()
    _edit_params(db, **changes)
    with pytest.raises(OptionError, match="stored parameters are invalid") as e:
        copytrace.Index(db)
    assert expect in str(e.value) and isinstance(e.value, IndexStoreError)
    _one_line_error(invoke_cli("index", "stats", str(db)), "stored parameters are invalid", expect)


def test_index_create_checks_like_find(tmp_path):
    _one_line_error(invoke_cli("index", "create", str(tmp_path / "i.db"), "--ngram", "0"), "--ngram must be in 1..64")
    assert not (tmp_path / "i.db").exists()
    with pytest.raises(OptionError, match="^num_perm must be in 1..4096, got 0$"):
        copytrace.Index.create(tmp_path / "j.db", num_perm=0)
    with pytest.raises(OptionError, match="unknown index parameter"):
        copytrace.Index.create(tmp_path / "k.db", ngrams=3)
    cfg = FingerprintConfig(threshold=0.3, ngram=3)
    with copytrace.Index.create(tmp_path / "l.db", config=cfg) as idx:
        assert idx.config == cfg and idx.params["ngram"] == 3
    with copytrace.Index(tmp_path / "l.db", read_only=True) as idx:
        assert idx.config == cfg
        with pytest.raises(OptionError, match="^threshold must be a number in"):
            idx.query("some text", threshold="x")
        with pytest.raises(OptionError, match="^limit must be in 1.."):
            idx.query("some text", limit=0)
    _one_line_error(invoke_cli("index", "query", str(tmp_path / "l.db"), "--text", "a b c", "--threshold", "5"),
                    "--threshold must be in (0, 1], got 5")


def test_python_api_raises_option_error_naming_the_parameter(corpus):
    for kw, msg in [(dict(ngram=2**70), "ngram must be in 1..64"), (dict(seed=-1), "seed must be in 0..2^63-1"),
                    (dict(threshold=5), "threshold must be in (0, 1]"), (dict(workers=-1), "workers must be in"),
                    (dict(ngram=5.5), "ngram must be an integer"), (dict(containment="no"), "containment must be")]:
        with pytest.raises(OptionError) as e:
            copytrace.find(corpus, progress=False, **kw)
        assert str(e.value).startswith(msg), str(e.value)  # Python names, not flags
    with pytest.raises(OptionError, match="^ngram must be in 1..64, got 0$"):
        copytrace.compare("a b c", "a b c", ngram=0)
    from copytrace.stages.align import AlignOptions

    with pytest.raises(OptionError, match="^seed_cosine must be in"):
        AlignOptions(seed_cosine=2.0)
    with pytest.raises(OptionError, match="^split_newlines must be one of"):
        AlignOptions(split_newlines="sometimes")
    from copytrace.service.app import serve

    with pytest.raises(OptionError, match="^port must be in 1..65535, got 70000$"):
        serve("nothing.db", port=70000)


def test_each_parameter_is_defined_once():
    """FindOptions takes the fingerprint fields from FingerprintConfig; the find
    and index create flags are generated from the fields (defaults and help)."""
    from copytrace.cli import find_cmd
    from copytrace.cli_index import create_cmd

    fp = {f.name: f for f in dataclasses.fields(FingerprintConfig)}
    find_fields = {f.name: f for f in dataclasses.fields(FindOptions)}
    for name, f in fp.items():
        assert find_fields[name].default == f.default
        assert spec_of(FindOptions, name) is spec_of(FingerprintConfig, name)
    flags = {p.name: p for p in find_cmd.params}
    for name, f in find_fields.items():
        spec = spec_of(FindOptions, name)
        if spec is None or not spec.cli:
            continue
        assert flags[name].default == f.default, name
        assert flags[name].help.startswith(spec.help), name
        assert spec.flag_name(name) in flags[name].opts
    create_flags = {p.name: p for p in create_cmd.params if p.name != "db"}
    assert set(create_flags) == set(fp)
    assert all(create_flags[n].default == fp[n].default for n in fp)
    assert FindOptions().fingerprint == FingerprintConfig()


def test_non_utf8_file_names_are_read_with_printable_ids(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    text = SEED_A.read_text(encoding="utf-8")
    bad = os.path.join(os.fsencode(folder), b"story-\xff.txt")
    try:
        with open(bad, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    (folder / "copy.txt").write_text(text, encoding="utf-8")
    r = invoke_cli("find", str(folder), "--out", str(tmp_path / "out"), "-q")
    assert r.returncode == 0, r.stderr
    import pyarrow.parquet as pq

    ids = pq.read_table(tmp_path / "out" / "documents.parquet").column("doc_id").to_pylist()
    assert ids == ["copy.txt", "story-\\xff.txt"]
    # named on the command line, and compared
    named = os.fsdecode(bad)
    r = invoke_cli("find", named, str(folder / "copy.txt"), "--out", str(tmp_path / "out2"), "-q")
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "out2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["clusters"] == 1
    r = invoke_cli("compare", named, str(folder / "copy.txt"), "--html", str(tmp_path / "p.html"))
    assert r.returncode == 0, r.stderr
    assert "story-\\xff.txt" in (tmp_path / "p.html").read_text(encoding="utf-8")
