"""A loopback stand-in for the parts of GitLab's REST API v4 pipeyard calls.

It follows the documented contracts: PRIVATE-TOKEN auth (401 `{"message":
"401 Unauthorized"}` otherwise), URL-encoded project paths, JSON bodies. Each
test registers the answers it needs and reads back the requests it got.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

Handler = Callable[[dict[str, Any]], tuple[int, Any]]


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitLab:
    token: str = "glpat-test-token"
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        """path is the decoded path after /api/v4, e.g. /projects/acme/app/ci/lint."""
        self.routes[(method, path)] = handler

    def start(self) -> FakeGitLab:
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_a):
                pass

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode()
                path = unquote(parts.path).removeprefix("/api/v4")
                fake.requests.append(Recorded(method, path, parts.query, dict(self.headers), body))
                if self.headers.get("PRIVATE-TOKEN") != fake.token and \
                        self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"message": "401 Unauthorized"})
                handler = fake.routes.get((method, path))
                if handler is None:
                    return self._send(404, {"message": "404 Not found"})
                status, answer = handler({"body": body, "query": parts.query, "headers": dict(self.headers)})
                self._send(status, answer)

            def _send(self, status: int, answer: Any) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
