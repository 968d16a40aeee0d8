"""pipeyard's own pipeline: the rendered .gitlab-ci.yml, staged git repositories for gitlab-ci-local,
and a GitLab component project that follows the REST API's commits, tags and releases contracts."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.demo.localci import LocalProject, gitlab_ci_local
from pipeyard.model.provider import load_providers
from pipeyard.model.site import load_site
from pipeyard.release.pipeline import render_self_pipeline
from tests.fixtures import ROOT, VENV_BIN
from tests.servers.gitlab_api import ComponentProject, FakeGitLab

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


# -- a component project behind GitLab's REST API: tests.servers.gitlab_api.ComponentProject ---------------
@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    server = FakeGitLab(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def component_project(gitlab: FakeGitLab) -> ComponentProject:
    return ComponentProject(gitlab)
