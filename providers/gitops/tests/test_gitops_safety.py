"""What gitops-bump refuses: paths out of the checkout, symbolic links, bad environment names, YAML it cannot edit
safely, and a direct push into a protected environment's branch. Each against a real git server; each leaves the
config repository (and the runner's files) as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from gitops_support import DIGEST, IMAGE_REPO, TOKEN, gitops_bump

from tests.servers.git_http import GitHttpServer, git

VALUES_DEV = "apps/orders/values-dev.yaml"


def change(server: GitHttpServer, tmp_path: Path, edit, message: str = "people edit the config repository") -> None:
    """A commit made in a clone and pushed straight into the bare repository, as a person would."""
    work = tmp_path / f"clone-{len(list(tmp_path.glob('clone-*')))}"
    git("clone", "-q", str(server.root / "config.git"), str(work))
    edit(work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)


def refused(result, *phrases: str) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 1 and len(errors) == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def runner_file(tmp_path: Path) -> Path:
    """A file of the runner's, outside any checkout, that a symbolic link in the config repository points at."""
    secret = tmp_path / "runner" / "credentials.yaml"
    secret.parent.mkdir()
    secret.write_text("image:\n  tag: keep-me\n")
    return secret


def _link(rel: str, target: str):
    def edit(work: Path) -> None:
        path = work / rel
        if path.is_dir():
            for child in sorted(path.rglob("*"), reverse=True):
                child.unlink() if child.is_file() else child.rmdir()
            path.rmdir()
        else:
            path.unlink()
        path.symlink_to(target)
    return edit


@pytest.mark.parametrize("dry_run", [False, True], ids=["push", "dry-run"])
def test_a_symlinked_values_file_is_refused_not_followed(git_server, config_repo, job_env, tmp_path, runner_file,
                                                         dry_run):
    change(git_server, tmp_path, _link(VALUES_DEV, str(runner_file)))
    tip = git_server.tip("config")
    result = gitops_bump(*(["--dry-run"] if dry_run else []), env=job_env)
    refused(result, f"{VALUES_DEV} in the config repository is a symbolic link", "is refused rather than followed",
            f"replace {VALUES_DEV} with a real file")
    assert runner_file.read_text() == "image:\n  tag: keep-me\n"
    assert git_server.tip("config") == tip


@pytest.mark.parametrize("rel, target", [
    ("apps/orders", "../elsewhere"),                 # the app folder
    ("apps/orders/values.yaml", "values-dev.yaml"),  # a link inside the checkout is refused too
    ("argocd/dev", "/etc"),                          # the Applications gitops-bump reads
])
def test_any_symbolic_link_on_the_way_is_refused(git_server, config_repo, job_env, tmp_path, rel, target):
    change(git_server, tmp_path, _link(rel, target))
    tip = git_server.tip("config")
    refused(gitops_bump("--dry-run", env=job_env), f"{rel} in the config repository is a symbolic link")
    refused(gitops_bump(env=job_env), f"{rel} in the config repository is a symbolic link")
    assert git_server.tip("config") == tip


@pytest.mark.parametrize("variables, says", [
    ({"GITOPS_ENVIRONMENT": "../../../etc/x"}, "GITOPS_ENVIRONMENT has '../../../etc/x', which is not an environment "
                                               "name"),
    ({"GITOPS_ENVIRONMENTS": "dev,../x", "GITOPS_ENVIRONMENT": "dev"}, "GITOPS_ENVIRONMENTS has '../x'"),
    ({"GITOPS_ENVIRONMENTS": "dev,Prod"}, "GITOPS_ENVIRONMENTS has 'Prod'"),
    ({"GITOPS_ENVIRONMENT": "dev/x"}, "GITOPS_ENVIRONMENT has 'dev/x'"),
    ({"GITOPS_PROTECTED_ENVIRONMENTS": "prod,a b"}, "GITOPS_PROTECTED_ENVIRONMENTS has 'a b'"),
    ({"GITOPS_APPS_DIR": "/etc"}, "GITOPS_APPS_DIR='/etc' is not a relative path"),
    ({"GITOPS_ARGOCD_DIR": "argocd/../.."}, "GITOPS_ARGOCD_DIR='argocd/../..' is not a folder inside"),
    ({"GITOPS_BRANCH": "main..x"}, "GITOPS_BRANCH='main..x' is not a branch name"),
])
def test_names_that_could_leave_the_checkout_fail_before_any_network_call(git_server, job_env, variables, says):
    refused(gitops_bump(env={**job_env, **variables}), says)
    assert git_server.requests == []


def test_environment_names_follow_one_strict_pattern(git_server, job_env):
    ok = gitops_bump("--dry-run", env={**job_env, "GITOPS_ENVIRONMENTS": "dev;test;prod;eu-west-1"})
    assert ok.returncode == 0, ok.stderr
    long = "e" * 33
    refused(gitops_bump(env={**job_env, "GITOPS_ENVIRONMENTS": f"dev,{long}"}), f"GITOPS_ENVIRONMENTS has '{long}'",
            "up to 32 lowercase letters")


@pytest.mark.parametrize("image_block, line, says", [
    ('image:\n  tag: &pinned "1.4.0"\n  digest: ""\nsidecar:\n  tag: *pinned\n', 2, "image.tag carries the anchor &pinned"),
    ('image:\n  tag: |\n    1.4.0\n  digest: ""\n', 2, "image.tag is a block scalar (|)"),
])
def test_yaml_it_cannot_edit_safely_gets_one_error_naming_the_line(git_server, config_repo, job_env, tmp_path,
                                                                   image_block, line, says):
    def edit(work: Path) -> None:
        (work / VALUES_DEV).write_text("# hand-edited\n" + image_block)

    change(git_server, tmp_path, edit)
    tip = git_server.tip("config")
    refused(gitops_bump(env=job_env), f"{VALUES_DEV} line {line + 1}: {says}")
    assert git_server.tip("config") == tip


def test_an_environment_tracking_a_protected_branch_is_never_pushed_directly(git_server, config_repo, job_env,
                                                                            tmp_path):
    # Someone pointed dev at prod's branch on main. The server would take the push (nothing protects deploy/prod
    # here, as if the token could push there); gitops-bump does not make it.
    def edit(work: Path) -> None:
        app = work / "argocd/dev/orders.yaml"
        app.write_text(app.read_text().replace("targetRevision: HEAD", "targetRevision: deploy/prod"))

    change(git_server, tmp_path, edit)
    tips = {b: git_server.tip("config", b) for b in ("main", "deploy/prod")}
    refused(gitops_bump(env=job_env), "orders(dev) syncs from deploy/prod, the source of the protected orders(prod) "
                                      "(argocd/prod/orders.yaml): gitops-bump never pushes directly")
    assert {b: git_server.tip("config", b) for b in tips} == tips


def test_gitlabs_refusal_of_a_protected_branch_is_explained(git_server, config_repo, job_env):
    # GitLab itself protects main here: its pre-receive check declines the push, and the job says what to change.
    git_server.protect("config", "main")
    result = gitops_bump(env=job_env)
    refused(result, "the config repository refused the push to main (GitLab: You are not allowed to push code to "
                    "protected branches on this project.; pre-receive hook declined)",
            "list the environment in GITOPS_PROTECTED_ENVIRONMENTS")
    assert yaml.safe_load(git_server.show("config", "main", VALUES_DEV))["image"]["tag"] == "1.4.0"
    assert f"{IMAGE_REPO}:1.4.2@{DIGEST}" == job_env["GITOPS_IMAGE"]
