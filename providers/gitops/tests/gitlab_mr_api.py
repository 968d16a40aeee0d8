"""A local GitLab REST API for merge requests, following GitLab's documented behaviour.

Covers what python-gitlab calls for the gitops merge-request path:
GET /api/v4/projects/:id, GET and POST /api/v4/projects/:id/merge_requests and
PUT /api/v4/projects/:id/merge_requests/:iid (doc/api/merge_requests.md), and for
`pipeyard chart check` GET /api/v4/projects/:id/protected_branches
(doc/api/protected_branches.md: wildcard rules are listed as written, with
push_access_levels and merge_access_levels; access level 0 is "No access"). :id is
a numeric id or the URL-encoded path. Auth is the PRIVATE-TOKEN header (or a Bearer token); errors use
GitLab's {"message": ...} bodies and status codes (401, 404, 409 for a second open
merge request of the same branches, 422 for a missing source branch). HTTP, auth
and bodies are tests.servers.gitlab_api.FakeGitLab's; this module keeps the state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.servers.gitlab_api import FakeGitLab, form_fields

Answer = tuple[int, Any]


class GitLabApi:
    def __init__(self, *, token: str, project_path: str, project_id: int = 7,
                 branch_exists: Callable[[str], bool] | None = None):
        self.project_path = project_path
        self.project_id = project_id
        self.branch_exists = branch_exists or (lambda _branch: True)
        self.merge_requests: list[dict[str, Any]] = []
        self.protected_branches: list[dict[str, Any]] = []
        # How many merge-request lists answer [] as if read before a concurrent create landed.
        self.stale_lists = 0
        self._lock = threading.Lock()
        self._gitlab = FakeGitLab(token=token, fallback=self._answer)

    @property
    def token(self) -> str:
        return self._gitlab.token

    @token.setter
    def token(self, token: str) -> None:
        self._gitlab.token = token

    @property
    def url(self) -> str:
        return self._gitlab.url

    @property
    def web_url(self) -> str:
        return f"{self.url}/{self.project_path}"

    @property
    def calls(self) -> list[tuple[str, str]]:
        """(method, request target as sent) of every request, refused ones too."""
        return [(r.method, r.target) for r in self._gitlab.requests]

    def start(self) -> GitLabApi:
        self._gitlab.start()
        return self

    def stop(self) -> None:
        self._gitlab.stop()

    def _project(self) -> dict[str, Any]:
        return {"id": self.project_id, "path_with_namespace": self.project_path,
                "name": self.project_path.rsplit("/", 1)[-1], "default_branch": "main", "web_url": self.web_url}

    # --- routing ----------------------------------------------------------------------------------
    def _answer(self, req: dict[str, Any]) -> Answer:
        # The raw path keeps %2F inside :id; split before decoding.
        segments = urlsplit(req["target"]).path.split("/")
        if segments[:4] != ["", "api", "v4", "projects"] or len(segments) < 5:
            return 404, {"error": "404 Not Found"}
        project = unquote(segments[4])
        if project not in (self.project_path, str(self.project_id)):
            return 404, {"message": "404 Project Not Found"}
        rest, method, form = segments[5:], req["method"], req["body"] or {}
        if not rest and method == "GET":
            return 200, self._project()
        if rest == ["protected_branches"] and method == "GET":
            return 200, self.protected_branches
        if rest == ["merge_requests"] and method == "GET":
            return 200, self._list(form_fields(req["query"]))
        if rest == ["merge_requests"] and method == "POST":
            return self._create(form)
        if len(rest) == 2 and rest[0] == "merge_requests" and method == "PUT":
            return self._update(int(rest[1]), form)
        return 404, {"error": "404 Not Found"}

    def protect(self, name: str, *, push: int = 0, merge: int = 40, force_push: bool = False) -> None:
        """A protected branch (or wildcard) as GitLab lists it; 0 No access, 30 Developers, 40 Maintainers."""
        names = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
        n = len(self.protected_branches) + 1
        self.protected_branches.append({
            "id": 100 + n, "name": name, "allow_force_push": force_push, "code_owner_approval_required": False,
            "push_access_levels": [{"id": 1000 + n, "access_level": push, "access_level_description": names[push]}],
            "merge_access_levels": [{"id": 2000 + n, "access_level": merge,
                                     "access_level_description": names[merge]}]})

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self.merge_requests)
            if self.stale_lists:
                self.stale_lists -= 1
                found = []
        for key in ("state", "source_branch", "target_branch"):
            if key in query and not (key == "state" and query[key] == "all"):
                found = [mr for mr in found if mr[key] == query[key]]
        return sorted(found, key=lambda mr: -mr["iid"])

    def _create(self, form: dict[str, Any]) -> Answer:
        missing = [k for k in ("source_branch", "target_branch", "title") if not form.get(k)]
        if missing:
            return 400, {"error": f"{', '.join(missing)} is missing"}
        if not self.branch_exists(form["source_branch"]):
            return 422, {"message": ["Source branch does not exist"]}
        with self._lock:
            for mr in self.merge_requests:
                if mr["state"] == "opened" and (mr["source_branch"], mr["target_branch"]) == (
                        form["source_branch"], form["target_branch"]):
                    return 409, {"message": [
                        f"Another open merge request already exists for this source branch: !{mr['iid']}"]}
            iid = len(self.merge_requests) + 1
            labels = form.get("labels") or []
            mr = {"id": 1000 + iid, "iid": iid, "project_id": self.project_id, "title": form["title"],
                  "description": form.get("description", ""), "state": "opened",
                  "source_branch": form["source_branch"], "target_branch": form["target_branch"],
                  "labels": labels.split(",") if isinstance(labels, str) else labels,
                  "force_remove_source_branch": bool(form.get("remove_source_branch")),
                  "web_url": f"{self.web_url}/-/merge_requests/{iid}"}
            self.merge_requests.append(mr)
        return 201, mr

    def _update(self, iid: int, form: dict[str, Any]) -> Answer:
        with self._lock:
            for mr in self.merge_requests:
                if mr["iid"] == iid:
                    mr.update({k: v for k, v in form.items() if k in ("title", "description", "labels")})
                    return 200, mr
        return 404, {"message": "404 Not found"}
