"""The request head is limited while it arrives: a huge header, too many fields or a
huge request target get 431/414 at once and the connection closes; ordinary requests,
keep-alive included, are untouched."""

from __future__ import annotations

import socket
import time

import pytest

from circle15.api.guards.http_limits import MAX_FIELDS, MAX_HEAD_BYTES, MAX_TARGET_BYTES
from tests.api.conftest import make_client
from tests.api.server import serving


@pytest.fixture(scope="module")
def base(area, tmp_path_factory):
    client = make_client(area, tmp_path_factory.mktemp("http"), None)
    with client, serving(client.app) as url:
        yield url


def _exchange(base: str, head: bytes, *, chunks: int = 1, body_mb: int = 0) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.settimeout(10)
        try:
            s.sendall(head)
            pad = b"x" * (1 << 20)
            for _ in range(body_mb):  # a header value that goes on and on
                s.sendall(pad)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while still sending: the answer is waiting
        data = b""
        while True:
            try:
                part = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not part:
                break
            data += part
            if b"\r\n\r\n" in data and chunks == 1 and data.count(b"HTTP/1.1") >= 1 and \
                    b"connection: close" in data.lower():
                break
        return data


@pytest.mark.parametrize("megabytes", [1, 50])
def test_a_huge_header_is_refused_at_once(base, megabytes):
    t0 = time.perf_counter()
    answer = _exchange(base, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ", body_mb=megabytes)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert f"{MAX_HEAD_BYTES:,}".encode() in answer
    assert time.perf_counter() - t0 < 5


def test_too_many_header_fields_are_refused(base):
    fields = b"".join(b"X-F%d: 1\r\n" % i for i in range(MAX_FIELDS + 5))
    answer = _exchange(base, b"GET /health HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ") and b"header fields" in answer


def test_a_huge_request_target_is_refused(base):
    target = b"/nearest?lon=1&pad=" + b"a" * (MAX_TARGET_BYTES + 10)
    answer = _exchange(base, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 ")


def test_ordinary_requests_and_keep_alive_are_untouched(base):
    import httpx

    with httpx.Client(base_url=base) as c:
        for _ in range(3):  # one connection, several requests
            r = c.get("/health", headers={f"X-H{i}": "v" * 100 for i in range(50)})
            assert r.status_code == 200
