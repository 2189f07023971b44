"""Pure ASGI middleware: request-body limits enforced while the body streams in, and
security headers on every answer.

Both sit in front of routing, so they hold for every request, authenticated or
not, before anything reads or parses a body.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the largest JSON body (or any body that is not a multipart upload), bytes. 500
#: stations in a what-if request take ~150 kB; 1 MB leaves room and bounds the memory
#: a parsed body can take (a Python object tree is ~10x its JSON text)
MAX_JSON_BYTES = 1_000_000
#: what a multipart upload may add to its file (boundaries, part headers), bytes
MULTIPART_FRAMING_BYTES = 64 * 1024


class BodyTooLargeError(HTTPException):
    """Raised into the application when the body it is reading passes the limit (the 413
    has already been sent; this only stops the application reading)."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


def is_upload(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def body_limit(content_type: str, *, max_upload_bytes: int) -> int:
    """The body limit for a request, bytes: uploads (``multipart/form-data``) get the
    upload limit plus framing; any other body (JSON) the smaller JSON limit."""
    if is_upload(content_type):
        return max_upload_bytes + MULTIPART_FRAMING_BYTES
    return min(MAX_JSON_BYTES, max_upload_bytes)


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    # the rest of the body is never read: the connection cannot carry another request
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse a request body over its limit with 413, never holding more than the limit.

    A ``Content-Length`` over the limit is refused at once, before the application
    runs. A body without one (``Transfer-Encoding: chunked``) is counted as the
    application receives it; as soon as the count passes the limit the 413 is sent,
    the application's ``receive`` raises :class:`BodyTooLargeError` (and reports a
    disconnect after that), and whatever the application answers is dropped.
    """

    def __init__(self, app: ASGIApp, *, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "")
        limit = body_limit(content_type, max_upload_bytes=self.max_upload_bytes)
        too_large = (f"the upload is over the {self.max_upload_bytes:,} byte limit"
                     if is_upload(content_type) else
                     f"the request body is over the {limit:,} byte limit for JSON (station "
                     "files go to POST /stations/import)")
        length = headers.get("content-length")
        if length is not None and not length.strip().isdigit():
            await _refuse(send, 400, f"Content-Length {length!r} is not a number of bytes")
            return
        if length is not None and int(length) > limit:
            await _refuse(send, 413, too_large)
            return
        await _CountedRequest(limit, too_large, receive, send).run(self.app, scope)


class _CountedRequest:
    """One request whose body is counted as the application receives it."""

    def __init__(self, limit: int, too_large: str, receive: Receive, send: Send) -> None:
        self.limit, self.too_large = limit, too_large
        self._receive, self._send = receive, send
        self.received = 0
        self.refused = False
        self.started = False

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        # should the application let the error through: the 413 is out already
        with contextlib.suppress(BodyTooLargeError):
            await app(scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.refused = True
                # an answer already begun (no route here streams before reading) is cut
                # short instead: the server then closes the connection
                if not self.started:
                    await _refuse(self._send, 413, self.too_large)
                raise BodyTooLargeError(self.too_large)
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the 413 went out already
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def tile_hosts(url_templates: list[tuple[str, str | None]]) -> list[str]:
    """``https://host`` of each tile URL template, ``{s}`` expanded over its subdomains."""
    hosts: list[str] = []
    for template, subdomains in url_templates:
        parts = urlsplit(template)
        for s in (subdomains or "") if "{s}" in parts.netloc else [""]:
            origin = f"{parts.scheme}://{parts.netloc.replace('{s}', s)}"
            if origin not in hosts:
                hosts.append(origin)
    return hosts


def page_policy(*, img_hosts: list[str], script_src: str = "'unsafe-inline'") -> str:
    """The Content-Security-Policy of a served HTML page.

    Scripts and styles come from this origin or are inline (the maps are one offline
    file with Leaflet inlined); nothing loads from another host except tile images
    from the basemap hosts; the page talks only to this service and cannot be framed.
    """
    return "; ".join([
        "default-src 'none'",
        " ".join(["script-src 'self'", script_src]).strip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(["'self'", "data:", "blob:", *img_hosts]),
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


#: headers every answer carries. The referrer goes to other hosts as the origin only:
#: the OSM tile servers refuse browser requests that carry no Referer
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class SecurityHeadersMiddleware:
    """``nosniff``, no framing and a referrer policy on every answer; a
    Content-Security-Policy on HTML pages that do not set their own."""

    def __init__(self, app: ASGIApp, *, page_csp: str) -> None:
        self.app = app
        self.page_csp = page_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ()))
                headers = MutableHeaders(scope=message)
                for name, value in COMMON_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", self.page_csp)
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: request headers that send a GET the full way (a body to limit, CORS to answer)
_FULL_WAY = frozenset({b"origin", b"content-length", b"transfer-encoding"})


class QuickGetMiddleware:
    """Answer a few hot ``GET`` paths without the framework's per-request work.

    ``routes`` maps a path to a function of the raw query string that returns a JSON
    body, or None to let the application answer (with its validation and errors).
    Requests carrying a body or an ``Origin`` always go the full way.
    """

    def __init__(self, app: ASGIApp, *, routes: dict[str, Callable[[str], bytes | None]]
                 ) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        quick = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if (quick is not None and scope["method"] == "GET"
                and not any(name in _FULL_WAY for name, _ in scope["headers"])):
            body = quick(scope["query_string"].decode("latin-1"))
            if body is not None:
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
