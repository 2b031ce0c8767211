"""The Spark engine on a real local Spark session: the same output files as
the local engine, byte for byte (documents, pairs, passages, boilerplate,
deduplicated.jsonl) and the same counts, on corpora with empty texts,
duplicates across input files, a 3-level chain of copies and site boilerplate.

Skips (saying why) when PySpark or Java is missing; CI installs both."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

import pytest

from helpers import SEEDS, make_copy, make_footer_corpus, make_story, write_jsonl

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'copytrace[spark]')")
if shutil.which("java") is None:
    pytest.skip("no Java runtime on PATH (the Spark engine needs Java 17+)", allow_module_level=True)

import copytrace  # noqa: E402
from copytrace.engines.spark import spark_session  # noqa: E402
from copytrace.errors import InputError  # noqa: E402

APPEAL = (
    "Your support helps us to tell the story. Your donation allows us to keep sending reporters. "
    "We believe quality journalism should be available to everyone. Your support makes all the difference."
)


@pytest.fixture(scope="module")
def spark():
    s = spark_session("local[2]", partitions=4)
    yield s
    s.stop()


def _corpus(root: Path) -> list[Path]:
    """Two JSONL files and a folder of .txt files with: reprints with edits,
    a 3-level chain (a copy of a copy of a copy), exact duplicates, an id
    present in both JSONL files (the first wins), empty and whitespace
    texts, a broken line, and one site's appeal pasted into its stories."""
    rng = random.Random(11)
    a, b = [], []
    stories = []
    for s in range(6):
        story = make_story(rng, n_sentences=10)
        stories.append(story)
        a.append({"id": f"s{s}-orig", "text": story, "source": "wire", "date": f"2024-01-{s + 1:02d}"})
        for c in range(2):
            b.append({"id": f"s{s}-copy{c}", "text": make_copy(rng, story), "source": f"site{c}",
                      "date": f"2024-01-{s + 2:02d}"})
    # a page holding three of the stories (reuse clusters; it must not chain them)
    b.append({"id": "page", "text": "THE HERALD\n\n" + "\n\n".join(stories[:3]), "source": "herald",
              "date": "2024-01-20"})
    chain = make_story(rng, n_sentences=14)
    prev = chain
    a.append({"id": "chain0", "text": chain, "source": "wire"})
    for level in range(1, 4):
        prev = make_copy(rng, prev, edit=0.08)
        b.append({"id": f"chain{level}", "text": prev, "source": f"site{level}"})
    for i in range(8):  # the site's appeal after different stories
        story = make_story(rng, n_sentences=8)
        head = story.split(".")[0] + "."
        a.append({"id": f"indy{i}", "text": f"{head}\n{APPEAL}\n{story}", "source": "The Independent"})
    exact = make_story(rng)
    a.append({"id": "exact-1", "text": exact})
    b.append({"id": "exact-2", "text": exact})
    b.append({"id": "s0-orig", "text": make_story(rng)})  # same id as in a: skipped as duplicate_id
    for i in range(10):
        a.append({"id": f"unique{i}", "text": make_story(rng)})
    a.append({"id": "empty", "text": ""})
    a.append({"id": "blank", "text": "   \n "})
    a.append({"id": "no-words", "text": "— … !!! ???"})
    fa = write_jsonl(root / "a.jsonl", a)
    fb = write_jsonl(root / "b.jsonl", b)
    with fb.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    txt = root / "txt"
    txt.mkdir()
    (txt / "exact-3.txt").write_text(exact, encoding="utf-8")
    (txt / "seed-a.txt").write_text(sorted(SEEDS.glob("000_*.txt"))[0].read_text(encoding="utf-8"),
                                    encoding="utf-8")
    (txt / "seed-b.txt").write_text(sorted(SEEDS.glob("001_*.txt"))[0].read_text(encoding="utf-8"),
                                    encoding="utf-8")
    # read alike by both engines: a legacy encoding, a named pipe, a file of an unknown format
    (txt / "legacy.txt").write_bytes(("Café, naïve façade — déjà vu. " + make_story(rng)).encode("cp1252"))
    os.mkfifo(txt / "pipe.txt")
    (txt / "notes.sgm").write_text("<REUTERS/>", encoding="utf-8")
    return [fa, fb, txt]


OUTPUTS = ("documents.parquet", "pairs.parquet", "passages.parquet", "reuse.parquet", "boilerplate.parquet",
           "deduplicated.jsonl")


def test_spark_engine_gives_the_local_engines_files_byte_for_byte(spark, tmp_path):
    inputs = _corpus(tmp_path)
    opts = dict(threshold=0.3, boilerplate_min_docs=4, source_field="source", date_field="date", progress=False,
                dedup_passages=True)
    local = copytrace.find(inputs, tmp_path / "local", **opts)
    dist = copytrace.find(inputs, tmp_path / "spark", engine="spark", spark_session=spark, **opts)
    # the JSONL corpora are made on the executors (engines.spark_output), the rest on the driver
    for name in OUTPUTS + ("deduplicated-passages.jsonl",):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "spark" / name).read_bytes(), name
    ls, ss = local.summary, dist.summary
    assert ss["engine"] == "spark" and ls["engine"] == "local"
    assert ss["counts"] == ls["counts"]
    assert ss["read"] == ls["read"]
    # the corpus exercises what it should
    c = ls["counts"]
    assert ls["read"]["skipped"] == {"duplicate_id": 1, "empty_text": 2, "invalid_json": 1, "not_a_regular_file": 1}
    assert any("legacy.txt: not UTF-8; decoded as cp1252" in w for w in ls["read"]["warnings"])
    assert any("1 file ignored (1 .sgm)" in w for w in ls["read"]["warnings"])
    assert c["documents_without_words"] == 1 and c["exact_duplicate_documents"] == 2
    assert c["boilerplate_segments"] >= 3 and c["documents_with_boilerplate"] >= 8  # the 8 stories (and the seed that the appeal came from)
    docs = {r["doc_id"]: r for r in dist.documents.to_pylist()}
    assert len({docs[f"chain{i}"]["cluster_id"] for i in range(4)}) == 1
    assert docs["chain3"]["cluster_id"] == "chain0"
    exact_ids = [i for i in docs if i.startswith("exact-") or i.endswith("exact-3.txt")]
    assert len(exact_ids) == 3 and len({docs[i]["cluster_id"] for i in exact_ids}) == 1
    assert len({docs[f"indy{i}"]["cluster_id"] for i in range(8)}) == 8  # the appeal does not chain them
    assert len({docs[f"s{i}-orig"]["cluster_id"] for i in range(3)}) == 3  # the page does not chain them
    page_rows = [r for r in dist.reuse.to_pylist() if r["doc_id"] == "page"]
    assert len({r["reuse_id"] for r in page_rows}) == 3


def test_spark_flags_a_long_footer_like_the_local_engine(spark, tmp_path):
    """The long-block boilerplate rule (a footer longer than the stories under it) on both engines."""
    docs, _, _ = make_footer_corpus(n_stories=40, n_reprints=5)
    inp = write_jsonl(tmp_path / "c.jsonl", docs)
    opts = dict(source_field="source", align=False, report=False, progress=False)
    local = copytrace.find(inp, tmp_path / "local", **opts)
    copytrace.find(inp, tmp_path / "spark", engine="spark", spark_session=spark, **opts)
    for name in OUTPUTS:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "spark" / name).read_bytes(), name
    assert local.summary["counts"]["documents_with_boilerplate"] == 40
    assert sorted(m for v in local.clusters().values() for m in v) == [f"wire{i}" for i in range(5)]


def test_spark_refuses_a_file_name_that_is_not_utf8_in_one_line(spark, tmp_path):
    """Py4J cannot carry such a name to Hadoop: a clear InputError, not a broken session."""
    import os

    bad = os.path.join(os.fsencode(tmp_path), b"story-\xff.txt")
    try:
        with open(bad, "w", encoding="utf-8") as fh:
            fh.write(make_story(random.Random(1)))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    with pytest.raises(InputError, match=r"story-\\xff\.txt: the file name is not valid UTF-8"):
        copytrace.find(tmp_path, engine="spark", spark_session=spark, progress=False)
    assert spark.range(3).count() == 3  # the session still works


def test_spark_cli_and_connected_components(spark, tmp_path):
    from copytrace.engines.spark import connected_components

    # a path graph, a star, and two singletons' edges: components by their smallest vertex
    edges = [(5, 6), (6, 7), (7, 8), (8, 1), (20, 21), (20, 22), (20, 23), (30, 31)]
    df = spark.createDataFrame(edges, "a long, b long")
    got = {r.v: r.r for r in connected_components(df).collect()}
    assert got == {1: 1, 5: 1, 6: 1, 7: 1, 8: 1, 20: 20, 21: 20, 22: 20, 23: 20, 30: 30, 31: 30}


def test_spark_engine_reports_bad_input_like_the_local_engine(spark, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "one two three four five six"}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        copytrace.find([bad], engine="spark", spark_session=spark, on_error="fail", progress=False)
    assert f"{bad}:2" in str(e.value) and "invalid JSON" in str(e.value)
    with pytest.raises(InputError) as e:
        copytrace.find([tmp_path / "missing.jsonl"], engine="spark", spark_session=spark, progress=False)
    assert "no such file" in str(e.value)


def test_cli_engine_spark(spark, tmp_path):
    """``find --engine spark`` through the CLI, in this process: it runs on the active session (the
    shared one: no second JVM to start)."""
    from click.testing import CliRunner

    from copytrace.cli import main

    r = CliRunner().invoke(main, ["find", str(SEEDS), "--out", str(tmp_path / "o"), "--threshold", "0.2",
                                  "--engine", "spark", "--spark-partitions", "2", "-q"])
    assert r.exit_code == 0, (r.output[-2000:], r.exception)
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["engine"] == "spark" and summary["counts"]["clusters"] == 1


def test_pair_filters_and_uri_inputs_are_the_same_on_spark(spark, tmp_path):
    """--pairs-within and --pairs on Spark: the local engine's files, byte for byte; with inputs
    given as file:// URIs, listed through Hadoop's FileSystem (the path hdfs:// and s3a:// inputs
    take): the same documents and ids as the plain paths."""
    inputs = _corpus(tmp_path)
    uris = [inputs[0].resolve().as_uri(), str(inputs[1]), inputs[2].resolve().as_uri()]
    opts = dict(threshold=0.3, progress=False, date_field="date", source_field="source", pairs_within=1.5,
                pairs="across-sources", report=False)
    local = copytrace.find(inputs, tmp_path / "local", **opts)
    dist = copytrace.find(uris, tmp_path / "spark", engine="spark", spark_session=spark, **opts)
    for name in OUTPUTS:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "spark" / name).read_bytes(), name
    dr, lr = dist.summary["read"], local.summary["read"]  # the same, but for URIs in place of paths
    assert dr["files"] == lr["files"] == 7 and dr["skipped"] == lr["skipped"]
    assert [re.sub(r"^file:(//)?", "", w) for w in dr["warnings"]] == lr["warnings"]
    assert 0 < local.pairs.num_rows
    assert (local.summary["counts"]["candidate_pairs"] == dist.summary["counts"]["candidate_pairs"])
    assert local.summary["counts"]["candidate_pairs"]["removed_by_pair_filters"] > 0
    with pytest.raises(copytrace.errors.OptionError, match="local engine"):
        copytrace.find(inputs, engine="spark", spark_session=spark, against=[str(inputs[0])], progress=False)
