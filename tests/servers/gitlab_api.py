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

import hashlib
import json
import re
import secrets
import threading
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
                # Raw file contents (the Files API's /raw) go out as they are; everything else is JSON.
                raw = isinstance(answer, bytes)
                data = answer if raw else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8" if raw else "application/json")
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


# -- a component project, its tag pipeline and the CI/CD catalog ----------------------------------------------
def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id


@dataclass
class CatalogVersion:
    version: str
    components: list[str]
    published_by: str  # the identity that called catalog/publish (or "release" for a legacy API release)


class ComponentProject:
    """platform/pipeyard as GitLab's API shows it: files on main, commits, tags, releases, merge requests,
    and the CI/CD catalog versions its tag pipelines publish.

    - a tag created through POST /repository/tags starts the project's tag pipeline: the jobs of the
      tagged .gitlab-ci.yml that have `release:` and run on tags do what the runner's release step does
      (gitlab-org/cli MR 1745, release-cli MR 184): POST /releases, then POST /catalog/publish with
      {version, metadata: {components: [{name, spec, component_type}]}}, both with the job's
      CI_JOB_TOKEN, through this stand-in's job-token rules;
    - POST /catalog/publish (lib/api/ci/catalog.rb): the release of `version` must exist (404), the
      project needs a description and a README.md at the release's commit
      (Ci::Catalog::Resources::ValidateService, 422) and at least one component under templates/ (422).
      It is stricter than GitLab in one way: only a job token is accepted, as the route's comment says
      release-cli alone should call it;
    - a release made through the Releases API publishes a catalog version only where
      `api_release_publishes` (GitLab before the ci_release_cli_catalog_publish_option behaviour;
      app/services/releases/create_service.rb publish_catalog?), or with legacy_catalog_publish.
    """

    def __init__(self, gl: FakeGitLab, path: str = "platform/pipeyard", project_id: int = 42, *,
                 description: str = "pipeyard's CI/CD components", api_release_publishes: bool = False,
                 pipeline_delay: float = 0.05):
        self.gl, self.path, self.id = gl, path, project_id
        self.description = description
        self.api_release_publishes = api_release_publishes
        self.pipeline_delay = pipeline_delay
        self.files: dict[str, bytes] = {"README.md": b"old readme\n", "templates/old.yml": b"spec: {}\n"}
        self.branches: dict[str, str] = {"main": self._sha("initial")}
        self.branch_files: dict[str, dict[str, bytes]] = {}
        self.snapshots: dict[str, dict[str, bytes]] = {self.branches["main"]: self.files}
        self.commits: list[dict[str, Any]] = []
        self.tags: dict[str, str] = {}
        self.tag_messages: dict[str, str] = {}
        self.releases: dict[str, dict[str, Any]] = {}
        self.catalog: list[CatalogVersion] = []
        self.pipelines: list[dict[str, Any]] = []
        self.mrs: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        gl.add_project(path, project_id)
        for prefix in (f"/projects/{path}", f"/projects/{project_id}"):
            self._routes(prefix)

    @staticmethod
    def _sha(seed: str) -> str:
        return hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324

    def _routes(self, p: str) -> None:
        r = self.gl.route
        r("GET", p, lambda req: (200, {"id": self.id, "path_with_namespace": self.path, "default_branch": "main",
                                       "description": self.description,
                                       "web_url": f"https://gitlab.example.com/{self.path}"}))
        r("GET", f"{p}/repository/tree", self.tree)
        r("GET", f"{p}/repository/files/.gitlab-ci.yml/raw", lambda req: self.raw(".gitlab-ci.yml"))
        r("POST", f"{p}/repository/commits", self.commit)
        r("GET", f"{p}/repository/commits/main", lambda req: (200, {"id": self.branches["main"]}))
        r("POST", f"{p}/repository/tags", self.create_tag)
        for version in ("1.0.0", "2.0.0", "1.0.0-rc.1"):
            r("GET", f"{p}/repository/tags/{version}", lambda req, v=version: self.tag(v))
            r("GET", f"{p}/releases/{version}", lambda req, v=version: self.release(v))
        r("POST", f"{p}/releases", self.create_release)
        r("GET", f"{p}/pipelines", self.list_pipelines)
        r("POST", f"{p}/catalog/publish", self.publish)
        r("GET", f"{p}/merge_requests", self.list_mrs)
        r("POST", f"{p}/merge_requests", self.create_mr)
        r("PUT", f"{p}/merge_requests/1", self.update_mr)

    # -- the repository -------------------------------------------------------------------------------------
    def tree(self, req: dict[str, Any]) -> tuple[int, Any]:
        return 200, [{"id": blob_sha(data), "name": path.rsplit("/", 1)[-1], "type": "blob", "path": path,
                      "mode": "100644"} for path, data in sorted(self.files.items())]

    def raw(self, path: str) -> tuple[int, Any]:
        if path not in self.files:
            return 404, {"message": "404 File Not Found"}
        return 200, self.files[path]

    def commit(self, req: dict[str, Any]) -> tuple[int, Any]:
        body = req["body"]
        branch = body["branch"]
        if branch == "main":
            files = self.files = dict(self.files)
        else:
            if branch not in self.branches or body.get("force"):
                self.branch_files[branch] = dict(self.files)
            files = self.branch_files[branch]
        for action in body["actions"]:
            path = action["file_path"]
            if action["action"] == "delete":
                files.pop(path)
            else:
                if (action["action"] == "create") == (path in files):
                    return 400, {"message": f"A file with this name {'already exists' if path in files else 'does not exist'}"}
                files[path] = action["content"].encode()
        sha = self._sha(f"{branch}-{len(self.commits)}")
        self.branches[branch] = sha
        self.snapshots[sha] = dict(files)
        self.commits.append(body)
        return 201, {"id": sha, "short_id": sha[:8], "title": body["commit_message"]}

    def tag(self, version: str) -> tuple[int, Any]:
        if version not in self.tags:
            return 404, {"message": "404 Tag Not Found"}
        return 200, {"name": version, "message": self.tag_messages.get(version, ""),
                     "commit": {"id": self.tags[version]}}

    def create_tag(self, req: dict[str, Any]) -> tuple[int, Any]:
        """doc/api/tags.md: an annotated tag when `message` is given; the tag starts a tag pipeline."""
        body = req["body"]
        name, ref = body.get("tag_name"), body.get("ref")
        if name in self.tags:
            return 400, {"message": "Tag " + str(name) + " already exists"}
        sha = self.branches.get(ref, ref)
        if sha not in self.snapshots:
            return 400, {"message": "Target " + str(ref) + " is invalid"}
        self.tags[name] = sha
        self.tag_messages[name] = body.get("message") or ""
        self.pipelines.append({"id": 3000 + len(self.pipelines), "ref": name, "sha": sha, "status": "running",
                               "source": "push", "jobs": [],
                               "web_url": f"https://gitlab.example.com/{self.path}/-/pipelines/{3000 + len(self.pipelines)}"})
        threading.Timer(self.pipeline_delay, self.run_tag_pipeline, args=(name,)).start()
        return 201, {"name": name, "message": self.tag_messages[name], "commit": {"id": sha}}

    # -- the tag pipeline --------------------------------------------------------------------------------
    def run_tag_pipeline(self, tag: str) -> None:
        import requests
        import yaml

        files = self.snapshots[self.tags[tag]]
        run = next(r for r in reversed(self.pipelines) if r["ref"] == tag)
        try:
            self._run_jobs(tag, files, run)
        except (requests.RequestException, yaml.YAMLError) as exc:  # the test (and its server) ended first
            run["jobs"].append({"error": type(exc).__name__})
            run["status"] = "failed"
        else:
            run["status"] = "failed" if any(j.get("error") for j in run["jobs"]) else "success"

    def _run_jobs(self, tag: str, files: dict[str, bytes], run: dict[str, Any]) -> None:
        import requests
        import yaml

        doc = yaml.safe_load(files.get(".gitlab-ci.yml", b"") or b"") or {}
        for name, job in doc.items() if isinstance(doc, dict) else ():
            if str(name).startswith(".") or not isinstance(job, dict) or "release" not in job:
                continue
            rules = job.get("rules") or [{"if": "$CI_COMMIT_TAG"}]
            if not any("CI_COMMIT_TAG" in str(rule.get("if", "")) for rule in rules):
                continue
            token = self.gl.new_job_token(self.path, self.id, job_id=7000 + len(run["jobs"]))
            headers = {"JOB-TOKEN": token}
            values = {"$CI_COMMIT_TAG_MESSAGE": self.tag_messages[tag], "$CI_COMMIT_TAG": tag,
                      "$CI_PROJECT_PATH": self.path}
            spec = {k: _expand(str(v), values) for k, v in job["release"].items() if isinstance(v, (str, int))}
            base = f"{self.gl.url}/api/v4/projects/{self.id}"
            made = requests.post(f"{base}/releases", headers=headers, timeout=10,
                                 json={"tag_name": spec.get("tag_name", tag), "name": spec.get("name", tag),
                                       "description": spec.get("description", "")})
            components = [{"name": c, "spec": _spec_of(files[f"templates/{c}.yml"]), "component_type": "template"}
                          for c in sorted(p[len("templates/"):-4] for p in files
                                          if p.startswith("templates/") and p.endswith(".yml") and p.count("/") == 1)]
            published = requests.post(f"{base}/catalog/publish", headers=headers, timeout=10,
                                      json={"version": spec.get("tag_name", tag), "metadata": {"components": components}})
            run["jobs"].append({"name": name, "release": made.status_code, "publish": published.status_code,
                                "publish_answer": published.json(),
                                "error": made.status_code != 201 or published.status_code != 200})

    def list_pipelines(self, req: dict[str, Any]) -> tuple[int, Any]:
        """doc/api/pipelines.md List project pipelines, newest first, filtered by ref."""
        ref = form_fields(req["query"]).get("ref")
        rows = [{k: v for k, v in r.items() if k != "jobs"} for r in reversed(self.pipelines)
                if ref in (None, r["ref"])]
        return 200, rows

    # -- releases and the catalog ------------------------------------------------------------------------
    def release(self, version: str) -> tuple[int, Any]:
        if version not in self.releases:
            return 404, {"message": "404 Not found"}
        return 200, self.releases[version]

    def create_release(self, req: dict[str, Any]) -> tuple[int, Any]:
        body = req["body"]
        tag = body["tag_name"]
        if tag in self.releases:
            return 409, {"message": "Release already exists"}
        if tag not in self.tags:
            if not body.get("ref"):
                return 422, {"message": "Ref is not specified"}
            self.tags[tag] = self.branches.get(body["ref"], body["ref"])
        self.releases[tag] = {"tag_name": tag, "name": body.get("name"), "description": body.get("description"),
                              "commit": {"id": self.tags[tag]}, "author": req["identity"]}
        if self.api_release_publishes or body.get("legacy_catalog_publish"):
            files = self.snapshots.get(self.tags[tag], self.files)
            self.catalog.append(CatalogVersion(tag, sorted(p for p in files if p.startswith("templates/")),
                                               "release"))
        return 201, self.releases[tag]

    def publish(self, req: dict[str, Any]) -> tuple[int, Any]:
        if not req["identity"].startswith("job:"):
            return 401, {"message": "401 Unauthorized"}
        body = req["body"] or {}
        version = body.get("version")
        if version not in self.releases:
            return 404, {"message": "404 Release Not Found"}
        files = self.snapshots.get(self.releases[version]["commit"]["id"], {})
        errors = []
        if "README.md" not in files:
            errors.append("Project must have a README")
        if not self.description:
            errors.append("Project must have a description")
        components = (body.get("metadata") or {}).get("components") or []
        if not components:
            errors.append("Project must contain components. Ensure you are using the correct directory structure")
        if errors:
            return 422, {"message": " , ".join(errors)}
        with self.lock:
            self.catalog.append(CatalogVersion(version, [c["name"] for c in components], req["identity"]))
        return 200, {"id": len(self.catalog), "name": version, "released_at": "2026-01-15T10:00:00Z"}

    # -- merge requests ------------------------------------------------------------------------------------
    def list_mrs(self, req: dict[str, Any]) -> tuple[int, Any]:
        return 200, [m for m in self.mrs if m["state"] == "opened"]

    def create_mr(self, req: dict[str, Any]) -> tuple[int, Any]:
        mr = {**req["body"], "iid": len(self.mrs) + 1, "id": 900 + len(self.mrs), "state": "opened",
              "web_url": f"https://gitlab.example.com/{self.path}/-/merge_requests/{len(self.mrs) + 1}"}
        self.mrs.append(mr)
        return 201, mr

    def update_mr(self, req: dict[str, Any]) -> tuple[int, Any]:
        self.mrs[0].update(req["body"])
        return 200, self.mrs[0]


def _expand(text: str, values: dict[str, str]) -> str:
    for key in sorted(values, key=len, reverse=True):
        text = text.replace(key, values[key])
    return text


def _spec_of(data: bytes) -> dict[str, Any]:
    import yaml

    try:
        first = next(yaml.safe_load_all(data), None) or {}
    except yaml.YAMLError:
        return {}
    return (first.get("spec") or {}) if isinstance(first, dict) else {}
