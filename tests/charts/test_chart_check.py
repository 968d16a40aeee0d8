"""`pipeyard chart check`: a prod gate that does not hold, and unpinned automated syncs, are reported; with a
GitLab to ask (the documented protected-branches API, on the shared stand-in), so are unprotected branches."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import run_cli
from tests.servers.gitlab_api import FakeGitLab

from .conftest import init

TOKEN = "glpat-check-token-4242"


def check(root: Path, *args: str, env: dict[str, str] | None = None):
    return run_cli("pipeyard", "chart", "check", "--config-repo", str(root), *args, env=env)


def findings(result) -> list[str]:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "problem(s):" in lines[0]
    return [ln.strip() for ln in lines[1:]]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_what_chart_init_writes_passes(tmp_path: Path):
    init(tmp_path, "orders")
    init(tmp_path, "billing", image="harbor.example.com/shop/billing")  # unpinned: nothing syncs, nothing to report
    result = check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6 app environment(s) checked; protected sources: deploy/prod" in result.stdout


def test_a_protected_application_tracking_the_shared_branch_is_reported(tmp_path: Path):
    init(tmp_path, "orders")
    edit(tmp_path / "argocd/prod/orders.yaml", "targetRevision: deploy/prod", "targetRevision: HEAD")
    (finding,) = findings(check(tmp_path))
    assert finding.startswith("argocd/prod/orders.yaml (orders/prod): protected prod syncs from main, which "
                              "orders(dev), orders(test) also track: CI pushes there directly, so its merge requests "
                              "are no gate: set targetRevision to a branch of its own that GitLab protects")


def test_an_unlabelled_prod_on_the_default_branch_is_reported_twice(tmp_path: Path):
    init(tmp_path, "orders", "--protected-environments", "none")
    found = findings(check(tmp_path))
    assert len(found) == 2, found
    assert "prod is a protected environment but the Application is not labelled pipeyard.dev/protected=true" in found[0]
    assert "protected prod syncs from main" in found[1]
    # Told that nothing needs protecting, the same repository passes.
    assert check(tmp_path, "--protected-environments", "none").returncode == 0


def test_automated_sync_of_an_unpinned_image_is_reported(tmp_path: Path):
    init(tmp_path, "orders")
    edit(tmp_path / "apps/orders/values-test.yaml", 'tag: "1.4.2"', 'tag: "latest"')
    edit(tmp_path / "apps/orders/values-dev.yaml", 'tag: "1.4.2"', 'tag: ""')
    found = findings(check(tmp_path))
    assert found == [
        "argocd/dev/orders.yaml (orders/dev): syncs automatically with no tag or digest, an unpinned image: pin a tag "
        "and digest (gitops-bump does), or turn automated sync off until the first pin",
        "argocd/test/orders.yaml (orders/test): syncs automatically with tag 'latest', an unpinned image: pin a tag "
        "and digest (gitops-bump does), or turn automated sync off until the first pin"]


def test_missing_charts_and_values_files_are_reported(tmp_path: Path):
    init(tmp_path, "orders")
    (tmp_path / "apps/orders/values-test.yaml").unlink()
    found = findings(check(tmp_path))
    assert found == ["argocd/test/orders.yaml (orders/test): its values file(s) values-test.yaml are missing: add them "
                     "under apps/orders, or fix spec.source.helm.valueFiles"]


def test_an_applicationset_is_checked_element_by_element(tmp_path: Path):
    init(tmp_path, "orders", "--applicationset")
    assert check(tmp_path).returncode == 0
    edit(tmp_path / "argocd/applicationsets/orders.yaml", "revision: deploy/prod", "revision: HEAD")
    (finding,) = findings(check(tmp_path))
    assert finding.startswith("argocd/applicationsets/orders.yaml (orders/prod): protected prod syncs from main")


def test_a_symbolic_link_in_the_argocd_folder_is_refused(tmp_path: Path):
    init(tmp_path, "orders")
    (tmp_path / "argocd" / "evil.yaml").symlink_to("/etc/hostname")
    result = check(tmp_path)
    assert result.returncode == 1
    assert "argocd/evil.yaml in the config repository is a symbolic link" in result.stderr


def test_a_config_repo_that_is_no_folder_is_a_usage_error(tmp_path: Path):
    result = check(tmp_path / "missing")
    assert result.returncode == 2 and "is not a folder" in result.stderr


# --- GitLab's branch protections ---------------------------------------------------------------------------
def protected_branch(name: str, *, push: int = 0, force: bool = False) -> dict:
    """A protected branch as GET /projects/:id/protected_branches lists it (doc/api/protected_branches.md)."""
    described = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers"}
    return {"id": 7, "name": name, "allow_force_push": force, "code_owner_approval_required": False,
            "push_access_levels": [{"id": 1, "access_level": push, "access_level_description": described[push],
                                    "user_id": None, "group_id": None}],
            "merge_access_levels": [{"id": 2, "access_level": 40, "access_level_description": "Maintainers",
                                     "user_id": None, "group_id": None}]}


@pytest.fixture
def gitlab():
    api = FakeGitLab(token=TOKEN).start()
    yield api
    api.stop()


def check_with(root: Path, api: FakeGitLab, rules: list[dict], token: str = TOKEN):
    api.route("GET", "/projects/platform/config/protected_branches", lambda _req: (200, rules))
    return check(root, "--gitlab-url", api.url, "--project", "platform/config",
                 env={"GITLAB_TOKEN": token, "CUSTOM_CA_CERTS": ""})


def test_protected_branches_in_gitlab_pass(tmp_path: Path, gitlab):
    init(tmp_path, "orders")
    # A wildcard rule covers deploy/prod, as GitLab matches it.
    result = check_with(tmp_path, gitlab, [protected_branch("main", push=40), protected_branch("deploy/*")])
    assert result.returncode == 0, result.stderr
    assert "checked and GitLab's branch protections" in result.stdout
    assert [r.target for r in gitlab.requests] == ["/api/v4/projects/platform%2Fconfig/protected_branches"]


@pytest.mark.parametrize("rules, says", [
    ([protected_branch("main")], "branch deploy/prod (orders(prod)): is not a protected branch in GitLab"),
    ([protected_branch("deploy/prod", push=30)], "lets Developers + Maintainers push to it directly"),
    ([protected_branch("deploy/prod", force=True)], "allows force pushes"),
])
def test_a_protected_source_gitlab_does_not_protect_is_reported(tmp_path: Path, gitlab, rules, says):
    init(tmp_path, "orders")
    (finding,) = findings(check_with(tmp_path, gitlab, rules))
    assert says in finding and "Allowed to push and merge: No one" in finding


def test_gitlab_refusing_the_token_is_one_clean_error(tmp_path: Path, gitlab):
    init(tmp_path, "orders")
    result = check_with(tmp_path, gitlab, [], token="glpat-wrong")
    assert result.returncode == 1 and "refused GITLAB_TOKEN (401)" in result.stderr
    assert "glpat-wrong" not in result.stderr + result.stdout
    missing = check(tmp_path, "--gitlab-url", gitlab.url, env={"GITLAB_TOKEN": "", "CI_PROJECT_PATH": ""})
    assert missing.returncode == 2 and "--gitlab-url needs a token in GITLAB_TOKEN" in missing.stderr
