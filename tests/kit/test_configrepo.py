"""pipeyard_kit.configrepo: paths that stay inside a checkout, and the Applications read as ArgoCD reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeyard_kit.configrepo import (
    BRANCH_NAME,
    env_name_problem,
    inside,
    read_sources,
    relative_problem,
    walk_files,
)
from pipeyard_kit.errors import ConfigError


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "apps" / "orders").mkdir(parents=True)
    (root / "apps" / "orders" / "values.yaml").write_text("image: {}\n")
    (tmp_path / "outside.yaml").write_text("secret: 1\n")
    return root


def test_a_path_inside_is_returned(checkout: Path):
    assert inside(checkout, "apps/orders/values.yaml") == checkout.resolve() / "apps/orders/values.yaml"
    # A file that does not exist yet is fine: it is where a new file will be written.
    assert inside(checkout, "apps/orders/values-qa.yaml").name == "values-qa.yaml"


@pytest.mark.parametrize("rel", ["/etc/passwd", "../outside.yaml", "apps/../../outside.yaml", "apps//orders", "", ".",
                                 "apps\\orders", "apps/./orders"])
def test_paths_that_could_leave_are_refused_before_any_access(checkout: Path, rel: str):
    with pytest.raises(ConfigError):
        inside(checkout, rel, what="values file")


@pytest.mark.parametrize("link, target", [("apps/orders/values-dev.yaml", "../../../outside.yaml"),
                                          ("apps/orders/values-dev.yaml", "values.yaml"),
                                          ("apps/billing", "orders")])
def test_a_symbolic_link_on_the_way_is_refused(checkout: Path, link: str, target: str):
    (checkout / link).symlink_to(target)
    with pytest.raises(ConfigError, match=f"{link} in the config repository is a symbolic link"):
        inside(checkout, f"{link}/values.yaml" if link == "apps/billing" else link, what="values file")


def test_walking_a_folder_refuses_links_instead_of_following_them(checkout: Path):
    (checkout / "argocd" / "dev").mkdir(parents=True)
    (checkout / "argocd" / "dev" / "orders.yaml").write_text("kind: Application\n")
    assert list(walk_files(checkout, "argocd")) == ["argocd/dev/orders.yaml"]
    (checkout / "argocd" / "prod").symlink_to("/etc")
    with pytest.raises(ConfigError, match="argocd/prod in the config repository is a symbolic link"):
        list(walk_files(checkout, "argocd"))


def test_invalid_yaml_under_argocd_names_the_file(checkout: Path):
    (checkout / "argocd").mkdir()
    (checkout / "argocd" / "broken.yaml").write_text("kind: [Application\n")
    with pytest.raises(ConfigError, match="argocd/broken.yaml in the config repository:2:1: not valid YAML"):
        read_sources(checkout)


def test_names_and_relative_paths():
    assert env_name_problem("eu-west-1", "X") is None
    for bad in ("../x", "Prod", "a b", "dev/x", "-dev", "dev-", "", "e" * 33):
        assert env_name_problem(bad, "GITOPS_ENVIRONMENT"), bad
    assert relative_problem("apps", "GITOPS_APPS_DIR") is None
    assert relative_problem("platform/apps", "GITOPS_APPS_DIR") is None
    for good in ("main", "deploy/prod", "release-1.4", "feature/x_y"):
        assert BRANCH_NAME.match(good), good
    for bad in ("main..x", "/main", "main/", "deploy/.hidden", "x.lock", "a//b", "@{x}", "has space"):
        assert not BRANCH_NAME.match(bad), bad
