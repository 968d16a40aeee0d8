"""yarn and pnpm configured like npm (npm-configure --tool), the yarn wrapper picking yarn 1 or 4 as the
project says, and package-manager choosing the project's package manager and its commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from pipeyard_kit.errors import ConfigError
from pipeyard_npm import configure as npm
from pipeyard_npm import pm
from tests.servers.runner import output
from tests.servers.toolwrap import env_for, folder_for

TOKEN = "npm_S3cretToken"
REGISTRY = "https://npm.example.com/repository/npm-group/"
SCOPES = "@corp=http://npm.corp.example:4873/corp/"


def _exports(state_file: Path) -> dict[str, str]:
    line = next(x for x in state_file.read_text().splitlines() if x.startswith("tool_env=("))
    return dict(item.split("=", 1) for item in line[len("tool_env=("):-1].split(" ") if item)


# -- npm-configure --tool ---------------------------------------------------------------------------
def test_pnpm_gets_its_own_npmrc_with_the_store_in_the_project_cache(tmp_path):
    env = env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY, NPM_TOKEN=TOKEN, NPM_SCOPED_REGISTRIES=SCOPES)
    result = npm.configure(env, tool="pnpm")
    text = result.npmrc.read_text()
    assert f"registry={REGISTRY}" in text and "@corp:registry=http://npm.corp.example:4873/corp/" in text
    assert "//npm.corp.example:4873/corp/:_authToken=${NPM_TOKEN}" in text and TOKEN not in text
    assert f"store-dir={tmp_path}/project/.npm/pnpm-store" in text
    assert stat.S_IMODE(result.npmrc.stat().st_mode) == 0o600
    assert result.npmrc.parent.parent == tmp_path / ".cache/pipeyard/pnpm"
    assert _exports(result.state_file)["NPM_CONFIG_USERCONFIG"] == str(result.npmrc)
    # npm's own file carries no pnpm key (npm warns about every key it does not know).
    assert "store-dir" not in npm.configure(env).npmrc.read_text()


def test_yarn1_reads_npms_config_and_caches_in_the_project(tmp_path):
    env = env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY, NPM_TOKEN=TOKEN)
    result = npm.configure(env, tool="yarn1")
    exported = _exports(result.state_file)
    assert exported["NPM_CONFIG_USERCONFIG"] == str(result.npmrc)
    assert exported["YARN_CACHE_FOLDER"] == f"{tmp_path}/project/.npm/yarn"
    text = result.npmrc.read_text()
    # Yarn 1 sends the token to the registry for unscoped packages only when told to always.
    assert "_authToken=${NPM_TOKEN}" in text and "always-auth=true" in text
    assert "always-auth" not in npm.configure(env).npmrc.read_text()  # npm 9+ warns about the key


def test_yarn4_gets_a_private_yarnrc_in_home_with_the_token_as_a_reference(tmp_path):
    env = env_for(tmp_path, NPM_REGISTRY_URL="http://nexus.corp.example:8081/repository/npm/", NPM_TOKEN=TOKEN,
                  NPM_SCOPED_REGISTRIES=SCOPES)
    result = npm.configure(env, tool="yarn4")
    assert result.npmrc == tmp_path / ".yarnrc.yml"
    assert stat.S_IMODE(result.npmrc.stat().st_mode) == 0o600
    text = result.npmrc.read_text()
    assert TOKEN not in text
    data = yaml.safe_load(text)
    assert data["npmRegistryServer"] == "http://nexus.corp.example:8081/repository/npm/"
    assert data["npmAuthToken"] == "${NPM_TOKEN}" and data["npmAlwaysAuth"] is True
    assert data["npmScopes"] == {"corp": {"npmRegistryServer": "http://npm.corp.example:4873/corp/",
                                          "npmAuthToken": "${NPM_TOKEN}", "npmAlwaysAuth": True}}
    # The company's own scopes skip yarn's one-day quarantine of new versions; plain-http hosts are allowed.
    assert data["npmPreapprovedPackages"] == ["@corp/*"]
    assert data["unsafeHttpWhitelist"] == ["nexus.corp.example", "npm.corp.example"]
    assert data["globalFolder"] == f"{tmp_path}/project/.npm/yarn-berry"
    # Written again when its inputs change, and when it is gone.
    assert str(result.npmrc) in result.state_file.read_text()


def test_yarn4_never_overwrites_a_yarnrc_it_did_not_write(tmp_path):
    (tmp_path / ".yarnrc.yml").write_text("npmRegistryServer: https://mine.example/\n")
    with pytest.raises(ConfigError) as err:
        npm.configure(env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY), tool="yarn4")
    assert f"{tmp_path}/.yarnrc.yml exists and npm-configure did not write it" in err.value.render()
    assert (tmp_path / ".yarnrc.yml").read_text() == "npmRegistryServer: https://mine.example/\n"


def test_yarn4_without_a_token_writes_no_token_line(tmp_path):
    text = npm.configure(env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY), tool="yarn4").npmrc.read_text()
    assert "npmAuthToken" not in text  # yarn fails on a ${NPM_TOKEN} it cannot resolve


# -- the yarn and pnpm wrappers ------------------------------------------------------------------------
STAND_IN = '#!/bin/sh\necho "{name} $* userconfig=${{NPM_CONFIG_USERCONFIG:-}} cache=${{YARN_CACHE_FOLDER:-}}"\n'


@pytest.fixture
def tools(runner, workdir, request):
    """Stand-ins for the real yarn 1, yarn 4 and pnpm, and a project folder, for one test."""
    folder = folder_for(workdir, request)
    (folder / "project").mkdir(parents=True)
    env = {"CI_PROJECT_DIR": str(folder / "project"), "PIPEYARD_STATE_DIR": str(folder / "state"),
           "NPM_REGISTRY_URL": REGISTRY}
    for name in ("yarn1", "yarn4", "pnpm"):
        fake = folder / f"fake-{name}"
        fake.write_text(STAND_IN.format(name=name))
        fake.chmod(0o755)
        env[f"PIPEYARD_{name.upper()}_BIN"] = str(fake)
    return folder / "project", env


@pytest.mark.parametrize("files, flavour", [
    ({}, "yarn1"),
    ({"package.json": '{"packageManager": "yarn@4.18.1"}'}, "yarn4"),
    ({"package.json": '{"packageManager": "yarn@1.22.22"}', ".yarnrc.yml": ""}, "yarn1"),
    ({"yarn.lock": "__metadata:\n  version: 10\n"}, "yarn4"),
    ({"yarn.lock": "# yarn lockfile v1\n"}, "yarn1"),
    ({".yarnrc.yml": "nodeLinker: node-modules\n"}, "yarn4"),
])
def test_yarn_is_the_yarn_the_project_asks_for(runner, tools, files, flavour):
    project, env = tools
    for name, text in files.items():
        (project / name).write_text(text)
    (project / "packages" / "a").mkdir(parents=True)
    for cwd in (project, project / "packages" / "a"):  # from a workspace folder too
        done = runner.run(["yarn", "install"], env=env, cwd=cwd)
        assert done.returncode == 0, output(done)
        assert done.stdout.startswith(f"{flavour} install ")
    if flavour == "yarn1":
        assert "cache=" + str(project / ".npm" / "yarn") in done.stdout


def test_pnpm_runs_with_its_own_npmrc(runner, tools):
    project, env = tools
    done = runner.run(["pnpm", "install", "--frozen-lockfile"], env=env, cwd=project)
    assert done.returncode == 0, output(done)
    assert done.stdout.startswith("pnpm install --frozen-lockfile userconfig=")
    assert "/pnpm/" in done.stdout and "npm-configure: registry" in done.stderr


@pytest.mark.parametrize("argv", [["yarn", "npm", "publish"], ["pnpm", "publish", "--no-git-checks"]])
def test_publishing_without_a_token_names_npm_token(runner, tools, argv):
    project, env = tools
    if argv[0] == "yarn":
        (project / "package.json").write_text('{"packageManager": "yarn@4.18.1"}')
    done = runner.run(argv, env=env, cwd=project)
    assert done.returncode == 1
    assert "error: NPM_TOKEN is not set: npm publish needs a token for " + REGISTRY.rstrip("/") in done.stderr
    assert "publish" not in done.stdout  # the tool never ran


# -- package-manager ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("files, package, expected", [
    ({"pnpm-lock.yaml"}, {}, "pnpm"),
    ({"yarn.lock"}, {}, "yarn"),
    ({"package-lock.json"}, {}, "npm"),
    ({"npm-shrinkwrap.json"}, {}, "npm"),
    (set(), {"packageManager": "pnpm@10.34.9"}, "pnpm"),
    ({"yarn.lock", "package-lock.json"}, {"packageManager": "yarn@4.18.1"}, "yarn"),
    (set(), {}, "npm"),
])
def test_auto_goes_by_the_lockfile_then_package_manager(tmp_path, files, package, expected):
    for name in files:
        (tmp_path / name).write_text("")
    assert pm.choose("auto", tmp_path, package).name == expected


def test_several_lockfiles_and_no_word_from_package_json_is_an_error(tmp_path):
    for name in ("yarn.lock", "package-lock.json"):
        (tmp_path / name).write_text("")
    with pytest.raises(ConfigError) as err:
        pm.choose("auto", tmp_path, {})
    assert "several lockfiles (yarn.lock, package-lock.json)" in err.value.render()
    assert "set NPM_PACKAGE_MANAGER" in err.value.render()
    assert pm.choose("pnpm", tmp_path, {}).why == "NPM_PACKAGE_MANAGER=pnpm"


@pytest.mark.parametrize("manager, yarn, step, command", [
    ("npm", None, "install", ["npm", "ci"]),
    ("pnpm", None, "install", ["pnpm", "install", "--frozen-lockfile"]),
    ("yarn", 1, "install", ["yarn", "install", "--frozen-lockfile"]),
    ("yarn", 4, "install", ["yarn", "install", "--immutable"]),
    ("yarn", 1, "publish", ["yarn", "publish", "--non-interactive"]),
    ("yarn", 4, "publish", ["yarn", "npm", "publish"]),
    ("pnpm", None, "publish", ["pnpm", "publish", "--no-git-checks"]),
    ("npm", None, "test", ["npm", "test"]),
])
def test_each_package_manager_gets_its_own_command(manager, yarn, step, command):
    assert pm.command_for(step, (), pm.Choice(manager, "test"), yarn=yarn) == command


def test_install_without_the_lockfile_names_the_setting(cli, tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "version": "1.0.0"}))
    out = cli("package-manager", "install", cwd=tmp_path,
              env={"NPM_PACKAGE_MANAGER": "pnpm", "PIPEYARD_SITE_FILE": str(tmp_path / "none.json")})
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"error: NPM_PACKAGE_MANAGER=pnpm, but there is no pnpm-lock.yaml in {tmp_path}: a CI install takes exactly "
        "the committed lockfile: commit pnpm-lock.yaml (run `pnpm install` once), or set NPM_PACKAGE_MANAGER to the "
        "package manager whose lockfile you commit")


def test_run_if_present_skips_a_missing_script(cli, tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "scripts": {"test": "true"}}))
    env = {"PIPEYARD_SITE_FILE": str(tmp_path / "none.json")}
    skipped = cli("package-manager", "run", "build", "--if-present", cwd=tmp_path, env=env)
    assert skipped.returncode == 0 and "package.json has no `build` script: nothing to run" in skipped.stderr
    missing = cli("package-manager", "run", "build", cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "package.json has no `build` script" in missing.stderr
    bad = cli("package-manager", "test", cwd=tmp_path, env={**env, "NPM_PACKAGE_MANAGER": "bun"})
    assert bad.returncode == 1 and "NPM_PACKAGE_MANAGER" in bad.stderr and "auto, npm, yarn, pnpm" in bad.stderr
