"""gitops-bump against a real git server on loopback (git http-backend behind basic auth)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tomllib

import pytest
import yaml
from gitops_support import (
    COMMIT_SHA,
    DIGEST,
    IMAGE_REPO,
    PIPELINE_URL,
    PROJECT_URL,
    TOKEN,
    clean_env,
    gitops_bump,
)

from pipeyard_gitops import bump as bump_mod
from pipeyard_gitops.bump import BumpRequest
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.refs import parse_image
from tests.fixtures import ROOT, free_port
from tests.servers.config_repo import chart_init_files
from tests.servers.git_http import GitHttpServer, git

VALUES_DEV = "apps/orders/values-dev.yaml"


def pinned(server: GitHttpServer, path: str = VALUES_DEV, ref: str = "main") -> dict:
    return yaml.safe_load(server.show("config", ref, path))["image"]


def assert_one_clean_error(result, *phrases: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_bump_commits_tag_and_digest_with_author_and_links(git_server, job_env):
    result = gitops_bump(env=job_env)
    assert result.returncode == 0, result.stderr
    assert "pushed" in result.stdout and f"{VALUES_DEV}: 1.4.0 -> 1.4.2" in result.stdout
    assert pinned(git_server) == {"tag": "1.4.2", "digest": DIGEST, "pipeline": 42}
    head = git_server.log("config")[0]
    assert (head["author"], head["email"]) == ("pipeyard gitops", "gitops@pipeyard.invalid")
    assert head["message"].splitlines()[0] == "orders(dev): deploy 1.4.2"
    assert f"Pipeline: {PIPELINE_URL} (#42)" in head["message"]
    assert f"Built from: {PROJECT_URL}/-/commit/{COMMIT_SHA}" in head["message"]
    assert f"Image: {IMAGE_REPO}:1.4.2@{DIGEST}" in head["message"]
    assert "Previous tag: 1.4.0" in head["message"]
    # Only the one values file changed: tag and digest rewritten, the pipeline added.
    seed = git_server.log("config")[1]["sha"]
    diff = subprocess.run(["git", "--git-dir", str(git_server.root / "config.git"), "diff", "--numstat", seed, "main"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert diff == ["3", "2", VALUES_DEV]


def test_the_same_tag_makes_no_commit(git_server, job_env):
    assert gitops_bump(env=job_env).returncode == 0
    commits = len(git_server.log("config"))
    again = gitops_bump(env=job_env)
    assert again.returncode == 0, again.stderr
    assert "nothing to commit" in again.stdout
    assert len(git_server.log("config")) == commits
    assert not [r for r in git_server.requests if "receive-pack" in r.path + r.query and r.method == "POST"][1:]


def test_two_concurrent_bumps_both_land(tmp_path, job_env):
    # Both clients fetch the same tip before either may push, so one of them must lose the race and retry.
    (tmp_path / "race").mkdir()
    server = GitHttpServer(tmp_path / "race", token=TOKEN, hold_pushes_until_fetches=2).start()
    try:
        server.create_repo("config", chart_init_files(server.url("config")))
        env = {**clean_env(), **job_env, "GITOPS_REPO_URL": server.url("config")}
        exe = [sys.executable, "-m", "pipeyard_gitops.cli"]
        procs = [subprocess.Popen(exe, env={**os.environ, **env, "GITOPS_ENVIRONMENT": e,
                                            "GITOPS_IMAGE": f"{IMAGE_REPO}:2.0.{i}@{DIGEST}"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i, e in enumerate(("dev", "test"))]
        outputs = [p.communicate(timeout=120) for p in procs]
        for proc, (out, err) in zip(procs, outputs):
            assert proc.returncode == 0, err
        assert sum("after 2 attempts" in out for out, _ in outputs) == 1, outputs
        assert any("lost a race" in err for _, err in outputs)
        assert pinned(server, "apps/orders/values-dev.yaml")["tag"] == "2.0.0"
        assert pinned(server, "apps/orders/values-test.yaml")["tag"] == "2.0.1"
        assert [c["message"].splitlines()[0] for c in server.log("config")][:2] in (
            ["orders(test): deploy 2.0.1", "orders(dev): deploy 2.0.0"],
            ["orders(dev): deploy 2.0.0", "orders(test): deploy 2.0.1"])
    finally:
        server.stop()


def test_a_wrong_token_fails_clearly_and_is_never_shown(git_server, job_env):
    wrong = "glpat-WRONG-token-0000"
    result = gitops_bump("--debug", env={**job_env, "GITOPS_TOKEN": wrong})
    assert result.returncode == 1
    assert "refused GITOPS_TOKEN (authentication failed)" in result.stderr
    assert "set GITOPS_TOKEN (or GITOPS_TOKEN_FILE)" in result.stderr
    # --debug shows git's own output too: scrubbed of the token and of its basic-auth encoding.
    for secret in (wrong, base64.b64encode(f"oauth2:{wrong}".encode()).decode()):
        assert secret not in result.stdout + result.stderr
    assert [r.status for r in git_server.requests] and all(r.status == 401 for r in git_server.requests)
    assert len(git_server.log("config")) == 1


def test_the_token_travels_in_a_header_not_the_url(git_server, job_env):
    assert gitops_bump(env=job_env).returncode == 0
    for request in git_server.requests:
        assert TOKEN not in request.path + request.query
    assert {r.user for r in git_server.requests if r.status == 200} == {"oauth2"}


def test_token_file_works_and_show_config_masks_it(git_server, job_env, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    env = {**job_env, "GITOPS_TOKEN": "", "GITOPS_TOKEN_FILE": str(token_file)}
    shown = gitops_bump("--show-config", env=env)
    assert shown.returncode == 0 and "GITOPS_TOKEN" in shown.stdout and TOKEN not in shown.stdout
    result = gitops_bump(env=env)
    assert result.returncode == 0, result.stderr
    assert pinned(git_server)["tag"] == "1.4.2"


def test_the_runners_git_config_and_job_token_are_never_used(git_server, job_env, tmp_path):
    # A runner may leave an insteadOf rule that injects the job token; the bump must not pick it up.
    home = tmp_path / "home"
    home.mkdir()
    host = f"http://127.0.0.1:{git_server.port}/"
    (home / ".gitconfig").write_text(f'[url "http://gitlab-ci-token:{job_env["CI_JOB_TOKEN"]}@127.0.0.1:'
                                     f'{git_server.port}/"]\n\tinsteadOf = {host}\n')
    result = gitops_bump(env={**job_env, "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")})
    assert result.returncode == 0, result.stderr
    assert "gitlab-ci-token" not in {r.user for r in git_server.requests}
    assert all(job_env["CI_JOB_TOKEN"] not in r.headers for r in git_server.requests)


def test_the_job_token_is_refused_as_gitops_token(job_env):
    result = gitops_bump(env={**job_env, "GITOPS_TOKEN": job_env["CI_JOB_TOKEN"]})
    assert result.returncode == 1
    assert "GITOPS_TOKEN is this job's CI_JOB_TOKEN" in result.stderr
    assert job_env["CI_JOB_TOKEN"] not in result.stdout + result.stderr


def test_an_unknown_environment_fails_before_any_network_call(git_server, job_env):
    result = gitops_bump(env={**job_env, "GITOPS_ENVIRONMENT": "staging"})
    assert_one_clean_error(result, "GITOPS_ENVIRONMENT='staging' is not a known environment",
                           "use one of dev, test, prod")
    assert git_server.requests == []


def test_an_environment_without_a_values_file_names_the_ones_there(git_server, job_env):
    result = gitops_bump(env={**job_env, "GITOPS_ENVIRONMENTS": "dev,test,prod,qa", "GITOPS_ENVIRONMENT": "qa"})
    assert_one_clean_error(result, "no apps/orders/values-qa.yaml", "values exist for: dev, prod, test")


def test_an_unknown_app_says_to_run_chart_init(job_env):
    result = gitops_bump(env={**job_env, "GITOPS_APP": "billing"})
    assert_one_clean_error(result, "no app folder apps/billing", "pipeyard chart init billing")


def test_a_values_file_without_the_image_tag_key(tmp_path, job_env):
    (tmp_path / "srv").mkdir()
    server = GitHttpServer(tmp_path / "srv", token=TOKEN).start()
    try:
        server.create_repo("config", {VALUES_DEV: "replicaCount: 1\nimage:\n  repository: x.example.com/a\n"})
        result = gitops_bump(env={**job_env, "GITOPS_REPO_URL": server.url("config")})
        assert_one_clean_error(result, f"{VALUES_DEV} has no image.tag key", "write image: as a block")
        assert len(server.log("config")) == 1
    finally:
        server.stop()


def test_an_invalid_image_reference(git_server, job_env):
    result = gitops_bump(env={**job_env, "GITOPS_IMAGE": "harbor.example.com/shop/orders:1.0@sha256:beef"})
    assert_one_clean_error(result, "GITOPS_IMAGE='harbor.example.com/shop/orders:1.0@sha256:beef' is not a valid "
                                   "image reference", "REGISTRY/PATH:TAG[@sha256:DIGEST]")
    assert git_server.requests == []


def test_an_unreachable_config_repository(job_env):
    url = f"http://127.0.0.1:{free_port()}/config.git"
    result = gitops_bump(env={**job_env, "GITOPS_REPO_URL": url})
    assert_one_clean_error(result, f"cannot reach the config repository {url}", "check GITOPS_REPO_URL")


def test_a_missing_repository_and_a_missing_branch(git_server, job_env):
    result = gitops_bump(env={**job_env, "GITOPS_REPO_URL": git_server.url("nope")})
    assert_one_clean_error(result, "does not exist or the token cannot see it")
    result = gitops_bump(env={**job_env, "GITOPS_BRANCH": "release"})
    assert_one_clean_error(result, "has no branch 'release'", "set GITOPS_BRANCH")


def test_missing_settings_are_reported_together(job_env):
    result = gitops_bump(env={**job_env, "GITOPS_TOKEN": "", "GITOPS_IMAGE": "", "GITOPS_REPO_URL": ""})
    assert result.returncode == 1
    for name in ("GITOPS_REPO_URL", "GITOPS_TOKEN", "GITOPS_IMAGE"):
        assert f"{name} is not set" in result.stderr
    assert "3 configuration problems" in result.stderr


def test_credentials_in_the_repo_url_are_refused_and_masked(job_env):
    result = gitops_bump(env={**job_env, "GITOPS_REPO_URL": "https://bot:hunter2@gitlab.example.com/c.git"})
    assert_one_clean_error(result, "GITOPS_REPO_URL carries credentials")
    assert "hunter2" not in result.stderr


def test_dry_run_shows_the_change_and_pushes_nothing(git_server, job_env):
    result = gitops_bump("--dry-run", env=job_env)
    assert result.returncode == 0, result.stderr
    assert '+  tag: "1.4.2"' in result.stdout and '-  tag: "1.4.0"' in result.stdout
    assert len(git_server.log("config")) == 1


def test_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "providers" / "gitops" / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get("gitops-bump") == "pipeyard_gitops.cli:main"
    provider = yaml.safe_load((ROOT / "providers" / "gitops" / "provider.yaml").read_text())
    assert provider["cli"] == ["gitops-bump"] and provider["jobs"]["bump"]["script"] == ["gitops-bump"]



def _another_pipeline_lands(server: GitHttpServer, tmp_path, n: int) -> None:
    """A commit pushed straight into the bare repository, as a concurrent bump would."""
    work = tmp_path / f"other-{n}"
    git("clone", "-q", str(server.root / "config.git"), str(work))
    path = work / "apps/orders/values-test.yaml"
    path.write_text(path.read_text().replace('tag: "', f'tag: "other-{n}-', 1))
    git("commit", "-q", "-am", f"other pipeline {n}", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)


def _request(url: str, retries: int) -> BumpRequest:
    return BumpRequest(repo_url=url, branch="main", username="oauth2", token=TOKEN, app="orders", environment="dev",
                       image=parse_image(f"{IMAGE_REPO}:3.0.0@{DIGEST}"), retries=retries)


def test_a_non_fast_forward_push_fetches_reapplies_and_retries(git_server, config_repo, tmp_path, monkeypatch):
    applied = []

    def apply_then_lose_the_race(git_, req, *args):
        applied.append(req.values_path)
        if len(applied) == 1:
            _another_pipeline_lands(git_server, tmp_path, 1)
        return real_apply(git_, req, *args)

    real_apply = bump_mod._apply
    monkeypatch.setattr(bump_mod, "_apply", apply_then_lose_the_race)
    result = bump_mod.bump(_request(config_repo, retries=3), tmp_path / "work")
    assert (result.outcome, result.attempts) == ("pushed", 2)
    assert [c["message"].splitlines()[0] for c in git_server.log("config")][:2] == [
        "orders(dev): deploy 3.0.0", "other pipeline 1"]
    assert pinned(git_server)["tag"] == "3.0.0"
    assert pinned(git_server, "apps/orders/values-test.yaml")["tag"] == "other-1-1.4.0"


def test_retries_are_bounded(git_server, config_repo, tmp_path, monkeypatch):
    calls = []

    def always_lose(git_, req, *args):
        calls.append(1)
        _another_pipeline_lands(git_server, tmp_path, len(calls))
        return real_apply(git_, req, *args)

    real_apply = bump_mod._apply
    monkeypatch.setattr(bump_mod, "_apply", always_lose)
    monkeypatch.setattr(bump_mod, "_backoff", lambda attempt, kind: 0)
    with pytest.raises(RemoteError, match="rejected 3 times") as err:
        bump_mod.bump(_request(config_repo, retries=2), tmp_path / "work")
    assert "GITOPS_PUSH_RETRIES" in str(err.value)
    assert len(calls) == 3
    assert pinned(git_server)["tag"] == "1.4.0"


def test_apps_dir_must_stay_inside_the_config_repository(job_env):
    result = gitops_bump(env={**job_env, "GITOPS_APPS_DIR": "../elsewhere"})
    assert_one_clean_error(result, "GITOPS_APPS_DIR='../elsewhere' is not a folder inside the config repository")


def test_a_config_repository_without_argocd_objects_is_bumped_on_gitops_branch(tmp_path, job_env):
    # A chart made by hand, no Applications in the repository: the bump goes to GITOPS_BRANCH and says why.
    (tmp_path / "plain").mkdir()
    server = GitHttpServer(tmp_path / "plain", token=TOKEN).start()
    try:
        server.create_repo("config", {
            "apps/orders/values.yaml": f"image:\n  repository: {IMAGE_REPO}\n",
            VALUES_DEV: 'image:\n  tag: "1.0.0"\n'})
        result = gitops_bump(env={**job_env, "GITOPS_REPO_URL": server.url("config")})
        assert result.returncode == 0, result.stderr
        assert "no Application for orders(dev) under argocd/: using main" in result.stderr
        assert yaml.safe_load(server.show("config", "main", VALUES_DEV))["image"] == {
            "tag": "1.4.2", "digest": DIGEST, "pipeline": 42}
    finally:
        server.stop()
