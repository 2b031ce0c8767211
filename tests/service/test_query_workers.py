"""Query workers (copytrace.service.workers): real spawned processes, compared with the in-process path."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import pytest

from copytrace.index import Index
from copytrace.index.store import verify_rows
from copytrace.service.workers import QueryPool, default_processes, query_body

from helpers import make_corpus


@pytest.fixture(scope="module")
def index_and_corpus(tmp_path_factory):
    corpus = make_corpus(n_stories=5, copies=3, uniques=4, seed=11)[0]
    db = tmp_path_factory.mktemp("qw") / "qw.duckdb"
    idx = Index.create(db, threshold=0.3)
    idx.add(corpus)
    yield idx, corpus
    idx.close()


@pytest.fixture(scope="module")
def pool():
    with QueryPool(2) as p:
        yield p


def test_the_two_halves_are_the_query(index_and_corpus):
    idx, corpus = index_and_corpus
    for d in corpus:
        rows, threshold, ngram = idx.candidate_rows(d["text"])
        assert threshold == 0.3 and ngram == idx.params["ngram"]
        assert any(r[0] == d["id"] for r in rows)
        assert verify_rows(d["text"], rows, threshold, ngram, 10, True) == idx.query(d["text"])
    assert idx.candidate_rows("!!! ???") == ([], 0.3, idx.params["ngram"])


def test_pool_answers_as_the_server_process_would(index_and_corpus, pool):
    idx, corpus = index_and_corpus
    assert len(pool.pids()) == 2 and os.getpid() not in pool.pids()

    async def run_all():
        jobs = []
        for d in corpus:
            rows, threshold, ngram = idx.candidate_rows(d["text"])
            for limit, passages in ((10, True), (1, True), (10, False)):
                want = query_body(d["text"], rows, threshold, ngram, limit, passages)
                jobs.append((want, pool.run(d["text"], rows, threshold, ngram, limit, passages)))
        got = await asyncio.gather(*(j for _, j in jobs))
        return [w for w, _ in jobs], got

    want, got = asyncio.run(run_all())
    assert got == want  # byte-identical bodies, many queries in flight at once
    body = json.loads(got[0])
    own = next(m for m in body["matches"] if m["doc_id"] == corpus[0]["id"])
    assert own["similarity"] == 1.0 and own["passages"]


def test_a_dead_worker_costs_no_answer(index_and_corpus, pool):
    idx, corpus = index_and_corpus
    d = corpus[0]
    rows, threshold, ngram = idx.candidate_rows(d["text"])
    want = query_body(d["text"], rows, threshold, ngram, 10, True)
    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline:  # wait until the process is gone
        try:
            os.kill(victim, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    restarts = pool.restarts

    async def run():
        return await asyncio.gather(*(pool.run(d["text"], rows, threshold, ngram, 10, True) for _ in range(4)))

    assert asyncio.run(run()) == [want] * 4
    assert pool.restarts == restarts + 1
    assert len(pool.pids()) == 2 and victim not in pool.pids()
    assert asyncio.run(pool.run(d["text"], rows, threshold, ngram, 10, True)) == want


def test_default_processes_and_bad_counts():
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_processes() == max(1, n)  # at least one: a deadline stops only a process
    with pytest.raises(ValueError, match="at least 1"):
        QueryPool(0)


def test_a_query_past_its_deadline_is_stopped_and_its_worker_replaced(index_and_corpus, pool):
    from copytrace.service.workers import QueryTimeout

    idx, corpus = index_and_corpus
    d = corpus[0]
    rows, threshold, ngram = idx.candidate_rows(d["text"])
    want = query_body(d["text"], rows, threshold, ngram, 10, True)
    patho = "lorem " * 40_000
    # alignment of repeats against 300 candidates: seconds of work even with the aligner's cap
    patho_rows = [(f"p{i}", "lorem " * (20_000 + 50 * i), None, None) for i in range(300)]
    restarts, pids = pool.restarts, pool.pids()

    async def run():
        slow = asyncio.ensure_future(pool.run(patho, patho_rows, 0.5, 5, 1000, True,
                                              deadline=time.monotonic() + 1.0))
        await asyncio.sleep(0.2)
        normal = await pool.run(d["text"], rows, threshold, ngram, 10, True)  # the other worker answers
        t0 = time.monotonic()
        with pytest.raises(QueryTimeout):
            await slow
        return normal, time.monotonic() - t0

    normal, waited = asyncio.run(run())
    assert normal == want and waited < 1.5
    assert pool.restarts == restarts + 1 and pool.timeouts >= 1
    assert len(pool.pids()) == 2 and set(pool.pids()) != set(pids)
    assert asyncio.run(pool.run(d["text"], rows, threshold, ngram, 10, True)) == want
