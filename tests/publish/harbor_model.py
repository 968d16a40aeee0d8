"""What Harbor's core enforces, shared by the loopback Harbor API (fake_harbor) and its registry
front (registry_proxy). Every rule cites the file of goharbor/harbor it follows; "2.10", "2.15" and
"main" are the tags v2.10.0 and v2.15.2 and main at c50c7ddd (and their api/v2.0/swagger.yaml).

Nothing here imports pipeyard: the stand-in answers as Harbor does, not as the client expects.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

VERSIONS = ("2.10", "2.15", "main")

# -- session and CSRF ------------------------------------------------------------------------------
# src/lib/config/config.go SessionCookieName = "sid"; src/core/main.go turns beego's session on for
# every request core serves (API, /v2 and /service/token alike), so every answer sets the cookie.
SESSION_COOKIE = "sid"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def session_cookie() -> str:
    return f"{SESSION_COOKIE}={secrets.token_hex(16)}; Path=/; HttpOnly"


def carries_session(headers: Any) -> bool:
    # src/server/middleware/session/session.go: a request "carries a session" when it sends the sid cookie.
    cookies = headers.get("Cookie", "") or ""
    return any(c.strip().split("=", 1)[0] == SESSION_COOKIE for c in cookies.split(";") if c.strip())


def csrf_refused(method: str, path: str, headers: Any) -> bool:
    """src/server/middleware/csrf/csrf.go (csrfSkipper), wired in src/core/middlewares/middlewares.go:
    /api/, /v2/ and /service/ skip the check only without a session; gorilla/csrf lets safe methods
    through and refuses an unsafe one without the X-Harbor-CSRF-Token it issued ("CSRF token invalid")."""
    if method not in UNSAFE:
        return False
    skippable = path.startswith(("/v2/", "/api/", "/service/"))
    if skippable and not carries_session(headers):
        return False
    return True  # this stand-in never hands out a CSRF token, as a script never asks for one


def error(code: str, message: str) -> dict[str, Any]:
    # src/lib/errors/const.go codes, enveloped by src/lib/http/error.go SendError.
    return {"errors": [{"code": code, "message": message}]}


# -- accounts and what they may do on a project ---------------------------------------------------
# src/common/rbac/project/rbac_role.go: what each project role may do on the repository resource.
ROLE_REPOSITORY = {
    "projectAdmin": {"pull", "push", "delete"},
    "maintainer": {"pull", "push", "delete"},
    "developer": {"pull", "push"},
    "guest": {"pull"},
    "limitedGuest": {"pull"},
}
# The same file: who may manage robots, tag retention and immutable tag rules of a project.
ROLE_MANAGES = {
    "projectAdmin": {"robot", "tag-retention", "immutable-tag"},
    "maintainer": {"tag-retention", "immutable-tag"},
}
# src/common/rbac/const.go PoliciesMap[ScopeProject]: the (resource, action) pairs a project robot may hold
# (the same in 2.10, 2.15 and main for everything pipeyard asks; sbom arrived after 2.10).
PROJECT_ROBOT_ACCESS = {
    ("log", "list"), ("project", "read"), ("project", "delete"), ("project", "update"),
    *(("metadata", a) for a in ("read", "create", "delete", "list", "update")),
    *(("repository", a) for a in ("read", "update", "delete", "list", "pull", "push")),
    *(("artifact", a) for a in ("read", "create", "list", "delete")),
    ("scan", "create"), ("scan", "read"), ("scan", "stop"),
    ("tag", "create"), ("tag", "list"), ("tag", "delete"), ("accessory", "list"),
    ("artifact-addition", "read"), ("artifact-label", "create"), ("artifact-label", "delete"),
    ("scanner", "create"), ("scanner", "read"),
    *(("preheat-policy", a) for a in ("read", "create", "delete", "list", "update")),
    *(("immutable-tag", a) for a in ("create", "delete", "list", "update")),
    *(("notification-policy", a) for a in ("read", "create", "delete", "list", "update")),
    *(("tag-retention", a) for a in ("read", "create", "delete", "list", "update")),
    *(("label", a) for a in ("read", "create", "delete", "list", "update")),
    ("quota", "read"),
}
SBOM_ACCESS = {("sbom", "create"), ("sbom", "stop"), ("sbom", "read")}  # 2.11 and later


@dataclass
class User:
    password: str
    sysadmin: bool = False
    roles: dict[str, str] = field(default_factory=dict)  # project name -> role


@dataclass
class Robot:
    id: int
    name: str  # the full name, robot$<project>+<name>
    secret: str
    level: str
    project: str
    access: set[tuple[str, str]]
    duration: int
    description: str = ""
    disabled: bool = False
    creation_time: str = "2026-01-15T10:00:00.000Z"

    def shown(self, project_id: int) -> dict[str, Any]:
        """src/server/v2.0/handler/model/robot.go ToSwagger: never the secret."""
        return {"id": self.id, "name": self.name, "description": self.description, "level": self.level,
                "duration": self.duration, "disable": self.disabled, "editable": True,
                "expires_at": -1 if self.duration == -1 else 1_900_000_000, "creation_time": self.creation_time,
                "permissions": [{"kind": "project", "namespace": self.project,
                                 "access": [{"resource": r, "action": a} for r, a in sorted(self.access)]}]}


@dataclass(frozen=True)
class Principal:
    name: str
    sysadmin: bool = False
    user: User | None = None
    robot: Robot | None = None

    def repository_actions(self, project: str, public: bool) -> set[str]:
        if self.sysadmin:
            return {"pull", "push", "delete"}
        if self.robot is not None:
            if self.robot.project != project or self.robot.disabled:
                return set()
            return {a for r, a in self.robot.access if r == "repository"} & {"pull", "push", "delete"}
        role = (self.user.roles if self.user else {}).get(project)
        actions = set(ROLE_REPOSITORY.get(role or "", set()))
        return actions | ({"pull"} if public else set())

    def manages(self, project: str, resource: str) -> bool:
        if self.sysadmin:
            return True
        if self.robot is not None:
            return self.robot.project == project and any(r == resource for r, _ in self.robot.access)
        role = (self.user.roles if self.user else {}).get(project, "")
        return resource in ROLE_MANAGES.get(role, set())


ANONYMOUS = Principal("anonymous")


def basic_credentials(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


@dataclass
class Accounts:
    users: dict[str, User] = field(default_factory=dict)
    robots: list[Robot] = field(default_factory=list)

    def basic(self, header: str) -> Principal | None:
        """src/server/middleware/security/{robot,basic_auth}.go: a robot by its full name and secret, a
        user by password. Wrong credentials give no security context (None), which makes the request
        anonymous (security/unauthorized.go), not a 401 by themselves."""
        creds = basic_credentials(header)
        if creds is None:
            return None
        name, password = creds
        robot = next((r for r in self.robots if r.name == name), None)
        if robot is not None:
            return Principal(name, robot=robot) if robot.secret == password and not robot.disabled else None
        user = self.users.get(name)
        if user is None or user.password != password:
            return None
        return Principal(name, sysadmin=user.sysadmin, user=user)


# -- the registry's token service -------------------------------------------------------------------
SERVICE = "harbor-registry"  # src/core/service/token/creator.go Registry


@dataclass
class Token:
    value: str
    subject: str
    access: dict[str, set[str]]  # repository -> granted actions
    expires: float


@dataclass
class TokenService:
    """src/core/service/token/{token.go,creator.go,authutils.go}: GET /service/token?service=&scope=.

    - an unknown service is 400 ("Unable to handle service: ...");
    - an anonymous request without a scope is 401 (docker login); with scopes it gets a token whose
      actions were filtered down to what the caller may do (nothing on a private project);
    - each requested action survives only if the caller may do it (repositoryFilter);
    - the token lasts config.TokenExpiration minutes (30 by default): {token, access_token,
      expires_in, issued_at}.
    """

    lifetime: float = 1800.0
    tokens: dict[str, Token] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def issue(self, principal: Principal, scopes: list[str], projects: dict[str, bool]) -> tuple[int, Any]:
        if principal is ANONYMOUS and not scopes:
            return 401, None
        access: dict[str, set[str]] = {}
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            project = name.split("/", 1)[0]
            allowed = (principal.repository_actions(project, projects[project])
                       if project in projects else set())  # a missing project: empty permission
            access.setdefault(name, set()).update(a for a in actions.split(",") if a in allowed)
        value = secrets.token_urlsafe(24)
        now = time.time()
        self.tokens[value] = Token(value, principal.name, access, now + self.lifetime)
        self.requests.append({"subject": principal.name, "scopes": scopes,
                              "granted": {k: sorted(v) for k, v in access.items()}})
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return 200, {"token": value, "access_token": "", "expires_in": int(self.lifetime), "issued_at": issued}

    def bearer(self, header: str) -> Token | None:
        """src/server/middleware/security/v2_token.go: an unknown or expired token gives no context."""
        if not header.startswith("Bearer "):
            return None
        token = self.tokens.get(header[7:])
        if token is None or token.expires <= time.time():
            return None
        return token

    def expire_all(self) -> None:
        for token in self.tokens.values():
            token.expires = 0.0


# -- doublestar patterns --------------------------------------------------------------------------
def doublestar(pattern: str, name: str) -> bool:
    """github.com/bmatcuk/doublestar v1.3.4 Match (src/go.mod), as Harbor's selectors call it
    (src/lib/selector/selectors/doublestar/selector.go match: an empty pattern matches everything).
    Components split on '/'; '**' is a whole component matching zero or more of them; in a component
    '*' is any run, '?' one character, [..] a class (^ negates), {a,b} alternatives."""
    if pattern == "":
        return True
    return _match_components(_split(pattern), name.split("/"))


def _split(pattern: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in pattern:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        if ch == "/" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _match_components(pattern: list[str], name: list[str]) -> bool:
    # doMatching: an empty side matches only an empty other side; a trailing '**' takes whatever is
    # left (at least one component), an inner one tries every remaining suffix of the name.
    if not pattern or not name:
        return not pattern and not name
    if pattern[0] == "**":
        if len(pattern) == 1:
            return True
        return any(_match_components(pattern[1:], name[i:]) for i in range(len(name)))
    return _match_one(pattern[0], name[0]) and _match_components(pattern[1:], name[1:])


def _match_one(pattern: str, text: str) -> bool:
    if not pattern:
        return not text
    head = pattern[0]
    if head == "*":
        return any(_match_one(pattern[1:], text[i:]) for i in range(len(text) + 1))
    if head == "{":
        close, depth = -1, 0
        for i, ch in enumerate(pattern):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                close = i
                break
        if close < 0:
            return False
        alternatives, depth, current = [], 0, ""
        for ch in pattern[1:close]:
            if ch == "," and depth == 0:
                alternatives.append(current)
                current = ""
                continue
            depth += ch == "{"
            depth -= ch == "}"
            current += ch
        alternatives.append(current)
        return any(_match_one(alt + pattern[close + 1:], text) for alt in alternatives)
    if not text:
        return False
    if head == "?":
        return _match_one(pattern[1:], text[1:])
    if head == "[":
        close = pattern.find("]", 2)
        if close < 0:
            return False
        body = pattern[1:close]
        negate = body[:1] == "^"
        body = body[1:] if negate else body
        hit, i = False, 0
        while i < len(body):
            if i + 2 < len(body) and body[i + 1] == "-":
                hit = hit or body[i] <= text[0] <= body[i + 2]
                i += 3
            else:
                hit = hit or body[i] == text[0]
                i += 1
        return hit != negate and _match_one(pattern[close + 1:], text[1:])
    if head == "\\" and len(pattern) > 1:
        return text[0] == pattern[1] and _match_one(pattern[2:], text[1:])
    return text[0] == head and _match_one(pattern[1:], text[1:])


# -- immutable tag rules ----------------------------------------------------------------------------
def immutable_tag_filter(project_id: int, body: dict[str, Any]) -> str:
    """src/pkg/immutable/manager.go CreateImmutableRule stores json.Marshal(model.Metadata) of the request
    as tag_filter; make/migrations/postgresql/0015_1.10.0_schema.up.sql makes (project_id, tag_filter)
    UNIQUE. Go marshals the struct's fields in declaration order (src/pkg/immutable/model/rule.go)."""
    def selector(s: dict[str, Any]) -> dict[str, Any]:
        return {"kind": s.get("kind", ""), "decoration": s.get("decoration", ""), "pattern": s.get("pattern", "")}

    meta = {"id": int(body.get("id") or 0), "project_id": project_id, "disabled": bool(body.get("disabled")),
            "priority": int(body.get("priority") or 0), "action": body.get("action", ""),
            "template": body.get("template", ""),
            "tag_selectors": [selector(s) for s in body.get("tag_selectors") or []],
            "scope_selectors": {k: [selector(s) for s in v] for k, v in sorted((body.get("scope_selectors") or {}).items())}}
    return json.dumps(meta, separators=(",", ":"))


def immutable_matches(rules: list[dict[str, Any]], repository: str, tag: str) -> bool:
    """src/pkg/immutable/match/rule/match.go: an enabled rule whose FIRST repository selector selects the
    repository (its name without the project) and whose FIRST tag selector selects the tag (untagged
    never); a rule without either selector is skipped."""
    for rule in rules:
        scopes = (rule.get("scope_selectors") or {}).get("repository") or []
        tags = rule.get("tag_selectors") or []
        if rule.get("disabled") or not scopes or not tags:
            continue
        if _scope_selects(scopes[0], repository) and _tag_selected(
                {**tags[0], "extras": '{"untagged": false}'}, Artifact(repository, "", [tag], 0.0)):
            return True
    return False


# -- tag retention, as a run of the policy evaluates it ----------------------------------------------
@dataclass
class Artifact:
    repository: str  # without the project, as src/pkg/retention/launcher.go getRepositories gives it
    digest: str
    tags: list[str]
    pushed: float  # epoch seconds
    pulled: float = 0.0


class RetentionError(Exception):
    """What a retention execution reports when a rule cannot be evaluated."""


# src/pkg/retention/policy/rule/index/index.go: the registered templates and their required parameter.
TEMPLATES = {"latestPushedK": "latestPushedK", "latestPulledN": "latestPulledN",
             "nDaysSinceLastPush": "nDaysSinceLastPush", "nDaysSinceLastPull": "nDaysSinceLastPull",
             "always": None}


def _param(rule: dict[str, Any]) -> int | None:
    template = rule.get("template", "")
    if template not in TEMPLATES:
        raise RetentionError(f"rule evaluator {template} is not registered")
    name = TEMPLATES[template]
    if name is None:
        return None
    params = rule.get("params") or {}
    if name not in params:
        raise RetentionError(f"missing required parameter {name} for rule {template}")
    value = params[name]
    # latestps/evaluator.go Valid (and its siblings): an integer JSON value, not negative, < MaxInt16.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise RetentionError(f"{name} type error")
    if value < 0:
        raise RetentionError(f"{name} is less than zero")
    if value >= 32767:
        raise RetentionError(f"{name} is too large")
    return int(value)


def _tag_selected(selector: dict[str, Any], artifact: Artifact) -> bool:
    """src/lib/selector/selectors/doublestar/selector.go: "matches" keeps an artifact when ANY of its tags
    matches; "excludes" when any tag does not; an untagged artifact follows extras.untagged (default true
    for matches, false for excludes)."""
    decoration = selector.get("decoration", "matches")
    untagged = decoration != "excludes"
    extras = selector.get("extras") or ""
    if extras:
        try:
            untagged = bool(json.loads(extras).get("untagged"))
        except ValueError:
            pass
    pattern = selector.get("pattern", "")
    if not artifact.tags:
        return untagged if decoration == "matches" else not untagged
    if decoration == "excludes":
        return any(not doublestar(pattern, t) for t in artifact.tags)
    return any(doublestar(pattern, t) for t in artifact.tags)


def evaluate_retention(policy: dict[str, Any], artifacts: list[Artifact], now: float | None = None,
                       immutable: list[dict[str, Any]] | None = None) -> dict[str, dict[str, list[str]]]:
    """One run of a project's policy: per repository that some enabled rule applies to, the digests it
    retains and those it deletes. src/pkg/retention/launcher.go (disabled rules skipped, scope selectors
    pick the repositories), policy/alg/or/processor.go (each rule's tag selectors, then its evaluator;
    the union of what the rules retain is kept), policy/action/retain.go (the rest of the repository is
    deleted, except artifacts an immutable rule protects)."""
    now = time.time() if now is None else now
    by_repo: dict[str, list[Artifact]] = {}
    for a in artifacts:
        by_repo.setdefault(a.repository, []).append(a)
    result: dict[str, dict[str, list[str]]] = {}
    for repo, candidates in sorted(by_repo.items()):
        rules = [r for r in policy.get("rules") or [] if not r.get("disabled") and
                 all(_scope_selects(s, repo) for s in (r.get("scope_selectors") or {}).get("repository", []))]
        if not rules:
            continue
        retained: set[str] = set()
        for rule in rules:
            n = _param(rule)
            picked = [a for a in candidates
                      if all(_tag_selected(s, a) for s in rule.get("tag_selectors") or [])]
            template = rule["template"]
            if template == "latestPushedK":
                picked = sorted(picked, key=lambda a: a.pushed, reverse=True)[:n]
            elif template == "latestPulledN":
                picked = sorted(picked, key=lambda a: a.pulled, reverse=True)[:n]
            elif template == "nDaysSinceLastPush":
                picked = [a for a in picked if a.pushed >= now - (n or 0) * 86400]
            elif template == "nDaysSinceLastPull":
                picked = [a for a in picked if a.pulled and a.pulled >= now - (n or 0) * 86400]
            retained.update(a.digest for a in picked)
        protected = {a.digest for a in candidates
                     if any(immutable_matches(immutable or [], repo, t) for t in a.tags)}
        result[repo] = {"retained": sorted(retained | protected),
                        "deleted": sorted(a.digest for a in candidates if a.digest not in retained | protected)}
    return result


def _scope_selects(selector: dict[str, Any], repository: str) -> bool:
    hit = doublestar(selector.get("pattern", ""), repository)
    return not hit if selector.get("decoration") == "repoExcludes" else hit


# -- cron -------------------------------------------------------------------------------------------
_CRON_FIELD = re.compile(r"^(\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?(?:/[0-9]+)?)(?:,[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?(?:/[0-9]+)?)*$")


def cron_problem(cron: str) -> str | None:
    """src/common/utils/utils.go ValidateCronString: not empty, parsed by robfig/cron with a seconds field
    (CronParser: 6 fields, or a descriptor such as @daily), and a 6-field cron must have seconds 0."""
    if not cron:
        return "empty cron string is invalid"
    if cron.startswith("@"):
        return None if cron in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                                "@hourly") else f"unrecognized descriptor: {cron}"
    parts = cron.split(" ")
    if len(parts) != 6:
        return f"expected exactly 6 fields, found {len(parts)}: [{cron}]"
    if any(not _CRON_FIELD.match(p) for p in parts):
        return f"failed to parse cron {cron}"
    if parts[0] != "0":
        return "the 1st field (indicating Seconds of time) of the cron setting must be 0"
    return None


# -- what core knows, shared by the API and the /v2 front ---------------------------------------------
@dataclass
class HarborCore:
    accounts: Accounts = field(default_factory=Accounts)
    tokens: TokenService = field(default_factory=TokenService)
    # project name -> public; a standalone registry front (no API) treats every project as existing
    # and private.
    public: dict[str, bool] = field(default_factory=dict)
    any_project: bool = False
    immutable_rules: Any = None  # callable(project name) -> the project's immutable rules

    def projects(self) -> dict[str, bool]:
        return _AnyProject(self.public) if self.any_project else self.public

    def rules(self, project: str) -> list[dict[str, Any]]:
        return list(self.immutable_rules(project)) if self.immutable_rules else []


class _AnyProject(dict):  # type: ignore[type-arg]
    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> bool:
        return False
