"""lint tells the truth: no file outside the project is read, an empty pipeline is not valid, a component
version must be one the component project has, and a broken file is one finding, never a crash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeyard.check.lint import lint_offline
from pipeyard.check.merge import TemplateSource
from pipeyard_kit import __version__
from tests.fixtures import ROOT

COMPONENT = "gitlab.example.com/platform/pipeyard"
SOURCE = TemplateSource(ROOT / "pipeline-templates", COMPONENT)


def lint(project: Path, text: str | bytes):
    path = project / ".gitlab-ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return lint_offline(path, SOURCE, project)


def errors(result) -> list[str]:
    return result.problems


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file beside the project, holding what a runner must not leak: it is never read."""
    secret = tmp_path / "outside.yml"
    secret.write_text("stolen:\n  script: [cat /etc/shadow]\n")
    return secret


@pytest.mark.parametrize("local", ["../outside.yml", "ci/../../outside.yml", "../*.yml"])
def test_an_include_that_climbs_out_of_the_project_is_refused(tmp_path, outside, local):
    result = lint(tmp_path / "project", f"include:\n  - local: '{local}'\nbuild:\n  script: [make]\n")
    [problem] = errors(result)
    assert problem.startswith(".gitlab-ci.yml:2: include local") and "leads out of the project (with ../)" in problem
    assert "stolen" not in result.jobs()


def test_an_include_through_a_symlink_out_of_the_project_is_refused(tmp_path, outside):
    project = tmp_path / "project"
    (project / "ci").mkdir(parents=True)
    (project / "ci" / "shared.yml").symlink_to(outside)
    result = lint(project, "include:\n  - local: ci/shared.yml\nbuild:\n  script: [make]\n")
    [problem] = errors(result)
    assert "include local 'ci/shared.yml' leads out of the project (through a symbolic link)" in problem


def test_a_leading_slash_is_the_project_root_as_in_gitlab(tmp_path):
    project = tmp_path / "project"
    (project / "ci").mkdir(parents=True)
    (project / "ci" / "jobs.yml").write_text("test:\n  script: [make test]\n")
    result = lint(project, "include:\n  - local: /ci/jobs.yml\nbuild:\n  script: [make]\n")
    assert result.ok, result.problems
    assert result.jobs() == ["test", "build"]


@pytest.mark.parametrize("text, says", [
    ("stages: [build]\n", "the pipeline has no job"),
    (".template:\n  script: [make]\n", "the pipeline has only hidden jobs (.template)"),
    ("", "the pipeline has no job"),
    (f"include:\n  - component: {COMPONENT}/workflow@{__version__}\n", "the pipeline has no job"),
])
def test_an_empty_pipeline_is_not_valid(tmp_path, text, says):
    result = lint(tmp_path, text)
    assert not result.ok
    assert any(says in p and "jobs config should contain at least one visible job" in p for p in result.problems)


@pytest.mark.parametrize("version, says", [
    ("9.9.9", f"the component project has no version 9.9.9 (versions: {__version__})"),
    ("7", f"has no version 7.x (versions: {__version__})"),
    ("latest", "@latest is not a version"),
    ("main", "@main is not a version"),
    ("v" + __version__, f"@v{__version__} is not a version"),
])
def test_a_component_version_must_exist(tmp_path, version, says):
    result = lint(tmp_path, f"include:\n  - component: {COMPONENT}/maven@{version}\n")
    [problem] = [p for p in result.problems if "component maven@" in p]
    assert problem.startswith(".gitlab-ci.yml:2: component maven@") and says in problem
    assert f"pin a released version, e.g. @{__version__}" in problem


@pytest.mark.parametrize("version", [__version__, __version__.split(".")[0], __version__.rsplit(".", 1)[0],
                                     "~latest", "0123456789abcdef0123456789abcdef01234567"])
def test_released_shorthand_latest_and_commit_versions_pass(tmp_path, version):
    result = lint(tmp_path, f"include:\n  - component: {COMPONENT}/maven@{version}\n"
                            "    inputs: {mirror-url: 'https://nexus.example.com/repository/maven-public'}\n")
    assert not [p for p in result.problems if "version" in p], result.problems


def test_the_versions_of_a_component_project_checkout_are_its_tags(tmp_path):
    import shutil
    import subprocess

    checkout = tmp_path / "component"
    shutil.copytree(ROOT / "pipeline-templates", checkout)
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    for tag in ("0.9.0", "0.9.1", "not-a-version"):
        subprocess.run([*git, "tag", tag], check=True)
    assert TemplateSource(checkout, COMPONENT).versions == ["0.9.0", "0.9.1", __version__]


@pytest.mark.parametrize("text, says", [
    (b"build:\n  script: [\xff\xfe]\n", ".gitlab-ci.yml: not UTF-8 text"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))
     + "build:\n  script: *h\n", "once its aliases are expanded"),
    ("build:\n  script: [make\n", ".gitlab-ci.yml:3: not valid YAML"),
])
def test_a_broken_file_is_one_finding(tmp_path, text, says):
    result = lint(tmp_path, text)
    [problem] = result.problems
    assert says in problem
