"""pipeyard's own pipeline: the rendered .gitlab-ci.yml, staged git repositories for gitlab-ci-local,
and a GitLab component project that follows the REST API's commits, tags and releases contracts."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeyard.demo.localci import LocalProject, gitlab_ci_local
from pipeyard.model.provider import load_providers
from pipeyard.model.site import load_site
from pipeyard.release.pipeline import render_self_pipeline
from tests.fixtures import ROOT, VENV_BIN
from tests.servers.gitlab_api import FakeGitLab

REMOTE = "https://gitlab.example.com/platform/pipeyard.git"
GIT_ENV = {"GIT_AUTHOR_NAME": "pipeyard", "GIT_AUTHOR_EMAIL": "ci@example.com",
           "GIT_COMMITTER_NAME": "pipeyard", "GIT_COMMITTER_EMAIL": "ci@example.com"}
TOKEN = "glpat-selfci-Secret-7c1d"


def selfci(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`pipeyard release|updates ...` as a user runs it (through the module, whatever the CLI root lists)."""
    full = {**os.environ, **(env or {})}
    full.pop("TRACE", None)
    return subprocess.run([str(VENV_BIN / "python"), "-m", "pipeyard.cli.main", *args], capture_output=True,
                          text=True, env=full, cwd=cwd or ROOT, timeout=600)


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                         env={**os.environ, **GIT_ENV})
    return out.stdout.strip()


def checkout_files() -> list[str]:
    """What a clone of the checkout would hold: tracked files plus new ones not ignored."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    return [f for f in out if (ROOT / f).is_file()]


def stage_repo(dest: Path, pipeline: str, files: list[str] | None = None) -> Path:
    """A git repository holding the checkout (or `files` of it) and the pipeline, on main = origin/main."""
    dest.mkdir(parents=True)
    for rel in files if files is not None else checkout_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    (dest / ".gitlab-ci.yml").write_text(pipeline, encoding="utf-8")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "remote", "add", "origin", REMOTE)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "pipeyard")
    # As a clone has it: origin/main is the default branch, which is what rules:changes compares with.
    git(dest, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(dest, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    with open(dest / ".gitignore", "a", encoding="utf-8") as f:
        f.write("\n.gitlab-ci-local/\n")
    git(dest, "add", ".gitignore")
    git(dest, "commit", "-q", "-m", "ignore gitlab-ci-local state")
    git(dest, "update-ref", "refs/remotes/origin/main", "HEAD")
    return dest


def touch(repo: Path, *paths: str, branch: str | None = None) -> None:
    """Commit a change to paths, on a new branch when one is named."""
    if branch:
        git(repo, "checkout", "-q", "-b", branch)
    for rel in paths:
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n# changed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"change {' '.join(paths)}")


@pytest.fixture(scope="session")
def providers():
    return load_providers(ROOT)


@pytest.fixture(scope="session")
def site(providers):
    return load_site(ROOT / "pipeyard.site.yaml", providers)


@pytest.fixture(scope="session")
def pipeline_text(providers, site) -> str:
    return render_self_pipeline(providers, site)


@pytest.fixture(scope="session")
def small_files() -> list[str]:
    """Enough of the checkout for rules:changes: every provider folder's files, a few of the platform and
    the kit, the root files."""
    keep = ("providers/", "sdk/pipeyard/__init__.py", "sdk/pipeyard/publish/harbor/client.py",
            "sdk/kit/pipeyard_kit/errors.py", "pyproject.toml", "pipeyard.site.yaml", "README.md")
    return [f for f in checkout_files() if f.startswith(keep)]


@pytest.fixture
def staged(tmp_path: Path, pipeline_text: str, small_files: list[str]):
    def make(name: str = "repo") -> tuple[Path, LocalProject]:
        repo = stage_repo(tmp_path / name, pipeline_text, small_files)
        return repo, LocalProject(repo, gitlab_ci_local(ROOT))

    return make


# -- a component project behind GitLab's REST API ------------------------------------------------------
def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id


class ComponentProject:
    """platform/pipeyard as GitLab's API shows it: files on main, commits, tags, releases, merge requests."""

    def __init__(self, gl: FakeGitLab, path: str = "platform/pipeyard", project_id: int = 42):
        self.gl, self.path, self.id = gl, path, project_id
        self.files: dict[str, bytes] = {"README.md": b"old readme\n", "templates/old.yml": b"spec: {}\n"}
        self.branches: dict[str, str] = {"main": self._sha("initial")}
        self.branch_files: dict[str, dict[str, bytes]] = {}
        self.commits: list[dict[str, Any]] = []
        self.tags: dict[str, str] = {}
        self.releases: dict[str, dict[str, Any]] = {}
        self.mrs: list[dict[str, Any]] = []
        for prefix in (f"/projects/{path}", f"/projects/{project_id}"):
            self._routes(prefix)

    @staticmethod
    def _sha(seed: str) -> str:
        return hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324

    def _routes(self, p: str) -> None:
        r = self.gl.route
        r("GET", p, lambda req: (200, {"id": self.id, "path_with_namespace": self.path, "default_branch": "main",
                                       "web_url": f"https://gitlab.example.com/{self.path}"}))
        r("GET", f"{p}/repository/tree", self.tree)
        r("POST", f"{p}/repository/commits", self.commit)
        r("GET", f"{p}/repository/commits/main", lambda req: (200, {"id": self.branches["main"]}))
        for version in ("1.0.0", "2.0.0"):
            r("GET", f"{p}/repository/tags/{version}", lambda req, v=version: self.tag(v))
            r("GET", f"{p}/releases/{version}", lambda req, v=version: self.release(v))
        r("POST", f"{p}/releases", self.create_release)
        r("GET", f"{p}/merge_requests", self.list_mrs)
        r("POST", f"{p}/merge_requests", self.create_mr)
        r("PUT", f"{p}/merge_requests/1", self.update_mr)

    def tree(self, req: dict[str, Any]) -> tuple[int, Any]:
        return 200, [{"id": blob_sha(data), "name": path.rsplit("/", 1)[-1], "type": "blob", "path": path,
                      "mode": "100644"} for path, data in sorted(self.files.items())]

    def commit(self, req: dict[str, Any]) -> tuple[int, Any]:
        body = req["body"]
        branch = body["branch"]
        if branch == "main":
            files = self.files
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
        self.commits.append(body)
        return 201, {"id": sha, "short_id": sha[:8], "title": body["commit_message"]}

    def tag(self, version: str) -> tuple[int, Any]:
        if version not in self.tags:
            return 404, {"message": "404 Tag Not Found"}
        return 200, {"name": version, "commit": {"id": self.tags[version]}}

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
                return 400, {"message": "Ref is not specified"}
            self.tags[tag] = body["ref"]
        self.releases[tag] = {"tag_name": tag, "name": body.get("name"), "description": body.get("description"),
                              "commit": {"id": self.tags[tag]}}
        return 201, self.releases[tag]

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


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    server = FakeGitLab(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def component_project(gitlab: FakeGitLab) -> ComponentProject:
    return ComponentProject(gitlab)
