"""The gitops provider's test helpers: a config repository on a real git server and a GitLab API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitlab_mr_api import GitLabApi

from tests.fixtures import run_cli
from tests.servers.config_repo import chart_init_files
from tests.servers.git_http import GitHttpServer

TOKEN = "glpat-config-repo-Secret-9f3c"
DIGEST = "sha256:" + "5" * 64
IMAGE_REPO = "harbor.example.com/shop/orders"
PIPELINE_URL = "https://gitlab.example.com/shop/orders/-/pipelines/4242"
PROJECT_URL = "https://gitlab.example.com/shop/orders"
COMMIT_SHA = "0123456789abcdef0123456789abcdef01234567"


def clean_env() -> dict[str, str]:
    """The job environment without anything of the developer's shell that could leak into a run."""
    return {k: "" for k in os.environ if k.startswith(("GITOPS_", "CI_", "GITLAB_"))} | {
        "PIPEYARD_SITE_FILE": "/nonexistent/site.json"}


def gitops_bump(*args: str, env: dict[str, str]):
    return run_cli("python", "-m", "pipeyard_gitops.cli", *args, env={**clean_env(), **env})




def seed(server: GitHttpServer, name: str = "config", apps: tuple[str, ...] = ("orders",), **spec: Any) -> str:
    """A config repository as a platform team sets it up: main, and deploy/prod for the protected environment."""
    server.create_repo(name, chart_init_files(server.url(name), apps, **spec), branches=("deploy/prod",))
    return server.url(name)


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    (tmp_path / "git").mkdir()
    server = GitHttpServer(tmp_path / "git", token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def config_repo(git_server: GitHttpServer) -> str:
    """A config repository holding the `orders` chart as `pipeyard chart init` writes it; returns its URL."""
    return seed(git_server)


@pytest.fixture
def job_env(config_repo: str) -> dict[str, str]:
    """What a .gitops-bump job sees in a pipeline of the orders project."""
    return {
        "GITOPS_REPO_URL": config_repo,
        "GITOPS_TOKEN": TOKEN,
        "GITOPS_ENVIRONMENT": "dev",
        "GITOPS_IMAGE": f"{IMAGE_REPO}:1.4.2@{DIGEST}",
        "CI_PROJECT_NAME": "orders",
        "CI_PIPELINE_URL": PIPELINE_URL,
        "CI_PROJECT_URL": PROJECT_URL,
        "CI_COMMIT_SHA": COMMIT_SHA,
        "CI_PIPELINE_IID": "42",
        "CI_JOB_TOKEN": "job-token-of-the-code-repository",
        "GITLAB_USER_LOGIN": "alice",
    }


@pytest.fixture
def gitlab_api(git_server: GitHttpServer, config_repo: str) -> Iterator[GitLabApi]:
    api = GitLabApi(token=TOKEN, project_path="platform/config",
                    branch_exists=lambda branch: branch in git_server.branches("config")).start()
    yield api
    api.stop()
