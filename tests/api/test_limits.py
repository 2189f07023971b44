"""Body limits hold while a body streams in: before authentication, before parsing, and
without the server ever holding the body (a real uvicorn in its own process)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from circle15.api.app import create_app
from circle15.api.guards.middleware import MAX_JSON_BYTES, MULTIPART_FRAMING_BYTES
from circle15.api.settings import Settings

MB = 1_000_000
# the limits are all in front of the area: the server needs none (a stand-in state
# holding only the settings, which the token check reads)
SERVER = """
import sys
from types import SimpleNamespace
import uvicorn
from pydantic import SecretStr
from circle15.api.app import create_app
from circle15.api.settings import Settings
settings = Settings(data_dir=sys.argv[2], planner_token=SecretStr("secret"))
app = create_app(settings, state=SimpleNamespace(settings=settings))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


@dataclass
class Server:
    port: int
    pid: int

    def peak_rss_mb(self) -> float:
        """The process's high-water resident memory (VmHWM), MB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines()
                  if line.startswith("VmHWM:"))
        return kb / 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CIRCLE15_MAX_UPLOAD_BYTES": "5000000"}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port),
                             str(tmp_path_factory.mktemp("limits"))], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the service did not start")
                time.sleep(0.2)
        yield Server(port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Sent:
    bytes_sent: int
    status: int
    answer: bytes


def _chunks(total: int) -> Iterator[bytes]:
    """A JSON body of about ``total`` bytes, valid as far as it goes: a long id list."""
    yield b'{"remove": ['
    piece = b'"SY-000001",' * 6000
    for _ in range(total // len(piece)):
        yield piece
    yield b'"SY-000002"]}'


def send_chunked(port: int, path: str, *, total: int, headers: str = "") -> Sent:
    """POST a chunked body of ``total`` bytes, stopping as soon as an answer arrives."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent = 0
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                     f"Transfer-Encoding: chunked\r\n{headers}\r\n".encode())
        try:
            for data in _chunks(total):
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(data)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: its answer is already here
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return Sent(sent, status, answer)


def test_chunked_json_is_refused_while_it_streams(server):
    before = server.peak_rss_mb()
    start = time.monotonic()
    sent = send_chunked(server.port, "/whatif", total=200 * MB)
    assert sent.status == 413, sent.answer[:300]
    assert b"byte limit" in sent.answer
    # answered long before the client was done: the server read about the limit, no more
    assert sent.bytes_sent < 50 * MB
    assert server.peak_rss_mb() - before < 100
    assert time.monotonic() - start < 30


def test_chunked_body_is_refused_before_authentication(server):
    sent = send_chunked(server.port, "/stations", total=50 * 2**20)
    assert sent.status == 413, sent.answer[:300]
    assert sent.bytes_sent < 20 * MB
    # a small body without the token is still a 401: the limit only stops big bodies
    small = send_chunked(server.port, "/stations", total=1000)
    assert small.status == 401, small.answer[:300]


def test_content_length_over_the_limit_is_refused_before_the_body(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    with sock:
        sock.sendall(b"POST /stations HTTP/1.1\r\nHost: test\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 52428800\r\n\r\n")
        answer = sock.recv(65536)  # no body sent at all: the answer cannot wait for it
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"connection: close" in answer.lower()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("limits-client"),
                        planner_token=SecretStr("secret"), max_upload_bytes=5 * MB)
    state = SimpleNamespace(settings=settings)
    with TestClient(create_app(settings, state=state)) as c:  # type: ignore[arg-type]
        yield c


def test_json_bodies_have_a_smaller_limit_than_uploads(client):
    auth = {"Authorization": "Bearer secret"}
    json_body = b"[" + b" " * MAX_JSON_BYTES + b"]"
    r = client.post("/whatif", content=json_body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "1,000,000 byte limit" in r.json()["detail"]
    assert r.headers["x-content-type-options"] == "nosniff"
    # the same size as an upload passes the middleware (the route reads it, then refuses
    # the token-less request); a file over the upload limit does not
    r = client.post("/stations/import", files={"file": ("s.csv", json_body, "text/csv")})
    assert r.status_code == 401
    big = b"x" * (5 * MB + MULTIPART_FRAMING_BYTES)
    r = client.post("/stations/import", files={"file": ("s.csv", big, "text/csv")},
                    headers=auth)
    assert r.status_code == 413 and "5,000,000 byte limit" in r.json()["detail"]
