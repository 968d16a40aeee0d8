"""The analysed bytecode's Java level reaches the analyzer (sonar.java.source), whatever JRE the scanner
runs on: the maven provider's variants build for Java 8 to 25, the sonar image runs one JRE."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sonar_support import job_env

from pipeyard_kit.settings import load
from pipeyard_sonar import java_level
from pipeyard_sonar.scan import plan_scan


def class_file(path: Path, major: int) -> Path:
    """A class file header as javac writes it: magic, minor 0, the major version of the release."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xca\xfe\xba\xbe" + (0).to_bytes(2, "big") + major.to_bytes(2, "big") + b"\x00" * 8)
    return path


@pytest.mark.parametrize("major, release", [(52, 8), (55, 11), (61, 17), (65, 21), (69, 25), (48, 1)])
def test_the_release_comes_from_the_class_files_major_version(tmp_path, major, release):
    assert java_level.release_of(class_file(tmp_path / "A.class", major)) == release
    (tmp_path / "B.class").write_bytes(b"not a class")
    assert java_level.release_of(tmp_path / "B.class") is None


def test_the_highest_level_of_every_binaries_folder_is_the_projects(tmp_path):
    class_file(tmp_path / "api/target/classes/a/A.class", 52)
    class_file(tmp_path / "app/target/classes/b/B.class", 61)
    props = java_level.properties(tmp_path, "api/target/classes,app/target/classes,lib/*.jar")
    assert props == {"sonar.java.source": "17"}
    assert java_level.properties(tmp_path, "missing/classes") == {}
    assert java_level.properties(tmp_path, None) == {}


def _plan(project: Path, opts: str = ""):
    env = job_env(SONAR_HOST_URL="https://sonar.example.com", SONAR_TOKEN="squ_not-used-here",
                  CI_PROJECT_PATH="acme/app", SONAR_SCANNER_OPTS=opts)
    return plan_scan(load("sonar", env=env), env, project, workdir=project / ".scannerwork")


def test_the_scan_passes_the_level_and_a_given_one_wins(tmp_path):
    (tmp_path / "pom.xml").write_text("<project><version>1.0.0</version></project>")
    (tmp_path / "src/main/java").mkdir(parents=True)
    class_file(tmp_path / "target/classes/App.class", 52)
    assert _plan(tmp_path).properties["sonar.java.source"] == "8"
    assert _plan(tmp_path, "-Dsonar.java.source=11").properties["sonar.java.source"] == "11"
    (tmp_path / "sonar-project.properties").write_text("sonar.java.source=1.7\n")
    assert "sonar.java.source" not in _plan(tmp_path).properties  # the file's own value stands


@pytest.mark.skipif(shutil.which("javac") is None, reason="needs a JDK")
def test_real_javac_output_is_read(tmp_path):
    source = tmp_path / "src/main/java/Hi.java"
    source.parent.mkdir(parents=True)
    source.write_text("class Hi {}\n")
    subprocess.run(["javac", "--release", "11", "-d", str(tmp_path / "target/classes"), str(source)], check=True)
    assert java_level.properties(tmp_path, "target/classes") == {"sonar.java.source": "11"}
