"""A loopback Harbor: the v2.0 API endpoints pipeyard calls, as Harbor's swagger (2.10-2.15) defines them.

- Basic auth on every call; 401 `{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized"}]}` otherwise.
- `HEAD /projects?project_name=` 200/404; `POST /projects` 201 with only a `Location` header, 409 if it
  exists, 400 unless every metadata value is a string (Harbor's ProjectMetadata fields are strings),
  403 for non-admins when only admins may create projects.
- `POST /robots` 201 with `{id, name, secret, ...}` and a `Location`; `GET /robots` never shows a secret.
- `POST /retentions` 201 + Location, sets the project's `metadata.retention_id`; 400 on a cron that is not
  6 fields with seconds 0; `GET`/`PUT /retentions/{id}`.
- `GET`/`POST /projects/{p}/immutabletagrules` (409 on a duplicate rule).
- `GET`/`POST`/`PUT /system/gc/schedule`, 403 unless the user is a system admin.
- Errors in Harbor's envelope `{"errors":[{"code","message"}]}`; faults injected per method and path.
- `/v2/...` and `/service/token` go to a RegistryProxy (a real docker-registry behind token auth), since
  Harbor serves its registry on the same host.

Every request is recorded, so a test can assert that a second run wrote nothing.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.servers import loopback

from .registry_proxy import RegistryProxy

API = "/api/v2.0"
PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


@dataclass
class Call:
    method: str
    path: str
    status: int
    body: Any


@dataclass
class FakeHarbor:
    # user -> (password, system admin)
    users: dict[str, tuple[str, bool]] = field(default_factory=lambda: {"admin": ("Harbor12345", True)})
    only_admin_creates_projects: bool = False
    registry: RegistryProxy | None = None
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    robots: list[dict[str, Any]] = field(default_factory=list)
    retentions: dict[int, dict[str, Any]] = field(default_factory=dict)
    immutable: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    gc: dict[str, Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[tuple[str, re.Pattern[str], int, int | None]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The supply-chain block at the end of this file (issue 19): the version GET /systeminfo reports,
    # which decides the ProjectMetadata fields PUT /projects/{name} keeps.
    harbor_version: str = "v2.15.0-f2ae3f8d"

    # -- control -------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        assert self.server
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def fail(self, method: str, pattern: str, status: int = 500, times: int | None = 1) -> None:
        self.faults.append((method, re.compile(pattern), status, times))

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method in ("POST", "PUT", "PATCH", "DELETE")]

    def add_project(self, name: str, **metadata: str) -> dict[str, Any]:
        project = {"project_id": self._id(), "name": name, "metadata": {"public": "false", **metadata},
                   "repo_count": 0, "owner_name": "admin"}
        self.projects[name] = project
        return project

    def add_robot(self, project: str, name: str) -> dict[str, Any]:
        robot = {"id": self._id(), "name": f"robot${project}+{name}", "level": "project", "duration": -1,
                 "disable": False, "editable": True, "expires_at": -1, "secret": secrets.token_urlsafe(24),
                 "permissions": [{"kind": "project", "namespace": project, "access": []}]}
        self.robots.append(robot)
        return robot

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def start(self) -> FakeHarbor:
        harbor = self

        class Handler(_Handler):
            app = harbor

        self.server = loopback.serve(Handler)
        if self.registry is not None:
            self.registry.realm_host = self.address
        return self

    def stop(self) -> None:
        loopback.stop(self.server)

    def __enter__(self) -> FakeHarbor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, req: _Handler) -> None:
        url = urlsplit(req.path)
        if not url.path.startswith(API):
            if self.registry is not None and (url.path.startswith("/v2/") or url.path.startswith("/service/")):
                return self.registry.handle(req)  # type: ignore[arg-type]
            return req.reply(404, error("NOT_FOUND", "not found"))
        path = url.path[len(API):]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with self.lock:
            for i, (method, pattern, status, times) in enumerate(self.faults):
                if method == req.command and pattern.search(path) and (times is None or times > 0):
                    if times is not None:
                        self.faults[i] = (method, pattern, status, times - 1)
                    return self._reply(req, path, body, status, error("INTERNAL_SERVER_ERROR", "injected fault"))
            user = self._user(req.headers.get("Authorization", ""))
            if user is None:
                return self._reply(req, path, body, 401, error("UNAUTHORIZED", "unauthorized"))
            status, payload, headers = self.route(req.command, path, query, body, req.headers, user)
            self._reply(req, path, body, status, payload, headers)

    def _reply(self, req: _Handler, path: str, body: Any, status: int, payload: Any,
               headers: dict[str, str] | None = None) -> None:
        self.calls.append(Call(req.command, path, status, body))
        req.reply(status, payload, headers)

    def _user(self, value: str) -> tuple[str, bool] | None:
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        known = self.users.get(user)
        return (user, known[1]) if known and known[0] == password else None

    def _project(self, ref: str, headers: Any) -> dict[str, Any] | None:
        ref = unquote(ref)
        if headers.get("X-Is-Resource-Name", "").lower() != "true" and ref.isdigit():
            return next((p for p in self.projects.values() if p["project_id"] == int(ref)), None)
        return self.projects.get(ref)

    def route(self, method: str, path: str, query: dict[str, str], body: Any, headers: Any,
              user: tuple[str, bool]) -> tuple[int, Any, dict[str, str] | None]:
        admin = user[1]
        supply = route_supply(self, method, path, body, headers)
        if supply is not None:
            return supply
        if path == "/projects" and method == "HEAD":
            return (200 if query.get("project_name") in self.projects else 404), None, None
        if path == "/projects" and method == "POST":
            return self.create_project(body, admin)
        m = re.fullmatch(r"/projects/([^/]+)", path)
        if m and method == "GET":
            project = self._project(m.group(1), headers)
            if project is None:
                return 404, error("NOT_FOUND", f"project {m.group(1)} not found"), None
            return 200, project, None
        m = re.fullmatch(r"/projects/([^/]+)/immutabletagrules", path)
        if m:
            project = self._project(m.group(1), headers)
            if project is None:
                return 404, error("NOT_FOUND", f"project {m.group(1)} not found"), None
            rules = self.immutable.setdefault(project["project_id"], [])
            if method == "GET":
                return 200, rules, {"X-Total-Count": str(len(rules))}
            if method == "POST":
                patterns = [s["pattern"] for s in body.get("tag_selectors", [])]
                if any([s["pattern"] for s in r["tag_selectors"]] == patterns for r in rules):
                    return 409, error("CONFLICT", "the immutable rule already exists"), None
                rule = {**body, "id": self._id()}
                rules.append(rule)
                return 201, None, {"Location": f"{API}/projects/{project['project_id']}/immutabletagrules/{rule['id']}"}
        if path == "/robots" and method == "GET":
            return self.list_robots(query)
        if path == "/robots" and method == "POST":
            return self.create_robot(body)
        if path == "/retentions" and method == "POST":
            return self.create_retention(body)
        m = re.fullmatch(r"/retentions/(\d+)", path)
        if m:
            policy = self.retentions.get(int(m.group(1)))
            if policy is None:
                return 404, error("NOT_FOUND", "retention policy not found"), None
            if method == "GET":
                return 200, policy, None
            if method == "PUT":
                bad = _bad_cron(body)
                if bad:
                    return 400, error("BAD_REQUEST", bad), None
                self.retentions[int(m.group(1))] = _stored_policy(body, int(m.group(1)))
                return 200, None, None
        if path == "/system/gc/schedule":
            if not admin:
                return 403, error("FORBIDDEN", "forbidden"), None
            if method == "GET":
                return 200, self.gc, None
            if method in ("POST", "PUT"):
                if method == "POST" and self.gc:
                    return 409, error("CONFLICT", "a schedule already exists"), None
                self.gc = {"id": 1, "job_name": "GARBAGE_COLLECTION", "job_kind": "SCHEDULE",
                           "schedule": body["schedule"], "job_parameters": json.dumps(body.get("parameters", {}))}
                return (201, None, {"Location": f"{API}/system/gc/1"}) if method == "POST" else (200, None, None)
        return 404, error("NOT_FOUND", f"no route {method} {path}"), None

    def create_project(self, body: Any, admin: bool) -> tuple[int, Any, dict[str, str] | None]:
        if self.only_admin_creates_projects and not admin:
            return 403, error("FORBIDDEN", "Only system admin can create project"), None
        name = body.get("project_name", "")
        metadata = body.get("metadata") or {}
        bad = [k for k, v in metadata.items() if not isinstance(v, str)]
        if bad:
            # Harbor's ProjectMetadata fields are strings; JSON booleans fail to unmarshal.
            return 400, error("BAD_REQUEST", f"parsing project body failed: metadata.{bad[0]} must be a string"), None
        if not PROJECT_NAME.match(name) or len(name) > 255:
            return 400, error("BAD_REQUEST", "project name is not in lower case or contains illegal characters"), None
        if name in self.projects:
            return 409, error("CONFLICT", f"The project named {name} already exists"), None
        project = self.add_project(name, **metadata)
        return 201, None, {"Location": f"{API}/projects/{project['project_id']}"}

    def list_robots(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str] | None]:
        conditions = dict(kv.split("=", 1) for kv in query.get("q", "").split(",") if "=" in kv)
        robots = self.robots
        if "ProjectID" in conditions:
            project = next((p for p in self.projects.values() if str(p["project_id"]) == conditions["ProjectID"]), None)
            robots = [r for r in robots if project and r["permissions"][0]["namespace"] == project["name"]]
        page, size = int(query.get("page", 1)), int(query.get("page_size", 10))
        shown = [{k: v for k, v in r.items() if k != "secret"} for r in robots[(page - 1) * size:page * size]]
        return 200, shown, {"X-Total-Count": str(len(robots))}

    def create_robot(self, body: Any) -> tuple[int, Any, dict[str, str] | None]:
        if body.get("level") != "project" or not body.get("permissions"):
            return 400, error("BAD_REQUEST", "bad robot request"), None
        namespace = body["permissions"][0]["namespace"]
        if namespace not in self.projects:
            return 404, error("NOT_FOUND", f"project {namespace} not found"), None
        full = f"robot${namespace}+{body['name']}"
        if any(r["name"] == full for r in self.robots):
            return 409, error("CONFLICT", f"robot account {full} already exists"), None
        robot = self.add_robot(namespace, body["name"])
        robot["permissions"] = body["permissions"]
        created = {"id": robot["id"], "name": full, "secret": robot["secret"],
                   "creation_time": "2026-01-15T10:00:00.000Z", "expires_at": -1}
        return 201, created, {"Location": f"{API}/robots/{robot['id']}"}

    def create_retention(self, body: Any) -> tuple[int, Any, dict[str, str] | None]:
        bad = _bad_cron(body)
        if bad:
            return 400, error("BAD_REQUEST", bad), None
        project = next((p for p in self.projects.values() if p["project_id"] == body["scope"]["ref"]), None)
        if project is None:
            return 400, error("BAD_REQUEST", "scope.ref is not a project id"), None
        if project["metadata"].get("retention_id"):
            return 400, error("BAD_REQUEST", f"project {project['name']} already has a retention policy"), None
        policy_id = self._id()
        self.retentions[policy_id] = _stored_policy(body, policy_id)
        project["metadata"]["retention_id"] = str(policy_id)
        return 201, None, {"Location": f"{API}/retentions/{policy_id}"}


# -- supply-chain endpoints (issue 19) -----------------------------------------------------------------
# Harbor's swagger, api/v2.0/swagger.yaml of v2.10.0 and of main (2.16.0-dev), in
# ../shared/fixtures/harbor: `ProjectMetadata` has every value a string; 2.10 lacks
# auto_sbom_generation, which v2.11.0 added. updateProject (PUT /projects/{project_name_or_id},
# body ProjectReq) answers 200 with no body; src/server/v2.0/handler/project.go UpdateProject copies
# the body's metadata into the project with lib.JSONCopy, so a field the version's model lacks is
# dropped without an error, refuses a retention_id other than the project's own (400), and
# src/controller/project/controller.go Update adds new keys and updates existing ones, leaving the
# rest. getSystemInfo (GET /systeminfo) returns GeneralInfo with harbor_version "v<release>-<commit>",
# which newer releases show only to a logged-in user (src/server/v2.0/handler/systeminfo.go).
METADATA_2_10 = ("public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul", "severity",
                 "auto_scan", "reuse_sys_cve_allowlist", "retention_id")
METADATA_2_11 = (*METADATA_2_10, "auto_sbom_generation", "proxy_speed_kb")


def _metadata_fields(version: str) -> tuple[str, ...]:
    m = re.match(r"v?(\d+)\.(\d+)", version)
    return METADATA_2_11 if m and (int(m.group(1)), int(m.group(2))) >= (2, 11) else METADATA_2_10


def route_supply(h: FakeHarbor, method: str, path: str, body: Any,
                 headers: Any) -> tuple[int, Any, dict[str, str] | None] | None:
    if path == "/systeminfo" and method == "GET":
        return 200, {"auth_mode": "db_auth", "harbor_version": h.harbor_version, "self_registration": False,
                     "primary_auth_mode": False, "banner_message": ""}, None
    m = re.fullmatch(r"/projects/([^/]+)", path)
    if not (m and method == "PUT"):
        return None
    project = h._project(m.group(1), headers)
    if project is None:
        return 404, error("NOT_FOUND", f"project {m.group(1)} not found"), None
    metadata = (body or {}).get("metadata") or {}
    bad = [k for k, v in metadata.items() if not isinstance(v, str)]
    if bad:
        return 400, error("BAD_REQUEST", f"parsing project body failed: metadata.{bad[0]} must be a string"), None
    kept = {k: v for k, v in metadata.items() if k in _metadata_fields(h.harbor_version)}
    rid = kept.get("retention_id")
    if rid is not None and rid != project["metadata"].get("retention_id"):
        return 400, error("BAD_REQUEST", "the retention_id in the request's payload when updating a project "
                                         "should be omitted, alternatively passing the one that has already "
                                         "been associated to this project"), None
    project["metadata"].update(kept)
    return 200, None, None


def _bad_cron(body: Any) -> str | None:
    cron = ((body.get("trigger") or {}).get("settings") or {}).get("cron", "")
    fields = cron.split()
    if len(fields) != 6 or fields[0] != "0":
        return f"invalid cron '{cron}': 6 fields, and the seconds field must be 0"
    return None


def _stored_policy(body: dict[str, Any], policy_id: int) -> dict[str, Any]:
    """As Harbor returns it: with ids, priorities and the rules' params as JSON numbers."""
    rules = [{**r, "id": i + 1, "priority": 0} for i, r in enumerate(body.get("rules", []))]
    return {**body, "id": policy_id, "rules": rules}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; no 40 ms delayed-ACK stalls
    app: FakeHarbor

    def log_message(self, format: str, *args: object) -> None:
        pass

    def drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def reply(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None or self.command == "HEAD" else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("X-Request-Id", secrets.token_hex(4))
        if data:
            self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def do_any(self) -> None:
        self.app.handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_any
