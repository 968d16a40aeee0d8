"""Each JDK variant of the maven image builds a project of its own language level, through the mvn
wrapper, against the Nexus stand-in: Java 8 source on JDK 8, `var` in lambdas on 11, records and
text blocks from 17 on, record patterns from 21 on, unnamed variables on 25; the classes carry the
JDK's own bytecode level and the JUnit test runs.

`make test` runs the default variant; `make test-variants` (PIPEYARD_TEST_VARIANTS=all) every one.
Every variant shares one local repository, as the jobs of one project share GitLab's cache.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from maven_support import PASSWORD, job_env

from tests.fixtures import variants_under_test
from tests.servers.runner import PodmanRunner, output

pytestmark = pytest.mark.images

# The class file's major version of each JDK's own release (JVM spec, table 4.1-A).
MAJOR = {8: 52, 11: 55, 17: 61, 21: 65, 25: 69}

POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>level-{jdk}</artifactId>
  <version>1.0.0</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    {level}
  </properties>
  <dependencies>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <!-- The versions Debian ships, which the Nexus stand-in serves. -->
        <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.0</version></plugin>
        <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.10.1</version></plugin>
        <plugin><artifactId>maven-surefire-plugin</artifactId><version>2.22.3</version></plugin>
        <plugin><artifactId>maven-jar-plugin</artifactId><version>3.3.0</version></plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
"""

# One feature per language level, each in the sources of every JDK that has it.
FEATURES = {
    8: ("Lambdas", """
        import java.util.Arrays;
        import java.util.stream.Collectors;
        public final class Lambdas {
            public static String shout(String... words) {
                return Arrays.stream(words).map(String::toUpperCase).collect(Collectors.joining(" "));
            }
        }""", 'assertEquals("HI JAVA", Lambdas.shout("hi", "java"));'),
    11: ("VarLambdas", """
        import java.util.function.Function;
        public final class VarLambdas {
            public static final Function<String, String> TRIM = (var s) -> s.strip();
        }""", 'assertEquals("x", VarLambdas.TRIM.apply("  x  "));'),
    17: ("Records", '''
        public final class Records {
            public record Point(int x, int y) {}
            public static final String BANNER = """
                level 17
                """;
        }''', 'assertEquals(3, new Records.Point(3, 4).x()); assertEquals("level 17\\n", Records.BANNER);'),
    21: ("Patterns", """
        public final class Patterns {
            public static int sum(Object o) {
                return switch (o) {
                    case Records.Point(int x, int y) -> x + y;
                    default -> 0;
                };
            }
        }""", "assertEquals(7, Patterns.sum(new Records.Point(3, 4)));"),
    25: ("Unnamed", """
        public final class Unnamed {
            public static int first(Object o) {
                return o instanceof Records.Point(int x, _) ? x : -1;
            }
        }""", "assertEquals(3, Unnamed.first(new Records.Point(3, 4)));"),
}


def write_project(dest: Path, jdk: int) -> Path:
    level = ("<maven.compiler.source>1.8</maven.compiler.source><maven.compiler.target>1.8</maven.compiler.target>"
             if jdk == 8 else f"<maven.compiler.release>{jdk}</maven.compiler.release>")
    main = dest / "src/main/java/com/example/level"
    test = dest / "src/test/java/com/example/level"
    main.mkdir(parents=True)
    test.mkdir(parents=True)
    (dest / "pom.xml").write_text(POM.format(jdk=jdk, level=level))
    checks = []
    for since, (name, source, check) in FEATURES.items():
        if since <= jdk:
            (main / f"{name}.java").write_text("package com.example.level;\n" + textwrap.dedent(source).lstrip())
            checks.append(check)
    (test / "LevelTest.java").write_text(
        "package com.example.level;\nimport static org.junit.Assert.assertEquals;\nimport org.junit.Test;\n"
        "public class LevelTest {\n  @Test public void everyFeatureOfTheLevelWorks() {\n    "
        + "\n    ".join(checks) + "\n  }\n}\n")
    return dest


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """One work folder for every variant: the runner mounts it, and the local repository in it is shared."""
    return tmp_path_factory.mktemp("maven-variants")


@pytest.mark.parametrize("variant", variants_under_test("maven"))
def test_the_variant_builds_a_project_of_its_language_level(variant, provider_image, maven_repo, shared):
    jdk = int(variant.removeprefix("jdk"))
    project = write_project(shared / variant, jdk)
    runner = PodmanRunner(provider_image("maven", variant), shared)
    env = job_env(maven_repo, project, MAVEN_LOCAL_REPOSITORY=str(shared / "m2"))
    done = runner.run(["mvn", "-DforkCount=0", "package"], env=env, cwd=project)
    assert done.returncode == 0, output(done)[-4000:]
    assert "BUILD SUCCESS" in done.stdout
    assert f"Java version: {'1.8' if jdk == 8 else jdk}" in runner.run(["mvn", "-v"], env=env, cwd=project).stdout
    report = ET.parse(project / "target/surefire-reports/TEST-com.example.level.LevelTest.xml").getroot()
    assert (report.get("tests"), report.get("failures"), report.get("errors")) == ("1", "0", "0")
    for cls in (project / "target/classes/com/example/level").glob("*.class"):
        assert int.from_bytes(cls.read_bytes()[6:8], "big") == MAJOR[jdk], cls.name
    assert (project / f"target/level-{jdk}-1.0.0.jar").is_file()
    assert PASSWORD not in output(done)
