"""A proxy in front of a real `docker-registry`: injects faults and, like Harbor, wants bearer tokens.

Faults: `proxy.fail("PUT", r"/blobs/uploads/", status=503, times=2)` answers the next two matching
requests with 503 before passing them on; `times=None` fails every match. Token auth: `/v2/...`
answers 401 with `WWW-Authenticate: Bearer realm=".../service/token",service=...,scope=...` until a
token from that realm is presented; the realm wants Basic credentials, as Harbor's does.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.servers import loopback

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int | None  # None: forever


@dataclass
class RegistryProxy:
    upstream: str  # host:port of the real registry
    users: dict[str, str] | None = None  # token auth when set: user -> password
    service: str = "harbor-registry"
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    realm_host: str | None = None  # when another server (a fake Harbor) hosts this proxy
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- control -------------------------------------------------------------------------------
    def fail(self, method: str, pattern: str, status: int = 503, times: int | None = 1) -> None:
        with self.lock:
            self.faults.append(Fault(method, re.compile(pattern), status, times))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    @property
    def address(self) -> str:
        assert self.server
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def start(self, port: int = 0) -> RegistryProxy:
        proxy = self

        class Handler(_Handler):
            app = proxy

        self.server = loopback.serve(Handler, port)
        return self

    def stop(self) -> None:
        loopback.stop(self.server)

    def __enter__(self) -> RegistryProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour -----------------------------------------------------------------------------
    def injected(self, method: str, path: str) -> int | None:
        with self.lock:
            for f in self.faults:
                if f.method == method and f.pattern.search(path) and (f.times is None or f.times > 0):
                    if f.times is not None:
                        f.times -= 1
                    return f.status
        return None

    def handle(self, req: _Handler) -> None:
        path = req.path
        if self.users is not None and path.startswith("/service/token"):
            return self.token(req)
        status = self.injected(req.command, path)
        if status is not None:
            req.drain()
            body = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "injected fault"}]}).encode()
            return self.answer(req, status, {"Content-Type": "application/json"}, body)
        if self.users is not None and path.startswith("/v2/") and not self.authorized(req):
            req.drain()
            repo = re.match(r"^/v2/(.+?)/(?:blobs|manifests|tags)/", path)
            scope = f',scope="repository:{repo.group(1)}:pull,push"' if repo else ""
            realm = f"http://{self.realm_host or self.address}/service/token"
            challenge = f'Bearer realm="{realm}",service="{self.service}"{scope}'
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}).encode()
            return self.answer(req, 401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"}, body)
        self.forward(req)

    def authorized(self, req: _Handler) -> bool:
        value = req.headers.get("Authorization", "")
        return value.startswith("Bearer ") and value[7:] in self.tokens

    def token(self, req: _Handler) -> None:
        query = parse_qs(urlsplit(req.path).query)
        self.token_requests.append(query)
        user = _basic_user(req.headers.get("Authorization", ""), self.users or {})
        if user is None:
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}).encode()
            return self.answer(req, 401, {"Content-Type": "application/json"}, body)
        token = secrets.token_hex(8)
        self.tokens[token] = user
        self.answer(req, 200, {"Content-Type": "application/json"},
                    json.dumps({"token": token, "expires_in": 1800}).encode())

    def forward(self, req: _Handler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP | {"authorization"}}
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        try:
            conn.request(req.command, req.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            out = {k: v for k, v in r.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            self.answer(req, r.status, out, data, head_length=r.getheader("Content-Length"))
        finally:
            conn.close()

    def answer(self, req: _Handler, status: int, headers: dict[str, str], body: bytes,
               head_length: str | None = None) -> None:
        with self.lock:
            self.log.append((req.command, req.path, status))
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        # HEAD answers carry the length of the body they would have had.
        req.send_header("Content-Length", head_length if req.command == "HEAD" and head_length else str(len(body)))
        req.end_headers()
        if req.command != "HEAD" and body:
            req.wfile.write(body)


def _basic_user(value: str, users: dict[str, str]) -> str | None:
    if not value.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except ValueError:
        return None
    return user if users.get(user) == password else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; no 40 ms delayed-ACK stalls
    app: RegistryProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_any(self) -> None:
        self.app.handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_any
