"""npm-configure: the .npmrc it writes from CI variables, and how it refuses bad ones."""

from __future__ import annotations

import json
import stat
from functools import partial
from pathlib import Path

import pytest

from pipeyard_kit.errors import ConfigError
from pipeyard_npm import configure as npm
from pipeyard_npm.npmrc import nerf_dart
from tests.servers.tls import self_signed
from tests.servers.toolwrap import env_for, run_configure

TOKEN = "npm_S3cretToken"
REGISTRY = "https://npm.example.com/repository/npm-group/"
configure_cli = partial(run_configure, "npm-configure")


def exports(state_file: Path) -> list[str]:
    line = next(x for x in state_file.read_text().splitlines() if x.startswith("tool_env=("))
    return line[len("tool_env=("):-1].split(" ")


def test_npmrc_has_registries_and_a_token_reference(tmp_path):
    env = env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY, NPM_TOKEN=TOKEN,
                  NPM_SCOPED_REGISTRIES="@corp=https://npm.example.com/repository/corp ; @tools=https://tools.example.com:8443")
    result = npm.configure(env)
    assert result.npmrc.read_text().splitlines()[2:] == [
        f"registry={REGISTRY}",
        "@corp:registry=https://npm.example.com/repository/corp/",
        "@tools:registry=https://tools.example.com:8443/",
        "//npm.example.com/repository/npm-group/:_authToken=${NPM_TOKEN}",
        "//npm.example.com/repository/corp/:_authToken=${NPM_TOKEN}",
        "//tools.example.com:8443/:_authToken=${NPM_TOKEN}",
        "fund=false",
        "update-notifier=false",
    ]


def test_no_token_means_no_auth_lines(tmp_path):
    text = npm.configure(env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY)).npmrc.read_text()
    assert "_authToken" not in text and f"registry={REGISTRY}" in text


def test_token_never_reaches_disk_and_files_are_private(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    result = npm.configure(env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY, NPM_TOKEN_FILE=str(token_file)))
    written = [p for p in (tmp_path / ".cache").rglob("*") if p.is_file()]
    assert result.npmrc in written and result.state_file in written
    for path in written:
        assert TOKEN not in path.read_text(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "token from NPM_TOKEN_FILE" in result.summary


def test_wrapper_environment(tmp_path):
    result = npm.configure(env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY))
    assert exports(result.state_file) == [f"NPM_CONFIG_USERCONFIG={result.npmrc}",
                                          f"NPM_CONFIG_CACHE={tmp_path}/project/.npm"]


def test_custom_ca_becomes_node_extra_ca_certs(tmp_path):
    cert, _key = self_signed(tmp_path / "project" / "certs")
    result = npm.configure(env_for(tmp_path, CUSTOM_CA_CERTS="certs"))  # a folder, relative to the project
    found = dict(e.split("=", 1) for e in exports(result.state_file))
    # The whole bundle: the custom certificate after the system's (which holds the site's CA).
    bundle = Path(found["NODE_EXTRA_CA_CERTS"]).read_text()
    assert bundle.rstrip().endswith(cert.read_text().strip())
    assert "1 custom CA certificate(s)" in result.summary


def test_site_defaults_need_no_variables(tmp_path):
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"defaults": {"NPM_REGISTRY_URL": REGISTRY, "NPM_TOKEN": "never-from-site"}}))
    result = npm.configure(env_for(tmp_path, PIPEYARD_SITE_FILE=str(site)))
    text = result.npmrc.read_text()
    assert f"registry={REGISTRY}" in text and "_authToken" not in text


def test_nerf_dart_keeps_port_and_path():
    assert nerf_dart("http://127.0.0.1:4873") == "//127.0.0.1:4873/"
    assert nerf_dart("https://n.example.com/repository/npm/") == "//n.example.com/repository/npm/"


def test_all_problems_are_reported_at_once(tmp_path):
    env = env_for(tmp_path, NPM_REGISTRY_URL="npm.example.com", NPM_TOKEN_FILE="/nonexistent/token",
                  NPM_SCOPED_REGISTRIES="corp=https://x.example.com,@ok=ftp://x")
    with pytest.raises(ConfigError) as caught:
        npm.configure(env)
    assert len(caught.value.problems) == 4, caught.value.problems
    assert [p.split(" ", 1)[0].split("=", 1)[0] for p in caught.value.problems] == [
        "NPM_REGISTRY_URL", "NPM_TOKEN_FILE", "NPM_SCOPED_REGISTRIES", "NPM_SCOPED_REGISTRIES"]


@pytest.mark.parametrize(("values", "expected"), [
    ({"NPM_REGISTRY_URL": "not a url"}, "NPM_REGISTRY_URL='not a url' (environment) is not an http(s) URL"),
    ({"NPM_SCOPED_REGISTRIES": "corp=https://npm.example.com/corp/"},
     "NPM_SCOPED_REGISTRIES entry 'corp=https://npm.example.com/corp/' has no @scope: write it as @corp="),
    ({"NPM_REGISTRY_URL": REGISTRY, "NPM_TOKEN_FILE": "/nonexistent/token"},
     "NPM_TOKEN_FILE=/nonexistent/token cannot be read"),
    ({"NPM_TOKEN": TOKEN}, "NPM_TOKEN is set but no registry is: set NPM_REGISTRY_URL"),
    ({"CUSTOM_CA_CERTS": "ca.pem"}, "is neither PEM text nor an existing file"),
])
def test_bad_input_fails_once_naming_the_variable(tmp_path, values, expected):
    done = configure_cli(tmp_path, env=env_for(tmp_path, **values))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr and TOKEN not in done.stderr + done.stdout


def test_show_config_masks_the_token(tmp_path):
    done = configure_cli(tmp_path, "--show-config", env=env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY, NPM_TOKEN=TOKEN))
    assert done.returncode == 0, done.stderr
    assert "NPM_TOKEN" in done.stdout and "********" in done.stdout and TOKEN not in done.stdout


def test_check_publish_names_the_token(tmp_path):
    env = env_for(tmp_path, NPM_REGISTRY_URL=REGISTRY)
    done = configure_cli(tmp_path, "--check-publish", "--", "publish", env=env)
    assert done.returncode == 1
    assert done.stderr == (f"error: NPM_TOKEN is not set: npm publish needs a token for {REGISTRY.rstrip('/')}: "
                           "set NPM_TOKEN or NPM_TOKEN_FILE in the project's CI/CD variables\n")
    assert configure_cli(tmp_path, "--check-publish", "--", "publish", "--dry-run", env=env).returncode == 0
    assert configure_cli(tmp_path, "--check-publish", "--", "publish", env={**env, "NPM_TOKEN": TOKEN}).returncode == 0


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version(tmp_path, flag):
    done = configure_cli(tmp_path, flag, env=env_for(tmp_path))
    assert done.returncode == 0
    assert ("npm-configure, version" in done.stdout) if flag == "--version" else ("--registry-url" in done.stdout)


INJECTED = "https://npm.example.com/\nscript-shell=/tmp/evil.sh\n"


@pytest.mark.parametrize("values", [
    {"NPM_REGISTRY_URL": INJECTED},
    {"NPM_REGISTRY_URL": REGISTRY, "NPM_SCOPED_REGISTRIES": f"@corp={INJECTED}"},
    {"NPM_REGISTRY_URL": REGISTRY, "NPM_SCOPED_REGISTRIES": "@corp\nscript-shell=/tmp/evil.sh=https://npm.example.com/"},
], ids=["registry", "scoped-url", "scoped-name"])
def test_a_line_break_in_a_url_setting_cannot_add_npm_settings(tmp_path, values):
    done = configure_cli(tmp_path, env=env_for(tmp_path, **values))
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    written = [p for p in tmp_path.rglob(".npmrc")] + [p for p in tmp_path.rglob("*.npmrc")]
    assert not any("script-shell" in p.read_text() for p in written)
