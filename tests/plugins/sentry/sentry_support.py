"""A local Sentry ingest: an HTTP server on a loopback port that keeps the events it gets."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Event = dict[str, Any]


class Ingest:
    """What the server received: events, and how many client connections are open."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.paths: list[str] = []
        self.open_connections = 0
        self._lock = threading.Lock()
        self.port = 0

    def dsn(self, key: str = "publickey", project: int = 42) -> str:
        return f"http://{key}@127.0.0.1:{self.port}/{project}"

    def add(self, path: str, events: list[Event]) -> None:
        with self._lock:
            self.paths.append(path)
            self.events.extend(events)

    def connected(self, delta: int) -> None:
        with self._lock:
            self.open_connections += delta

    def matching(self, predicate: Callable[[Event], bool]) -> list[Event]:
        with self._lock:
            return [e for e in self.events if predicate(e)]

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10) -> Event:
        """The first event matching ``predicate``; fail the test after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (found := self.matching(predicate)):
            if loop.time() > deadline:
                pytest.fail(f"no matching event within {timeout}s; got {self.events!r}")
            await asyncio.sleep(0.02)
        return found[0]


def parse_envelope(body: bytes) -> list[Event]:
    """The ``event`` items of a Sentry envelope (header line, then item header + payload)."""
    lines = body.split(b"\n", 1)
    rest = lines[1] if len(lines) > 1 else b""
    events = []
    while rest.strip():
        header_line, rest = rest.split(b"\n", 1)
        header = json.loads(header_line)
        length = header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        if header.get("type") == "event":
            events.append(json.loads(payload))
    return events


def _decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


@contextmanager
def open_ingest() -> Iterator[Ingest]:
    """Serve on 127.0.0.1, port 0 (read back); stop at the end."""
    ingest = Ingest()

    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, so the test can see the SDK release its connection.
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            ingest.connected(+1)

        def finish(self) -> None:
            ingest.connected(-1)
            super().finish()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = _decode(body, self.headers.get("Content-Encoding"))
            ingest.add(self.path, parse_envelope(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ingest.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield ingest
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def exception_value(event: Event) -> str:
    """The message of the event's (last) exception, or ""."""
    values = event.get("exception", {}).get("values", [])
    return str(values[-1].get("value", "")) if values else ""


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    """Poll ``condition`` until true; fail with ``message`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s: {message}")
        await asyncio.sleep(0.02)
