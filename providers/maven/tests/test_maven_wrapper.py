"""The mvn wrapper (providers/maven/rootfs/usr/local/bin/mvn) in front of a recording stand-in for Maven.

The stand-in (PIPEYARD_MVN_BIN) records the arguments and environment it gets, so
these tests check what the wrapper decides without paying for a JVM. They run
through the runner, so on the host or inside the maven image alike.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from maven_support import PASSWORD, USER

from tests.servers.runner import output
from tests.servers.tls import self_signed
from tests.servers.toolwrap import WrapperJob, folder_for


class Job(WrapperJob):
    """A job whose stand-in Maven logs MAVEN_OPTS and whether MAVEN_REPO_PASSWORD is PASSWORD."""

    provider, command = "maven", "mvn"
    shown, secret, label = ("MAVEN_OPTS",), "MAVEN_REPO_PASSWORD", "password"
    defaults = {"FAKE_EXPECT": PASSWORD, "MAVEN_MIRROR_URL": "https://nexus.example.com/repository/maven-public"}
    mvn = WrapperJob.run
    calls = WrapperJob.log_lines


@pytest.fixture
def job(runner, workdir, request):
    return Job(runner, folder_for(workdir, request))


def args_of(call: list[str]) -> list[str]:
    return [line[4:] for line in call if line.startswith("arg=")]


def test_first_call_configures_then_runs_maven_with_the_defaults(job):
    done = job.mvn("-e", "clean", "package", MAVEN_CLI_OPTS='-Dgreeting="hello world" -T 2')
    assert done.returncode == 0, output(done)
    assert done.stdout == "fake-mvn-output\n"  # the configurator speaks on stderr only
    assert "maven-configure: mirror https://nexus.example.com/repository/maven-public" in done.stderr
    [call] = job.calls()
    settings = args_of(call)[1]
    assert args_of(call) == ["-gs", settings, "-B", "--no-transfer-progress",
                             f"-Dmaven.repo.local={job.project}/.m2/repository", "-Dgreeting=hello world", "-T", "2",
                             "-e", "clean", "package"]
    assert settings.startswith(f"{job.state}/maven/") and settings.endswith("/settings.xml")
    assert "<mirrorOf>*</mirrorOf>" in Path(settings).read_text()


def test_a_current_configuration_costs_no_configurator_run(job):
    assert job.mvn("-v").returncode == 0
    stamp = job.current.stat().st_mtime_ns
    again = job.mvn("-v")
    assert again.returncode == 0, output(again)
    assert again.stderr == ""  # no "maven-configure: ..." line: the wrapper decided in bash
    assert job.current.stat().st_mtime_ns == stamp
    first, second = job.calls()
    assert args_of(first) == args_of(second)


def test_a_changed_variable_writes_new_settings(job):
    job.mvn("-v")
    done = job.mvn("-v", MAVEN_MIRROR_URL="https://nexus2.example.com/group")
    assert "maven-configure: mirror https://nexus2.example.com/group" in done.stderr
    first, second = job.calls()
    assert args_of(first)[1] != args_of(second)[1]
    assert "https://nexus2.example.com/group" in Path(args_of(second)[1]).read_text()


def test_an_edited_extra_settings_file_is_merged_again(job):
    extra = job.project / "ci-settings.xml"
    extra.write_text("<settings><profiles><profile><id>one</id></profile></profiles></settings>")
    job.mvn("-v", MAVEN_EXTRA_SETTINGS="ci-settings.xml")
    extra.write_text("<settings><profiles><profile><id>two</id></profile></profiles></settings>")
    later = job.current.stat().st_mtime + 5
    os.utime(extra, (later, later))
    job.mvn("-v", MAVEN_EXTRA_SETTINGS="ci-settings.xml")
    settings = Path(args_of(job.calls()[1])[1]).read_text()
    assert "<id>two</id>" in settings and "<id>one</id>" not in settings


def test_password_file_reaches_maven_as_the_variable_only(job):
    secret = job.folder / "secrets" / "maven-password"
    secret.parent.mkdir()
    secret.write_text(PASSWORD + "\n")
    first = job.mvn("-v", MAVEN_REPO_USER=USER, MAVEN_REPO_PASSWORD_FILE=str(secret))
    assert "(password from MAVEN_REPO_PASSWORD_FILE)" in first.stderr
    again = job.mvn("-v", MAVEN_REPO_USER=USER, MAVEN_REPO_PASSWORD_FILE=str(secret))  # the fast path
    for done in (first, again):
        assert done.returncode == 0, output(done)
        assert PASSWORD not in output(done)
    assert [line for call in job.calls() for line in call if line.startswith("password=")] == ["password=match"] * 2


def test_an_unreadable_password_file_stops_before_maven(job):
    done = job.mvn("package", MAVEN_REPO_USER=USER, MAVEN_REPO_PASSWORD_FILE="/nonexistent/maven-password")
    assert done.returncode == 1
    assert "error: MAVEN_REPO_PASSWORD_FILE=/nonexistent/maven-password cannot be read" in done.stderr
    assert job.calls() == []


def test_a_bad_variable_stops_before_maven_with_one_line(job):
    done = job.mvn("package", MAVEN_MIRROR_URL="nexus.example.com")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: MAVEN_MIRROR_URL='nexus.example.com' (environment) is not an http(s) URL (it does not start with "
        "http:// or https://): use e.g. https://host/path"]
    assert job.calls() == []


def test_custom_ca_goes_into_maven_opts_once(job):
    cert, _key = self_signed(job.folder / "tls")
    done = job.mvn("-v", CUSTOM_CA_CERTS=str(cert), MAVEN_OPTS="-Xmx256m")
    assert done.returncode == 0, output(done)
    opts = next(line for line in job.calls()[0] if line.startswith("MAVEN_OPTS="))[len("MAVEN_OPTS="):]
    store = re.search(r"-Djavax\.net\.ssl\.trustStore=(\S+)", opts).group(1)
    assert opts.endswith(" -Xmx256m")
    listing = job.runner.run(["keytool", "-list", "-keystore", store, "-storepass", "changeit"], cwd=job.project)
    assert "pipeyard-custom-" in listing.stdout, output(listing)
    # A nested mvn (from a plugin or a script) sees the option already and adds nothing.
    job.mvn("-v", CUSTOM_CA_CERTS=str(cert), MAVEN_OPTS=opts)
    nested = next(line for line in job.calls()[1] if line.startswith("MAVEN_OPTS="))
    assert nested.count("trustStore=") == 1


def test_failed_build_names_a_refused_password(job, maven_repo):
    done = job.mvn("deploy", FAKE_EXIT="1", MAVEN_MIRROR_URL=maven_repo.group_url, MAVEN_REPO_USER=USER,
                   MAVEN_REPO_PASSWORD="not-the-password")
    assert done.returncode == 1
    assert ("error: MAVEN_REPO_PASSWORD was refused for MAVEN_REPO_USER=deployer: HTTP 401 from "
            f"{maven_repo.group_url} (MAVEN_MIRROR_URL)") in done.stderr
    assert "not-the-password" not in output(done) and PASSWORD not in output(done)


def test_failed_build_with_good_credentials_adds_nothing(job, maven_repo):
    done = job.mvn("deploy", FAKE_EXIT="1", MAVEN_MIRROR_URL=maven_repo.group_url, MAVEN_REPO_USER=USER,
                   MAVEN_REPO_PASSWORD=PASSWORD)
    assert done.returncode == 1
    assert "error:" not in done.stderr


def test_exit_status_passes_through(job):
    done = job.mvn("verify", FAKE_EXIT="3", MAVEN_MIRROR_URL="")
    assert done.returncode == 3


def test_trace_shows_the_decisions_without_secrets(job):
    done = job.mvn("-v", TRACE="1", MAVEN_REPO_USER=USER, MAVEN_REPO_PASSWORD=PASSWORD)
    assert "DEBUG mvn: configuring" in done.stderr and "DEBUG mvn: running " in done.stderr
    again = job.mvn("-v", TRACE="1", MAVEN_REPO_USER=USER, MAVEN_REPO_PASSWORD=PASSWORD)
    assert "DEBUG mvn: settings are current" in again.stderr
    assert PASSWORD not in output(done) + output(again)


def test_outside_ci_paths_stay_relative_to_where_mvn_runs(job):
    env = {**job.env, "CI_PROJECT_DIR": ""}
    first = job.runner.run(["mvn", "-v"], env=env, cwd=job.project)
    again = job.runner.run(["mvn", "-v"], env=env, cwd=job.project)
    assert first.returncode == 0 and again.returncode == 0, output(first) + output(again)
    assert again.stderr == ""
    assert "-Dmaven.repo.local=.m2/repository" in args_of(job.calls()[0])
