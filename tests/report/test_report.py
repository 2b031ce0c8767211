"""report.html without a browser: self-contained, data embedded, lazily rendered."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pytest

from helpers import SEEDS, make_corpus, write_jsonl
import copytrace
from copytrace import schemas
from copytrace.report.html import report_data, write_pair_report, write_report

SEED_A, SEED_B = sorted(SEEDS.glob("*.txt"))


def _data(html_text: str) -> dict:
    m = re.search(r'<script type="application/json" id="copytrace-data">(.*?)</script>', html_text, re.S)
    assert m
    return json.loads(m.group(1))


def _self_contained(html_text: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html_text, re.I)
    assert "<link" not in html_text.lower()
    assert "@import" not in html_text
    # only the SVG namespace names a URL, as an identifier
    for url in re.findall(r"https?://[^\s\"'<>]+", html_text):
        assert url == "http://www.w3.org/2000/svg", url


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rep")
    docs, _ = make_corpus(n_stories=4, copies=2, uniques=3, seed=5)
    docs.append({"id": "evil</script><b>", "text": docs[0]["text"] + " <script>alert(1)</script>"})
    write_jsonl(tmp / "c.jsonl", docs)
    res = copytrace.find(tmp / "c.jsonl", tmp / "out", progress=False, workers=1)
    texts = {d["id"]: d["text"] for d in docs}
    return tmp, res, texts


def test_report_self_contained_and_complete(found):
    tmp, res, texts = found
    asked = []

    def get(doc_id):
        asked.append(doc_id)
        return texts[doc_id]

    path = write_report(tmp / "out", res.documents, res.pairs, res.passages, get, res.summary)
    assert path == tmp / "out" / "report.html"
    page = path.read_text(encoding="utf-8")
    _self_contained(page)
    assert page.count("</script>") == 2  # the data cannot close its script element
    data = _data(page)
    clusters = res.clusters()
    assert len(data["clusters"]) == len(clusters)
    # texts only for documents in clusters with copies, each asked for once
    in_clusters = sorted(d for ds in clusters.values() for d in ds)
    assert sorted(asked) == in_clusters and sorted(data["texts"]) == in_clusters
    # every passage of passages.parquet is in the data, with its pair
    n = sum(len(p[5]) for p in data["pairs"])
    assert n == res.passages.num_rows
    assert len(data["pairs"]) == res.pairs.num_rows
    assert data["stats"]["documents"] == res.documents.num_rows
    assert "<svg" in page and "Pair similarity" in page and "Cluster sizes" in page


def test_report_data_optional_columns_and_boilerplate(found):
    _, res, texts = found
    pairs = res.pairs.set_column(
        res.pairs.schema.get_field_index("original"), "original", pa.array(["a"] * res.pairs.num_rows)
    )
    pairs = pairs.set_column(
        pairs.schema.get_field_index("direction_confidence"), "direction_confidence",
        pa.array([0.7] * res.pairs.num_rows),
    )
    some = next(iter(res.clusters().values()))[0]
    data = report_data(res.documents, pairs, res.passages, texts, {}, {some: [(0, 5)], "not-there": [(0, 1)]})
    assert all(p[3] == "a" and p[4] == 0.7 for p in data["pairs"])
    assert data["boilerplate"] == {some: [[0, 5]]}


def test_report_empty(tmp_path):
    empty = lambda s: pa.Table.from_pylist([], schema=s)  # noqa: E731
    docs = pa.table({"doc_id": ["x"], "length": [1], "cluster_id": ["x"], "is_representative": [True], "n_copies": [1],
                     "cluster_original": ["x"]}, schema=schemas.DOCUMENTS)
    path = write_report(tmp_path / "r.html", docs, empty(schemas.PAIRS), empty(schemas.PASSAGES), {}, {})
    data = _data(path.read_text(encoding="utf-8"))
    assert data["clusters"] == [] and data["texts"] == {}


def test_pair_report(tmp_path):
    cmp = copytrace.compare(SEED_A, SEED_B)
    path = write_pair_report(tmp_path / "pair.html", cmp, SEED_A.name, SEED_B.name)
    page = path.read_text(encoding="utf-8")
    _self_contained(page)
    data = _data(page)
    assert data["open"] == SEED_A.name
    (pair,) = data["pairs"]
    assert pair[3] == "a"  # the AP reprint is the source
    assert [tuple(p[:5]) for p in pair[5]] == [(p.a_start, p.a_end, p.b_start, p.b_end, p.kind) for p in cmp.passages]
    assert data["texts"] == {SEED_A.name: cmp.text_a, SEED_B.name: cmp.text_b}
    # same names on both sides stay distinct
    same = _data(write_pair_report(tmp_path / "same.html", cmp, "x.txt", "x.txt").read_text(encoding="utf-8"))
    assert sorted(same["texts"]) == ["A: x.txt", "B: x.txt"]


def test_pair_report_changes(tmp_path):
    """The seed pair's "what changed": headline kept, body reworded, appeal added."""
    cmp = copytrace.compare(SEED_A, SEED_B)
    data = _data(write_pair_report(tmp_path / "pair.html", cmp, SEED_A.name, SEED_B.name).read_text(encoding="utf-8"))
    assert data["pairs"][0][3] == "a"
    chg = data["changes"]["0"]
    src, cpy = cmp.text_a, cmp.text_b  # a is the source

    def text(c):
        return cpy[c[2][0] : c[2][1]] if c[2] else src[c[1][0] : c[1][1]]

    by_text = {text(c): c for c in chg}
    # the headline is kept verbatim
    head = by_text["Putin hosts leader of Belarus for talks on closer ties"]
    assert head[0] == "kept" and head[4] == [] and head[3] == 1.0
    assert cpy[head[2][0] : head[2][1]] == src[head[1][0] : head[1][1]]
    # The Independent's appeal is added (no boilerplate spans were given)
    for s in ("Your support helps us to tell the story", "Your support makes all the difference."):
        assert by_text[s][0] == "added" and by_text[s][1] is None and by_text[s][5] is False
    appeal = [c for c in chg if c[0] == "added" and "Independent" in text(c)]
    assert len(appeal) >= 2
    # most body sentences of the copy are reworded, each with a word diff
    reworded = [c for c in chg if c[0] == "reworded"]
    body = [c for c in chg if c[2] and c[0] != "added" and c is not head]
    assert len(reworded) >= 5 and len(reworded) > len(body) / 2
    for c in reworded:
        ops = {op for op, _ in c[4]}
        assert c[1] and c[2] and 0 < c[3] < 1
        assert "=" in ops and ops & {"-", "+"} and ops <= {"=", "-", "+"}
    # the copy's sentences come in reading order; the source's tail is cut
    starts = [c[2][0] for c in chg if c[2]]
    assert starts == sorted(starts)
    assert any(c[0] == "cut" and "Associated Press" in text(c) for c in chg)
    # boilerplate in the copy is told apart from other additions
    ys = cpy.index("Your support helps us")
    ye = cpy.index("Your support makes all the difference.") + len("Your support makes all the difference.")
    bp = _data(write_pair_report(tmp_path / "bp.html", cmp, SEED_A.name, SEED_B.name, boilerplate_b=[(ys, ye)])
               .read_text(encoding="utf-8"))["changes"]["0"]
    added = [c for c in bp if c[0] == "added"]
    assert any(c[5] for c in added) and not all(c[5] for c in added)
    assert all(c[5] == (c[2][0] >= ys and c[2][1] <= ye) for c in added)


def test_report_changes_follow_original(found):
    """Changes for every pair of a cluster, the copy relative to the side ``original`` names."""
    _, res, texts = found
    data = report_data(res.documents, res.pairs, res.passages, texts, {})
    assert sorted(data["changes"], key=int) == [str(i) for i in range(len(data["pairs"]))]
    pairs = res.pairs.set_column(
        res.pairs.schema.get_field_index("original"), "original", pa.array(["b"] * res.pairs.num_rows)
    )
    flipped = report_data(res.documents, pairs, res.passages, texts, {})
    assert {p[3] for p in flipped["pairs"]} == {"b"}
    for i, (a, b, _sim, orig, *_rest) in enumerate(data["pairs"]):
        assert flipped["pairs"][i][:2] == [a, b]
        first = (b, a) if orig == "b" else (a, b)  # find's own verdict; "" means a
        for d, (src, cpy) in ((data, first), (flipped, (b, a))):
            chg = d["changes"][str(i)]
            assert chg and {c[0] for c in chg} <= {"kept", "reworded", "moved", "cut", "added"}
            for c in chg:
                if c[1]:
                    assert 0 <= c[1][0] < c[1][1] <= len(texts[src])
                if c[2]:
                    assert 0 <= c[2][0] < c[2][1] <= len(texts[cpy])
                if c[0] == "kept":
                    assert texts[src][c[1][0] : c[1][1]].split() == texts[cpy][c[2][0] : c[2][1]].split()
