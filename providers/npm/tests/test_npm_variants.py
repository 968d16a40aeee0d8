"""Each Node variant of the npm image runs the jobs' steps on one small project with every package
manager, through the wrappers, against a private registry (verdaccio) that serves a scoped package
from the scope's registry and an unscoped one from the main registry, both behind the token:
npm and yarn 1 projects get their lockfile from a first install, the yarn 4 and pnpm projects come
with theirs (fixtures/pm-app-lockfiles, registry-independent). `package-manager install|run|test|
publish` picks the command, the wrappers write each tool's config with the token as a reference.

`make test` runs the default variant; `make test-variants` (PIPEYARD_TEST_VARIANTS=all) every one.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from npm_support import BANNER_TGZ, FIXTURES, GREETING_TGZ

from tests.fixtures import variants_under_test
from tests.servers.runner import PodmanRunner, output

pytestmark = pytest.mark.images

APP = FIXTURES / "pm-app"
LOCKFILES = FIXTURES / "pm-app-lockfiles"
# package manager -> (what the project is, the install command package-manager must choose)
MANAGERS = {
    "npm": ("npm", "$ npm ci"),
    "yarn1": ("yarn", "$ yarn install --frozen-lockfile"),
    "yarn4": ("yarn", "$ yarn install --immutable"),
    "pnpm": ("pnpm", "$ pnpm install --frozen-lockfile"),
}


@pytest.fixture(scope="module")
def greeting(registry, tmp_path_factory):
    """@corp/greeting and corp-banner on the registry (each published once per session)."""
    rc = tmp_path_factory.mktemp("publish") / ".npmrc"
    rc.write_text(f"//127.0.0.1:{registry.port}/:_authToken={registry.token}\n")
    for name, tarball in (("@corp/greeting", GREETING_TGZ), ("corp-banner", BANNER_TGZ)):
        if registry.packument(name, registry.token) is None:
            subprocess.run(["npm", "publish", str(tarball), "--registry", f"{registry.url}/", "--userconfig",
                            str(rc), "--loglevel", "warn"], check=True, capture_output=True)
    return registry


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("npm-variants")


def project_for(dest: Path, manager: str, variant: str) -> Path:
    shutil.copytree(APP, dest)
    package = json.loads((dest / "package.json").read_text())
    # A name of its own, so every variant and package manager publishes its own package.
    package["name"] = f"@corp/pm-app-{manager}-{variant}"
    if manager == "yarn4":
        package["packageManager"] = "yarn@4.18.1"
        shutil.copy(LOCKFILES / "yarn.lock", dest / "yarn.lock")
    if manager == "pnpm":
        shutil.copy(LOCKFILES / "pnpm-lock.yaml", dest / "pnpm-lock.yaml")
    (dest / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    if manager == "yarn4":
        # The workspace's own name is in yarn 4's lockfile.
        lock = dest / "yarn.lock"
        lock.write_text(lock.read_text().replace("@corp/pm-app@workspace", f"{package['name']}@workspace"))
    return dest


@pytest.mark.parametrize("manager", sorted(MANAGERS))
@pytest.mark.parametrize("variant", variants_under_test("npm"))
def test_the_variant_runs_the_jobs_steps_with_each_package_manager(variant, manager, provider_image, greeting,
                                                                   shared):
    registry = greeting
    project = project_for(shared / variant / manager, manager, variant)
    runner = PodmanRunner(provider_image("npm", variant), shared / variant / manager)
    env = {"CI": "true", "CI_PROJECT_DIR": str(project), "NPM_REGISTRY_URL": f"{registry.url}/",
           "NPM_SCOPED_REGISTRIES": f"@corp={registry.url}/", "NPM_TOKEN": registry.token,
           "NPM_PACKAGE_MANAGER": MANAGERS[manager][0]}
    if manager in ("npm", "yarn1"):
        # Their lockfiles name the registry's host and port: the project's first install writes one.
        first = runner.run(["sh", "-c", f"{MANAGERS[manager][0]} install && rm -rf node_modules"], env=env,
                           cwd=project)
        assert first.returncode == 0, output(first)[-3000:]
    steps = "package-manager install && package-manager run build --if-present && package-manager test" \
            " && package-manager publish && package-manager which"
    done = runner.run(["sh", "-c", steps], env=env, cwd=project)
    log = output(done)
    assert done.returncode == 0, log[-4000:]
    assert MANAGERS[manager][1] in done.stderr
    assert (project / "dist" / "hello.txt").read_text() == "== Hello, ci ==\n"
    assert "the private scoped dependency answers" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith(manager if manager != "npm" else "npm:")
    assert registry.packument(f"@corp/pm-app-{manager}-{variant}", registry.token)["dist-tags"]["latest"] == "1.0.0"
    assert registry.token not in log
    # The package's cache sits in the project, where GitLab's cache keeps it.
    cache = {"npm": "_cacache", "yarn1": "yarn", "yarn4": "yarn-berry", "pnpm": "pnpm-store"}[manager]
    assert (project / ".npm" / cache).is_dir()
    # The tool's config: the registry and scopes, the token only as a reference, mode 0600.
    home = shared / variant / manager / "home"
    configs = ([home / ".yarnrc.yml"] if manager == "yarn4"
               else list((home / ".cache/pipeyard" / manager).glob("*/npmrc")))
    assert configs
    for config in configs:
        text = config.read_text()
        assert "${NPM_TOKEN}" in text and registry.token not in text
        assert registry.url.removeprefix("http:") in text
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
