"""A proxy in front of a real `docker-registry`: injects faults and, given accounts, answers /v2 and
/service/token the way Harbor's core does in front of its own distribution registry.

Faults: `proxy.fail("PUT", r"/blobs/uploads/", status=503, times=2)` answers the next two matching
requests with 503 before passing them on; `times=None` fails every match.

Harbor's rules (harbor_model cites the files; here the /v2 middlewares, src/server/middleware/v2auth/
{auth.go,access.go}, and src/server/middleware/immutable/pushmf.go):
- every answer sets the `sid` session cookie; an unsafe request that sends it back is refused by the
  CSRF middleware (403 "CSRF token invalid");
- `/v2/` wants an authenticated caller (login); `/v2/_catalog` is answered with `Basic realm="harbor"`
  whatever the caller sent, and needs a system administrator;
- a repository request needs its action: pull for GET/HEAD, push for POST/PUT/PATCH, delete for DELETE,
  and pull on the source repository of a cross-repository mount;
- refused without an Authorization header, the challenge is `Bearer realm=".../service/token",
  service="harbor-registry",scope="repository:<name>:pull"` (or `pull,push`, or `delete`); a GET or
  HEAD without one is always challenged (goharbor/harbor#11271);
- refused WITH an Authorization header (a token lacking the action, an expired or unknown token, wrong
  Basic credentials), the challenge is `Basic realm="harbor"`;
- Basic credentials are accepted on /v2 directly, with the account's rights;
- a manifest PUT by tag is refused with 412 when the tag already exists and an enabled immutable rule
  of the project matches it, whatever the digest.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.servers import loopback

from .harbor_model import (
    ANONYMOUS,
    SERVICE,
    Accounts,
    HarborCore,
    Principal,
    User,
    csrf_refused,
    error,
    immutable_matches,
    session_cookie,
)

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}
_REPO = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>blobs|manifests|tags)/(?P<rest>.*)$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int | None  # None: forever


@dataclass
class RegistryProxy:
    upstream: str  # host:port of the real registry
    users: dict[str, str] | None = None  # Harbor's front when set (or when a FakeHarbor attaches its core)
    service: str = SERVICE
    core: HarborCore | None = None
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    # Every request as Harbor saw it: (method, path, Authorization scheme or "", status).
    seen: list[tuple[str, str, str, int]] = field(default_factory=list)
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    realm_host: str | None = None  # when another server (a fake Harbor) hosts this proxy
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.core is None and self.users is not None:
            # A registry front with no API: its users are system administrators, every project exists.
            accounts = Accounts({u: User(p, sysadmin=True) for u, p in self.users.items()})
            self.core = HarborCore(accounts=accounts, any_project=True)

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

    @property
    def harbor(self) -> bool:
        return self.core is not None

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
        path = urlsplit(req.path).path
        if self.harbor and path.startswith("/service/token"):
            return self.token(req)
        status = self.injected(req.command, req.path)
        if status is not None:
            req.drain()
            return self.json(req, status, error("UNAVAILABLE", "injected fault"))
        if self.harbor and path.startswith("/v2/"):
            if csrf_refused(req.command, path, req.headers):
                req.drain()
                return self.json(req, 403, error("FORBIDDEN", "CSRF token invalid"))
            refusal = self.authorize(req, path)
            if refusal is not None:
                req.drain()
                status, headers, body = refusal
                return self.json(req, status, body, headers)
            immutable = self.immutable_refusal(req, path)
            if immutable is not None:
                req.drain()
                return self.json(req, 412, error("PRECONDITION", immutable))
        self.forward(req)

    # -- Harbor's v2auth ---------------------------------------------------------------------------
    def principal(self, header: str) -> tuple[Principal, dict[str, set[str]] | None]:
        """(who, the token's access or None for Basic and anonymous)."""
        assert self.core
        token = self.core.tokens.bearer(header)
        if token is not None:
            return Principal(token.subject), token.access
        basic = self.core.accounts.basic(header)
        return (basic, None) if basic is not None else (ANONYMOUS, None)

    def challenge(self, header: str, scopes: list[str]) -> str:
        if header:
            return 'Basic realm="harbor"'
        realm = f"http://{self.realm_host or self.address}/service/token"
        value = f'Bearer realm="{realm}",service="{self.service}"'
        return f'{value},scope="{" ".join(scopes)}"' if scopes else value

    def authorize(self, req: _Handler, path: str) -> tuple[int, dict[str, str], dict] | None:
        assert self.core
        header = req.headers.get("Authorization", "") or ""
        who, token_access = self.principal(header)
        unauthorized = error("UNAUTHORIZED", "unauthorized")
        if path == "/v2/":
            if who is ANONYMOUS:
                return 401, {"Www-Authenticate": self.challenge(header, [])}, unauthorized
            return None
        if path.startswith("/v2/_catalog"):
            if not who.sysadmin:
                return 401, {"Www-Authenticate": 'Basic realm="harbor"'}, error("UNAUTHORIZED",
                                                                                "unauthorized to list catalog")
            return None
        m = _REPO.match(path)
        if m is None:
            return None
        name = m.group("name")
        action = {"GET": "pull", "HEAD": "pull", "POST": "push", "PUT": "push", "PATCH": "push",
                  "DELETE": "delete"}.get(req.command, "")
        wanted = [(name, action)]
        query = parse_qs(urlsplit(req.path).query)
        if req.command == "POST" and query.get("mount") and query.get("from"):
            wanted.append((query["from"][0], "pull"))
        scopes = [f"repository:{n}:{'pull,push' if a == 'push' else a}" for n, a in wanted]
        if not header and req.command in ("GET", "HEAD"):
            return 401, {"Www-Authenticate": self.challenge(header, scopes)}, error(
                "UNAUTHORIZED", "authorize header needed to send HEAD to repository")
        projects = self.core.projects()
        for repo, act in wanted:
            project = repo.split("/", 1)[0]
            if project not in projects:
                return 401, {}, error("UNAUTHORIZED", f"project {project} not found")
            if token_access is not None:
                allowed = act in token_access.get(repo, set())
            else:
                allowed = act in who.repository_actions(project, projects[project])
            if not allowed:
                return 401, {"Www-Authenticate": self.challenge(header, scopes)}, error(
                    "UNAUTHORIZED", f"unauthorized to access repository: {repo}, action: {act}")
        return None

    def immutable_refusal(self, req: _Handler, path: str) -> str | None:
        assert self.core
        m = _REPO.match(path)
        if req.command != "PUT" or m is None or m.group("kind") != "manifests":
            return None
        reference = m.group("rest")
        if _DIGEST.match(reference):
            return None
        project, _, repo = m.group("name").partition("/")
        if not immutable_matches(self.core.rules(project), repo, reference):
            return None
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            conn.request("HEAD", f"/v2/{m.group('name')}/manifests/{reference}",
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                                            "application/vnd.docker.distribution.manifest.v2+json"})
            exists = conn.getresponse().status == 200
        finally:
            conn.close()
        return f"Failed to process request due to '{repo}:{reference}' configured as immutable." if exists else None

    def token(self, req: _Handler) -> None:
        assert self.core
        query = parse_qs(urlsplit(req.path).query)
        self.token_requests.append(query)
        if (query.get("service") or [""])[0] != self.service:
            return self.json(req, 400, None, raw=f"Unable to handle service: {(query.get('service') or [''])[0]}")
        who = self.core.accounts.basic(req.headers.get("Authorization", "") or "") or ANONYMOUS
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        status, body = self.core.tokens.issue(who, scopes, self.core.projects())
        if status != 200:
            return self.json(req, status, None, raw="")
        self.json(req, 200, body)

    # -- transport ---------------------------------------------------------------------------------
    def forward(self, req: _Handler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        headers = {k: v for k, v in req.headers.items()
                   if k.lower() not in HOP_BY_HOP | {"authorization", "cookie"}}
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        try:
            conn.request(req.command, req.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            out = {k: v for k, v in r.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            self.answer(req, r.status, out, data, head_length=r.getheader("Content-Length"))
        finally:
            conn.close()

    def json(self, req: _Handler, status: int, body: object, headers: dict[str, str] | None = None,
             raw: str | None = None) -> None:
        data = (raw or "").encode() if raw is not None else json.dumps(body).encode()
        ctype = "text/plain; charset=utf-8" if raw is not None else "application/json"
        self.answer(req, status, {"Content-Type": ctype, **(headers or {})}, data)

    def answer(self, req: _Handler, status: int, headers: dict[str, str], body: bytes,
               head_length: str | None = None) -> None:
        scheme = (req.headers.get("Authorization", "") or "").split(" ", 1)[0]
        with self.lock:
            self.log.append((req.command, req.path, status))
            self.seen.append((req.command, urlsplit(req.path).path, scheme, status))
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        if self.harbor:
            req.send_header("Set-Cookie", session_cookie())
        # HEAD answers carry the length of the body they would have had.
        req.send_header("Content-Length", head_length if req.command == "HEAD" and head_length else str(len(body)))
        req.end_headers()
        if req.command != "HEAD" and body:
            req.wfile.write(body)


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
