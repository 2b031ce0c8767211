"""What the service's pages may load, and the API docs served without any network.

* Every response gets ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  no-referrer`` and, unless the route set its own, the strictest
  Content-Security-Policy (``default-src 'none'; frame-ancestors 'none'``: a
  JSON answer loads nothing and is framed by no one).
* The page at ``/`` and the docs at ``/docs`` carry a CSP that allows exactly
  their own inline scripts and styles (by SHA-256 hash) and requests to this
  server (``'self'``); nothing from anywhere else.
* ``/docs`` is Swagger UI from the ``swagger-ui-bundle`` package, its assets
  served under ``/docs-assets/`` (FastAPI's default loads them from a CDN, so
  the page was blank offline).  ReDoc is not offered: no package ships it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

__all__ = ["SecurityHeaders", "csp_for_html", "docs_html", "docs_asset", "DOCS_ASSETS"]

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

# the Swagger UI files served under /docs-assets/ (name -> media type)
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def _hashes(html: str, tag: str) -> list[str]:
    out = []
    for m in re.finditer(rf"<{tag}(?:\s[^>]*)?>(.*?)</{tag}>", html, re.S | re.I):
        if tag == "script" and re.search(r"\ssrc=", m.group(0)[: m.group(0).index(">")]):
            continue  # an external (same-origin) script, allowed by 'self'
        digest = hashlib.sha256(m.group(1).encode("utf-8")).digest()
        out.append("'sha256-" + base64.b64encode(digest).decode() + "'")
    return out


def csp_for_html(html: str, *, self_scripts: bool = False, self_styles: bool = False,
                 images: str = "'none'", inline_style_attributes: bool = False) -> str:
    """A Content-Security-Policy allowing exactly ``html``'s inline ``<script>`` and ``<style>``
    blocks (by hash), requests to this origin, and nothing else."""
    scripts = (["'self'"] if self_scripts else []) + _hashes(html, "script")
    styles = (["'self'"] if self_styles else []) + _hashes(html, "style")
    if inline_style_attributes:  # style="..." attributes / elements added by a script (Swagger UI's React)
        styles = [s for s in styles if not s.startswith("'sha256-")] + ["'unsafe-inline'"]
    return "; ".join([
        "default-src 'none'",
        "script-src " + (" ".join(scripts) or "'none'"),
        "style-src " + (" ".join(styles) or "'none'"),
        "connect-src 'self'",
        f"img-src {images}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


def _swagger_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return Path(str(swagger_ui_path))


def docs_html(openapi_url: str, title: str) -> tuple[str, str] | None:
    """The /docs page (HTML, its CSP) with local Swagger UI assets; None without the package."""
    if _swagger_dir() is None:
        return None
    from fastapi.openapi.docs import get_swagger_ui_html

    body = get_swagger_ui_html(
        openapi_url=openapi_url, title=title,
        swagger_js_url="docs-assets/swagger-ui-bundle.js", swagger_css_url="docs-assets/swagger-ui.css",
        swagger_favicon_url="docs-assets/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # the online validator badge would call out
    ).body
    html = bytes(body).decode("utf-8")  # Response.body is typed bytes | memoryview
    csp = csp_for_html(html, self_scripts=True, self_styles=True, images="'self' data:",
                       inline_style_attributes=True)
    return html, csp


def docs_asset(name: str) -> tuple[Path, str] | None:
    """(file, media type) of a Swagger UI asset, or None for any other name."""
    d = _swagger_dir()
    if d is None or name not in DOCS_ASSETS:
        return None
    return d / name, DOCS_ASSETS[name]


class SecurityHeaders:
    """ASGI middleware: the headers of the module doc on every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", API_CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                msg = {**msg, "headers": headers}
            await send(msg)

        await self.app(scope, receive, send_with_headers)
