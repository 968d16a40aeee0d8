"""Many pipelines at once against one config repository: a real git http-backend with GitLab-like push latency.

The server holds every push until each client has fetched, so all of them start from the same tip and the
race is as bad as it gets, every run. What is asserted holds whichever client wins each round: the final
files, the commits and every exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gitlab_mr_api import GitLabApi
from gitops_support import DIGEST, TOKEN, clean_env, seed

from tests.servers.git_http import GitHttpServer, git

APPS = tuple(f"app{i}" for i in range(10))
LATENCY = 0.2


def run_all(envs: dict[str, dict[str, str]]) -> dict[str, tuple[int, str, str]]:
    """Start every bump at once; (exit code, stdout, stderr) by name."""
    procs = {name: subprocess.Popen([sys.executable, "-m", "pipeyard_gitops.cli"], text=True, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env={**os.environ, **clean_env(), **env})
             for name, env in envs.items()}
    done = {name: p.communicate(timeout=300) for name, p in procs.items()}
    return {name: (procs[name].returncode, *done[name]) for name in procs}


@pytest.fixture
def busy_server(tmp_path: Path):
    (tmp_path / "busy").mkdir()
    server = GitHttpServer(tmp_path / "busy", token=TOKEN, push_latency=LATENCY)
    yield server
    server.stop()


def test_ten_apps_bumping_one_repository_at_once_all_land(busy_server, job_env):
    server = busy_server
    server.push_gate = lambda user: server.wait_for(lambda: all(server.fetches_by[a] for a in APPS))
    server.start()
    url = seed(server, apps=APPS)
    envs = {app: {**job_env, "GITOPS_REPO_URL": url, "GITOPS_APP": app, "GITOPS_USERNAME": app,
                  "GITOPS_IMAGE": f"harbor.example.com/shop/{app}:2.0.{i}@{DIGEST}", "CI_PIPELINE_IID": str(100 + i)}
            for i, app in enumerate(APPS)}
    results = run_all(envs)
    for app, (code, out, err) in results.items():
        assert code == 0, f"{app}: {out}{err}"
        assert "pushed" in out
    # Somebody lost at least one race: the test ran the contended path.
    assert any("lost a race" in err or "locked" in err for _, _, err in results.values())
    for i, app in enumerate(APPS):
        image = yaml.safe_load(server.show("config", "main", f"apps/{app}/values-dev.yaml"))["image"]
        assert image == {"tag": f"2.0.{i}", "digest": DIGEST, "pipeline": 100 + i}
    log = server.log("config")
    assert len(log) == 11 and log[-1]["message"] == "seed the config repository"
    assert sorted(c["message"].splitlines()[0] for c in log[:-1]) == sorted(
        f"{app}(dev): deploy 2.0.{i}" for i, app in enumerate(APPS))
    # A straight line of single-file commits: nothing merged, nothing lost, nothing else touched.
    bare = str(server.root / "config.git")
    assert git("--git-dir", bare, "rev-list", "--merges", "main") == ""
    for commit in log[:-1]:
        app = commit["message"].split("(", 1)[0]
        files = git("--git-dir", bare, "show", "--format=", "--name-only", commit["sha"]).split()
        assert files == [f"apps/{app}/values-dev.yaml"]


def test_concurrent_prod_bumps_leave_one_merge_request_with_the_newest_image(busy_server, job_env):
    server = busy_server
    runs = {f"p{n}": n for n in range(1, 5)}  # pipeline p4 built the newest, 1.5.4
    server.push_gate = lambda user: server.wait_for(lambda: all(server.fetches_by[u] for u in runs))
    server.start()
    url = seed(server)
    tips = {b: server.tip("config", b) for b in ("main", "deploy/prod")}
    api = GitLabApi(token=TOKEN, project_path="platform/config",
                    branch_exists=lambda branch: branch in server.branches("config")).start()
    try:
        envs = {user: {**job_env, "GITOPS_REPO_URL": url, "GITOPS_ENVIRONMENT": "prod", "GITOPS_USERNAME": user,
                       "GITOPS_GITLAB_URL": api.url, "GITOPS_PROJECT": "platform/config",
                       "GITOPS_IMAGE": f"harbor.example.com/shop/orders:1.5.{n}@{DIGEST}", "CI_PIPELINE_IID": str(50 + n)}
                for user, n in runs.items()}
        results = run_all(envs)
    finally:
        api.stop()
    code, out, err = results["p4"]
    assert code == 0, out + err
    for user, (code, out, err) in results.items():
        if code:
            # An older bump that saw a newer proposal (or the newer pin) refuses to replace it, with the two named.
            errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
            assert len(errors) == 1 and f"GITOPS_IMAGE 1.5.{runs[user]} (pipeline #{50 + runs[user]})" in errors[0]
            assert "already proposes 1.5." in errors[0] and "refusing to replace it" in errors[0], errors[0]
        elif user != "p4":
            # An older bump whose push landed first proposed its image, or saw it replaced before it was done.
            assert (f"proposes apps/orders/values-prod.yaml: 1.4.0 -> 1.5.{runs[user]}" in out
                    or "then a newer bump replaced the proposal" in out), out + err
        else:
            assert "proposes apps/orders/values-prod.yaml: 1.4.0 -> 1.5.4" in out, out + err
    # One merge request, into prod's branch, holding and describing the newest image.
    (mr,) = api.merge_requests
    assert (mr["source_branch"], mr["target_branch"], mr["state"]) == ("gitops/orders/prod", "deploy/prod", "opened")
    assert mr["title"] == "orders(prod): deploy 1.5.4"
    assert "(#54)" in mr["description"]
    image = yaml.safe_load(server.show("config", "gitops/orders/prod", "apps/orders/values-prod.yaml"))["image"]
    assert image == {"tag": "1.5.4", "digest": DIGEST, "pipeline": 54}
    proposal = server.log("config", "gitops/orders/prod")
    assert proposal[0]["message"].splitlines()[0] == "orders(prod): deploy 1.5.4"
    assert proposal[1]["sha"] == tips["deploy/prod"]
    assert {b: server.tip("config", b) for b in tips} == tips
