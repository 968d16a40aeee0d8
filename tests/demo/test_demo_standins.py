"""The demo's own stand-ins: the JaCoCo plugin stand-in as the stand-in Nexus serves it, and the
SMTP relay that writes what it receives as a preview. Both run for real in the journeys and the demo;
these tests pin what they are made of."""

from __future__ import annotations

import base64
import re
import shutil
import smtplib
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from email.message import EmailMessage

import pytest

from pipeyard.demo import jacoco_plugin
from pipeyard.demo.mail_catcher import MailCatcher
from pipeyard.demo.maven_repo import MavenRepoServer

needs_jacoco = pytest.mark.skipif(jacoco_plugin.jacoco_version() is None or shutil.which("javac") is None,
                                  reason="run `make setup` (libjacoco-java, a JDK)")


@needs_jacoco
def test_the_jacoco_stand_in_is_a_maven_plugin_with_the_two_documented_goals(tmp_path):
    version, built = jacoco_plugin.build(cache=tmp_path / "cache")
    assert version == jacoco_plugin.jacoco_version()
    with zipfile.ZipFile(built / f"jacoco-maven-plugin-{version}.jar") as jar:
        descriptor = ET.fromstring(jar.read("META-INF/maven/plugin.xml"))
        names = set(jar.namelist())
    assert descriptor.findtext("groupId") == "org.jacoco" and descriptor.findtext("version") == version
    mojos = {m.findtext("goal"): m for m in descriptor.iter("mojo")}
    assert set(mojos) == {"prepare-agent", "report"}
    assert mojos["prepare-agent"].findtext("phase") == "initialize"
    assert mojos["report"].findtext("phase") == "verify"
    sources = jacoco_plugin._sources() / "src"
    for mojo in mojos.values():
        implementation = mojo.findtext("implementation")
        assert implementation.replace(".", "/") + ".class" in names
        # Every parameter the descriptor declares is a field Maven can inject, and the reverse.
        java = (sources / (implementation.replace(".", "/") + ".java")).read_text()
        fields = set(re.findall(r"^    private (?!static)[\w<>, .]+ (\w+);$", java, re.MULTILINE))
        assert {p.findtext("name") for p in mojo.iter("parameter")} == fields
    config = {c.tag: (c.text, c.get("default-value")) for c in mojos["prepare-agent"].find("configuration")}
    assert config["destFile"] == ("${jacoco.destFile}", "${project.build.directory}/jacoco.exec")
    report = {c.tag: (c.text, c.get("default-value")) for c in mojos["report"].find("configuration")}
    assert report["outputDirectory"][1] == "${project.reporting.outputDirectory}/jacoco"
    # The same sources give the same bytes.
    again = jacoco_plugin.build(cache=tmp_path / "again")[1]
    assert (again / f"jacoco-maven-plugin-{version}.jar").read_bytes() == \
        (built / f"jacoco-maven-plugin-{version}.jar").read_bytes()


@needs_jacoco
def test_the_nexus_groups_serve_the_stand_in_from_their_central_proxy(tmp_path):
    with MavenRepoServer(tmp_path / "nexus", user="u", password="p") as nexus:
        version = jacoco_plugin.install(nexus.storage)
        auth = {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}
        for repo in ("maven-public", "maven-central"):
            url = f"{nexus.repo_url(repo)}/org/jacoco/jacoco-maven-plugin/{version}/jacoco-maven-plugin-{version}.pom"
            with urllib.request.urlopen(urllib.request.Request(url, headers=auth), timeout=5) as r:
                pom = ET.fromstring(r.read())
            deps = {d.findtext("{http://maven.apache.org/POM/4.0.0}artifactId")
                    for d in pom.iter("{http://maven.apache.org/POM/4.0.0}dependency")}
            assert {"org.jacoco.agent", "org.jacoco.core", "org.jacoco.report"} <= deps
        # What it depends on is Debian's, through the same group.
        agent = f"{nexus.group_url}/org/jacoco/org.jacoco.agent/{version}/org.jacoco.agent-{version}.jar"
        with urllib.request.urlopen(urllib.request.Request(agent, headers=auth), timeout=5) as r:
            assert r.status == 200
        assert not nexus.deployed("maven-releases")  # a proxied artifact, not a deployed one


def test_the_mail_catcher_writes_what_it_receives_as_a_preview(tmp_path):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ci@example.com", "dev@example.com", "[SonarQube] report"
    message.set_content("plain body")
    message.add_alternative("<p>html body</p>", subtype="html")
    with MailCatcher(tmp_path / "preview") as smtp:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
            client.send_message(message)
    assert (tmp_path / "preview" / "mail.html").read_text().strip() == "<p>html body</p>"
    assert (tmp_path / "preview" / "mail.txt").read_text().strip() == "plain body"
    assert b"Subject: [SonarQube] report" in (tmp_path / "preview" / "mail.eml").read_bytes()
