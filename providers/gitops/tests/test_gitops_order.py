"""Never backwards, never a foreign image, and the first pin starts the sync: gitops-bump against a real git server."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml
from gitops_support import DIGEST, IMAGE_REPO, TOKEN, clean_env, gitops_bump, seed

from tests.servers.git_http import GitHttpServer

VALUES_DEV = "apps/orders/values-dev.yaml"
APP_DEV = "argocd/dev/orders.yaml"
OTHER_DIGEST = "sha256:" + "6" * 64


def pinned(server: GitHttpServer, path: str = VALUES_DEV, ref: str = "main") -> dict:
    return yaml.safe_load(server.show("config", ref, path))["image"]


def subjects(server: GitHttpServer, ref: str = "main") -> list[str]:
    return [c["message"].splitlines()[0] for c in server.log("config", ref)]


def one_error(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 1 and len(errors) == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stdout + result.stderr
    return errors[0]


def test_out_of_order_pipelines_leave_the_newer_image(tmp_path, job_env):
    # Pipeline 12 builds 1.5.0 and pipeline 11 builds 1.4.9; both fetch the same tip, 1.5.0 lands first and
    # 1.4.9's push comes after it. The server orders them by user name, so the race runs the same way every time.
    (tmp_path / "srv").mkdir()
    server = GitHttpServer(tmp_path / "srv", token=TOKEN)
    seed_tip: list[str] = []

    def gate(user: str) -> None:
        if user == "newer":
            server.wait_for(lambda: server.fetches_by["older"] >= 1)
        else:
            server.wait_for(lambda: server.tip("config") != seed_tip[0])

    server.push_gate = gate
    server.start()
    try:
        url = seed(server)
        seed_tip.append(server.tip("config"))
        base = {**os.environ, **clean_env(), **job_env, "GITOPS_REPO_URL": url}
        runs = {"newer": ("1.5.0", "12"), "older": ("1.4.9", "11")}
        procs = {who: subprocess.Popen([sys.executable, "-m", "pipeyard_gitops.cli"], text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env={**base, "GITOPS_USERNAME": who, "CI_PIPELINE_IID": iid,
                                            "GITOPS_IMAGE": f"{IMAGE_REPO}:{tag}@{DIGEST}"})
                 for who, (tag, iid) in runs.items()}
        out = {who: p.communicate(timeout=120) for who, p in procs.items()}
        assert procs["newer"].returncode == 0, out["newer"]
        assert procs["older"].returncode == 1, out["older"]
        error = [ln for ln in out["older"][1].splitlines() if ln.startswith("error: ")]
        assert error == [f"error: {VALUES_DEV} deploys 1.5.0 (pipeline #12), newer than GITOPS_IMAGE 1.4.9 "
                         "(pipeline #11) (by version): refusing to roll dev back: a newer pipeline got there first, "
                         "so there is nothing to do; to roll back on purpose, rerun with GITOPS_ALLOW_DOWNGRADE=true "
                         "(or --allow-downgrade)"]
        # The older one lost the race, fetched again and checked again before giving up.
        assert "lost a race" in out["older"][1]
        assert pinned(server) == {"tag": "1.5.0", "digest": DIGEST, "pipeline": 12}
        assert subjects(server) == ["orders(dev): deploy 1.5.0", "seed the config repository"]
    finally:
        server.stop()


def test_tags_that_are_not_versions_are_ordered_by_pipeline(git_server, job_env):
    first = gitops_bump(env={**job_env, "GITOPS_IMAGE": f"{IMAGE_REPO}:b7e23ec@{DIGEST}", "CI_PIPELINE_IID": "30"})
    assert first.returncode == 0, first.stderr
    late = gitops_bump(env={**job_env, "GITOPS_IMAGE": f"{IMAGE_REPO}:0a1b2c3@{OTHER_DIGEST}",
                            "CI_PIPELINE_IID": "29"})
    assert "deploys b7e23ec (pipeline #30), newer than GITOPS_IMAGE 0a1b2c3 (pipeline #29) (by pipeline)" \
        in one_error(late)
    newer = gitops_bump(env={**job_env, "GITOPS_IMAGE": f"{IMAGE_REPO}:0a1b2c3@{OTHER_DIGEST}",
                             "CI_PIPELINE_IID": "31"})
    assert newer.returncode == 0, newer.stderr
    assert pinned(git_server) == {"tag": "0a1b2c3", "digest": OTHER_DIGEST, "pipeline": 31}
    assert subjects(git_server)[:2] == ["orders(dev): deploy 0a1b2c3", "orders(dev): deploy b7e23ec"]


def test_a_deliberate_downgrade_lands_and_says_so(git_server, job_env):
    assert gitops_bump(env={**job_env, "GITOPS_IMAGE": f"{IMAGE_REPO}:1.5.0@{DIGEST}"}).returncode == 0
    refused = gitops_bump(env={**job_env, "GITOPS_IMAGE": f"{IMAGE_REPO}:1.4.9@{OTHER_DIGEST}",
                               "CI_PIPELINE_IID": "43"})
    assert "refusing to roll dev back" in one_error(refused)
    assert pinned(git_server)["tag"] == "1.5.0"

    rollback = gitops_bump("--allow-downgrade", env={**job_env, "CI_PIPELINE_IID": "43",
                                                     "GITOPS_IMAGE": f"{IMAGE_REPO}:1.4.9@{OTHER_DIGEST}"})
    assert rollback.returncode == 0, rollback.stderr
    assert f"{VALUES_DEV}: 1.5.0 rolls back 1.4.9" in rollback.stdout
    assert "rolling dev back from 1.5.0 (pipeline #42) to 1.4.9 (pipeline #43)" in rollback.stderr
    assert pinned(git_server) == {"tag": "1.4.9", "digest": OTHER_DIGEST, "pipeline": 43}
    head = git_server.log("config")[0]["message"]
    assert head.splitlines()[0] == "orders(dev): roll back to 1.4.9"
    assert ("Rollback: from 1.5.0 (pipeline #42) to 1.4.9 (pipeline #43), on purpose (GITOPS_ALLOW_DOWNGRADE)"
            in head)
    # The variable works as the flag does.
    again = gitops_bump(env={**job_env, "GITOPS_ALLOW_DOWNGRADE": "true", "CI_PIPELINE_IID": "44",
                             "GITOPS_IMAGE": f"{IMAGE_REPO}:1.4.8@{DIGEST}"})
    assert again.returncode == 0 and pinned(git_server)["tag"] == "1.4.8"


def test_an_image_from_another_repository_is_refused(git_server, job_env):
    commits = len(git_server.log("config"))
    foreign = gitops_bump(env={**job_env, "GITOPS_IMAGE": f"harbor.example.com/shop/billing:2.0.0@{DIGEST}"})
    error = one_error(foreign)
    assert ("GITOPS_IMAGE is from harbor.example.com/shop/billing, but orders in dev deploys "
            "harbor.example.com/shop/orders (image.repository in apps/orders/values.yaml)") in error
    assert "set GITOPS_SET_REPOSITORY=true to switch dev to harbor.example.com/shop/billing" in error
    # --dry-run checks the same and fails the same.
    assert "GITOPS_IMAGE is from" in one_error(gitops_bump("--dry-run", env={
        **job_env, "GITOPS_IMAGE": f"harbor.example.com/shop/billing:2.0.0@{DIGEST}"}))
    assert len(git_server.log("config")) == commits and pinned(git_server)["tag"] == "1.4.0"


def test_switching_the_repository_writes_it_into_the_environment(git_server, job_env):
    moved = gitops_bump("--set-repository", env={**job_env, "GITOPS_IMAGE": f"harbor.example.com/team/orders:2.0.0"
                                                                            f"@{DIGEST}"})
    assert moved.returncode == 0, moved.stderr
    assert pinned(git_server) == {"repository": "harbor.example.com/team/orders", "tag": "2.0.0", "digest": DIGEST,
                                  "pipeline": 42}
    assert "Repository: switched from harbor.example.com/shop/orders" in git_server.log("config")[0]["message"]
    # values.yaml, shared by every environment, keeps its repository; the next bump needs no switch.
    assert yaml.safe_load(git_server.show("config", "main", "apps/orders/values.yaml"))["image"]["repository"] == \
        IMAGE_REPO
    next_one = gitops_bump(env={**job_env, "GITOPS_IMAGE": f"harbor.example.com/team/orders:2.0.1@{DIGEST}"})
    assert next_one.returncode == 0, next_one.stderr


def test_the_first_bump_pins_the_image_and_starts_automated_sync(tmp_path, job_env):
    (tmp_path / "srv").mkdir()
    server = GitHttpServer(tmp_path / "srv", token=TOKEN).start()
    try:
        url = seed(server, tag="")  # `pipeyard chart init` without a tag: nothing syncs yet
        before = yaml.safe_load(server.show("config", "main", APP_DEV))
        assert "automated" not in before["spec"]["syncPolicy"]
        assert before["metadata"]["annotations"]["pipeyard.dev/sync"] == "after-first-bump"

        result = gitops_bump(env={**job_env, "GITOPS_REPO_URL": url})
        assert result.returncode == 0, result.stderr
        assert f"{VALUES_DEV}: (none) -> 1.4.2 (automated sync starts)" in result.stdout
        assert pinned(server) == {"tag": "1.4.2", "digest": DIGEST, "pipeline": 42}
        after = yaml.safe_load(server.show("config", "main", APP_DEV))
        assert after["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert after["metadata"]["annotations"]["pipeyard.dev/sync"] == "automated"
        # Only the automated block and the annotation's value changed in the Application.
        del after["spec"]["syncPolicy"]["automated"]
        after["metadata"]["annotations"]["pipeyard.dev/sync"] = "after-first-bump"
        assert after == before
        assert "ArgoCD: automated sync starts with this first pinned image" in server.log("config")[0]["message"]
        # The other environments still wait for theirs.
        assert "automated" not in yaml.safe_load(server.show("config", "main", "argocd/test/orders.yaml"))["spec"][
            "syncPolicy"]
        again = gitops_bump(env={**job_env, "GITOPS_REPO_URL": url})
        assert again.returncode == 0 and "nothing to commit" in again.stdout
    finally:
        server.stop()
