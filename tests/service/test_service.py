"""The HTTP service: a REAL uvicorn server in a subprocess on a free loopback port."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from copytrace.index import Index

from helpers import KEY, make_corpus, start_server, stop_server

@pytest.fixture(scope="module")
def corpus():
    return make_corpus(n_stories=6, copies=3, uniques=6, seed=5)[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = Path(tmp_path_factory.mktemp("svc")) / "svc.duckdb"
    Index.create(db).close()
    proc, base = start_server(db, "--host", "127.0.0.1", "--query-processes", "2")
    yield base
    stop_server(proc)


W = {"X-API-Key": KEY}


def test_add_query_get_delete(server, corpus):
    c = httpx.Client(base_url=server, timeout=30)
    r = c.post("/documents", json={"documents": corpus}, headers=W)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == len(corpus)
    r = c.post("/documents", json={"documents": corpus[:2]}, headers={"Authorization": f"Bearer {KEY}"})
    assert r.json()["skipped"] == {"duplicate_id": 2}
    health = c.get("/health").json()
    assert health["documents"] >= len(corpus)
    assert health["query_processes"] == 2  # verification and alignment run in worker processes
    d0 = corpus[0]
    r = c.post("/query", json={"text": d0["text"]})
    assert r.status_code == 200
    matches = r.json()["matches"]
    assert matches[0]["similarity"] == 1.0
    assert next(m for m in matches if m["doc_id"] == d0["id"])["similarity"] == 1.0
    if d0["id"].startswith("story"):
        story = d0["id"].split("-")[0]
        assert {m["doc_id"] for m in matches} == {d["id"] for d in corpus if d["id"].startswith(story)}
        assert any(m["passages"] for m in matches[1:])
    r = c.post("/query", json={"text": d0["text"], "limit": 1, "threshold": 0.9, "passages": False})
    assert len(r.json()["matches"]) == 1 and r.json()["matches"][0]["passages"] == []
    got = c.get(f"/documents/{d0['id']}").json()
    assert got["text"] == d0["text"]
    r = c.post("/documents", json={"documents": [{"id": "a/b.txt", "text": "a path-like id, slashes and all"}]},
               headers=W)
    assert r.json()["added"] == 1
    assert c.get("/documents/a/b.txt").json()["id"] == "a/b.txt"
    assert c.delete("/documents/a/b.txt", headers=W).json() == {"removed": 1}
    assert c.get("/documents/a/b.txt").status_code == 404
    assert c.delete("/documents/a/b.txt", headers=W).status_code == 404
    page = c.get("/")
    assert page.status_code == 200 and "<textarea" in page.text and "http" not in page.text.split("<script>")[1]
    assert c.get("/docs").status_code == 200
    assert "/query" in c.get("/openapi.json").json()["paths"]


def test_errors_are_clear_json(server):
    c = httpx.Client(base_url=server, timeout=30)
    doc = {"documents": [{"id": "x1", "text": "some text here"}]}
    # API key for writes
    assert c.post("/documents", json=doc).status_code == 401
    assert c.post("/documents", json=doc, headers={"X-API-Key": "wrong"}).status_code == 401
    assert c.delete("/documents/x1").status_code == 401
    # reads stay open
    assert c.post("/query", json={"text": "some text"}).status_code == 200
    cases = [
        (b'{"text": ', 400, "invalid JSON"),
        (b'{"text": "caf\xe9 au lait"}', 400, "UTF-8"),
        (json.dumps({"text": ""}).encode(), 422, None),
        (json.dumps({"text": 12}).encode(), 422, None),
        (json.dumps({"txt": "abc"}).encode(), 422, None),
        (json.dumps({"text": "abc", "threshold": 2}).encode(), 422, None),
        (json.dumps({"text": "abc", "limit": "many"}).encode(), 422, None),
        (json.dumps(["text"]).encode(), 422, None),
    ]
    for body, status, words in cases:
        r = c.post("/query", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == status, (body, r.status_code, r.text)
        detail = r.json()["detail"]
        assert detail
        if words:
            assert words in detail
    r = c.post("/documents", json={"documents": [{"id": "x", "text": ""}]}, headers=W)
    assert r.status_code == 422
    r = c.post("/documents", json={"documents": [{"id": 5, "text": "abc"}]}, headers=W)
    assert r.status_code == 422
    r = c.post("/documents", json={"documents": []}, headers=W)
    assert r.status_code == 422
    many = {"documents": [{"id": f"m{i}", "text": "w"} for i in range(1001)]}
    assert c.post("/documents", json=many, headers=W).status_code == 413
    big = b'{"text": "' + b"a " * (5 * 1024 * 1024 + 10) + b'"}'
    r = c.post("/query", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "bytes" in r.json()["detail"]
    assert c.get("/documents/never-added").status_code == 404
    assert "never-added" in c.get("/documents/never-added").json()["detail"]


def test_concurrent_writers_and_readers(server, corpus):
    base = server
    n_writers, per_writer, n_readers, per_reader = 4, 25, 4, 25
    errors: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            for i in range(per_writer):
                text = corpus[(w * per_writer + i) % len(corpus)]["text"] + f" writer {w} item {i}"
                r = c.post("/documents", json={"documents": [{"id": f"w{w}-{i}", "text": text}]}, headers=W)
                with lock:
                    if r.status_code != 200 or r.json()["added"] != 1:
                        errors.append(f"write w{w}-{i}: {r.status_code} {r.text}")

    def reader(k: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            for i in range(per_reader):
                r = c.post("/query", json={"text": corpus[(k + i) % len(corpus)]["text"], "limit": 5})
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code != 200 or not r.json()["matches"]:
                        errors.append(f"query {k}/{i}: {r.status_code} {r.text[:200]}")

    t0 = time.time()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(n_writers)]
    threads += [threading.Thread(target=reader, args=(k,)) for k in range(n_readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert time.time() - t0 < 45
    assert not errors, errors[:5]
    assert statuses == [200] * (n_readers * per_reader)
    c = httpx.Client(base_url=base, timeout=30)
    for w in range(n_writers):
        for i in range(per_writer):
            r = c.get(f"/documents/w{w}-{i}")
            assert r.status_code == 200 and r.json()["text"].endswith(f"writer {w} item {i}")
    # no document lost or duplicated: re-adding them all skips every one
    again = [{"id": f"w{w}-{i}", "text": "x y z"} for w in range(n_writers) for i in range(per_writer)]
    r = c.post("/documents", json={"documents": again}, headers=W)
    assert r.json()["added"] == 0 and r.json()["skipped"] == {"duplicate_id": n_writers * per_writer}


def test_queries_follow_adds_replaces_and_deletes(server, corpus):
    """The server answers from in-memory tables loaded at start: every committed write shows."""
    c = httpx.Client(base_url=server, timeout=30)
    base = corpus[1]["text"]
    text = "An entirely new story about the harbour authority. " + base[::-1]
    q = {"text": text, "limit": 1000, "passages": True}
    assert all(m["doc_id"] != "fresh-1" for m in c.post("/query", json=q).json()["matches"])
    assert c.post("/documents", json={"documents": [{"id": "fresh-1", "text": text}]}, headers=W).json()["added"] == 1
    ms = c.post("/query", json=q).json()["matches"]
    assert ms[0]["doc_id"] == "fresh-1" and ms[0]["similarity"] == 1.0 and ms[0]["passages"]
    other = "Nothing like it: " + corpus[2]["text"]
    r = c.post("/documents?replace=true", json={"documents": [{"id": "fresh-1", "text": other}]}, headers=W)
    assert r.json()["replaced"] == 1
    assert all(m["doc_id"] != "fresh-1" for m in c.post("/query", json=q).json()["matches"])
    ms = c.post("/query", json={"text": other, "limit": 1000}).json()["matches"]
    assert any(m["doc_id"] == "fresh-1" and m["similarity"] == 1.0 for m in ms)
    assert c.delete("/documents/fresh-1", headers=W).json() == {"removed": 1}
    ms = c.post("/query", json={"text": other, "limit": 1000}).json()["matches"]
    assert all(m["doc_id"] != "fresh-1" for m in ms)
    # added again under the same id: a new internal seq, found again
    assert c.post("/documents", json={"documents": [{"id": "fresh-1", "text": text}]}, headers=W).json()["added"] == 1
    assert c.post("/query", json=q).json()["matches"][0]["doc_id"] == "fresh-1"
    assert c.delete("/documents/fresh-1", headers=W).status_code == 200


def test_page_in_a_real_browser_shows_matches_side_by_side(server, corpus):
    """The page at / in headless Chromium: paste a text, search, click a match: the marks on both
    sides are the passages that POST /query returns, over the right texts."""
    chromium = os.environ.get("COPYTRACE_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists() and not os.environ.get("CI"):
        pytest.skip(f"{chromium} not found (apt-get install -y chromium); CI is not set")
    if not os.environ.get("CI"):
        pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    from playwright.sync_api import sync_playwright

    c = httpx.Client(base_url=server, timeout=30)
    c.post("/documents", json={"documents": corpus}, headers=W)  # already there when run after the others
    copy = next(d for d in corpus if d["id"].startswith("story") and not d["id"].endswith("-copy0"))
    query = "Pasted into a newsroom tool:\n\n" + copy["text"]
    want = c.post("/query", json={"text": query, "limit": 10}).json()["matches"]
    assert want and all(m["passages"] for m in want)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/")
            page.fill("#q", query)
            page.click("#go")
            page.wait_for_selector("tr.m")
            rows = page.locator("tr.m td:first-child").all_text_contents()
            assert rows == [m["doc_id"] for m in want]
            page.locator("tr.m").nth(0).click()
            page.wait_for_selector("#side[style*='flex']")
            m0 = want[0]
            doc_text = c.get(f"/documents/{m0['doc_id']}").json()["text"]
            marks_a = page.locator("#ta mark").all_text_contents()
            marks_b = page.locator("#tb mark").all_text_contents()
            ps = sorted(m0["passages"], key=lambda q: q["a_start"])
            assert marks_a == [query[q["a_start"]:q["a_end"]] for q in ps]
            assert sorted(marks_b) == sorted(doc_text[q["b_start"]:q["b_end"]] for q in m0["passages"])
            assert "Pasted into a newsroom tool" not in "".join(marks_a)  # the addition is not a passage
            assert page.locator("#hb").text_content().startswith(m0["doc_id"])
            page.fill("#q", "")
            page.click("#go")
            page.wait_for_selector("#status.err")  # an empty text: the API's 422, shown as an error
            assert errors == []
        finally:
            browser.close()


def test_query_takes_the_pair_filters(server):
    """POST /query's date window and source filters keep exactly the matches that filtering the
    unfiltered answer afterwards keeps (the rule of `find` and `index query`); bad ones are 422."""
    import random

    from copytrace.stages.pairfilter import parse_days

    docs, _ = make_corpus(n_stories=3, copies=5, uniques=2, seed=11)
    rng = random.Random(11)
    for d in docs:
        d["id"] = "pf-" + d["id"]
        d["date"] = f"2024-03-{rng.randint(1, 28):02d}"
        d["source"] = f"site{rng.randint(0, 2)}"
    docs[0]["date"] = "someday"  # unreadable: pairs with none under a date window
    del docs[1]["source"]  # no source: pairs with none under a source filter
    c = httpx.Client(base_url=server, timeout=30)
    assert c.post("/documents", json={"documents": docs}, headers=W).json()["added"] == len(docs)
    meta = {d["id"]: d for d in docs}
    q = next(d for d in docs if d["id"].endswith("-orig") and d["date"] != "someday" and "source" in d)
    every = c.post("/query", json={"text": q["text"], "limit": 1000, "passages": False}).json()["matches"]
    assert len(every) >= 6
    q_day = parse_days([q["date"]])[0]
    seen_filtered = False
    for within, mode in ((4, "all"), (None, "across-sources"), (None, "within-sources"), (10, "across-sources")):
        body = {"text": q["text"], "limit": 1000, "passages": False, "date": q["date"], "source": q["source"],
                "pairs": mode}
        if within is not None:
            body["pairs_within"] = within
        r = c.post("/query", json=body)
        assert r.status_code == 200, r.text
        want = []
        for m in every:
            d = meta[m["doc_id"]]
            if within is not None and not abs(parse_days([d["date"]])[0] - q_day) <= within:
                continue
            if mode != "all" and ("source" not in d or (d["source"] != q["source"]) != (mode == "across-sources")):
                continue
            want.append(m)
        assert r.json()["matches"] == want
        seen_filtered |= 0 < len(want) < len(every)
    assert seen_filtered  # the corpus exercises the filters
    for bad, what in (({"pairs_within": 3}, "date"), ({"pairs": "across-sources"}, "source"),
                      ({"pairs": "other"}, "pairs"), ({"pairs_within": -1, "date": "2024-03-01"}, "pairs_within")):
        r = c.post("/query", json={"text": q["text"], **bad})
        assert r.status_code == 422 and what in json.dumps(r.json()["detail"]), r.text
