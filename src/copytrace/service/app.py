"""The query service: an HTTP API over one :class:`copytrace.index.Index`.

Endpoints (OpenAPI docs at ``/docs``):

* ``GET /health`` → ``{"status": "ok", "documents": n}``
* ``POST /documents`` ``{"documents": [{id, text, source?, date?}, ...]}`` →
  ``AddResult`` (one transaction per request; ``?replace=true`` replaces
  documents whose id is stored, otherwise they are skipped as
  ``duplicate_id``)
* ``POST /query`` ``{text, threshold?, limit?, passages?}`` → ``{"matches": [...]}``
* ``GET /documents/{id}`` → the stored document (404 when unknown)
* ``DELETE /documents/{id}`` → ``{"removed": 1}`` (404 when unknown)
* ``GET /`` → a small self-contained page to paste a text and see its matches.

Limits and errors: bodies over ``max_body_bytes`` (default 10 MB) → 413;
batches over ``max_batch`` documents (default 1000) → 413; invalid JSON → 400;
a body that is not UTF-8 → 400; wrong types / missing or empty fields → 422;
unknown ids → 404.  Every error is JSON ``{"detail": ...}``.  With an API key
(``api_key=`` or ``COPYTRACE_API_KEY``), writes (POST/DELETE /documents) need
``X-API-Key: KEY`` or ``Authorization: Bearer KEY`` (401 otherwise); reads
stay open.

Concurrency: one process (DuckDB allows one writing process per file), the
endpoints are plain ``def`` functions run by the server's thread pool, except
``POST /query``, which runs at most ``query_threads`` queries at once (the
others wait in arrival order; the GIL makes more threads slower, not faster);
the Index serializes writes with a lock, queries find candidates in its
in-memory tables (see ``copytrace.index.memory``; published after each commit)
and read texts on their own DuckDB cursor, so queries run while a batch is
being added and see only committed batches.  Why DuckDB rather than SQLite: one file holding columnar
tables that are bulk-inserted from Arrow in one statement per table
(thousands of documents per second with the band and sample rows), MVCC
readers that never wait for the writer inside a process, and the same
Arrow-native toolchain as the rest of copytrace.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import anyio
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from copytrace import __version__
from copytrace.errors import CopytraceError
from copytrace.index import Index

__all__ = ["create_app", "MAX_BODY_BYTES", "MAX_BATCH", "API_KEY_ENV"]

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_BATCH = 1000
API_KEY_ENV = "COPYTRACE_API_KEY"
QUERY_THREADS = 2  # queries in flight at once (the others wait in arrival order)


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
) -> FastAPI:
    """The FastAPI application serving ``index`` (an Index or the path of one).

    ``query_threads``: queries in flight at once (default ``QUERY_THREADS``);
    the others wait in arrival order: a FIFO bound instead of the whole thread
    pool contending for the GIL (which, with many clients, stretches every
    query, the long ones most).  Two: one query's DuckDB fetch overlaps
    another's computation."""
    idx = index if isinstance(index, Index) else Index(index)
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV) or None
    app = FastAPI(title="copytrace", version=__version__,
                  description="Has this text been published before, and where?")
    app.state.index = idx

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
        return {"status": "ok", "documents": len(idx), "version": __version__}

    @app.post("/documents", dependencies=[Depends(require_key)])
    def add_documents(req: AddRequest, replace: bool = Query(False)) -> dict[str, Any]:
        if len(req.documents) > max_batch:
            raise HTTPException(413, f"too many documents in one request (at most {max_batch})")
        docs = [d.model_dump() for d in req.documents]
        res = idx.add(docs, on_duplicate="replace" if replace else "skip")
        return res.to_dict()

    limiter = anyio.CapacityLimiter(query_threads or QUERY_THREADS)

    def run_query(req: QueryRequest) -> JSONResponse:
        matches = idx.query(req.text, threshold=req.threshold, limit=req.limit, with_passages=req.passages)
        # plain JSON types already: skip FastAPI's recursive jsonable_encoder
        return JSONResponse({"matches": [m.to_dict() for m in matches]})

    @app.post("/query")
    async def query(req: QueryRequest) -> JSONResponse:
        return await anyio.to_thread.run_sync(run_query, req, limiter=limiter)

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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        from copytrace.service.page import PAGE

        return PAGE

    app.add_middleware(_BodyLimit, limit=max_body_bytes)
    return app


def warm_up(idx: Index) -> None:
    """Compile/load the numba kernels before serving the first request."""
    idx.query("warm up the kernels of copytrace before the first request arrives here", limit=1)


def serve(path: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
          log_level: str = "warning", query_threads: int | None = None) -> None:
    """Run the service on ``path`` until interrupted (one process)."""
    import uvicorn

    idx = Index(path)
    warm_up(idx)
    app = create_app(idx, api_key=api_key, query_threads=query_threads)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1)
    finally:
        idx.close()
