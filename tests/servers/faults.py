"""Servers that misbehave on purpose, for the deadline tests: one that drips its answer a byte at a time
(each read is quick, so no timeout per read fires), and one that answers a status for a while.

A dripping server is what a stalled proxy, a server under swap or a hostile endpoint looks like to a
client; a closed port (nothing listening: tests.fixtures.free_port) is a GitLab or SonarQube that is
restarting and refuses connections.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.servers import loopback


@dataclass
class Faulty:
    url: str
    requests: list[str] = field(default_factory=list)  # "METHOD path", as they arrived
    started: threading.Event = field(default_factory=threading.Event)


def _serve(handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext | None):
    server = loopback.serve(handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if context is not None else "http"
    return server, f"{scheme}://127.0.0.1:{server.server_address[1]}"


@contextmanager
def dripping(*, interval: float = 0.3, in_headers: bool = False,
             context: ssl.SSLContext | None = None) -> Iterator[Faulty]:
    """Answers every request with a JSON body (or, `in_headers`, its header lines) one byte per
    `interval` seconds, for as long as the client listens."""
    faulty = Faulty("")
    stop = threading.Event()

    class Drip(BaseHTTPRequestHandler):
        def _drip(self, data: bytes) -> None:
            for byte in data:
                if stop.is_set():
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(interval)

        def do_any(self) -> None:
            faulty.requests.append(f"{self.command} {self.path}")
            faulty.started.set()
            try:
                if in_headers:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self._drip(b"X-Slow: " + b"y" * 10_000 + b"\r\n\r\n")
                    return
                body = b'{"version": "' + b"9" * 10_000 + b'"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self._drip(body)
            except OSError:
                pass  # the client hung up: what the deadline is for

        do_GET = do_POST = do_PUT = do_HEAD = do_PATCH = do_any

        def log_message(self, *args: object) -> None:
            pass

    server, faulty.url = _serve(Drip, context)
    try:
        yield faulty
    finally:
        stop.set()
        loopback.stop(server)


@contextmanager
def answering(status: int, *, times: int | None = None, headers: dict[str, str] | None = None,
              body: bytes = b'{"message": "try again"}') -> Iterator[Faulty]:
    """Answers `status` (with `headers`) to the first `times` requests (None: all), then 200 `{}`."""
    faulty = Faulty("")

    class Status(BaseHTTPRequestHandler):
        def do_any(self) -> None:
            faulty.requests.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            failing = times is None or len(faulty.requests) <= times
            data = body if failing else b"{}"
            self.send_response(status if failing else 200)
            for name, value in (headers or {}).items() if failing else ():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_HEAD = do_PATCH = do_any

        def log_message(self, *args: object) -> None:
            pass

    server, faulty.url = _serve(Status, None)
    try:
        yield faulty
    finally:
        loopback.stop(server)
