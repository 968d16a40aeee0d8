"""A loopback stand-in for the parts of GitLab's REST API v4 pipeyard calls.

It follows GitLab's documented contracts and sources (paths in gitlab-org/gitlab):

- a personal or project access token in PRIVATE-TOKEN or `Authorization: Bearer`; a wrong one is
  401 `{"message": "401 Unauthorized"}`;
- a CI/CD job token (JOB-TOKEN header or job_token parameter) is looked at ONLY on the endpoints that
  allow it (lib/gitlab/auth/auth_finders.rb find_user_from_job_token: `return unless
  route_authentication_setting[:job_token_allowed]`), which are the ones doc/ci/jobs/ci_job_token.md
  lists (JOB_TOKEN_ENDPOINTS below) plus POST /projects/:id/catalog/publish (lib/api/ci/catalog.rb).
  Anywhere else it is ignored and the caller is anonymous, so a private project answers
  404 "404 Project Not Found" and a write 401. A known job token is only good in its own project and
  the projects whose allowlist names it (doc/ci/jobs/ci_job_token.md, "Control job token access");
- anonymous callers read public projects only;
- URL-encoded project paths, JSON or form-encoded bodies, and answers that may carry headers
  (pagination: X-Total, X-Next-Page, Link).

Each test registers the answers it needs, as exact (method, path) routes or a fallback for every other
request, and reads back the requests it got (with the identity GitLab saw: token, job, anonymous).
ProjectPipelines (below) is a project with a pipeline, its jobs, its trigger jobs and its commit.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.servers import loopback

# Gets the request as {"method", "target" (as sent, still percent-encoded), "body", "query", "headers",
# "identity"} and answers (status, JSON body) or (status, JSON body, headers).
Handler = Callable[[dict[str, Any]], tuple]

# doc/ci/jobs/ci_job_token.md "Job token access" (GitLab 17.x/18.x): what a job token may call.
_ID = r"/projects/[^/]+"
JOB_TOKEN_ENDPOINTS = [
    ("GET", rf"{_ID}/repository/branches(/.*)?"),                          # Branches API
    ("GET", rf"{_ID}/repository/commits/[^/]+"),                           # Commits API
    ("GET", rf"{_ID}/repository/commits/[^/]+/merge_requests"),
    ("*", rf"{_ID}/deployments(/.*)?"),                                    # Deployments API: all
    ("*", rf"{_ID}/environments(/.*)?"),                                   # Environments API: all
    ("GET", rf"{_ID}/repository/files/.+/raw"),                            # Files API
    ("GET", r"/job"),                                                      # Jobs API: only GET /job
    ("*", rf"{_ID}/jobs/[^/]+/artifacts(/.*)?"),                           # Job artifacts API: all
    ("*", rf"{_ID}/jobs/artifacts/.+"),
    ("GET", rf"{_ID}/merge_requests(/[0-9]+)?"),                           # Merge requests API
    ("GET", rf"{_ID}/merge_requests/[0-9]+/notes(/[0-9]+)?"),              # Notes API
    ("*", rf"{_ID}/packages(/.*)?"),                                       # Packages API: all
    ("POST", rf"{_ID}/trigger/pipeline"),                                  # Pipeline trigger tokens API
    ("PUT", rf"{_ID}/pipelines/[0-9]+/metadata"),                          # Pipelines API: only this
    ("*", rf"{_ID}/releases(/.*)?"),                                       # Releases and release links
    ("GET", rf"{_ID}/repository/changelog"),                               # Repositories API
    ("GET", rf"{_ID}/repository/tags"),                                    # Tags API
    ("POST", rf"{_ID}/catalog/publish"),                                   # lib/api/ci/catalog.rb
]


def job_token_allowed(method: str, path: str) -> bool:
    return any(m in ("*", method) and re.fullmatch(pattern, path) for m, pattern in JOB_TOKEN_ENDPOINTS)


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
    identity: str = "token"  # token | job:<project> | anonymous
    status: int = 0


@dataclass(frozen=True)
class JobToken:
    project: str  # the path of the job's project
    project_id: int
    job_id: int = 1


@dataclass
class FakeGitLab:
    token: str = "glpat-test-token"
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    # Answers what no route matches, e.g. a stateful API that parses paths itself.
    fallback: Handler | None = None
    requests: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    job_tokens: dict[str, JobToken] = field(default_factory=dict)
    # project ids and paths readable without a token (public visibility)
    public: set[str] = field(default_factory=set)
    # project (id or path) -> projects whose job tokens it admits besides its own
    allowlist: dict[str, set[str]] = field(default_factory=dict)
    # project paths by id, so a job token of project P is recognised on /projects/<id of P>
    project_ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        assert self.server
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        """path is the decoded path after /api/v4, e.g. /projects/acme/app/ci/lint."""
        self.routes[(method, path)] = handler

    def add_project(self, path: str, project_id: int, *, public: bool = False) -> None:
        self.project_ids[str(project_id)] = path
        if public:
            self.public |= {path, str(project_id)}

    def new_job_token(self, project: str, project_id: int, job_id: int = 1) -> str:
        """The CI_JOB_TOKEN of a running job of `project`."""
        value = f"glcbt-{secrets.token_hex(10)}"
        self.job_tokens[value] = JobToken(project, project_id, job_id)
        self.add_project(project, project_id)
        return value

    def _project_of(self, path: str) -> str | None:
        m = re.match(r"^/projects/([^/]+)", path)
        if not m:
            return None
        ref = m.group(1)
        return self.project_ids.get(ref, ref)

    def identify(self, method: str, path: str, headers: Any, query: str) -> tuple[str, int | None, Any]:
        """(identity, refusing status or None, refusing body)."""
        auth = headers.get("Authorization", "") or ""
        bearer = auth[7:] if auth.startswith("Bearer ") else None
        job = headers.get("JOB-TOKEN") or form_fields(query).get("job_token")
        if bearer in self.job_tokens:  # auth_finders.rb find_user_from_job_bearer_token
            job, bearer = job or bearer, None
        pat = headers.get("PRIVATE-TOKEN") or bearer
        if pat:
            return ("token", None, None) if pat == self.token else ("invalid", 401, {"message": "401 Unauthorized"})
        project = self._project_of(path)
        if job and job_token_allowed(method, path):
            token = self.job_tokens.get(job)
            if token is None:
                return "invalid", 401, {"message": "401 Unauthorized"}
            if path == "/job" or project in (None, token.project) or \
                    token.project in self.allowlist.get(project or "", set()):
                return f"job:{token.project}", None, None
            return f"job:{token.project}", 404, {"message": "404 Project Not Found"}
        # Anonymous: no token, or a job token where GitLab does not look at it.
        if project is not None and project in self.public and method == "GET":
            return "anonymous", None, None
        if project is not None and method == "GET":
            return "anonymous", 404, {"message": "404 Project Not Found"}
        return "anonymous", 401, {"message": "401 Unauthorized"}

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
                identity, refused, answer = fake.identify(method, path, self.headers, parts.query)
                rec = Recorded(method, path, parts.query, dict(self.headers), body, self.path, identity)
                fake.requests.append(rec)
                if refused is not None:
                    rec.status = refused
                    return self._send(refused, answer)
                handler = fake.routes.get((method, path), fake.fallback)
                if handler is None:
                    rec.status = 404
                    return self._send(404, {"message": "404 Not found"})
                out = handler({"method": method, "target": self.path, "body": body, "query": parts.query,
                               "headers": dict(self.headers), "identity": identity})
                rec.status = out[0]
                self._send(*out)

            def _send(self, status: int, answer: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
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


# -- a project with a pipeline ----------------------------------------------------------------------
def paginate(rows: list[Any], req: dict[str, Any], base_url: str) -> tuple[int, Any, dict[str, str]]:
    """GitLab's offset pagination (doc/api/rest/_index.md): per_page (default 20), page, X-* and Link."""
    q = form_fields(req["query"])
    per_page, page = int(q.get("per_page", "20")), int(q.get("page", "1"))
    pages = max(1, -(-len(rows) // per_page))
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(rows)),
               "X-Total-Pages": str(pages)}
    if page < pages:
        url = base_url + req["target"].split("?", 1)[0]
        headers.update({"X-Next-Page": str(page + 1),
                        "Link": f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"'})
    return 200, rows[(page - 1) * per_page: page * per_page], headers


@dataclass
class ProjectPipelines:
    """A project, one pipeline, its jobs and trigger jobs, and the commit it ran on (doc/api/projects.md,
    doc/api/pipelines.md "Get a single pipeline" (no commit in it), doc/api/jobs.md "List pipeline jobs"
    and "List pipeline trigger jobs" (bridges: JobBasic fields plus downstream_pipeline),
    doc/api/commits.md "Get a single commit")."""

    gl: FakeGitLab
    project_id: int = 42
    path: str = "acme/billing"
    pipeline_id: int = 1001
    status: str = "failed"
    sha: str = "a91957a858320c0e17f3a0eca7cfacbff50ea29a"
    title: str = "Fix the invoice rounding"
    jobs: list[dict[str, Any]] = field(default_factory=list)
    bridges: list[dict[str, Any]] = field(default_factory=list)
    public: bool = False

    def __post_init__(self) -> None:
        self.gl.add_project(self.path, self.project_id, public=self.public)
        web = f"https://gitlab.example.com/{self.path}"
        for ref in (str(self.project_id), self.path):
            base = f"/projects/{ref}"
            pipe = f"{base}/pipelines/{self.pipeline_id}"
            self.gl.route("GET", base, lambda req: (200, {
                "id": self.project_id, "path_with_namespace": self.path, "web_url": web,
                "name": self.path.rsplit("/", 1)[-1], "visibility": "public" if self.public else "private"}))
            self.gl.route("GET", pipe, lambda req: (200, self.pipeline(web)))
            self.gl.route("GET", f"{pipe}/jobs", lambda req: paginate(self.jobs, req, self.gl.url))
            self.gl.route("GET", f"{pipe}/bridges", lambda req: paginate(self.bridges, req, self.gl.url))
            self.gl.route("GET", f"{base}/repository/commits/{self.sha}", lambda req: (200, {
                "id": self.sha, "short_id": self.sha[:8], "title": self.title, "message": self.title + "\n",
                "author_name": "Dev", "web_url": f"{web}/-/commit/{self.sha}"}))

    def pipeline(self, web: str) -> dict[str, Any]:
        return {"id": self.pipeline_id, "iid": 77, "project_id": self.project_id, "status": self.status,
                "ref": "main", "sha": self.sha, "before_sha": "0" * 40, "tag": False, "source": "schedule",
                "web_url": f"{web}/-/pipelines/{self.pipeline_id}", "created_at": "2025-06-09T08:00:04.123Z",
                "updated_at": "2025-06-09T08:12:38.000Z", "started_at": "2025-06-09T08:00:05.000Z",
                "finished_at": "2025-06-09T08:12:38.000Z", "duration": 754, "queued_duration": 1,
                "coverage": None, "user": {"id": 1, "name": "Release Bot", "username": "release-bot"},
                "detailed_status": {"group": self.status, "text": self.status}}
