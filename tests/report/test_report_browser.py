"""report.html in a real headless Chromium: the highlighted spans are the passages.

Needs Debian's ``chromium`` (/usr/bin/chromium) and the ``playwright`` Python
package (its own browser download is not used).  Skipped only when chromium
is absent and CI is not set; in CI it must run.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

from helpers import REPO, SEEDS, make_corpus, write_jsonl
import copytrace
from copytrace.report.html import write_pair_report, write_report

CHROMIUM = os.environ.get("COPYTRACE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium); CI is not set", allow_module_level=True)
if not os.environ.get("CI"):
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
from playwright.sync_api import sync_playwright  # noqa: E402  (in CI a missing package fails)

SPANS_JS = """els => els.map(e => ({doc: e.dataset.doc, start: +e.dataset.start, end: +e.dataset.end,
                                   kind: e.dataset.kind, passage: +e.dataset.passage, text: e.textContent}))"""


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    yield pg
    assert errors == []
    assert all(u.startswith("file://") for u in requests), requests  # no network
    ctx.close()


def _open(page, path: Path) -> None:
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']")


def test_cluster_spans_equal_passages(tmp_path, page):
    docs, _ = make_corpus(n_stories=4, copies=2, uniques=3, seed=11)
    docs.append({"id": "ünï/cödé", "text": "Ünïcödé 😀 first. " + docs[0]["text"]})  # astral chars: offsets in code points
    write_jsonl(tmp_path / "c.jsonl", docs)
    res = copytrace.find(tmp_path / "c.jsonl", tmp_path / "out", progress=False, workers=1)
    texts = {d["id"]: d["text"] for d in docs}
    path = write_report(tmp_path / "out", res.documents, res.pairs, res.passages, texts, res.summary)
    _open(page, path)
    items = page.locator("#clusters li")
    assert items.count() == len(res.clusters())
    # the filter works client-side
    # the cluster of the document with astral characters (JS strings count UTF-16 units)
    (target,) = [kv for kv in res.clusters().items() if "ünï/cödé" in kv[1]]
    page.fill("#filter", target[1][-1])
    assert page.locator("#clusters li").count() >= 1
    page.click(f"#clusters li[data-cluster='{target[0]}']")
    by_pair = defaultdict(list)
    for p in res.passages.to_pylist():
        by_pair[(p["doc_a"], p["doc_b"])].append(p)
    members = set(target[1])
    cluster_pairs = [(a, b) for a, b in zip(res.pairs.column("doc_a").to_pylist(), res.pairs.column("doc_b").to_pylist())
                     if a in members]
    buttons = page.locator("#pairs button.pair")
    assert buttons.count() == len(cluster_pairs) >= 1
    checked = 0
    for k in range(buttons.count()):
        buttons.nth(k).click()
        shown = {page.get_attribute("#side-a", "data-doc"), page.get_attribute("#side-b", "data-doc")}
        (a, b), = [pr for pr in cluster_pairs if set(pr) == shown]
        expected = by_pair[(a, b)]
        spans = page.eval_on_selector_all("#detail .hl-span", SPANS_JS)
        assert {s["doc"] for s in spans} <= shown
        got_a = sorted((s["start"], s["end"], s["kind"], s["passage"]) for s in spans
                       if s["doc"] == a and s["kind"] in ("verbatim", "reworded"))
        got_b = sorted((s["start"], s["end"], s["kind"], s["passage"]) for s in spans
                       if s["doc"] == b and s["kind"] in ("verbatim", "reworded"))
        assert got_a == sorted((p["a_start"], p["a_end"], p["kind"], i) for i, p in enumerate(expected))
        assert got_b == sorted((p["b_start"], p["b_end"], p["kind"], i) for i, p in enumerate(expected))
        for s in spans:  # the span shows exactly the text at its offsets (code points)
            assert s["text"] == texts[s["doc"]][s["start"] : s["end"]]
        # each opened pair gets its own "What changed", the copy on the right relative to the left
        assert page.inner_text("#changes h3") == "What changed"
        assert page.locator("#changes .count").count() == 6
        checked += 1
    assert checked >= 1
    # hovering a passage highlights its counterpart on the other side
    first = page.locator("#side-a .hl-span[data-passage='0']").first
    first.hover()
    assert page.locator("#side-b .hl-span.on[data-passage='0']").count() >= 1


def test_seed_pair_report_and_screenshot(tmp_path, page):
    a, b = sorted(SEEDS.glob("*.txt"))
    cmp = copytrace.compare(a, b)
    path = write_pair_report(tmp_path / "pair.html", cmp, a.name, b.name)
    _open(page, path)
    spans = page.eval_on_selector_all("#detail .hl-span", SPANS_JS)
    got = defaultdict(dict)
    for s in spans:
        if s["passage"] >= 0:
            got[s["passage"]][s["doc"]] = (s["start"], s["end"], s["kind"])
    assert len(got) == len(cmp.passages)
    for i, p in enumerate(cmp.passages):
        assert got[i] == {a.name: (p.a_start, p.a_end, p.kind), b.name: (p.b_start, p.b_end, p.kind)}
    for s in spans:
        assert s["text"] == (cmp.text_a if s["doc"] == a.name else cmp.text_b)[s["start"] : s["end"]]
    # ThinkPol's AP reprint on the left as the source; the appeal is added, the tail cut
    assert page.inner_text("#head-a").startswith("source: " + a.name)
    kinds = {s["kind"] for s in spans}
    assert {"verbatim", "reworded", "added", "cut"} <= kinds
    # the README's picture: COPYTRACE_SCREENSHOT=docs/seed-pair.png pytest tests/report/test_report_browser.py
    shot = Path(os.environ.get("COPYTRACE_SCREENSHOT") or tmp_path / "seed-pair.png")
    if not shot.is_absolute():
        shot = REPO / shot
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_seed_pair_what_changed(tmp_path, page):
    a, b = sorted(SEEDS.glob("*.txt"))
    cmp = copytrace.compare(a, b)
    path = write_pair_report(tmp_path / "pair.html", cmp, a.name, b.name)
    _open(page, path)
    box = page.locator("#detail #changes")
    assert box.locator("h3").inner_text() == "What changed"
    # below the side-by-side view
    assert box.bounding_box()["y"] >= page.locator("#detail .cols").bounding_box()["y"] + 100
    counts = {el["kind"]: int(el["n"]) for el in page.eval_on_selector_all(
        "#changes .count", "els => els.map(e => ({kind: e.dataset.kind, n: e.querySelector('b').textContent}))")}
    assert counts["kept"] >= 1 and counts["reworded"] >= 5 and counts["added"] >= 5 and counts["cut"] >= 1
    assert counts["boilerplate"] == 0  # none given for this pair
    # reworded sentences show their word diff: deletions struck through in red, insertions in green
    dels = page.eval_on_selector_all("#changes li[data-kind='reworded'] del", """els => els.map(e => {
        const cs = getComputedStyle(e); return {text: e.textContent, deco: cs.textDecorationLine, color: cs.color}; })""")
    inss = page.eval_on_selector_all("#changes li[data-kind='reworded'] ins", """els => els.map(e => {
        const cs = getComputedStyle(e); return {text: e.textContent, deco: cs.textDecorationLine, color: cs.color}; })""")
    assert dels and inss
    assert all(d["text"].strip() and "line-through" in d["deco"] for d in dels)
    assert all(i["text"].strip() and "line-through" not in i["deco"] for i in inss)

    def rgb(c):
        return tuple(int(x) for x in c[c.index("(") + 1 : c.index(")")].split(",")[:3])

    assert all(rgb(d["color"])[0] > rgb(d["color"])[1] for d in dels)  # red
    assert all(rgb(i["color"])[1] > rgb(i["color"])[0] for i in inss)  # green
    # the deleted words are the source's, the inserted ones the copy's
    assert any(d["text"] in cmp.text_a and d["text"] not in cmp.text_b for d in dels)
    assert any(i["text"] in cmp.text_b and i["text"] not in cmp.text_a for i in inss)
    # cut and added sentences are listed; the appeal is an addition, the AP credit a cut
    added = page.locator("#changes li[data-kind='added']").all_inner_texts()
    cut = page.locator("#changes li[data-kind='cut']").all_inner_texts()
    assert "Your support makes all the difference." in added
    assert any("Associated Press" in t for t in cut)
    assert page.locator("#changes li[data-kind='kept']").count() == 0  # counted, not listed


def test_reuse_clusters_in_the_report(tmp_path, page):
    """A page holding three stories, each reprinted once: the report lists three
    reused passages ("this story appears in 2 documents: first on …, at …"),
    opens each occurrence beside the original, and shows the page's three
    stories in three colours."""
    import random

    from helpers import make_copy, make_story

    rng = random.Random(3)
    stories = [make_story(rng) for _ in range(3)]
    docs = [{"id": "page", "text": "THE HERALD\n\n" + "\n\n".join(stories), "date": "1916-06-01", "source": "Herald"}]
    docs += [{"id": f"copy{i}", "text": make_copy(rng, s, edit=0.03), "date": f"1916-06-0{i + 2}", "source": f"Paper {i}"}
             for i, s in enumerate(stories)]
    write_jsonl(tmp_path / "p.jsonl", docs)
    res = copytrace.find(tmp_path / "p.jsonl", tmp_path / "out", progress=False, workers=1,
                         date_field="date", source_field="source")
    texts = {d["id"]: d["text"] for d in docs}
    rows = res.reuse.to_pylist()
    ids = sorted({r["reuse_id"] for r in rows})
    assert len(ids) == 3
    _open(page, tmp_path / "out" / "report.html")
    items = page.locator("#reuse-list li")
    assert items.count() == 3
    for k in range(3):
        assert "this story appears in 2 documents: first on 1916-06-01, at Herald" in items.nth(k).inner_text()
    for rid in ids:
        page.click(f"#reuse-list li[data-reuse='{rid}']")
        occ = page.locator("#pairs button.occ")
        assert occ.count() == 2
        (copy_row,) = [r for r in rows if r["reuse_id"] == rid and not r["is_original"]]
        (orig_row,) = [r for r in rows if r["reuse_id"] == rid and r["is_original"]]
        assert orig_row["doc_id"] == "page"
        occ.nth(1).click()
        # side by side: the original's span on the left, the occurrence's document on the right
        assert page.get_attribute("#side-a", "data-doc") == "page"
        assert page.get_attribute("#side-b", "data-doc") == copy_row["doc_id"]
        left = page.eval_on_selector_all("#side-a .hl-span[data-passage='0']", SPANS_JS)
        assert [(s["start"], s["end"]) for s in left] == [(orig_row["start"], orig_row["end"])]
        assert left[0]["text"] == texts["page"][orig_row["start"]:orig_row["end"]]
        cur = page.locator("#side-b .story.cur")
        assert cur.count() == 1 and cur.get_attribute("data-reuse") == rid
        assert (int(cur.get_attribute("data-start")), int(cur.get_attribute("data-end"))) == (
            copy_row["start"], copy_row["end"])
        # the page itself: its three stories, each in its own colour
        occ.nth(0).click()
        stories_el = page.locator("#side-b .story")
        assert stories_el.count() == 3
        colours = {stories_el.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(3)}
        assert len(colours) == 3
        assert {stories_el.nth(i).get_attribute("data-reuse") for i in range(3)} == set(ids)
