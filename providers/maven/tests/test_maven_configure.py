"""maven-configure: the settings.xml it writes from CI variables, and how it refuses bad ones."""

from __future__ import annotations

import json
import stat
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path

import pytest

from pipeyard_kit.errors import ConfigError
from pipeyard_maven import configure as maven
from tests.servers.toolwrap import env_for, run_configure

PASSWORD = "s3cr&t<pw>"
NEXUS = "https://nexus.example.com/repository"
configure_cli = partial(run_configure, "maven-configure")


def full_env(tmp_path: Path, **values: str) -> dict[str, str]:
    return env_for(tmp_path, **{"MAVEN_MIRROR_URL": f"{NEXUS}/maven-public/", "MAVEN_RELEASES_URL": f"{NEXUS}/maven-releases",
                                "MAVEN_SNAPSHOTS_URL": f"{NEXUS}/maven-snapshots", "MAVEN_REPO_USER": "ci-bot",
                                "MAVEN_REPO_PASSWORD": PASSWORD, **values})


def parse(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    for el in root.iter():
        el.tag = el.tag.split("}", 1)[-1]
    return root


def test_settings_have_mirror_servers_and_deploy_profile(tmp_path):
    result = maven.configure(full_env(tmp_path))
    root = parse(result.settings_file)

    mirrors = [(m.findtext("id"), m.findtext("url"), m.findtext("mirrorOf")) for m in root.iter("mirror")]
    assert mirrors == [("pipeyard-mirror", f"{NEXUS}/maven-public", "*")]
    servers = {s.findtext("id"): (s.findtext("username"), s.findtext("password")) for s in root.iter("server")}
    assert servers == {sid: ("ci-bot", "${env.MAVEN_REPO_PASSWORD}")
                       for sid in ("pipeyard-mirror", "pipeyard-releases", "pipeyard-snapshots")}
    props = {p.tag: p.text for p in root.find("profiles/profile/properties")}
    assert props == {"altReleaseDeploymentRepository": f"pipeyard-releases::{NEXUS}/maven-releases",
                     "altSnapshotDeploymentRepository": f"pipeyard-snapshots::{NEXUS}/maven-snapshots"}
    assert [a.text for a in root.iter("activeProfile")] == ["pipeyard-deploy"]
    assert root.find("proxies") is None


def test_password_never_reaches_disk_and_files_are_private(tmp_path):
    result = maven.configure(full_env(tmp_path))
    written = [p for p in (tmp_path / ".cache").rglob("*") if p.is_file()]
    assert result.settings_file in written and result.state_file in written
    for path in written:
        assert PASSWORD not in path.read_text(errors="replace"), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(result.settings_file.parent.stat().st_mode) == 0o700


def test_second_group_comes_before_the_catch_all_mirror(tmp_path):
    env = full_env(tmp_path, MAVEN_SECOND_MIRROR_URL=f"{NEXUS}/vendor-public", MAVEN_SECOND_MIRROR_OF="vendor,!central")
    root = parse(maven.configure(env).settings_file)
    assert [(m.findtext("id"), m.findtext("mirrorOf")) for m in root.iter("mirror")] == [
        ("pipeyard-second-mirror", "vendor,!central"), ("pipeyard-mirror", "*")]
    assert "pipeyard-second-mirror" in [s.findtext("id") for s in root.iter("server")]


def test_proxies_come_from_the_standard_variables(tmp_path):
    env = full_env(tmp_path, https_proxy="http://proxy.corp:3128", HTTP_PROXY="http://upper.corp:8080",
                   no_proxy=".corp.example.com,localhost,10.0.0.0/8,nexus.example.com:443")
    root = parse(maven.configure(env).settings_file)
    proxies = {p.findtext("protocol"): (p.findtext("host"), p.findtext("port"), p.findtext("nonProxyHosts"))
               for p in root.iter("proxy")}
    hosts = "corp.example.com|*.corp.example.com|localhost|*.localhost|nexus.example.com|*.nexus.example.com"
    assert proxies == {"http": ("upper.corp", "8080", hosts), "https": ("proxy.corp", "3128", hosts)}


def test_extra_settings_are_merged_and_win_on_the_same_id(tmp_path):
    extra = tmp_path / "project" / "ci-settings.xml"
    extra.parent.mkdir()
    extra.write_text("""<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">
      <servers><server><id>vendor</id><username>v</username><password>${env.VENDOR_TOKEN}</password></server>
               <server><id>pipeyard-releases</id><username>other</username></server></servers>
      <mirrors><mirror><id>vendor</id><url>https://vendor.example.com/m2</url><mirrorOf>vendor</mirrorOf></mirror></mirrors>
      <profiles><profile><id>quality</id><properties><skipITs>true</skipITs></properties></profile></profiles>
      <activeProfiles><activeProfile>quality</activeProfile></activeProfiles>
      <localRepository>/ignored</localRepository>
    </settings>""")
    root = parse(maven.configure(full_env(tmp_path, MAVEN_EXTRA_SETTINGS="ci-settings.xml")).settings_file)
    servers = {s.findtext("id"): s.findtext("username") for s in root.iter("server")}
    assert servers == {"vendor": "v", "pipeyard-releases": "other", "pipeyard-mirror": "ci-bot",
                       "pipeyard-snapshots": "ci-bot"}
    assert [m.findtext("id") for m in root.iter("mirror")] == ["vendor", "pipeyard-mirror"]
    assert [p.findtext("id") for p in root.iter("profile")] == ["quality", "pipeyard-deploy"]
    assert [a.text for a in root.iter("activeProfile")] == ["pipeyard-deploy", "quality"]
    assert root.find("localRepository") is None


@pytest.mark.parametrize("variables", [
    {},
    {"MAVEN_REPO_USER": "ci&<bot>\"'", "MAVEN_SECOND_MIRROR_URL": f"{NEXUS}/vendor-public",
     "MAVEN_SECOND_MIRROR_OF": "vendor,!central", "https_proxy": "http://u%40x:p%26w@proxy.corp:3128",
     "no_proxy": "localhost,.corp.example.com"},
], ids=["mirror-and-deploy", "every-section"])
def test_an_empty_extra_settings_file_changes_nothing(tmp_path, variables):
    # settings.xml is written as text for speed, and through ElementTree when a project merges its own:
    # both must write the same file, byte for byte.
    empty = tmp_path / "project" / "empty-settings.xml"
    empty.parent.mkdir()
    empty.write_text("<settings/>")
    plain = maven.configure(full_env(tmp_path, **variables)).settings_file.read_text()
    merged = maven.configure(full_env(tmp_path, MAVEN_EXTRA_SETTINGS=str(empty), **variables)).settings_file
    assert merged.read_text() == plain
    assert "&amp;&lt;bot&gt;" in plain or not variables


def test_wrapper_arguments(tmp_path):
    env = full_env(tmp_path, MAVEN_CLI_OPTS='-Dgreeting="hello world" -T 2')
    state = maven.configure(env).state_file.read_text()
    settings = next((tmp_path / ".cache" / "pipeyard" / "maven").glob("*/settings.xml"))
    project = tmp_path / "project"
    assert (f"tool_args=(-gs {settings} -B --no-transfer-progress -Dmaven.repo.local={project}/.m2/repository "
            "'-Dgreeting=hello world' -T 2)") in state


def test_site_defaults_need_no_variables(tmp_path):
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"defaults": {"MAVEN_MIRROR_URL": f"{NEXUS}/maven-public",
                                             "MAVEN_CLI_OPTS": "-Dsite=1", "MAVEN_REPO_PASSWORD": "ignored"}}))
    env = env_for(tmp_path, PIPEYARD_SITE_FILE=str(site))
    result = maven.configure(env)
    root = parse(result.settings_file)
    assert [m.findtext("url") for m in root.iter("mirror")] == [f"{NEXUS}/maven-public"]
    assert root.find("servers") is None  # no credentials: secrets never come from the site file
    assert "-Dsite=1" in result.state_file.read_text()


def test_output_writes_a_copy_for_a_plain_mvn(tmp_path):
    target = tmp_path / "settings.xml"
    result = maven.configure(full_env(tmp_path), output=target)
    assert target.read_text() == result.settings_file.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_all_problems_are_reported_at_once(tmp_path):
    env = env_for(tmp_path, MAVEN_MIRROR_URL="nexus.example.com/group", MAVEN_REPO_USER="ci-bot",
                  MAVEN_SECOND_MIRROR_OF="vendor", MAVEN_CLI_OPTS='-Dx="unbalanced', https_proxy="http://:99999")
    with pytest.raises(ConfigError) as caught:
        maven.configure(env)
    text = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 5, text
    for name in ("MAVEN_MIRROR_URL", "MAVEN_REPO_PASSWORD", "MAVEN_SECOND_MIRROR_URL", "MAVEN_CLI_OPTS", "https_proxy"):
        assert name in text


@pytest.mark.parametrize(("values", "expected"), [
    ({"MAVEN_MIRROR_URL": "not a url"}, "MAVEN_MIRROR_URL='not a url' (environment) is not an http(s) URL"),
    ({"MAVEN_REPO_USER": "u", "MAVEN_REPO_PASSWORD_FILE": "/nonexistent/pw"},
     "MAVEN_REPO_PASSWORD_FILE=/nonexistent/pw cannot be read"),
    ({"MAVEN_REPO_PASSWORD": PASSWORD}, "MAVEN_REPO_PASSWORD is set but MAVEN_REPO_USER is not"),
    ({"MAVEN_EXTRA_SETTINGS": "missing.xml"}, "MAVEN_EXTRA_SETTINGS="),
    ({"CUSTOM_CA_CERTS": "-----BEGIN nothing"}, "CUSTOM_CA_CERTS (CUSTOM_CA_CERTS) holds no PEM certificate"),
])
def test_bad_input_fails_once_naming_the_variable(tmp_path, values, expected):
    done = configure_cli(tmp_path, env=env_for(tmp_path, **values))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], done.stderr
    assert ": set " in lines[0] or ": point " in lines[0] or ": use " in lines[0]
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr + done.stdout


def test_extra_settings_that_are_not_xml(tmp_path):
    (tmp_path / "project" ).mkdir()
    (tmp_path / "project" / "bad.xml").write_text("<settings><servers></settings>")
    done = configure_cli(tmp_path, env=env_for(tmp_path, MAVEN_EXTRA_SETTINGS="bad.xml"))
    assert done.returncode == 1
    assert "MAVEN_EXTRA_SETTINGS=" in done.stderr and "is not valid XML (line 1" in done.stderr


def test_show_config_masks_the_password(tmp_path):
    done = configure_cli(tmp_path, "--show-config", env=full_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "MAVEN_REPO_PASSWORD" in done.stdout and "********" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    assert f"{NEXUS}/maven-public" in done.stdout


def test_cli_reports_on_stderr_only(tmp_path):
    done = configure_cli(tmp_path, env=full_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # `$(mvn help:evaluate -q -DforceStdout)` must capture Maven's output only
    assert "password from MAVEN_REPO_PASSWORD" in done.stderr and PASSWORD not in done.stderr


def test_flags_override_the_environment_for_one_run(tmp_path):
    target = tmp_path / "flagged.xml"
    done = configure_cli(tmp_path, "--mirror-url", "https://other.example.com/group", "--output", str(target),
                         env=full_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert [m.findtext("url") for m in parse(target).iter("mirror")] == ["https://other.example.com/group"]
    # The wrapper must not keep a flag's result as if the variables had produced it.
    state = next((tmp_path / ".cache" / "pipeyard" / "maven").glob("current.sh")).read_text()
    assert "fp_accept=()" in state


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version(tmp_path, flag):
    done = configure_cli(tmp_path, flag, env=env_for(tmp_path))
    assert done.returncode == 0
    assert ("maven-configure, version" in done.stdout) if flag == "--version" else ("--mirror-url" in done.stdout)


def test_an_output_file_in_a_missing_folder_is_a_usage_error(tmp_path):
    target = tmp_path / "missing" / "settings.xml"
    done = run_configure("maven-configure", tmp_path, "--output", str(target), env=env_for(tmp_path))
    assert done.returncode == 2, done.stderr
    assert f"--output {target}: cannot write there (No such file or directory)" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
