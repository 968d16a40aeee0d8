"""A thin Harbor v2.0 API client on requests.

harborapi is async-only and unreleased since early 2025; pipeyard needs a dozen calls, so it makes
them itself. 5xx answers and broken connections are retried with backoff; 401 and 403 become one
clear RemoteError; other statuses go back to the caller, which knows what a 409 or 404 means there.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import requests

from pipeyard_kit import http
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry.credentials import Credentials
from pipeyard_kit.registry.retry import TRANSIENT_STATUSES, RetryPolicy, Transient

log = logging.getLogger("pipeyard.harbor")
API = "/api/v2.0"


class HarborForbidden(RemoteError):
    """403: the account lacks a right; some steps (GC) can be skipped instead of failing."""


class HarborClient:
    def __init__(self, url: str, credentials: Credentials, *, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = (5, 60)):
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.retry = retry or RetryPolicy.from_env()
        self.timeout = timeout
        # No cookie jar: Harbor's sid cookie sent back would subject every write to its CSRF check.
        self.session = http.session(cookies=False, Accept="application/json")
        self.session.auth = (credentials.username, credentials.password)
        self.retries = 0

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[-1].split("/", 1)[0]

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0] if "://" in self.url else "https"

    def request(self, method: str, path: str, *, what: str, ok: tuple[int, ...] = (200,),
                json: Any = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> requests.Response:
        def once() -> requests.Response:
            try:
                r = self.session.request(method, f"{self.url}{API}{path}", json=json, params=params,
                                         headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Transient(type(exc).__name__, connection=True) from exc
            if r.status_code in TRANSIENT_STATUSES:
                raise Transient(f"{r.status_code} {r.reason}{_message(r)}", status=r.status_code)
            return r

        def count(exc: Transient, attempt: int) -> None:
            self.retries += 1
            log.info("Harbor %s: %s on %s; retry %d of %d", self.url, exc.detail, what,
                     attempt, self.retry.attempts - 1)

        try:
            r = self.retry.call(once, on_retry=count)
        except Transient as exc:
            if exc.connection:
                raise RemoteError(f"Harbor {self.url} is unreachable ({exc.detail})",
                                  fix="check the --harbor URL and that this machine can reach it") from None
            raise RemoteError(f"Harbor {self.url} kept failing with {exc.detail} on {what} "
                              f"({self.retry.attempts} attempts)",
                              fix="check Harbor's health (core and database logs), then run again; "
                                  "every step is idempotent") from None
        if r.status_code == 401:
            raise RemoteError(f"Harbor {self.url} refused the login of "
                              f"HARBOR_USERNAME={self.credentials.username} (401 Unauthorized) on {what}",
                              fix="check HARBOR_USERNAME and HARBOR_PASSWORD (or HARBOR_PASSWORD_FILE)")
        if r.status_code == 403 and "csrf" in _message(r).lower():
            # Harbor checks CSRF only for requests that carry its session cookie (csrf.go csrfSkipper).
            raise RemoteError(f"Harbor {self.url} refused {what} as a browser session without a CSRF token "
                              f"(403{_message(r)})",
                              fix="a proxy between pipeyard and Harbor is adding Harbor's sid cookie: let "
                                  "/api/ requests through without cookies")
        if r.status_code == 403:
            raise HarborForbidden(f"Harbor {self.url}: {self.credentials.username} may not {what} "
                                  f"(403 Forbidden{_message(r)})",
                                  fix="use an account that is project admin of the project (system admin "
                                      "to create projects or set the GC schedule)")
        if r.status_code not in ok:
            raise RemoteError(f"Harbor {self.url} answered {r.status_code} {r.reason} to {what}{_message(r)}",
                              fix="check the request against Harbor's API (a newer or older Harbor?)")
        return r

    # -- the calls pipeyard makes ---------------------------------------------------------------
    def project_exists(self, name: str) -> bool:
        r = self.request("HEAD", "/projects", params={"project_name": name}, ok=(200, 404),
                         what=f"check project {name}")
        return r.status_code == 200

    def create_project(self, name: str, metadata: dict[str, str]) -> bool:
        """True if created, False if it already existed (409)."""
        r = self.request("POST", "/projects", json={"project_name": name, "metadata": metadata},
                         ok=(201, 409), what=f"create project {name}")
        return r.status_code == 201

    def project(self, name: str) -> dict[str, Any]:
        return self.request("GET", f"/projects/{_name(name)}", headers={"X-Is-Resource-Name": "true"},
                            what=f"read project {name}").json()

    def robots(self, project_id: int) -> list[dict[str, Any]]:
        return self._all("/robots", what="list robot accounts", q=f"Level=project,ProjectID={project_id}")

    def create_robot(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The created robot with its secret (shown only now), or None if one exists (409)."""
        r = self.request("POST", "/robots", json=body, ok=(201, 409),
                         what=f"create robot account {body['name']}")
        return r.json() if r.status_code == 201 else None

    def retention(self, policy_id: int) -> dict[str, Any]:
        return self.request("GET", f"/retentions/{policy_id}",
                            what=f"read retention policy {policy_id}").json()

    def create_retention(self, body: dict[str, Any]) -> None:
        self.request("POST", "/retentions", json=body, ok=(201,), what="create the tag retention policy")

    def update_retention(self, policy_id: int, body: dict[str, Any]) -> None:
        self.request("PUT", f"/retentions/{policy_id}", json=body, what="update the tag retention policy")

    def immutable_rules(self, project: str) -> list[dict[str, Any]]:
        return self._all(f"/projects/{_name(project)}/immutabletagrules", what="list immutable tag rules",
                         headers={"X-Is-Resource-Name": "true"})

    def create_immutable_rule(self, project: str, body: dict[str, Any]) -> bool:
        """True if created, False if Harbor already holds this exact rule (409, e.g. a disabled copy)."""
        r = self.request("POST", f"/projects/{_name(project)}/immutabletagrules", json=body, ok=(201, 409),
                         headers={"X-Is-Resource-Name": "true"}, what="create an immutable tag rule")
        return r.status_code == 201

    def gc_schedule(self) -> dict[str, Any]:
        """The GC schedule, or {} when there is none (Harbor answers 200 with no body)."""
        r = self.request("GET", "/system/gc/schedule", what="read the GC schedule")
        return r.json() if r.content.strip() else {}

    def set_gc_schedule(self, body: dict[str, Any]) -> None:
        # POST and PUT do the same on every Harbor since 2.x: replace the schedule (handler/gc.go kick).
        self.request("PUT", "/system/gc/schedule", json=body, what="set the GC schedule")

    # -- the supply-chain settings (publish/harbor/security.py) ------------------------------------
    def system_info(self) -> dict[str, Any]:
        """GET /systeminfo (swagger getSystemInfo): harbor_version, shown to logged-in users."""
        return self.request("GET", "/systeminfo", what="read the system info").json() or {}

    def update_project_metadata(self, project: str, metadata: dict[str, str]) -> None:
        """PUT /projects/{name} (swagger updateProject) with a ProjectReq holding only metadata."""
        self.request("PUT", f"/projects/{_name(project)}", json={"metadata": metadata},
                     headers={"X-Is-Resource-Name": "true"}, what=f"update the settings of project {project}")

    def _all(self, path: str, *, what: str, q: str | None = None,
             headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "page_size": 100}
            if q:
                params["q"] = q
            r = self.request("GET", path, params=params, headers=headers, what=what)
            batch = r.json() or []
            items.extend(batch)
            total = int(r.headers.get("X-Total-Count", len(items)))
            if not batch or len(items) >= total:
                return items
            page += 1


def _name(project: str) -> str:
    return quote(project, safe="")


def _message(r: requests.Response) -> str:
    try:
        errors = r.json().get("errors") or []
    except (ValueError, AttributeError):
        return ""
    messages = [e.get("message") for e in errors if isinstance(e, dict) and e.get("message")]
    return ": " + "; ".join(messages) if messages else ""
