"""Protected environments: a branch on the real git server and a merge request through GitLab's API."""

from __future__ import annotations

import yaml
from gitlab_mr_api import GitLabApi
from gitops_support import COMMIT_SHA, DIGEST, IMAGE_REPO, PIPELINE_URL, PROJECT_URL, TOKEN, gitops_bump, seed

from pipeyard_gitops.mergerequest import MergeRequestTarget, ensure_merge_request
from tests.servers.git_http import GitHttpServer

VALUES_PROD = "apps/orders/values-prod.yaml"
BRANCH = "gitops/orders/prod"


def prod_env(job_env: dict[str, str], api) -> dict[str, str]:
    return {**job_env, "GITOPS_ENVIRONMENT": "prod", "GITOPS_GITLAB_URL": api.url, "GITOPS_PROJECT": "platform/config"}


def test_prod_opens_a_merge_request_into_its_protected_branch(git_server, gitlab_api, job_env):
    tips = {b: git_server.tip("config", b) for b in ("main", "deploy/prod")}
    result = gitops_bump(env=prod_env(job_env, gitlab_api))
    assert result.returncode == 0, result.stderr
    assert f"merge request {gitlab_api.web_url}/-/merge_requests/1" in result.stdout
    assert f"(branch {BRANCH} into deploy/prod)" in result.stdout
    # Neither the branch dev pushes to nor the one prod syncs from moved.
    assert {b: git_server.tip("config", b) for b in tips} == tips
    assert yaml.safe_load(git_server.show("config", BRANCH, VALUES_PROD))["image"] == {
        "tag": "1.4.2", "digest": DIGEST, "pipeline": 42}
    assert git_server.log("config", BRANCH)[1]["sha"] == tips["deploy/prod"]
    (mr,) = gitlab_api.merge_requests
    assert (mr["source_branch"], mr["target_branch"], mr["state"]) == (BRANCH, "deploy/prod", "opened")
    assert mr["title"] == "orders(prod): deploy 1.4.2"
    assert PIPELINE_URL in mr["description"] and f"{PROJECT_URL}/-/commit/{COMMIT_SHA}" in mr["description"]
    assert mr["labels"] == ["gitops"] and mr["force_remove_source_branch"] is True
    commit = git_server.log("config", BRANCH)[0]
    assert commit["author"] == "pipeyard gitops" and PIPELINE_URL in commit["message"]


def test_a_newer_image_refreshes_the_open_merge_request(git_server, gitlab_api, job_env):
    env = prod_env(job_env, gitlab_api)
    assert gitops_bump(env=env).returncode == 0
    newer = gitops_bump(env={**env, "GITOPS_IMAGE": f"{IMAGE_REPO}:1.5.0@{DIGEST}"})
    assert newer.returncode == 0, newer.stderr
    (mr,) = gitlab_api.merge_requests
    assert mr["title"] == "orders(prod): deploy 1.5.0"
    assert yaml.safe_load(git_server.show("config", BRANCH, VALUES_PROD))["image"]["tag"] == "1.5.0"
    assert ("PUT", "/api/v4/projects/platform%2Fconfig/merge_requests/1") in gitlab_api.calls


def test_rerunning_the_same_bump_pushes_nothing_new(git_server, gitlab_api, job_env):
    env = prod_env(job_env, gitlab_api)
    assert gitops_bump(env=env).returncode == 0
    tip = git_server.log("config", BRANCH)[0]["sha"]
    again = gitops_bump(env=env)
    assert again.returncode == 0, again.stderr
    assert git_server.log("config", BRANCH)[0]["sha"] == tip
    assert len(gitlab_api.merge_requests) == 1


def test_what_prod_already_runs_needs_no_merge_request(git_server, gitlab_api, job_env):
    result = gitops_bump(env={**prod_env(job_env, gitlab_api), "GITOPS_IMAGE": f"{IMAGE_REPO}:1.4.0"})
    assert result.returncode == 0, result.stderr
    assert "nothing to commit" in result.stdout
    assert gitlab_api.merge_requests == [] and BRANCH not in git_server.branches("config")


def test_a_job_cannot_switch_off_the_protection_the_config_repository_declares(git_server, gitlab_api, job_env):
    # The Application of prod is labelled protected and tracks deploy/prod: nothing this job sets, and nothing
    # its token could do (the server does not protect deploy/prod here), gets a direct push there.
    tips = {b: git_server.tip("config", b) for b in ("main", "deploy/prod")}
    result = gitops_bump(env={**prod_env(job_env, gitlab_api), "GITOPS_PROTECTED_ENVIRONMENTS": "none"})
    assert result.returncode == 0, result.stderr
    assert "merge request" in result.stdout and "argocd/prod/orders.yaml marks prod protected" in result.stderr
    assert {b: git_server.tip("config", b) for b in tips} == tips
    assert gitlab_api.merge_requests[0]["target_branch"] == "deploy/prod"


def test_a_job_can_protect_more_environments_than_the_repository(git_server, gitlab_api, job_env):
    env = {**prod_env(job_env, gitlab_api), "GITOPS_ENVIRONMENT": "test", "GITOPS_PROTECTED_ENVIRONMENTS": "test,prod"}
    via_mr = gitops_bump(env=env)
    assert via_mr.returncode == 0 and "merge request" in via_mr.stdout
    (mr,) = gitlab_api.merge_requests
    assert (mr["source_branch"], mr["target_branch"]) == ("gitops/orders/test", "main")
    # test tracks main, where dev pushes directly: the job says that this merge request is no gate.
    assert "the merge request is no gate" in via_mr.stderr


def test_without_protected_environments_every_environment_is_pushed(tmp_path, job_env):
    (tmp_path / "open").mkdir()
    server = GitHttpServer(tmp_path / "open", token=TOKEN).start()
    try:
        url = seed(server, protected=())
        result = gitops_bump(env={**job_env, "GITOPS_REPO_URL": url, "GITOPS_ENVIRONMENT": "prod",
                                  "GITOPS_PROTECTED_ENVIRONMENTS": "none"})
        assert result.returncode == 0, result.stderr
        assert "pushed" in result.stdout
        assert yaml.safe_load(server.show("config", "main", VALUES_PROD))["image"]["tag"] == "1.4.2"
    finally:
        server.stop()


def test_a_wrong_project_fails_with_the_setting_to_fix(gitlab_api, job_env):
    result = gitops_bump(env={**prod_env(job_env, gitlab_api), "GITOPS_PROJECT": "platform/nope"})
    assert result.returncode == 1
    assert "project not found (404)" in result.stderr and "set GITOPS_PROJECT" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_gitlab_refusing_the_token_is_reported_without_it(gitlab_api, job_env):
    gitlab_api.token = "another-token"
    result = gitops_bump(env=prod_env(job_env, gitlab_api))
    assert result.returncode == 1
    assert "refused GITOPS_TOKEN (401)" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_a_merge_request_opened_by_a_concurrent_bump_is_adopted():
    api = GitLabApi(token=TOKEN, project_path="platform/config").start()
    try:
        target = MergeRequestTarget(api.url, "platform/config", TOKEN)
        ensure_merge_request(target, source=BRANCH, branch="main", title="first", description="a")
        # This bump listed before the other's create landed, so its own create gets GitLab's 409.
        api.stale_lists = 1
        url = ensure_merge_request(target, source=BRANCH, branch="main", title="second", description="b")
        assert url.endswith("/-/merge_requests/1")
        (mr,) = api.merge_requests
        assert (mr["title"], mr["description"]) == ("second", "b")
        assert [m for m, _ in api.calls] == ["GET", "POST", "GET", "POST", "GET", "PUT"]
    finally:
        api.stop()
