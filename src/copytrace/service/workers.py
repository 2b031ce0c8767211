"""Query workers: the CPU-bound half of a query in separate processes.

A query has two halves (:meth:`copytrace.index.Index.candidate_rows`, then
:func:`copytrace.index.store.verify_rows`).  The first needs the index (its
DuckDB file, which only one process may open for writing, and the in-memory
candidate tables); the second — exact verification and passage alignment, most
of a query's CPU — is a pure function of the query text and the candidate
rows.  Run in the server process, every query holds the GIL for its whole
second half, so a server on N cores answers as if it had one.  A
:class:`QueryPool` runs the second half in ``processes`` worker processes
(``spawn``: no fork of a process that holds DuckDB and server threads) and
returns the response body already encoded, so the server process only parses
requests, finds candidates and sends bytes.

Failure handling: a worker that dies (killed, out of memory) breaks a
``ProcessPoolExecutor`` for good; the pool then starts a new executor and the
query that saw the failure is computed in the calling thread, so no request
fails because a worker died.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Sequence

__all__ = ["QueryPool", "default_processes", "query_body"]

_WARM_TEXT = ("Warm up the kernels of copytrace before the first request arrives. "
              "The second sentence of the warm-up text repeats a few words of the first.")


def default_processes() -> int:
    """Worker processes by default: one per CPU this process may use, none on one CPU."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return n if n > 1 else 0


def query_body(text: str, rows: Sequence[tuple[str, str, str | None, str | None]], threshold: float, ngram: int,
               limit: int | None, with_passages: bool) -> bytes:
    """The ``POST /query`` response body (UTF-8 JSON) for the candidate ``rows`` of ``text``."""
    from copytrace.index.store import verify_rows

    matches = verify_rows(text, rows, threshold, ngram, limit, with_passages)
    return json.dumps({"matches": [m.to_dict() for m in matches]}, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def _init_worker() -> None:
    """One numba thread per worker (the pool is the parallelism), and the kernels compiled/loaded now."""
    import numba

    numba.set_num_threads(1)
    query_body(_WARM_TEXT, [("warm", _WARM_TEXT, None, None)], 0.5, 5, 1, True)


def _pid() -> int:
    return os.getpid()


class QueryPool:
    """``processes`` worker processes computing :func:`query_body` (module doc)."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self.processes = processes
        self._lock = threading.Lock()
        self._executor = self._start()
        self.restarts = 0

    def _start(self) -> ProcessPoolExecutor:
        ex = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker)
        # start every worker now (they start on demand otherwise) and wait until each is warm
        for f in [ex.submit(_pid) for _ in range(self.processes)]:
            f.result()
        return ex

    def pids(self) -> list[int]:
        """The worker processes' ids (for monitoring, and for tests that kill one)."""
        procs = getattr(self._executor, "_processes", None) or {}
        return sorted(int(p) for p in procs)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
                self.restarts += 1

    async def run(self, text: str, rows: Sequence[tuple[str, str, str | None, str | None]], threshold: float,
                  ngram: int, limit: int | None, with_passages: bool) -> bytes:
        """:func:`query_body` in a worker; in this thread if the worker died meanwhile (the pool restarts)."""
        loop = asyncio.get_running_loop()
        ex = self._executor
        try:
            return await loop.run_in_executor(ex, query_body, text, rows, threshold, ngram, limit, with_passages)
        except BrokenProcessPool:
            await loop.run_in_executor(None, self._replace, ex)
            return await loop.run_in_executor(None, query_body, text, rows, threshold, ngram, limit,
                                              with_passages)

    def close(self) -> None:
        with self._lock:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "QueryPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
