"""Stage 1 (web) — read: WARC/WET archives and HTML pages → ``Document``.

Data contract
-------------
Called by the read stage (``read.Reader.documents``) for sources of format
``warc`` (``.warc``, ``.warc.gz``, ``.warc.wet.gz``/``.wet``) and ``html``
(``.html``/``.htm`` files, alone or found in a directory); and by
``read.Reader.make`` for the HTML field of JSONL records (``html_field``).

* ``Document.text`` is the *extracted* text: the page's main content found by
  resiliparse's extractor (``extract_plain_text(main_content=True)``), or,
  with ``ReadOptions.extract=False``, the text of the whole page (navigation,
  sidebars and footers included, for copytrace's own boilerplate detector).
  That text goes to the text store like any other, so every character offset
  of the later stages (passages, boilerplate spans) indexes the extracted text.
* ``Document.url``, ``Document.title``: the target URI (WARC) and the page's
  ``<title>``; ``Document.date``: the page's published date when its HTML
  states one (``<meta property="article:published_time">`` and the usual
  variants, or a ``<time datetime>`` in the main content), otherwise the crawl
  date of the WARC record (``WARC-Date``); ``Document.source``: the registered
  domain of the URL (``tld``'s public suffix list: ``news.bbc.co.uk`` →
  ``bbc.co.uk``).  HTML files have no URL unless the page declares one
  (``<link rel="canonical">`` or ``og:url``).
* ``Document.doc_id``: WARC: the record id (``urn:uuid:…``), or the URL with
  ``id_field="url"``; HTML files: the path (relative to the directory);
  WET conversion records: the id of the response record they were made from
  (``WARC-Refers-To``), so a WET file and its WARC file give the same ids.

HTML extraction (resiliparse, ~0.15 ms a page) runs in ``ReadOptions.extract_workers``
processes for WARC files of ``POOL_MIN_BYTES`` or more (the local engine
passes ``--workers``): the reading process sends pages by chunks and extracts
the chunks no worker has started itself; records become documents or skips
in file order in the reading process, so the documents, the skip counts and
messages are the same for any number of workers.

Records that are not pages are not documents and are not counted
(``warcinfo``, ``request``, ``metadata``).  Every response/resource/conversion
record that does not give a document is a counted skip, with the message
``file:N: reason: detail`` (N: the record's position in the file, 1-based):
``not_html`` (another content type), ``http_status`` (not 200),
``revisit``, ``binary`` (a PDF or other binary body, whatever its declared
type), ``too_large`` (a body over ``max_html_bytes``), ``undeclared_encoding``
(not UTF-8 and no charset in the HTTP header or the page), ``bad_encoding``
(a declared charset that does not decode it), ``no_text`` (the extractor
found nothing), ``truncated`` (a record cut short, and a ``.gz`` file whose
last gzip member is cut: the records before it are kept).
"""

from __future__ import annotations

import codecs
import io
import re
import time
import zlib
from collections import deque
from functools import lru_cache
from typing import IO, TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from copytrace.stages.read import Document, Reader, Source

__all__ = ["WEB_EXTENSIONS", "extract_html", "registered_domain", "read_warc", "read_html_file", "html_value", "PageText"]

WEB_EXTENSIONS = {".warc": "warc", ".wet": "warc", ".html": "html", ".htm": "html", ".arc": "warc"}
_CHARSET_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"\xd0\xcf\x11\xe0")
_DATE_META = (
    'meta[property="article:published_time"]',
    'meta[name="article:published_time"]',
    'meta[itemprop="datePublished"]',
    'meta[name="pubdate"]',
    'meta[name="publishdate"]',
    'meta[name="date"]',
    'meta[name="dc.date"]',
    'meta[name="DC.date.issued"]',
    'meta[property="og:published_time"]',
)


class PageText:
    """What extraction gives for one page."""

    __slots__ = ("text", "title", "date", "url")

    def __init__(self, text: str, title: str | None, date: str | None, url: str | None) -> None:
        self.text, self.title, self.date, self.url = text, title, date, url


class _Skip(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)")


def registered_domain(url: str | None) -> str | None:
    """The registered domain of a URL (``https://news.bbc.co.uk/x`` → ``bbc.co.uk``),
    or its host when the public suffix list does not know it; None without a host."""
    if not url:
        return None
    m = _HOST.match(url)
    if m is None:
        from urllib.parse import urlsplit

        try:
            host = urlsplit(url if "//" in url else "//" + url).hostname
        except ValueError:
            return None
    else:
        host = m.group(1)
    return _domain_of_host(host.lower().rstrip(".")) if host else None


@lru_cache(maxsize=65536)
def _domain_of_host(host: str) -> str | None:
    """The registered domain of a host name (cached: pages of a site share it)."""
    from tld import get_fld

    fld = get_fld("http://" + host, fail_silently=True)
    return str(fld).lower() if fld else host


def _looks_binary(body: bytes) -> bool:
    head = body[:1024]
    return head.startswith(_BINARY_MAGIC) or head.count(b"\x00") > 0


def _charset_of(body: bytes, declared: str | None) -> str | None:
    """The declared charset: the HTTP header's, else the page's <meta charset>."""
    if declared:
        return declared
    m = _CHARSET_META.search(body[:4096])
    return m.group(1).decode("ascii", "replace") if m else None


def decode_html(body: bytes, declared: str | None) -> str:
    """HTML bytes → str: the declared charset (HTTP header or ``<meta>``), else
    strict UTF-8; raises ``_Skip`` (``undeclared_encoding``/``bad_encoding``)."""
    charset = _charset_of(body, declared)
    if charset:
        try:
            codec = codecs.lookup(charset).name
        except LookupError:
            codec = None
        if codec is not None:
            if codec in ("utf-8", "ascii"):  # ascii declared, UTF-8 sent: common and harmless
                codec = "utf-8"
            if codec == "iso8859-1":
                codec = "cp1252"  # what browsers do for a Latin-1 declaration (WHATWG)
            try:
                return body.decode(codec).removeprefix("\ufeff")
            except UnicodeDecodeError as e:
                raise _Skip("bad_encoding", f"declared charset {charset!r} does not decode byte {e.start}") from None
    try:
        return body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise _Skip(
            "undeclared_encoding",
            f"not UTF-8 (byte {e.start}) and no charset declared (HTTP header or <meta charset>)",
        ) from None


def _published_date(tree: Any) -> str | None:
    for sel in _DATE_META:
        el = tree.document.query_selector(sel)
        if el is not None:
            v = (el.getattr("content") or "").strip()
            if v:
                return v
    el = tree.document.query_selector("article time[datetime], main time[datetime]")
    if el is not None:
        v = (el.getattr("datetime") or "").strip()
        if v:
            return v
    return None


def _page_url(tree: Any) -> str | None:
    el = tree.document.query_selector('link[rel="canonical"]') or tree.document.query_selector(
        'meta[property="og:url"]'
    )
    if el is None:
        return None
    v = (el.getattr("href") or el.getattr("content") or "").strip()
    return v or None


def extract_html(html: str, main_content: bool = True, want_url: bool = False) -> PageText:
    """Main text (or with ``main_content=False`` the whole page's text), title,
    published date and (``want_url``) canonical URL of one page."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    if main_content:
        text = extract_plain_text(tree, main_content=True, alt_texts=False, noscript=False, comments=False)
    else:
        text = extract_plain_text(tree, main_content=False, alt_texts=False, noscript=False,
                                  skip_elements=["script", "style", "noscript"])
    title = (tree.title or "").strip() or None
    return PageText(text, title, _published_date(tree), _page_url(tree) if want_url else None)


def page_result(body: bytes, charset: str | None, extract: bool, want_url: bool,
                max_bytes: int) -> PageText | tuple[str, str]:
    """One HTML body → its PageText, or ``(reason, detail)`` of the skip.  A pure
    function of its arguments: the extraction workers run it."""
    try:
        if len(body) > max_bytes:
            raise _Skip("too_large", f"HTML body of {len(body):,} bytes, over max_html_bytes={max_bytes:,}")
        if _looks_binary(body):
            raise _Skip("binary", f"body is binary ({body[:8]!r}…), not HTML")
        html = decode_html(body, charset)
        page = extract_html(html, extract, want_url=want_url)
        if not page.text.strip():
            raise _Skip("no_text", "the extractor found no text" + (" (main content)" if extract else ""))
    except _Skip as s:
        return (s.reason, s.detail)
    return page


def _page_results(jobs: list[tuple[bytes, str | None, bool, bool, int]]) -> tuple[list[PageText | tuple[str, str]], float]:
    """:func:`page_result` of many pages (an extraction worker's task), and the CPU seconds it took."""
    c0 = time.process_time()
    out = [page_result(*j) for j in jobs]
    return out, time.process_time() - c0


def finish_page(reader: "Reader", where: str, line: int | None, doc_id: str | None,
                result: PageText | tuple[str, str], url: str | None, crawl_date: str | None) -> "Document | None":
    """A :func:`page_result` → a Document through ``reader.make``, or the counted skip."""
    if isinstance(result, tuple):
        reader.bad(result[0], where, line, result[1])
        return None
    url = url or result.url
    return reader.make(where, line, doc_id, result.text, result.date or crawl_date, registered_domain(url),
                       url=url, title=result.title, extracted=True)


def page_document(reader: "Reader", where: str, line: int | None, doc_id: str | None, body: bytes,
                  charset: str | None, url: str | None, crawl_date: str | None) -> "Document | None":
    """One HTML body → a Document through ``reader.make`` (or a counted skip)."""
    o = reader.o
    return finish_page(reader, where, line, doc_id, page_result(body, charset, o.extract, url is None,
                                                                o.max_html_bytes), url, crawl_date)


def read_html_file(reader: "Reader", src: "Source") -> "Document | None":
    """One .html/.htm file (``src.doc_id`` its id)."""
    assert src.doc_id is not None
    limit = reader.o.max_html_bytes
    with reader.open(src) as f:
        try:
            body = f.read(limit + 1)
        except (OSError, EOFError, zlib.error) as e:
            from copytrace.errors import InputError

            raise InputError(src.display, f"cannot read: {e}") from None
    return page_document(reader, src.display, None, src.doc_id, body, None, None, None)


def _record_date(rec: Any) -> str | None:
    d = rec.headers.get("WARC-Date")
    return d.strip() if d else None


def _strip_id(rid: str | None) -> str | None:
    if not rid:
        return None
    rid = rid.strip()
    return rid[1:-1] if rid.startswith("<") and rid.endswith(">") else rid


def read_warc(reader: "Reader", src: "Source") -> Iterator["Document"]:
    """Every page of one WARC/WET file, in file order.  With
    ``reader.o.extract_workers`` > 1 and a file of ``POOL_MIN_BYTES`` or more,
    HTML pages are extracted in worker processes, ``EXTRACT_CHUNK_PAGES`` at a
    time, while this process reads on (and extracts the chunks no worker has
    started); every record is still turned into its document or skip here, in
    file order, so the documents, the skips and their order do not depend on
    the workers."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    from copytrace.errors import InputError

    o = reader.o
    if o.id_field not in ("id", "url"):
        raise InputError(src.display, f"WARC ids are the record id (id_field 'id') or the URL ('url'), not {o.id_field!r}")
    by_url = o.id_field == "url"
    wanted = WarcRecordType.response | WarcRecordType.resource | WarcRecordType.conversion | WarcRecordType.revisit
    pipe = _Pipeline(reader, src.display, _pool_size(o, src))
    with reader.open(src) as f:
        last_pos = 0
        ordinal = 0
        cut = [False]  # whether the last record read was reported as truncated
        # the last record's document waits until the file is known to end cleanly
        held: Document | None = None
        try:
            try:
                it = ArchiveIterator(f, record_types=wanted, parse_http=False, fsspec_args=False, stream_detect=True)
                for rec in it:
                    ordinal += 1
                    last_pos = rec.stream_pos
                    pipe.put(_warc_action(reader, rec, ordinal, by_url, cut))
                    yield from pipe.ready(keep_last=True)
            except OSError as e:
                yield from pipe.drain()
                reader.stats.warn(f"{src.display}: cannot parse past record {ordinal}: {e}")
                reader.bad("truncated", src.display, ordinal + 1, f"cannot parse past record {ordinal}: {e}")
                return
            tail = _truncated_tail(f, last_pos)
            docs = list(pipe.drain())
            held = docs.pop() if docs and pipe.last_was_document else None
            yield from docs
        finally:
            pipe.close()
    if tail:
        reader.stats.warn(f"{src.display}: {tail}; the records before it were read")
        if held is not None:  # its record lies in the cut member: its text may be cut too
            reader.bad("truncated", src.display, ordinal, tail)
        elif not cut[0]:
            reader.bad("truncated", src.display, ordinal + 1, tail)
    elif held is not None:
        yield held


# HTML extraction in worker processes (read_warc)
EXTRACT_CHUNK_PAGES = 64  # pages per worker task
POOL_MIN_BYTES = 4 << 20  # smaller files are extracted here: a pool costs more to start than it saves
_worker_cpu = [0.0]  # CPU seconds the extraction workers of this process reported


def extraction_worker_cpu_s() -> float:
    """CPU seconds spent by extraction worker processes so far (in this process's
    lifetime): what ``time.process_time()`` does not see."""
    return _worker_cpu[0]


def _pool_size(o: Any, src: "Source") -> int:
    workers = int(getattr(o, "extract_workers", 1) or 1)
    if workers < 2:
        return 0
    if src.path is None:  # standard input
        return 0
    try:
        import os

        if os.path.getsize(src.path) < POOL_MIN_BYTES:
            return 0
    except OSError:
        return 0
    return workers - 1  # this process extracts too


class _Chunk:
    """Pages extracted together: a worker's future, or done here."""

    __slots__ = ("jobs", "future", "results")

    def __init__(self) -> None:
        self.jobs: list[tuple[bytes, str | None, bool, bool, int]] = []
        self.future: Any = None
        self.results: list[PageText | tuple[str, str]] | None = None

    def done(self) -> bool:
        return self.results is not None or (self.future is not None and self.future.done())

    def result(self, i: int) -> PageText | tuple[str, str]:
        if self.results is None:
            out: tuple[list[PageText | tuple[str, str]], float] | None = None
            if self.future is not None and not self.future.cancel():  # a worker has it: wait
                try:
                    out = self.future.result()
                except Exception:  # a broken pool: extract here
                    out = None
            if out is not None:
                self.results = out[0]
                _worker_cpu[0] += out[1]
            else:
                self.results = [page_result(*j) for j in self.jobs]
            self.jobs = []
        return self.results[i]


class _Pipeline:
    """Records in file order, each an action of :func:`_warc_action`; pages go to
    the extraction workers by chunks; ``ready``/``drain`` apply the actions in
    order (``reader.make``/``reader.bad``) and give the documents."""

    def __init__(self, reader: "Reader", where: str, pool_size: int) -> None:
        self.reader, self.where = reader, where
        self.queue: deque[tuple[tuple, _Chunk | None, int]] = deque()
        self.chunk = _Chunk()
        self.in_flight = 0
        self.last_was_document = False
        self.pool: Any = None
        self.pool_size = pool_size
        self.submitted: deque[_Chunk] = deque()  # chunks handed to the pool, oldest first

    def _submit(self) -> None:
        ch = self.chunk
        if not ch.jobs:
            return
        if self.pool_size:
            if self.pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # numba's threads make fork unsafe: workers start from a clean forkserver
                self.pool = ProcessPoolExecutor(self.pool_size, mp_context=multiprocessing.get_context("forkserver"))
            ch.future = self.pool.submit(_page_results, ch.jobs)
            self.submitted.append(ch)
        self.in_flight += 1
        self.chunk = _Chunk()

    def put(self, action: tuple) -> None:
        if action[0] == "page":
            o = self.reader.o
            _, _, _, body, charset, url, _ = action
            self.chunk.jobs.append((body, charset, o.extract, url is None, o.max_html_bytes))
            self.queue.append((action, self.chunk, len(self.chunk.jobs) - 1))
            if len(self.chunk.jobs) >= EXTRACT_CHUNK_PAGES:
                self._submit()
        else:
            self.queue.append((action, None, 0))

    def _apply(self) -> "Document | None":
        action, chunk, i = self.queue.popleft()
        r = self.reader
        kind = action[0]
        if kind == "bad":
            _, reason, line, detail = action
            r.bad(reason, self.where, line, detail)
            doc = None
        elif kind == "make":
            _, line, doc_id, text, date, url = action
            doc = r.make(self.where, line, doc_id, text, date, registered_domain(url), url=url, title=None,
                         extracted=True)
        else:
            assert chunk is not None
            _, line, doc_id, _, _, url, date = action
            doc = finish_page(r, self.where, line, doc_id, chunk.result(i), url, date)
            if i == len(chunk.results or ()) - 1:
                self.in_flight -= 1
        self.last_was_document = doc is not None
        return doc

    def ready(self, keep_last: bool) -> Iterator["Document"]:
        """The documents of the records at the front whose pages are extracted
        (and, when too many chunks wait, the front's, extracted here if no
        worker started it); with ``keep_last`` the last record stays."""
        limit = 2 * self.pool_size + 2
        while len(self.queue) > (1 if keep_last else 0):
            _, chunk, _ = self.queue[0]
            if chunk is not None and chunk is self.chunk:
                if self.in_flight >= limit or not self.pool_size:
                    self._submit()  # the front's chunk is still filling: hand it on
                else:
                    return
            if chunk is not None and not chunk.done() and self.in_flight < limit and self.pool_size:
                return
            while chunk is not None and not chunk.done() and self._steal():
                pass  # the front is with a worker: extract chunks no worker has started instead of waiting
            doc = self._apply()
            if doc is not None:
                yield doc

    def _steal(self) -> bool:
        """Extract here the oldest chunk handed to the pool that no worker has
        started (its future cancelled); False when there is none."""
        while self.submitted and (self.submitted[0].results is not None or self.submitted[0].future.done()):
            self.submitted.popleft()
        for ch in self.submitted:
            if ch.results is None and ch.future.cancel():
                ch.results = [page_result(*j) for j in ch.jobs]
                ch.jobs = []
                return True
        return False

    def drain(self) -> Iterator["Document"]:
        self._submit()
        while self.queue:
            chunk = self.queue[0][1]
            while chunk is not None and not chunk.done() and self._steal():
                pass
            doc = self._apply()
            if doc is not None:
                yield doc

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _truncated_tail(f: IO[bytes], last_pos: int) -> str | None:
    """For a gzip file: whether its members from byte ``last_pos`` on (the last
    record's) end cleanly — fastwarc stops quietly at a cut member.  Reads only
    the tail; None when the file is not seekable or not gzip."""
    try:
        f.seek(0)
        magic = f.read(2)
        if magic != b"\x1f\x8b":
            return None
        f.seek(last_pos)
    except (OSError, ValueError, AttributeError):
        return None
    d = zlib.decompressobj(31)
    pending = False  # inside a member that has not ended yet
    while chunk := f.read(1 << 20):
        while chunk:
            if not pending and not chunk.strip(b"\x00"):
                break  # padding after the last member
            pending = True
            try:
                d.decompress(chunk)
            except zlib.error as e:
                return f"corrupt gzip data after byte {last_pos}: {e}"
            if d.eof:
                pending = False
                chunk = d.unused_data
                d = zlib.decompressobj(31)
            else:
                chunk = b""
    if pending:
        return f"the gzip member at or after byte {last_pos} is truncated: the file ends inside it"
    return None


def _warc_action(reader: "Reader", rec: Any, ordinal: int, by_url: bool, cut: list[bool]) -> tuple:
    """What one record gives, without touching ``reader`` (``_Pipeline`` applies
    it in file order): ``("bad", reason, ordinal, detail)``, ``("make", ordinal,
    doc_id, text, date, url)`` (text already extracted) or ``("page", ordinal,
    doc_id, body, charset, url, date)`` (HTML to extract)."""
    from fastwarc.warc import WarcRecordType

    rtype = rec.record_type
    url = (rec.headers.get("WARC-Target-URI") or "").strip() or None
    rid = _strip_id(rec.record_id)
    if rtype == WarcRecordType.revisit:
        return ("bad", "revisit", ordinal, f"a revisit record of {url} (no body)")
    body_len = rec.content_length
    if body_len > reader.o.max_html_bytes + (1 << 16):
        return ("bad", "too_large", ordinal,
                f"record of {body_len:,} bytes, over max_html_bytes={reader.o.max_html_bytes:,}")
    raw = rec.reader.read()
    cut[0] = len(raw) < body_len
    if cut[0]:
        return ("bad", "truncated", ordinal, f"record {rid} has {len(raw):,} of its {body_len:,} bytes")
    date = _record_date(rec)
    doc_id = (url if by_url else rid) or rid or url
    if rtype == WarcRecordType.conversion:  # WET: text already extracted
        refers = _strip_id(rec.headers.get("WARC-Refers-To"))
        if not by_url and refers:
            doc_id = refers
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return ("bad", "bad_encoding", ordinal, f"WET text is not UTF-8 at byte {e.start}")
        return ("make", ordinal, doc_id, text, date, url)
    ctype, charset, body = "", None, raw
    if rec.headers.get("Content-Type", "").lower().startswith("application/http"):
        try:
            status, headers, body = _split_http(raw)
        except ValueError as e:
            return ("bad", "truncated", ordinal, f"bad HTTP header block: {e}")
        if status != 200:
            return ("bad", "http_status", ordinal, f"HTTP status {status} for {url}")
        ctype = headers.get("content-type", "")
        enc = headers.get("content-encoding", "").strip().lower()
        if enc in ("gzip", "x-gzip", "deflate"):
            try:
                body = zlib.decompress(body, 47 if enc != "deflate" else 15)
            except zlib.error as e:
                return ("bad", "truncated", ordinal, f"{enc} body does not decompress: {e}")
    else:
        ctype = rec.headers.get("Content-Type", "")
    mime, _, params = ctype.partition(";")
    mime = mime.strip().lower()
    m = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", params, re.I)
    charset = m.group(1) if m else None
    if mime and mime not in ("text/html", "application/xhtml+xml", "text/plain"):
        return ("bad", "not_html", ordinal, f"content type {mime} ({url})")
    if mime == "text/plain":
        try:
            text = decode_html(body, charset)
        except _Skip as s:
            return ("bad", s.reason, ordinal, s.detail)
        return ("make", ordinal, doc_id, text, date, url)
    return ("page", ordinal, doc_id, body, charset, url, date)


def _split_http(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """An HTTP response block → status, lower-cased headers, body (chunked decoded)."""
    end = raw.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end = raw.find(b"\n\n")
        sep = 2
    if end < 0:
        raise ValueError("no end of the HTTP headers")
    head = raw[:end].decode("iso-8859-1").splitlines()
    if not head:
        raise ValueError("empty HTTP header")
    parts = head[0].split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"bad status line {head[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    body = raw[end + sep:]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    return int(parts[1]), headers, body


def _dechunk(body: bytes) -> bytes:
    out = io.BytesIO()
    pos = 0
    while pos < len(body):
        nl = body.find(b"\r\n", pos)
        if nl < 0:
            break
        try:
            size = int(body[pos:nl].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return body  # not really chunked: keep as sent
        if size == 0:
            break
        out.write(body[nl + 2 : nl + 2 + size])
        pos = nl + 2 + size + 2
    return out.getvalue()


def html_value(reader: "Reader", file: str, line: int | None, value: str) -> PageText | None:
    """The HTML field of a record (``ReadOptions.html_field``) extracted, or None
    after a counted skip (``too_large``, ``no_text``)."""
    o = reader.o
    if len(value) > o.max_html_bytes:
        reader.bad("too_large", file, line, f"HTML of {len(value):,} characters, over max_html_bytes={o.max_html_bytes:,}")
        return None
    page = extract_html(value, o.extract, want_url=True)
    if not page.text.strip():
        reader.bad("no_text", file, line, "the extractor found no text" + (" (main content)" if o.extract else ""))
        return None
    return page
