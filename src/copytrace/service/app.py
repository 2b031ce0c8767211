"""The query service: an HTTP API over one :class:`copytrace.index.Index`.

Endpoints (OpenAPI docs at ``/docs``):

* ``GET /health`` → ``{"status": "ok", "documents": n}``
* ``POST /documents`` ``{"documents": [{id, text, source?, date?}, ...]}`` →
  ``AddResult`` (one transaction per request; ``?replace=true`` replaces
  documents whose id is stored, otherwise they are skipped as
  ``duplicate_id``)
* ``POST /query`` ``{text, threshold?, limit?, passages?, date?, source?, pairs_within?, pairs?}`` →
  ``{"matches": [...]}``; ``pairs_within`` (days, needs ``date``) and ``pairs``
  (``across-sources`` / ``within-sources``, needs ``source``) are the pair
  filters of ``find`` and ``index query`` against the query's date and source
  (the same code: ``Index.candidate_rows`` → ``pairfilter.filter_rows``)
* ``GET /documents/{id}`` → the stored document (404 when unknown)
* ``DELETE /documents/{id}`` → ``{"removed": 1}`` (404 when unknown)
* ``GET /`` → a small self-contained page to paste a text and see its matches.

Limits and errors: bodies over ``max_body_bytes`` (default 10 MB) → 413;
batches over ``max_batch`` documents (default 1000) → 413; invalid JSON → 400;
a body that is not UTF-8 → 400; wrong types / missing or empty fields → 422;
unknown ids → 404; a query not answered within ``query_timeout`` seconds → 503
(its worker process is killed and replaced: see :mod:`copytrace.service.workers`).
Every error is JSON ``{"detail": ...}``.  With an API key (``api_key=`` or
``COPYTRACE_API_KEY``; an empty one is refused), writes (POST/DELETE /documents)
need ``X-API-Key: KEY`` or ``Authorization: Bearer KEY`` (401 otherwise); reads
stay open.  ``serve`` limits the request line and headers to ``MAX_HEADER_BYTES``;
every answer carries a Content-Security-Policy and ``nosniff``, and ``/docs`` is
served with local assets (:mod:`copytrace.service.security`).

Concurrency: one server process owns the index (DuckDB allows one writing
process per file); the endpoints are plain ``def`` functions run by the
server's thread pool, except ``POST /query``, which finds candidates for at
most ``query_threads`` queries at once (the others wait in arrival order; the
GIL makes more threads slower, not faster) and then verifies and aligns them
in ``query_processes`` worker processes (:mod:`copytrace.service.workers`;
0: in the server process).  The Index serializes writes with a lock, queries
find candidates in its in-memory tables (see ``copytrace.index.memory``;
published after each commit) and read the texts not in its text cache on
their own DuckDB cursor, so queries run while a batch is being added and see
only committed batches.

Why DuckDB rather than SQLite: one file holding columnar tables that are
bulk-inserted from Arrow in one statement per table (thousands of documents
per second with the band and sample rows), MVCC readers that never wait for
the writer inside a process, and the same Arrow-native toolchain as the rest
of copytrace.  Its cost, a SQL round trip per point lookup of a few rows
(docs/notes-2026-12.md), is what the text cache saves.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from functools import partial
from typing import Any, AsyncIterator, Literal

import anyio
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from copytrace._version import __version__
from copytrace.errors import CopytraceError
from copytrace.index import Index
from copytrace.index.query import single_threaded_kernels
from copytrace.service.workers import QueryPool, QueryTimeout, default_processes, query_body

__all__ = ["create_app", "MAX_BODY_BYTES", "MAX_BATCH", "API_KEY_ENV", "QUERY_TIMEOUT_S"]

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_BATCH = 1000
API_KEY_ENV = "COPYTRACE_API_KEY"
QUERY_THREADS = 2  # queries in flight at once (the others wait in arrival order)
SWITCH_INTERVAL_S = 0.0002  # sys.setswitchinterval in `serve`
TEXT_CACHE_BYTES = 256 * 2**20  # texts the served index keeps in memory (Index(text_cache_bytes=))
MAX_HEADER_BYTES = 64 * 1024  # request line + headers (uvicorn's h11 limit)
QUERY_TIMEOUT_S = 10.0  # a query's deadline (`serve --query-timeout`); ordinary queries take milliseconds


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: StrictStr = Field(min_length=1, max_length=1024)
    text: StrictStr = Field(min_length=1)
    source: StrictStr | None = None
    date: StrictStr | None = None


class AddRequest(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1)


class QueryRequest(BaseModel):
    text: StrictStr = Field(min_length=1)
    threshold: float | None = Field(default=None, gt=0.0, le=1.0)
    limit: int = Field(default=10, ge=1, le=1000)
    passages: bool = True
    # the pair filters of `find` and `index query` (stages.pairfilter), against the query's date and source
    date: StrictStr | None = Field(default=None, min_length=1)
    source: StrictStr | None = Field(default=None, min_length=1)
    pairs_within: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    pairs: Literal["all", "across-sources", "within-sources"] = "all"

    @model_validator(mode="after")
    def _filters_have_their_field(self) -> "QueryRequest":
        if self.pairs_within is not None and self.date is None:
            raise ValueError("pairs_within needs the query's date")
        if self.pairs != "all" and self.source is None:
            raise ValueError(f"pairs={self.pairs!r} needs the query's source")
        return self

    def filters(self) -> dict[str, Any]:
        return {"date": self.date, "source": self.source, "pairs_within": self.pairs_within, "pairs": self.pairs}


class _BodyLimit:
    """ASGI middleware: 413 for bodies over ``limit`` bytes (by Content-Length,
    or counted while streaming when there is none)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    return await _send_json(send, 413, {"detail": f"request body over {self.limit} bytes"})
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        # read the whole body first (at most `limit` bytes), check it, then replay it
        chunks: list[bytes] = []
        seen = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return await _send_json(send, 413, {"detail": f"request body over {self.limit} bytes"})
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        try:  # every body of this API is JSON, which is UTF-8 (RFC 8259)
            body.decode("utf-8")
        except UnicodeDecodeError as e:
            return await _send_json(send, 400, {"detail": f"request body is not valid UTF-8 (byte {e.start})"})
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send_json(send: Any, status: int, body: dict) -> None:
    import json

    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def create_app(
    index: Index | str | os.PathLike,
    *,
    api_key: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH,
    query_threads: int | None = None,
    query_processes: int = 0,
    query_timeout: float | None = QUERY_TIMEOUT_S,
) -> FastAPI:
    """The FastAPI application serving ``index`` (an Index or the path of one).

    ``query_threads``: queries in flight at once (default ``QUERY_THREADS``);
    the others wait in arrival order: a FIFO bound instead of the whole thread
    pool contending for the GIL (which, with many clients, stretches every
    query, the long ones most).  Two: one query's DuckDB fetch overlaps
    another's computation.  ``query_processes``: worker processes that verify
    and align (started with the app, stopped with it; 0: none, queries are
    computed in the server process).  The workers are started with the
    ``spawn`` method, which re-imports the main module: a script that serves
    this app with workers must guard its entry point with
    ``if __name__ == "__main__":`` (``copytrace serve`` does).

    ``query_timeout``: every ``POST /query`` is answered within this many
    seconds (None: no deadline); past it the answer is 503 with the reason, and
    the worker process computing it is stopped and replaced, so the other
    clients keep being served.  Without worker processes the 503 still comes at
    the deadline, but the computation cannot be stopped and runs on in the
    server process.

    ``api_key``: None reads ``COPYTRACE_API_KEY`` (unset: writes are open); an
    empty or blank key is refused (ValueError) rather than taken as "no key"."""
    if api_key is None:
        env_key = os.environ.get(API_KEY_ENV)
        if env_key is not None and not env_key.strip():
            raise ValueError(f"{API_KEY_ENV} is set but empty: give a key, or unset it for open writes")
        api_key = env_key
    elif not api_key.strip():
        raise ValueError("the API key is empty: give a key, or none for open writes")
    if query_processes < 0:
        raise ValueError(f"query_processes must be at least 0, got {query_processes}")
    if query_timeout is not None and not query_timeout > 0:
        raise ValueError(f"query_timeout must be above 0 seconds, got {query_timeout}")
    idx = index if isinstance(index, Index) else Index(index, text_cache_bytes=TEXT_CACHE_BYTES)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.query_pool = (await anyio.to_thread.run_sync(QueryPool, query_processes)
                                if query_processes else None)
        app.state.query_timeouts = 0
        try:
            yield
        finally:
            if app.state.query_pool is not None:
                await anyio.to_thread.run_sync(app.state.query_pool.close)
                app.state.query_pool = None

    app = FastAPI(title="copytrace", version=__version__,
                  description="Has this text been published before, and where?", lifespan=lifespan,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None)  # /docs: below, offline
    app.state.index = idx
    app.state.query_pool = None
    app.state.query_timeouts = 0

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            try:
                body = await request.body()
                body.decode("utf-8")
            except UnicodeDecodeError:
                return JSONResponse({"detail": "request body is not valid UTF-8"}, status_code=400)
            except Exception:
                pass
            msg = next((e.get("ctx", {}).get("error") or e.get("msg") for e in errors
                        if e.get("type") == "json_invalid"), "")
            return JSONResponse({"detail": f"invalid JSON: {msg}"}, status_code=400)
        for e in errors:
            if e.get("type") == "too_long" and tuple(e.get("loc", ()))[:2] == ("body", "documents"):
                return JSONResponse({"detail": f"too many documents in one request (at most {max_batch})"},
                                    status_code=413)
        clean = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
        return JSONResponse({"detail": clean}, status_code=422)

    @app.exception_handler(CopytraceError)
    async def _ct_error(request: Request, exc: CopytraceError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    def require_key(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given or not secrets.compare_digest(given.encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong API key (X-API-Key or Authorization: Bearer)")

    @app.get("/health")
    def health() -> dict[str, Any]:
        pool = app.state.query_pool
        return {"status": "ok", "documents": len(idx), "version": __version__,
                "query_processes": pool.processes if pool is not None else 0,
                "query_process_restarts": pool.restarts if pool is not None else 0,
                "query_timeout_s": query_timeout, "query_timeouts": app.state.query_timeouts,
                "text_cache": idx.text_cache_stats()}

    @app.post("/documents", dependencies=[Depends(require_key)])
    def add_documents(req: AddRequest, replace: bool = Query(False)) -> dict[str, Any]:
        if len(req.documents) > max_batch:
            raise HTTPException(413, f"too many documents in one request (at most {max_batch})")
        docs = [d.model_dump() for d in req.documents]
        res = idx.add(docs, on_duplicate="replace" if replace else "skip")
        return res.to_dict()

    limiter = anyio.CapacityLimiter(query_threads or QUERY_THREADS)

    def query_inline(req: QueryRequest) -> bytes:
        rows, threshold, ngram = idx.candidate_rows(req.text, req.threshold, **req.filters())
        with single_threaded_kernels():
            return query_body(req.text, rows, threshold, ngram, req.limit, req.passages)

    def timed_out(stopped: bool) -> JSONResponse:
        app.state.query_timeouts += 1
        what = ("its computation was stopped" if stopped else
                "its computation goes on in the server process (worker processes would stop it)")
        return JSONResponse(
            {"detail": f"query not answered within its {query_timeout:g} s deadline (serve --query-timeout): "
                       f"the text and its candidates need too much work (very long or highly repetitive "
                       f"texts); {what}"},
            status_code=503, headers={"Retry-After": "1"})

    @app.post("/query")
    async def query(req: QueryRequest) -> Response:
        # the body is encoded by query_body (plain JSON types: no recursive jsonable_encoder)
        deadline = None if query_timeout is None else time.monotonic() + query_timeout
        pool: QueryPool | None = app.state.query_pool
        try:
            with anyio.fail_after(query_timeout):  # None: no deadline
                if pool is None:
                    body = await anyio.to_thread.run_sync(query_inline, req, limiter=limiter,
                                                          abandon_on_cancel=True)
                else:
                    rows, threshold, ngram = await anyio.to_thread.run_sync(
                        partial(idx.candidate_rows, req.text, req.threshold, **req.filters()), limiter=limiter,
                        abandon_on_cancel=True)
                    body = (await pool.run(req.text, rows, threshold, ngram, req.limit, req.passages,
                                           deadline=deadline) if rows else b'{"matches":[]}')
        except (TimeoutError, QueryTimeout):
            return timed_out(stopped=pool is not None)
        return Response(body, media_type="application/json")

    @app.get("/documents/{doc_id:path}")
    def get_document(doc_id: str) -> dict[str, Any]:
        doc = idx.get(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return doc

    @app.delete("/documents/{doc_id:path}", dependencies=[Depends(require_key)])
    def delete_document(doc_id: str) -> dict[str, Any]:
        n = idx.remove([doc_id])
        if not n:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        return {"removed": n}

    from copytrace.service.page import PAGE
    from copytrace.service.security import SecurityHeaders, csp_for_html, docs_asset, docs_html

    page_csp = csp_for_html(PAGE)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": page_csp})

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        got = docs_html(app.openapi_url or "/openapi.json", f"{app.title} — API")
        if got is None:
            raise HTTPException(404, "API docs need the swagger-ui-bundle package: pip install 'copytrace[serve]'")
        return HTMLResponse(got[0], headers={"Content-Security-Policy": got[1]})

    @app.get("/docs-assets/{name}", include_in_schema=False)
    def docs_assets(name: str) -> Response:
        from fastapi.responses import FileResponse

        got = docs_asset(name)
        if got is None:
            raise HTTPException(404, f"no asset {name!r}")
        return FileResponse(got[0], media_type=got[1], headers={"Cache-Control": "public, max-age=86400"})

    app.add_middleware(_BodyLimit, limit=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def warm_up(idx: Index) -> None:
    """Compile/load the numba kernels before serving the first request."""
    idx.query("warm up the kernels of copytrace before the first request arrives here", limit=1)


def serve(path: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
          log_level: str = "warning", query_threads: int | None = None,
          query_processes: int | None = None, text_cache_bytes: int = TEXT_CACHE_BYTES,
          query_timeout: float | None = QUERY_TIMEOUT_S) -> None:
    """Run the service on ``path`` until interrupted (one server process, and
    ``query_processes`` query workers; None: one per CPU).
    ``text_cache_bytes``: texts kept in memory (:class:`~copytrace.index.Index`);
    ``query_timeout``: each query's deadline in seconds (:func:`create_app`).

    HTTP is parsed by h11 with at most ``MAX_HEADER_BYTES`` of request line and
    headers (a longer request is refused with 400 before it is buffered further):
    uvicorn's faster httptools parser has no such limit."""
    import uvicorn

    from copytrace.config import PORT

    PORT("port", port)
    idx = Index(path, text_cache_bytes=text_cache_bytes)
    try:
        warm_up(idx)
        if query_processes is None:
            query_processes = default_processes()
        app = create_app(idx, api_key=api_key, query_threads=query_threads, query_processes=query_processes,
                         query_timeout=query_timeout)
        # the server's threads (event loop, candidate lookups, the workers' waiters) hand the GIL
        # over every 0.2 ms instead of 5: a shorter tail latency (docs/notes-2026-12.md)
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, http="h11",
                    h11_max_incomplete_event_size=MAX_HEADER_BYTES)
    finally:
        idx.close()
