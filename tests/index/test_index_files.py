"""Files that are not copytrace indexes, and an index held by a running server: one clear line each,
never a download, a traceback or a changed file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from click.testing import CliRunner

from copytrace.cli import main
from copytrace.duckdb_util import SAFE_CONFIG, connect
from copytrace.index import Index
from copytrace.index.store import IndexStoreError

from helpers import free_port, invoke_cli


def _sqlite(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE documents (id TEXT, text TEXT)")
    con.execute("INSERT INTO documents VALUES ('a', 'some text')")
    con.commit()
    con.close()
    return path


def _random(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _other_duckdb(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (a INTEGER)")
    con.close()
    return path


def _empty_duckdb(path: Path) -> Path:
    duckdb.connect(str(path)).close()
    return path


CASES = [
    (_sqlite, "a SQLite database, not a copytrace index"),
    (_random, "not a copytrace index (not a DuckDB file)"),
    (_empty, "an empty file, not a copytrace index"),
    (_other_duckdb, "a DuckDB file, but not a copytrace index"),
    (_empty_duckdb, "a DuckDB file, but not a copytrace index"),
]


@pytest.mark.parametrize("make, message", CASES, ids=[c[0].__name__.strip("_") for c in CASES])
def test_not_an_index_is_refused_and_left_alone(tmp_path, make, message):
    path = make(tmp_path / "file.db")
    before = path.read_bytes()
    for kwargs in ({}, {"read_only": True}, {"create": True}):
        with pytest.raises(IndexStoreError) as err:
            Index(path, **kwargs)
        assert str(err.value) == f"{path}: {message}"
    with pytest.raises(IndexStoreError, match="already exists"):
        Index.create(path)
    for args in (["stats", str(path)], ["add", str(path), str(path)], ["query", str(path), "--text", "x y z"],
                 ["remove", str(path), "--id", "a"]):
        r = CliRunner().invoke(main, ["index", *args])
        assert r.exit_code == 2, r.output
        assert r.stderr == f"copytrace: error: {path}: {message}\n"
    assert path.read_bytes() == before  # never initialised, never written
    assert not Path(str(path) + ".wal").exists()


def test_connections_never_install_or_load_extensions(tmp_path):
    """The one connection helper: a SQLite file is refused by DuckDB itself, with no download."""
    con = connect()
    settings = dict(con.execute("SELECT name, value FROM duckdb_settings()").fetchall())
    con.close()
    assert settings["autoinstall_known_extensions"] == "false"
    assert settings["autoload_known_extensions"] == "false"
    assert settings["allow_community_extensions"] == "false"
    assert set(SAFE_CONFIG) <= set(settings)
    with pytest.raises(duckdb.Error, match="(?i)extension"):
        connect(_sqlite(tmp_path / "x.sqlite"))


def test_no_plain_duckdb_connect_in_the_package():
    src = Path(__file__).resolve().parents[2] / "src" / "copytrace"
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py")
                 if p.name != "duckdb_util.py" and "duckdb.connect(" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_a_served_index_is_locked_with_a_one_line_explanation(tmp_path):
    """While `copytrace serve` runs, every CLI index command says so in one line."""
    db = tmp_path / "busy.duckdb"
    Index.create(db).close()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "copytrace.cli", "serve", str(db), "--port", str(port),
                             "--query-processes", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read().decode()
            time.sleep(0.2)
        doc = tmp_path / "doc.txt"
        doc.write_text("one two three four five six seven eight nine ten", encoding="utf-8")
        for args in (["add", str(db), str(doc)], ["query", str(db), str(doc)], ["stats", str(db)],
                     ["remove", str(db), "--id", "x"]):
            r = invoke_cli("index", *args)
            err = r.stderr.decode()
            assert r.returncode == 2, err
            assert err.count("\n") == 1, err
            assert err.startswith(f"copytrace: error: {db}: the index is in use by another process (process ")
            assert "copytrace serve" in err and "HTTP API" in err and "stop the server" in err
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    r = invoke_cli("index", "stats", str(db))  # stopped: usable again
    assert r.returncode == 0, r.stderr.decode()


def test_create_with_bad_parameters_leaves_no_file(tmp_path):
    from copytrace.errors import OptionError

    db = tmp_path / "bad.duckdb"
    with pytest.raises(OptionError, match="threshold"):
        Index.create(db, threshold=5)
    assert list(tmp_path.iterdir()) == []
    Index.create(db).close()  # the name is free for a good one
    with Index(db, read_only=True) as idx:
        assert idx.params["threshold"] == 0.5
