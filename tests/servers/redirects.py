"""Two loopback origins for redirect tests: one that sends every request on to the other with a 302
(or the status given), and one that records what arrives and answers 200 with a small JSON body
(BODY). A stand-in for a mirror, registry or GitLab behind a misconfigured or hostile redirect, or a
registry that sends blob downloads to its storage (RFC 9110 section 15.4: a client follows a 3xx to
the Location it names; a 307 or 308 keeps the method and body)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.servers import loopback

BODY = b'{"username": "someone"}'


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    method: str = "GET"


@dataclass
class Origins:
    start: str  # the URL the client is pointed at
    other: str  # the origin the 302 sends it to
    received: list[Received] = field(default_factory=list)

    def credentials_seen_by_other(self) -> list[str]:
        names = ("authorization", "private-token", "job-token", "proxy-authorization", "cookie")
        return [f"{k}: {v}" for r in self.received for k, v in r.headers.items() if k.lower() in names]


@contextmanager
def redirecting_origins(status: int = 302, *, challenge: str | None = None) -> Iterator[Origins]:
    """`challenge`: the first origin answers a request without Authorization with 401 and this
    WWW-Authenticate, the way a registry does before it redirects a blob download to its storage
    (distribution's registry/auth/htpasswd/access.go; registry/storage/driver/s3-aws redirects)."""
    lock = threading.Lock()
    origins = Origins(start="", other="")

    def drain(handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)

    class Other(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            drain(self)
            with lock:
                origins.received.append(Received(self.path, dict(self.headers), self.command))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(BODY)

        do_POST = do_PUT = do_HEAD = do_PATCH = do_GET

        def log_message(self, *args: object) -> None:
            pass

    other = loopback.serve(Other)
    # Another origin: the same host on another port (RFC 6454: scheme, host and port).
    origins.other = f"http://127.0.0.1:{other.server_address[1]}"

    class Start(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            drain(self)
            if challenge is not None and not self.headers.get("Authorization"):
                self.send_response(401)
                self.send_header("WWW-Authenticate", challenge)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Location", origins.other + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_HEAD = do_PATCH = do_GET

        def log_message(self, *args: object) -> None:
            pass

    start = loopback.serve(Start)
    origins.start = f"http://127.0.0.1:{start.server_address[1]}"
    try:
        yield origins
    finally:
        loopback.stop(start)
        loopback.stop(other)
