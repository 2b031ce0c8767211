"""The service against hostile clients, on a REAL server: query deadlines (503, other clients
served), header limits, Content-Security-Policy, offline API docs, and an empty API key refused."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from copytrace.cli import main
from copytrace.index import Index

from helpers import make_corpus, start_server, stop_server

KEY = "hardening-key"
W = {"X-API-Key": KEY}
TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(n_stories=4, copies=2, uniques=4, seed=7)[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory, corpus):
    db = Path(tmp_path_factory.mktemp("hard")) / "hard.duckdb"
    with Index.create(db) as idx:
        idx.add(corpus)
    proc, base = start_server(db, "--query-processes", "2", "--query-timeout", str(TIMEOUT_S), key=KEY)
    yield base
    stop_server(proc)


# ------------------------------------------------------------------------------------ deadlines

def _repetitive(word: str, n: int) -> str:
    return (word + " ") * n


def test_a_pathological_query_gets_503_and_others_are_served(server, corpus):
    """Documents of one word repeated tens of thousands of times and a similar query: the aligner's
    work on repeats is far beyond the deadline.  The query is answered 503 within the deadline
    (its worker is stopped and replaced) while another client's ordinary queries are answered.
    80 such documents, all aligned (limit 1000): beyond the deadline even if the aligner caps its
    work per pair at a few tens of milliseconds."""
    c = httpx.Client(base_url=server, timeout=60)
    docs = [{"id": f"patho-{i}", "text": _repetitive("lorem", 20_000 + 100 * i)} for i in range(80)]
    for lo in range(0, len(docs), 20):  # 10 MB a request at most
        r = c.post("/documents", json={"documents": docs[lo:lo + 20]}, headers=W)
        assert r.status_code == 200 and r.json()["added"] == 20, r.text
    before = c.get("/health").json()
    normal = corpus[0]["text"]
    want = c.post("/query", json={"text": normal}).json()["matches"]
    assert want and want[0]["doc_id"] == corpus[0]["id"]

    results: dict[str, object] = {}

    def pathological() -> None:
        t0 = time.monotonic()
        resp = httpx.post(server + "/query", json={"text": _repetitive("lorem", 60_000), "limit": 1000},
                          timeout=60)
        results["patho"] = (resp.status_code, resp.json(), time.monotonic() - t0)

    th = threading.Thread(target=pathological)
    th.start()
    time.sleep(0.3)  # the pathological query is in its worker now
    others = []
    while th.is_alive():  # another client, meanwhile
        t0 = time.monotonic()
        resp = httpx.post(server + "/query", json={"text": normal}, timeout=60)
        others.append((resp.status_code, time.monotonic() - t0, resp.json()))
        time.sleep(0.1)
    th.join()
    status, body, took = results["patho"]
    assert status == 503, body
    assert "deadline" in body["detail"] and "--query-timeout" in body["detail"]
    assert TIMEOUT_S - 0.2 <= took <= TIMEOUT_S + 1.5
    assert others, "no ordinary query ran while the pathological one did"
    assert all(s == 200 and b["matches"] == want for s, _, b in others), others
    after = c.get("/health").json()
    assert after["query_timeouts"] == before["query_timeouts"] + 1
    assert after["query_process_restarts"] >= before["query_process_restarts"] + 1
    # the worker was replaced: the pool is whole again and answers as before
    time.sleep(0.5)
    assert c.post("/query", json={"text": normal}).json()["matches"] == want
    for d in docs:
        assert c.delete(f"/documents/{d['id']}", headers=W).status_code == 200


# ------------------------------------------------------------------------------------ headers

def _raw(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it was all sent
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (ConnectionResetError, socket.timeout):
            pass
    return b"".join(chunks)


def test_a_one_megabyte_header_is_refused(server):
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    answer = _raw(server, big)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    assert status in (400, 431), answer[:200]
    # ordinary headers (8 KB of them) still pass, and the server is alive
    r = httpx.get(server + "/health", headers={"X-Pad": "b" * 8192}, timeout=10)
    assert r.status_code == 200


# ------------------------------------------------------------------------------------ CSP and docs

def test_strict_csp_on_the_page_and_every_answer(server):
    page = httpx.get(server + "/", timeout=10)
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/=]+'", directives["script-src"])
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/=]+'", directives["style-src"])
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp and "http" not in csp
    assert not re.search(r"""\sstyle=|\son[a-z]+=""", page.text)  # nothing the CSP would block
    for r in (httpx.get(server + "/health", timeout=10), httpx.post(server + "/query", json={}, timeout=10)):
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert r.headers["x-content-type-options"] == "nosniff"


def _urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"""url:\s*['"]([^'"]+)""", html)


def test_docs_reference_only_local_urls_that_resolve(server):
    for path in ("/docs", "/"):
        html = httpx.get(server + path, timeout=10).text
        urls = _urls(html)
        assert not [u for u in urls if re.match(r"(?i)^(https?:)?//", u)], urls
        for u in urls:
            r = httpx.get(httpx.URL(server + path).join(u), timeout=10)
            assert r.status_code == 200, (path, u, r.status_code)
    assert len(_urls(httpx.get(server + "/docs", timeout=10).text)) >= 4  # css, favicon, js, openapi.json
    assert httpx.get(server + "/redoc", timeout=10).status_code == 404  # a CDN page: not offered
    assert httpx.get(server + "/docs-assets/..%2Fswagger-ui.js.map", timeout=10).status_code == 404


def test_page_and_docs_work_in_a_browser_under_their_csp(server, corpus):
    """Headless Chromium: the page finds matches and /docs renders Swagger UI, with no CSP
    violation and no request leaving this server."""
    chromium = os.environ.get("COPYTRACE_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists() and not os.environ.get("CI"):
        pytest.skip(f"{chromium} not found (apt-get install -y chromium); CI is not set")
    if not os.environ.get("CI"):
        pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            console: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page.on("pageerror", lambda e: console.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(server + "/")
            page.fill("#q", corpus[0]["text"])
            page.click("#go")
            page.wait_for_selector("tr.m")
            page.locator("tr.m").nth(0).click()
            page.wait_for_selector("#side[style*='flex']")
            assert page.locator("#ta mark").count() > 0
            page.goto(server + "/docs")
            page.wait_for_selector(".swagger-ui .info .title")
            assert "copytrace" in page.locator(".swagger-ui .info .title").text_content()
            page.wait_for_selector("text=/query")
            assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
            assert requests and all(u.startswith(server + "/") or u.startswith("data:") for u in requests), requests
        finally:
            browser.close()


# ------------------------------------------------------------------------------------ API key

def test_an_empty_api_key_is_refused(tmp_path):
    from copytrace.service.app import create_app

    db = tmp_path / "k.duckdb"
    Index.create(db).close()
    for args, env in ((["--api-key", ""], {}), (["--api-key", "  "], {}), ([], {"COPYTRACE_API_KEY": ""})):
        r = CliRunner().invoke(main, ["serve", str(db), *args], env=env)
        assert r.exit_code == 2, r.output
        assert r.stderr == ("copytrace: error: the API key (--api-key or COPYTRACE_API_KEY) is empty: give a key, "
                            "or leave both out for open writes\n")
    with pytest.raises(ValueError, match="empty"):
        create_app(db, api_key="")


def test_without_worker_processes_the_deadline_still_answers(tmp_path):
    """--query-processes 0: the 503 comes at the deadline and says the computation goes on."""
    db = tmp_path / "inline.duckdb"
    normal = "a normal text about the weather in spring and the rain that fell all week long"
    with Index.create(db) as idx:
        # 80 repetitive documents, all aligned (limit 1000): seconds of work even with the aligner's cap
        idx.add([{"id": f"p{i}", "text": _repetitive("lorem", 20_000 + 100 * i)} for i in range(80)]
                + [{"id": "n", "text": normal}])
    proc, base = start_server(db, "--query-processes", "0", "--query-timeout", "1", key=KEY)
    try:
        t0 = time.monotonic()
        r = httpx.post(base + "/query", json={"text": _repetitive("lorem", 60_000), "limit": 1000}, timeout=60)
        took = time.monotonic() - t0
        assert r.status_code == 503 and "goes on in the server process" in r.json()["detail"]
        assert 0.8 <= took <= 2.5
        # the server goes on serving: a small query answers (on a loaded machine the abandoned
        # computation may still hold the CPU past this query's own 1 s deadline: ask again)
        deadline = time.monotonic() + 60
        while True:
            r = httpx.post(base + "/query", json={"text": normal}, timeout=60)
            if r.status_code != 503 or time.monotonic() > deadline:
                break
            assert "goes on in the server process" in r.json()["detail"]
        assert r.status_code == 200 and r.json()["matches"][0]["doc_id"] == "n"
    finally:
        stop_server(proc)
