"""Two loopback origins for redirect tests: one that sends every request on to the other with a 302,
and one that records what arrives. A stand-in for a mirror, registry or GitLab behind a misconfigured
or hostile redirect (RFC 9110 section 15.4.3: a client follows a 302 to the Location it names)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.servers import loopback


@dataclass
class Received:
    path: str
    headers: dict[str, str]


@dataclass
class Origins:
    start: str  # the URL the client is pointed at
    other: str  # the origin the 302 sends it to
    received: list[Received] = field(default_factory=list)

    def credentials_seen_by_other(self) -> list[str]:
        names = ("authorization", "private-token", "job-token", "proxy-authorization", "cookie")
        return [f"{k}: {v}" for r in self.received for k, v in r.headers.items() if k.lower() in names]


@contextmanager
def redirecting_origins(status: int = 302) -> Iterator[Origins]:
    lock = threading.Lock()
    origins = Origins(start="", other="")

    class Other(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with lock:
                origins.received.append(Received(self.path, dict(self.headers)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"username": "someone"}')

        def log_message(self, *args: object) -> None:
            pass

    other = loopback.serve(Other)
    # Another origin: the same host on another port (RFC 6454: scheme, host and port).
    origins.other = f"http://127.0.0.1:{other.server_address[1]}"

    class Start(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(status)
            self.send_header("Location", origins.other + self.path)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    start = loopback.serve(Start)
    origins.start = f"http://127.0.0.1:{start.server_address[1]}"
    try:
        yield origins
    finally:
        loopback.stop(start)
        loopback.stop(other)
