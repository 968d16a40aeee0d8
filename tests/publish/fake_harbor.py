"""A loopback Harbor: the v2.0 API pipeyard calls, answering as Harbor 2.10, 2.15 or main does.

Rebuilt from goharbor/harbor's Go source at v2.10.0, v2.15.2 and main (c50c7ddd) and their swaggers
(api/v2.0/swagger.yaml); harbor_model.py holds what the API and the /v2 front share (session cookie and
CSRF, accounts and roles, the token service, doublestar, immutable rules, retention runs). Each rule
below names the file it follows (paths in goharbor/harbor).

Session and auth
- every answer sets the `sid` cookie; a POST/PUT/PATCH/DELETE that sends it back is refused with 403
  "CSRF token invalid" (src/server/middleware/csrf/csrf.go csrfSkipper);
- Basic auth by a user or a robot (robot$<project>+<name>); wrong credentials make the caller anonymous
  (src/server/middleware/security/basic_auth.go), and an endpoint that wants a caller answers 401
  (handler/base.go RequireAuthenticated), one that wants a right a known caller lacks 403.

Projects (src/server/v2.0/handler/project.go)
- HEAD /projects?project_name= needs a caller: 200 or 404;
- POST /projects: 403 "Only system admin can create project" when only admins may; metadata values are
  strings (swagger ProjectMetadata); public must be "true" or "false"; the name is 1-255 characters
  of ^[a-z0-9]+(?:[._-][a-z0-9]+)*$ (src/pkg/project/manager.go Create, validProjectName);
  409 "The project named X already exists" (src/pkg/project/dao/dao.go); 201 with only a Location;
  the creator becomes its project admin.

Robots (src/server/v2.0/handler/robot.go)
- name ^[a-z0-9]+(?:[._-][a-z0-9]+)*$ (validateName), duration -1 or 1..MaxInt32 (isValidDuration),
  level system|project, permissions and their access lists not empty, exactly one permission for a
  project robot, every (resource, action) in the project scope's policy list (validate,
  src/common/rbac/const.go); project admins only; 409 on a name taken in the project
  (src/pkg/robot/dao/dao.go); the secret is in the 201 body only.
- GET /robots?q=Level=project,ProjectID=N: ProjectID is required and a positive integer (2.15 and
  main word it "ProjectID must be a positive integer", 2.10 "Project ID must be int type.").

Tag retention (src/server/v2.0/handler/retention.go, src/pkg/retention/policy/models.go)
- at most 15 rules (400 "only 15 rules are allowed at most"); two rules whose JSON is identical but for
  the id are 409 "rule N is conflict with rule M" (checkRuleConflict); the scope must be a project that
  exists (400 "invalid Project id N"); one policy per project (400 "project N already has retention
  policy M"); the cron must pass ValidateCronString. Templates and parameters are NOT checked by the
  API: a run fails on them (FakeHarbor.run_retention, src/pkg/retention/policy/rule/index/index.go).
- project admins and maintainers only (src/common/rbac/project/rbac_role.go).

Immutable tag rules (src/server/v2.0/handler/immutable.go, src/controller/immutable/controller.go)
- a rule's identity is the JSON of the create request, `disabled` included (UNIQUE(project_id,
  tag_filter)): creating the same JSON again is 409 "immutable rule already exists";
- disabling a rule in the UI flips only the `disabled` column (ToggleImmutableRule), so the stored JSON
  still says "disabled": false and the list shows disabled: true.

GC (src/server/v2.0/handler/gc.go, handler/model/gc.go)
- system administrators only (RequireSystemAccess: 401 anonymous, 403 others);
- POST and PUT do the same: Manual starts a run, None deletes the schedule, Hourly/Daily/Weekly/Custom
  validate the cron (an empty one is 400) and replace the schedule; POST answers 201, PUT 200;
- workers must be 1..5 on 2.10 and 1..10 on 2.15 and main; delete_tag is read from 2.15 on;
- GET without a schedule is 200 with an empty body; job_parameters is a JSON string that on 2.10 still
  holds redis_url_reg and time_window (CleanExtraAttrs arrived after 2.10).

`/v2/...` and `/service/token` go to a RegistryProxy (a real docker-registry behind Harbor's /v2 rules),
since Harbor serves its registry on the same host. Every request is recorded, so a test can assert
that a second run wrote nothing; faults are injected per method and path.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.servers import loopback

from .harbor_model import (
    ANONYMOUS,
    PROJECT_ROBOT_ACCESS,
    SBOM_ACCESS,
    VERSIONS,
    Accounts,
    Artifact,
    HarborCore,
    Principal,
    Robot,
    User,
    cron_problem,
    csrf_refused,
    error,
    evaluate_retention,
    immutable_tag_filter,
    session_cookie,
)
from .registry_proxy import RegistryProxy

# What GET /systeminfo reports for each release the stand-in plays ("v<release>-<commit>").
RELEASES = {"2.10": "v2.10.0-b8f5bbd9", "2.15": "v2.15.2-1f3c0d1e", "main": "v2.16.0-dev-9c1fa5b2"}

API = "/api/v2.0"
NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
MAX_INT32 = 2**31 - 1


@dataclass
class Call:
    method: str
    path: str
    status: int
    body: Any
    cookie: bool = False  # the request sent Harbor's session cookie back


@dataclass
class FakeHarbor:
    # user -> (password, system admin), or a harbor_model.User with project roles
    users: dict[str, Any] = field(default_factory=lambda: {"admin": ("Harbor12345", True)})
    only_admin_creates_projects: bool = False
    registry: RegistryProxy | None = None
    version: str = "main"
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    retentions: dict[int, dict[str, Any]] = field(default_factory=dict)
    immutable: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # as GET lists them
    gc: dict[str, Any] = field(default_factory=dict)
    gc_runs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    faults: list[tuple[str, re.Pattern[str], int, int | None]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    next_id: int = 1
    lock: threading.RLock = field(default_factory=threading.RLock)
    core: HarborCore = field(init=False)
    tag_filters: dict[int, str] = field(default_factory=dict)  # immutable rule id -> stored JSON
    # The release GET /systeminfo reports (route_supply below), which decides the ProjectMetadata
    # fields PUT /projects/{name} keeps; it follows `version` unless a test gives one.
    harbor_version: str = ""

    def __post_init__(self) -> None:
        if self.harbor_version and self.version == "main":
            self.version = next((v for v in VERSIONS if self.harbor_version.startswith(f"v{v}.")), "main")
        self.harbor_version = self.harbor_version or RELEASES[self.version]
        if self.version not in VERSIONS:
            raise ValueError(f"FakeHarbor version {self.version!r} is not one of {VERSIONS}")
        accounts = Accounts({name: v if isinstance(v, User) else User(v[0], sysadmin=v[1])
                             for name, v in self.users.items()})
        self.core = HarborCore(accounts=accounts, immutable_rules=self._rules_of)

    # -- control -------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        assert self.server
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def robots(self) -> list[dict[str, Any]]:
        """Every robot as the API shows it, plus its secret (for tests only)."""
        out = []
        for r in self.core.accounts.robots:
            project = self.projects.get(r.project) or {}
            out.append({**r.shown(int(project.get("project_id", 0))), "secret": r.secret})
        return out

    def fail(self, method: str, pattern: str, status: int = 500, times: int | None = 1) -> None:
        self.faults.append((method, re.compile(pattern), status, times))

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method in ("POST", "PUT", "PATCH", "DELETE")]

    def add_user(self, name: str, password: str, *, admin: bool = False, **roles: str) -> None:
        self.core.accounts.users[name] = User(password, sysadmin=admin, roles=dict(roles))

    def add_project(self, name: str, *, owner: str = "admin", members: dict[str, str] | None = None,
                    **metadata: str) -> dict[str, Any]:
        project = {"project_id": self._id(), "name": name, "metadata": {"public": "false", **metadata},
                   "repo_count": 0, "owner_name": owner}
        self.projects[name] = project
        self.core.public[name] = project["metadata"]["public"] == "true"
        for user, role in {owner: "projectAdmin", **(members or {})}.items():
            if user in self.core.accounts.users:
                self.core.accounts.users[user].roles[name] = role
        return project

    def add_robot(self, project: str, name: str, access: set[tuple[str, str]] | None = None) -> Robot:
        robot = Robot(self._id(), f"robot${project}+{name}", secrets.token_urlsafe(24), "project", project,
                      access or {("repository", "pull")}, -1)
        self.core.accounts.robots.append(robot)
        return robot

    def disable_immutable_rule(self, project: str, rule_id: int) -> None:
        """What the UI's 'Disable' does: PUT with disabled flipped, which only toggles the column."""
        for rule in self.immutable[self.projects[project]["project_id"]]:
            if rule["id"] == rule_id:
                rule["disabled"] = True

    def run_retention(self, project: str, artifacts: list[Artifact], now: float | None = None
                      ) -> dict[str, dict[str, list[str]]]:
        """A dry run of the project's retention policy over `artifacts`, as a scheduled run evaluates it."""
        info = self.projects[project]
        policy = self.retentions[int(info["metadata"]["retention_id"])]
        return evaluate_retention(policy, artifacts, now, self.immutable.get(info["project_id"], []))

    def _rules_of(self, project: str) -> list[dict[str, Any]]:
        info = self.projects.get(project)
        return self.immutable.get(info["project_id"], []) if info else []

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
            self.registry.core = self.core
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
            if self.registry is not None and url.path.startswith(("/v2/", "/service/")):
                return self.registry.handle(req)  # type: ignore[arg-type]
            return req.reply(404, error("NOT_FOUND", "not found"))
        path = url.path[len(API):]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._reply(req, path, None, 400, error("BAD_REQUEST", "parsing the request body failed"))
        with self.lock:
            for i, (method, pattern, status, times) in enumerate(self.faults):
                if method == req.command and pattern.search(path) and (times is None or times > 0):
                    if times is not None:
                        self.faults[i] = (method, pattern, status, times - 1)
                    return self._reply(req, path, body, status, error("INTERNAL_SERVER_ERROR", "injected fault"))
            if csrf_refused(req.command, url.path, req.headers):
                return self._reply(req, path, body, 403, error("FORBIDDEN", "CSRF token invalid"))
            who = self.core.accounts.basic(req.headers.get("Authorization", "") or "") or ANONYMOUS
            status, payload, headers = self.route(req.command, path, query, body, req.headers, who)
            self._reply(req, path, body, status, payload, headers)

    def _reply(self, req: _Handler, path: str, body: Any, status: int, payload: Any,
               headers: dict[str, str] | None = None) -> None:
        cookie = "sid=" in (req.headers.get("Cookie", "") or "")
        self.calls.append(Call(req.command, path, status, body, cookie))
        req.reply(status, payload, {**(headers or {}), "Set-Cookie": session_cookie()})

    def _project(self, ref: str, headers: Any) -> dict[str, Any] | None:
        ref = unquote(ref)
        if headers.get("X-Is-Resource-Name", "").lower() != "true" and ref.isdigit():
            return next((p for p in self.projects.values() if p["project_id"] == int(ref)), None)
        return self.projects.get(ref)

    @staticmethod
    def _denied(who: Principal) -> tuple[int, Any, None]:
        if who is ANONYMOUS:
            return 401, error("UNAUTHORIZED", "unauthorized"), None
        return 403, error("FORBIDDEN", "forbidden"), None

    def route(self, method: str, path: str, query: dict[str, str], body: Any, headers: Any,
              who: Principal) -> tuple[int, Any, dict[str, str] | None]:
        supply = route_supply(self, method, path, body, headers)
        if supply is not None:
            return supply
        if path == "/projects" and method == "HEAD":
            if who is ANONYMOUS:
                return self._denied(who)
            return (200 if query.get("project_name") in self.projects else 404), None, None
        if path == "/projects" and method == "POST":
            return self.create_project(body or {}, who)
        m = re.fullmatch(r"/projects/([^/]+)", path)
        if m and method == "GET":
            project = self._project(m.group(1), headers)
            if project is None:
                return 404, error("NOT_FOUND", f"project {m.group(1)} not found"), None
            if who is ANONYMOUS or (not who.sysadmin and project["metadata"].get("public") != "true"
                                    and not who.repository_actions(project["name"], False)):
                return self._denied(who)
            return 200, project, None
        m = re.fullmatch(r"/projects/([^/]+)/immutabletagrules(?:/(\d+))?", path)
        if m:
            return self.immutable_rules(method, m.group(1), m.group(2), body, headers, who)
        if path == "/robots" and method == "GET":
            return self.list_robots(query, who)
        if path == "/robots" and method == "POST":
            return self.create_robot(body or {}, who)
        if path == "/retentions" and method == "POST":
            return self.save_retention(body or {}, who, None)
        m = re.fullmatch(r"/retentions/(\d+)", path)
        if m:
            policy = self.retentions.get(int(m.group(1)))
            if policy is None:
                return 404, error("NOT_FOUND", "retention policy not found"), None
            project = next((p for p in self.projects.values() if p["project_id"] == policy["scope"]["ref"]), None)
            if who is ANONYMOUS or not who.manages(project["name"] if project else "", "tag-retention"):
                return self._denied(who)
            if method == "GET":
                return 200, policy, None
            if method == "PUT":
                return self.save_retention(body or {}, who, int(m.group(1)))
        if path == "/system/gc/schedule":
            return self.gc_schedule(method, body or {}, who)
        return 404, error("NOT_FOUND", f"no route {method} {path}"), None

    # -- projects --------------------------------------------------------------------------------
    def create_project(self, body: dict[str, Any], who: Principal) -> tuple[int, Any, dict[str, str] | None]:
        if who is ANONYMOUS:
            return self._denied(who)
        if self.only_admin_creates_projects and not who.sysadmin:
            return 403, error("FORBIDDEN", "Only system admin can create project"), None
        name = body.get("project_name", "")
        metadata = body.get("metadata") or {}
        bad = [k for k, v in metadata.items() if not isinstance(v, str)]
        if bad:
            # swagger ProjectMetadata: every field is a string; a JSON boolean fails to unmarshal.
            return 400, error("BAD_REQUEST", f"parsing project body failed: metadata.{bad[0]} must be a string"), None
        if metadata.get("public", "false") not in ("true", "false"):
            return 400, error("BAD_REQUEST", "metadata.public should only be 'true' or 'false', "
                                             f"but got: '{metadata['public']}'"), None
        if not NAME.match(name) or len(name) > 255:
            return 400, error("BAD_REQUEST", "project name is not in lower case or contains illegal characters"), None
        if name in self.projects:
            return 409, error("CONFLICT", f"The project named {name} already exists"), None
        metadata = {k: v for k, v in metadata.items() if k != "retention_id"}
        project = self.add_project(name, owner=who.name, **metadata)
        return 201, None, {"Location": f"{API}/projects/{project['project_id']}"}

    # -- robots ------------------------------------------------------------------------------------
    def list_robots(self, query: dict[str, str], who: Principal) -> tuple[int, Any, dict[str, str] | None]:
        if who is ANONYMOUS:
            return self._denied(who)
        conditions = dict(kv.split("=", 1) for kv in query.get("q", "").split(",") if "=" in kv)
        level = conditions.get("Level", "system")
        if level not in ("system", "project"):
            return 400, error("BAD_REQUEST", "bad request error level input"), None
        project = None
        if level == "project":
            if "ProjectID" not in conditions:
                return 400, error("BAD_REQUEST", "must with project ID when to query project robots"), None
            pid = conditions["ProjectID"]
            if not pid.isdigit() or int(pid) <= 0:
                message = ("Project ID must be int type." if self.version == "2.10"
                           else "ProjectID must be a positive integer")
                return 400, error("BAD_REQUEST", message), None
            project = next((p for p in self.projects.values() if p["project_id"] == int(pid)), None)
            if project is None or not who.manages(project["name"], "robot"):
                return self._denied(who)
        elif not who.sysadmin:
            return self._denied(who)
        robots = [r for r in self.core.accounts.robots
                  if (r.level == "project" and project and r.project == project["name"])
                  or (r.level == "system" and project is None)]
        page, size = int(query.get("page", 1)), int(query.get("page_size", 10))
        shown = [r.shown(project["project_id"] if project else 0) for r in robots[(page - 1) * size:page * size]]
        return 200, shown, {"X-Total-Count": str(len(robots))}

    def create_robot(self, body: dict[str, Any], who: Principal) -> tuple[int, Any, dict[str, str] | None]:
        if not NAME.match(str(body.get("name", ""))):
            return 400, error("BAD_REQUEST", "robot name is not in lower case or contains illegal characters"), None
        duration = body.get("duration")
        if not isinstance(duration, int) or not (duration == -1 or 0 < duration < MAX_INT32):
            return 400, error("BAD_REQUEST", f"bad request error duration input: {duration}, duration must be "
                                             "either -1(Never) or a positive integer"), None
        level = body.get("level")
        if level not in ("system", "project"):
            return 400, error("BAD_REQUEST", f"bad request error level input: {level}"), None
        permissions = body.get("permissions") or []
        if not permissions or any(not p for p in permissions):
            return 400, error("BAD_REQUEST", "bad request empty permission"), None
        if any(not p.get("access") or any(not a for a in p["access"]) for p in permissions):
            return 400, error("BAD_REQUEST", "bad request empty access"), None
        if level == "project" and len(permissions) > 1:
            return 400, error("BAD_REQUEST", "bad request permission"), None
        allowed = PROJECT_ROBOT_ACCESS | (SBOM_ACCESS if self.version != "2.10" else set())
        for p in permissions:
            if p.get("kind") != "project":
                return 400, error("BAD_REQUEST", f"bad request permission level: {p.get('kind')}"), None
            for a in p["access"]:
                if (a.get("resource"), a.get("action")) not in allowed:
                    return 400, error("BAD_REQUEST", f"bad request permission: {a.get('resource')}:{a.get('action')}"), None
        namespace = permissions[0].get("namespace")
        project = self.projects.get(namespace)
        if who is ANONYMOUS or project is None or not who.manages(namespace, "robot"):
            return self._denied(who) if project is not None or who is ANONYMOUS else (
                404, error("NOT_FOUND", f"project {namespace} not found"), None)
        full = f"robot${namespace}+{body['name']}"
        if any(r.name == full for r in self.core.accounts.robots):
            return 409, error("CONFLICT", f"robot account {project['project_id']}:{full} already exists"), None
        robot = self.add_robot(namespace, body["name"],
                               {(a["resource"], a["action"]) for a in permissions[0]["access"]})
        robot.duration, robot.description = duration, body.get("description", "")
        created = {"id": robot.id, "name": full, "secret": robot.secret, "creation_time": robot.creation_time,
                   "expires_at": -1 if duration == -1 else 1_900_000_000}
        return 201, created, {"Location": f"{API}/robots/{robot.id}"}

    # -- retention ---------------------------------------------------------------------------------
    def save_retention(self, body: dict[str, Any], who: Principal, policy_id: int | None
                       ) -> tuple[int, Any, dict[str, str] | None]:
        rules = body.get("rules") or []
        if len(rules) > 15:
            return 400, error("BAD_REQUEST", "only 15 rules are allowed at most"), None
        seen: dict[str, int] = {}
        for n, rule in enumerate(rules):
            key = json.dumps(_rule_json(rule), separators=(",", ":"))
            if key in seen:
                return 409, error("CONFLICT", f"rule {n} is conflict with rule {seen[key]}"), None
            seen[key] = n
        scope = body.get("scope") or {}
        project = next((p for p in self.projects.values() if p["project_id"] == scope.get("ref")), None)
        if who is ANONYMOUS or (project is not None and not who.manages(project["name"], "tag-retention")):
            return self._denied(who)
        if policy_id is None:
            if scope.get("level") != "project":
                return 400, error("BAD_REQUEST", f"scope {scope.get('level')} is not support"), None
            if project is None or int(scope.get("ref") or 0) <= 0:
                return 400, error("BAD_REQUEST", f"invalid Project id {scope.get('ref')}"), None
            if project["metadata"].get("retention_id"):
                return 400, error("BAD_REQUEST", f"project {project['project_id']} already has retention policy "
                                                 f"{project['metadata']['retention_id']}"), None
        trigger = body.get("trigger") or {}
        cron = (trigger.get("settings") or {}).get("cron")
        if trigger.get("kind") == "Schedule" and cron is not None:
            if not isinstance(cron, str):
                return 400, error("BAD_REQUEST", "invalid cron type for scheduled tag retention: must be a string"), None
            problem = cron_problem(cron) if cron else None
            if problem:
                return 400, error("BAD_REQUEST", f"invalid cron string for scheduled tag retention: {cron}, "
                                                 f"error: {problem}"), None
        new_id = policy_id or self._id()
        self.retentions[new_id] = _stored_policy(body, new_id)
        if policy_id is None:
            project["metadata"]["retention_id"] = str(new_id)  # type: ignore[index]
            return 201, None, {"Location": f"{API}/retentions/{new_id}"}
        return 200, None, None

    # -- immutable tag rules -----------------------------------------------------------------------
    def immutable_rules(self, method: str, ref: str, rule_id: str | None, body: Any, headers: Any,
                        who: Principal) -> tuple[int, Any, dict[str, str] | None]:
        project = self._project(ref, headers)
        if project is None:
            return 404, error("NOT_FOUND", f"project {ref} not found"), None
        if who is ANONYMOUS or not who.manages(project["name"], "immutable-tag"):
            return self._denied(who)
        rules = self.immutable.setdefault(project["project_id"], [])
        if method == "GET" and rule_id is None:
            return 200, rules, {"X-Total-Count": str(len(rules))}
        if method == "POST" and rule_id is None:
            tag_filter = immutable_tag_filter(project["project_id"], body or {})
            if tag_filter in self.tag_filters.values():
                return 409, error("CONFLICT", "immutable rule already exists"), None
            rule = {**(body or {}), "id": self._id(), "project_id": project["project_id"], "disabled": False}
            self.tag_filters[rule["id"]] = tag_filter
            rules.append(rule)
            return 201, None, {"Location": f"{API}/projects/{project['project_id']}/immutabletagrules/{rule['id']}"}
        if method == "PUT" and rule_id is not None:
            rule = next((r for r in rules if r["id"] == int(rule_id)), None)
            if rule is None or int((body or {}).get("id") or 0) != int(rule_id):
                return 400, error("BAD_REQUEST", "the immutable_rule_id doesn't match the id in the payload body "
                                                 "of ImmutableRule"), None
            if bool((body or {}).get("disabled")) != bool(rule.get("disabled")):
                rule["disabled"] = bool(body.get("disabled"))  # EnableImmutableRule: the column only
                return 200, None, None
            self.tag_filters[rule["id"]] = immutable_tag_filter(project["project_id"], body)
            rule.update({k: v for k, v in body.items() if k != "disabled"})
            return 200, None, None
        return 404, error("NOT_FOUND", f"no route {method}"), None

    # -- GC ----------------------------------------------------------------------------------------
    def gc_schedule(self, method: str, body: dict[str, Any], who: Principal
                    ) -> tuple[int, Any, dict[str, str] | None]:
        if not who.sysadmin:
            return self._denied(who)
        if method == "GET":
            return 200, self.gc or None, None
        if method not in ("POST", "PUT"):
            return 404, error("NOT_FOUND", "no route"), None
        schedule = body.get("schedule") or {}
        kind, cron = schedule.get("type", ""), schedule.get("cron", "")
        params = dict(body.get("parameters") or {})
        workers = params.get("workers")
        limit = 5 if self.version == "2.10" else 10
        if workers is not None:
            if not isinstance(workers, int) or isinstance(workers, bool):
                return 400, error("BAD_REQUEST", "workers should be integer format"), None
            if not 0 < workers <= limit:
                return 400, error("BAD_REQUEST", f"Error: Invalid number of workers:{workers}. Workers must be "
                                                 f"greater than 0 and less than or equal to {limit}."), None
        if self.version == "2.10":
            params.pop("delete_tag", None)
        if kind == "Manual":
            self.gc_runs.append(params)
        elif kind == "None":
            self.gc = {}
        elif kind in ("Hourly", "Daily", "Weekly", "Custom"):
            problem = cron_problem(cron)
            if problem:
                return 400, error("BAD_REQUEST", f"invalid cron string for scheduled gc: {cron}, error: {problem}"), None
            shown = dict(params)
            if self.version == "2.10":
                shown.update(redis_url_reg="redis://redis:6379/1?idle_timeout_seconds=30", time_window=2)
            else:
                shown.update(time_window=2)
            self.gc = {"id": 1, "job_name": "", "job_kind": cron, "job_status": "", "deleted": False,
                       "schedule": {"type": kind, "cron": cron, "next_scheduled_time": "2026-08-23T00:00:00.000Z"},
                       "job_parameters": json.dumps(shown), "creation_time": "2026-01-15T10:00:00.000Z",
                       "update_time": "2026-01-15T10:00:00.000Z"}
        if method == "POST":
            return 201, None, {"Location": f"{API}/system/gc/{len(self.gc_runs) + 1}"}
        return 200, None, None


def _rule_json(rule: dict[str, Any]) -> dict[str, Any]:
    """src/pkg/retention/policy/rule/models.go Metadata, as checkRuleConflict marshals it (id zeroed)."""
    def selector(s: dict[str, Any]) -> dict[str, Any]:
        return {"kind": s.get("kind", ""), "decoration": s.get("decoration", ""), "pattern": s.get("pattern", ""),
                "extras": s.get("extras", "")}

    return {"id": 0, "priority": int(rule.get("priority") or 0), "disabled": bool(rule.get("disabled")),
            "action": rule.get("action", ""), "template": rule.get("template", ""),
            "params": rule.get("params") or {},
            "tag_selectors": [selector(s) for s in rule.get("tag_selectors") or []],
            "scope_selectors": {k: [selector(s) for s in v]
                                for k, v in sorted((rule.get("scope_selectors") or {}).items())}}


def _stored_policy(body: dict[str, Any], policy_id: int) -> dict[str, Any]:
    """As Harbor returns it: with ids and priorities, the rules' params as JSON numbers."""
    rules = [{**r, "id": i + 1, "priority": int(r.get("priority") or 0)} for i, r in enumerate(body.get("rules", []))]
    return {**body, "id": policy_id, "rules": rules}


# -- supply-chain endpoints (issue 19) -----------------------------------------------------------------
# Harbor's swagger, api/v2.0/swagger.yaml of v2.10.0 and of main (2.16.0-dev), in
# the project's reference fixtures: `ProjectMetadata` has every value a string; 2.10 lacks
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
