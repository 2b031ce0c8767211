"""Query workers: the CPU-bound half of a query in separate processes.

A query has two halves (:meth:`copytrace.index.Index.candidate_rows`, then
:func:`copytrace.index.query.verify_rows`).  The first needs the index (its
DuckDB file, which only one process may open for writing, and the in-memory
candidate tables); the second — exact verification and passage alignment, most
of a query's CPU — is a pure function of the query text and the candidate
rows.  Run in the server process, every query holds the GIL for its whole
second half, so a server on N cores answers as if it had one.  A
:class:`QueryPool` runs the second half in ``processes`` worker processes
(``spawn``: no fork of a process that holds DuckDB and server threads) and
returns the response body already encoded, so the server process only parses
requests, finds candidates and sends bytes.

Deadlines and failures: each worker is a process of its own with a pipe to
the server; a query takes an idle worker, sends it the task and waits for the
answer until the query's deadline.  A worker that has not answered by then
(a pathological text: one word repeated a million times, say) is killed and a
fresh one is started in the background, and the query fails with
:class:`QueryTimeout` (the service answers 503); the other workers go on
serving the other clients.  A query that finds no idle worker before its
deadline fails the same way.  A worker that dies (killed, out of memory) is
replaced too, and the query it held is sent to another worker, within the
same deadline, so no request fails because a worker died.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

__all__ = ["QueryPool", "QueryTimeout", "default_processes", "query_body"]

_WARM_TEXT = ("Warm up the kernels of copytrace before the first request arrives. "
              "The second sentence of the warm-up text repeats a few words of the first.")


def default_processes() -> int:
    """Worker processes by default: one per CPU this process may use (at least one: a query's
    deadline can only stop a computation that runs in a process of its own)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, n)


def query_body(text: str, rows: Sequence[tuple[str, str, str | None, str | None]], threshold: float, ngram: int,
               limit: int | None, with_passages: bool) -> bytes:
    """The ``POST /query`` response body (UTF-8 JSON) for the candidate ``rows`` of ``text``."""
    from copytrace.index.query import verify_rows

    matches = verify_rows(text, rows, threshold, ngram, limit, with_passages)
    return json.dumps({"matches": [m.to_dict() for m in matches]}, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def _init_worker() -> None:
    """One numba thread per worker (the pool is the parallelism), and the kernels compiled/loaded now."""
    import numba

    numba.set_num_threads(1)
    query_body(_WARM_TEXT, [("warm", _WARM_TEXT, None, None)], 0.5, 5, 1, True)


class QueryTimeout(Exception):
    """A query not answered before its deadline (its worker, if it had one, was stopped)."""


def _worker_main(conn: Any) -> None:
    """A worker process: warm up, say ready, then answer tasks until told to stop (None) or the
    pipe closes.  An exception of ``query_body`` goes back to the caller; the worker stays."""
    _init_worker()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            conn.send(("ok", query_body(*task)))
        except Exception as e:  # noqa: BLE001 - handed to the caller
            try:
                conn.send(("error", e))
            except Exception:  # an exception that does not pickle
                conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}")))


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="copytrace-query")
        self.proc.start()
        child.close()

    def wait_ready(self, timeout: float) -> None:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"query worker {self.proc.pid} did not start within {timeout:.0f} s")
        kind, _ = self.conn.recv()
        if kind != "ready":
            raise RuntimeError(f"query worker {self.proc.pid} failed to start")

    def stop(self, kill: bool) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


class QueryPool:
    """``processes`` worker processes computing :func:`query_body` (module doc).

    ``timeout``: the default deadline of :meth:`run`, in seconds from the call
    (None: no deadline unless :meth:`run` is given one)."""

    START_TIMEOUT_S = 120.0  # spawning, importing and warming up one worker

    def __init__(self, processes: int, timeout: float | None = None) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be above 0 seconds, got {timeout}")
        self.processes = processes
        self.timeout = timeout
        self.restarts = 0  # workers replaced (died or stopped at a deadline)
        self.timeouts = 0  # queries that missed their deadline
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()  # alive or starting
        self._closed = False
        # threads that wait for the workers' answers (blocked in poll, not computing)
        self._threads = ThreadPoolExecutor(max(32, 4 * processes), thread_name_prefix="copytrace-query")
        workers = [_Worker(self._ctx) for _ in range(processes)]  # all start at once
        self._workers.update(workers)
        try:
            for w in workers:
                w.wait_ready(self.START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise
        for w in workers:
            self._idle.put(w)

    def pids(self) -> list[int]:
        """The worker processes' ids, starting ones included (monitoring; tests kill one)."""
        with self._lock:
            return sorted(int(w.proc.pid) for w in self._workers if w.proc.pid is not None)

    def _replace(self, w: _Worker, kill: bool) -> None:
        """Stop ``w`` and start a fresh worker in the background (it joins the idle ones when warm)."""
        with self._lock:
            if w not in self._workers:
                return
            self._workers.discard(w)
            self.restarts += 1
            if self._closed:
                fresh = None
            else:
                fresh = _Worker(self._ctx)
                self._workers.add(fresh)

        def finish() -> None:
            w.stop(kill=kill)
            if fresh is None:
                return
            try:
                fresh.wait_ready(self.START_TIMEOUT_S)
            except Exception:
                with self._lock:
                    self._workers.discard(fresh)
                fresh.stop(kill=True)
                return
            self._idle.put(fresh)

        threading.Thread(target=finish, name="copytrace-query-restart", daemon=True).start()

    def _take(self, deadline: float | None) -> _Worker:
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                w = self._idle.get(timeout=wait) if wait != 0.0 else self._idle.get_nowait()
            except queue.Empty:
                raise QueryTimeout("no query worker became free before the deadline") from None
            if w.proc.is_alive():
                return w
            self._replace(w, kill=False)  # died while idle

    def call(self, task: tuple[Any, ...], deadline: float | None) -> bytes:
        """:func:`query_body` ``(*task)`` in a worker, before ``deadline`` (``time.monotonic()``)."""
        for _ in range(3):  # a worker that dies under the query: the next one gets it
            w = self._take(deadline)
            try:
                w.conn.send(task)
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not w.conn.poll(wait):
                    with self._lock:
                        self.timeouts += 1
                    self._replace(w, kill=True)
                    raise QueryTimeout("the query was not answered before its deadline")
                kind, value = w.conn.recv()
            except (EOFError, OSError):
                self._replace(w, kill=True)
                continue
            self._idle.put(w)
            if kind == "error":
                raise value
            return value
        raise RuntimeError("query workers died three times in a row on this query")

    async def run(self, text: str, rows: Sequence[tuple[str, str, str | None, str | None]], threshold: float,
                  ngram: int, limit: int | None, with_passages: bool, *, deadline: float | None = None) -> bytes:
        """:func:`query_body` in a worker.  ``deadline`` (``time.monotonic()``; default: now +
        ``timeout``): past it, :class:`QueryTimeout` and the worker is replaced (module doc)."""
        if deadline is None and self.timeout is not None:
            deadline = time.monotonic() + self.timeout
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self._threads, self.call,
                                   (text, rows, threshold, ngram, limit, with_passages), deadline)
        if deadline is None:
            return await fut
        try:  # the waiting thread keeps the deadline itself; this also covers the wait for a thread
            return await asyncio.wait_for(fut, max(0.0, deadline - time.monotonic()) + 0.5)
        except asyncio.TimeoutError:
            raise QueryTimeout("the query was not answered before its deadline") from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for w in workers:
            w.stop(kill=False)
        self._threads.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "QueryPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
