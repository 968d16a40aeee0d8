"""A local GitLab REST API for merge requests, following GitLab's documented behaviour.

Covers what python-gitlab calls for the gitops merge-request path:
GET /api/v4/projects/:id, GET and POST /api/v4/projects/:id/merge_requests and
PUT /api/v4/projects/:id/merge_requests/:iid. :id is a numeric id or the
URL-encoded path. Auth is the PRIVATE-TOKEN header (or a Bearer token); errors use
GitLab's {"message": ...} bodies and status codes (401, 404, 409 for a second open
merge request of the same branches, 422 for a missing source branch).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class GitLabApi:
    def __init__(self, *, token: str, project_path: str, project_id: int = 7,
                 branch_exists: Callable[[str], bool] | None = None):
        self.token = token
        self.project_path = project_path
        self.project_id = project_id
        self.branch_exists = branch_exists or (lambda _branch: True)
        self.merge_requests: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        # How many merge-request lists answer [] as if read before a concurrent create landed.
        self.stale_lists = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def web_url(self) -> str:
        return f"{self.url}/{self.project_path}"

    def start(self) -> GitLabApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                api._handle(self)

            def do_POST(self) -> None:
                api._handle(self)

            def do_PUT(self) -> None:
                api._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    # --- helpers ----------------------------------------------------------------------------------
    def _project(self) -> dict[str, Any]:
        return {"id": self.project_id, "path_with_namespace": self.project_path,
                "name": self.project_path.rsplit("/", 1)[-1], "default_branch": "main", "web_url": self.web_url}

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _authorised(self, h: BaseHTTPRequestHandler) -> bool:
        bearer = h.headers.get("Authorization", "")
        return h.headers.get("PRIVATE-TOKEN") == self.token or bearer == f"Bearer {self.token}"

    def _form(self, h: BaseHTTPRequestHandler) -> dict[str, Any]:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if not raw:
            return {}
        if "json" in h.headers.get("Content-Type", ""):
            return json.loads(raw)
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    # --- routing ----------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        # The raw path keeps %2F inside :id; split before decoding.
        segments = parts.path.split("/")
        with self._lock:
            self.calls.append((h.command, h.path))
        if not self._authorised(h):
            return self._send(h, 401, {"message": "401 Unauthorized"})
        if segments[:4] != ["", "api", "v4", "projects"] or len(segments) < 5:
            return self._send(h, 404, {"error": "404 Not Found"})
        project = unquote(segments[4])
        if project not in (self.project_path, str(self.project_id)):
            return self._send(h, 404, {"message": "404 Project Not Found"})
        rest = segments[5:]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not rest and h.command == "GET":
            return self._send(h, 200, self._project())
        if rest == ["merge_requests"] and h.command == "GET":
            return self._send(h, 200, self._list(query))
        if rest == ["merge_requests"] and h.command == "POST":
            return self._create(h, self._form(h))
        if len(rest) == 2 and rest[0] == "merge_requests" and h.command == "PUT":
            return self._update(h, int(rest[1]), self._form(h))
        return self._send(h, 404, {"error": "404 Not Found"})

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

    def _create(self, h: BaseHTTPRequestHandler, form: dict[str, Any]) -> None:
        missing = [k for k in ("source_branch", "target_branch", "title") if not form.get(k)]
        if missing:
            return self._send(h, 400, {"error": f"{', '.join(missing)} is missing"})
        if not self.branch_exists(form["source_branch"]):
            return self._send(h, 422, {"message": ["Source branch does not exist"]})
        with self._lock:
            for mr in self.merge_requests:
                if mr["state"] == "opened" and (mr["source_branch"], mr["target_branch"]) == (
                        form["source_branch"], form["target_branch"]):
                    return self._send(h, 409, {"message": [
                        f"Another open merge request already exists for this source branch: !{mr['iid']}"]})
            iid = len(self.merge_requests) + 1
            labels = form.get("labels") or []
            mr = {"id": 1000 + iid, "iid": iid, "project_id": self.project_id, "title": form["title"],
                  "description": form.get("description", ""), "state": "opened",
                  "source_branch": form["source_branch"], "target_branch": form["target_branch"],
                  "labels": labels.split(",") if isinstance(labels, str) else labels,
                  "force_remove_source_branch": bool(form.get("remove_source_branch")),
                  "web_url": f"{self.web_url}/-/merge_requests/{iid}"}
            self.merge_requests.append(mr)
        return self._send(h, 201, mr)

    def _update(self, h: BaseHTTPRequestHandler, iid: int, form: dict[str, Any]) -> None:
        with self._lock:
            for mr in self.merge_requests:
                if mr["iid"] == iid:
                    mr.update({k: v for k, v in form.items() if k in ("title", "description", "labels")})
                    return self._send(h, 200, mr)
        return self._send(h, 404, {"message": "404 Not found"})
