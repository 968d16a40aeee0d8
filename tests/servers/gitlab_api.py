"""A loopback stand-in for the parts of GitLab's REST API v4 pipeyard calls.

It follows the documented contracts: PRIVATE-TOKEN or Bearer auth (401
`{"message": "401 Unauthorized"}` otherwise), URL-encoded project paths, JSON or
form-encoded bodies. Each test registers the answers it needs, as exact (method,
path) routes or a fallback for every other request, and reads back the requests
it got.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.servers import loopback

# Gets the request as {"method", "target" (as sent, still percent-encoded), "body", "query", "headers"}
# and answers (status, JSON body).
Handler = Callable[[dict[str, Any]], tuple[int, Any]]


def form_fields(text: str) -> dict[str, str]:
    """The first value of each field of a query string or form-encoded body."""
    return {k: v[0] for k, v in parse_qs(text).items()}


def parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    try:
        # JSON whatever the Content-Type says, as this fake always read it; only what is not JSON may be a form.
        return json.loads(raw)
    except ValueError:
        text = raw.decode()
        return form_fields(text) if content_type.startswith("application/x-www-form-urlencoded") else text


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    target: str  # the request target as sent: still percent-encoded, query included


@dataclass
class FakeGitLab:
    token: str = "glpat-test-token"
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    # Answers what no route matches, e.g. a stateful API that parses paths itself.
    fallback: Handler | None = None
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
            # Head and body go out in two writes; with Nagle the client's delayed ACK stalls each answer.
            disable_nagle_algorithm = True

            def log_message(self, *_a):
                pass

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = parse_body(raw, self.headers.get("Content-Type", ""))
                path = unquote(parts.path).removeprefix("/api/v4")
                fake.requests.append(Recorded(method, path, parts.query, dict(self.headers), body, self.path))
                if self.headers.get("PRIVATE-TOKEN") != fake.token and \
                        self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"message": "401 Unauthorized"})
                handler = fake.routes.get((method, path), fake.fallback)
                if handler is None:
                    return self._send(404, {"message": "404 Not found"})
                status, answer = handler({"method": method, "target": self.path, "body": body,
                                          "query": parts.query, "headers": dict(self.headers)})
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

        self.server = loopback.serve(H)
        return self

    def stop(self) -> None:
        loopback.stop(self.server)
