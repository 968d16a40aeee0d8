"""Real npm against a private registry: publish the fixture package, install the example through the npm wrapper."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest
from npm_support import GREETING_TGZ, copy_example

from tests.servers.runner import output


def job_env(registry, project, **extra: str) -> dict[str, str]:
    return {"CI": "true", "CI_PROJECT_DIR": str(project), "NPM_REGISTRY_URL": f"{registry.url}/",
            "NPM_SCOPED_REGISTRIES": f"@corp={registry.url}/", "NPM_TOKEN": registry.token, **extra}


@pytest.fixture(scope="module")
def published(runner, workdir, registry):
    """@corp/greeting on the registry, published through the wrapper with the token."""
    tarball = shutil.copy(GREETING_TGZ, workdir / GREETING_TGZ.name)
    done = runner.run(["npm", "publish", str(tarball)], env=job_env(registry, workdir), cwd=workdir)
    return done


@pytest.fixture(scope="module")
def installed(runner, workdir, registry, published):
    assert published.returncode == 0, output(published)
    project = copy_example(workdir / "node-app")
    token_file = workdir / "secrets" / "npm-token"
    token_file.parent.mkdir()
    token_file.write_text(registry.token + "\n")
    env = job_env(registry, project, NPM_TOKEN_FILE=str(token_file))
    del env["NPM_TOKEN"]
    done = runner.run(["npm", "ci"], env=env, cwd=project)
    return project, env, done


def test_publish_with_the_token(published, registry):
    assert published.returncode == 0, output(published)
    assert "+ @corp/greeting@1.0.0" in published.stdout
    assert registry.token not in output(published)
    assert registry.packument("@corp/greeting", registry.token)["dist-tags"]["latest"] == "1.0.0"


def test_npm_ci_installs_the_private_package_into_the_project_cache(installed):
    project, _env, done = installed
    assert done.returncode == 0, output(done)
    assert (project / "node_modules" / "@corp" / "greeting" / "index.js").is_file()
    assert (project / ".npm" / "_cacache").is_dir()  # $CI_PROJECT_DIR/.npm, where GitLab's cache keeps it
    assert "npm-configure: registry" in done.stderr and "token from NPM_TOKEN_FILE" in done.stderr


def test_build_and_test_write_dist_and_a_junit_report(runner, installed):
    project, env, _done = installed
    build = runner.run(["npm", "run", "--if-present", "build"], env=env, cwd=project)
    assert build.returncode == 0, output(build)
    assert (project / "dist" / "index.js").is_file()
    test = runner.run(["npm", "test"], env=env, cwd=project)
    assert test.returncode == 0, output(test)
    cases = [c.get("name") for c in ET.parse(project / "junit.xml").getroot().iter("testcase")]
    assert cases == ["welcomes by name", "welcomes the world when the name is blank"]


def test_the_example_publishes_itself(runner, installed, registry):
    project, env, _done = installed
    done = runner.run(["npm", "publish"], env=env, cwd=project)
    assert done.returncode == 0, output(done)
    assert registry.packument("@corp/node-app", registry.token)["versions"]["1.0.0"]["dist"]["tarball"]


def test_wrong_token_is_refused_naming_the_variable(runner, workdir, registry, published):
    project = copy_example(workdir / "wrong-token")
    done = runner.run(["npm", "ci"], env=job_env(registry, project, NPM_TOKEN="npm_WrongToken123"), cwd=project)
    assert done.returncode != 0
    assert "E401" in done.stderr or "401" in done.stderr  # npm's own account of it
    assert f"error: NPM_TOKEN was refused by {registry.url}/" in done.stderr
    assert "npm_WrongToken123" not in output(done) and registry.token not in output(done)


def test_publish_without_a_token_fails_before_npm(runner, workdir, registry):
    project = copy_example(workdir / "no-token")
    env = job_env(registry, project)
    del env["NPM_TOKEN"]
    done = runner.run(["npm", "publish"], env=env, cwd=project)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: NPM_TOKEN is not set: npm publish needs a token for {registry.url}: "
        "set NPM_TOKEN or NPM_TOKEN_FILE in the project's CI/CD variables")
    assert "npm notice" not in done.stderr and "npm error" not in done.stderr  # npm itself never ran


def test_token_is_in_no_file(installed, workdir, registry):
    leaks = [p for p in workdir.rglob("*") if p.is_file() and not p.is_symlink()
             and registry.token.encode() in p.read_bytes() and p.name != "npm-token"]
    assert leaks == []
