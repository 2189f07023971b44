"""HTTP limits enforced while a request's head arrives, before the framework sees it.

uvicorn's httptools protocol has no limit on a request's head: a single 100 MB header
took 15 s and 2 GB to take in. This protocol counts the head's bytes, its header
fields and the request line as they arrive, and answers 431 (or 414 for the line)
and closes the connection the moment one passes its limit:

- the whole head (request line and every header): ``MAX_HEAD_BYTES``, 64 KiB;
- header fields: ``MAX_FIELDS``, 100;
- the request target (path and query): ``MAX_TARGET_BYTES``, 8 KiB.

``circle15 serve`` runs uvicorn with it (``--http circle15.api.guards.http_limits:LimitedHttp``).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
MAX_FIELDS = 100
MAX_TARGET_BYTES = 8 * 1024

_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class LimitedHttp(HttpToolsProtocol):
    """httptools' protocol with limits on the request head (module docstring).

    It also retires gracefully: once a worker is being replaced (``retiring``, set in
    that worker's process), every request it still answers says ``Connection: close``,
    so keep-alive clients move to the new workers after their answer instead of having
    an idle connection closed under a request they are sending.
    """

    #: this worker is being replaced (set by its process on SIGUSR1)
    retiring = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._fields = 0
        self._refusal: tuple[int, str] | None = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._fields = True, 0, 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES and self._refusal is None:
            self._refusal = (414, f"the request target is over {MAX_TARGET_BYTES:,} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > MAX_FIELDS:
            if self._refusal is None:
                self._refusal = (431, f"more than {MAX_FIELDS} header fields")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refusal is None:
            super().on_headers_complete()
            if LimitedHttp.retiring and self.cycle is not None:
                self.cycle.keep_alive = False  # answered, then the client reconnects

    def on_body(self, body: bytes) -> None:
        if self._refusal is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refusal is None:
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # answered and closing: what else arrives is dropped
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._refusal is None and self._in_head and self._head_bytes > MAX_HEAD_BYTES:
            self._refusal = (431, f"the request head is over {MAX_HEAD_BYTES:,} bytes")
        if self._refusal is not None:
            self._refuse(*self._refusal)

    def _refuse(self, status: int, message: str) -> None:
        body = (f'{{"detail": "{message}"}}').encode()
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % (status, _REASONS[status], len(body)))
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(head + body)
            self.transport.close()
