"""The template matrix: the jdk and node inputs (MAVEN_JDK and NPM_NODE in a classic include) pick the
image tag, an explicit provider-image still wins, and the package-manager input reaches the command
the jobs run. gitlab-ci-local expands the job's variables in `image:` as GitLab does; a stand-in
container executable records the image it is asked to pull, so no image is needed."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.fixtures import VENV_BIN

COMPONENT = "gitlab.example.com/platform/pipeyard"
REGISTRY = "127.0.0.1:5000/pipeyard"

RECORDER = """\
#!/bin/sh
# Records what gitlab-ci-local asks the container engine, then fails the job: no image is run.
echo "$*" >> "{log}"
exit 1
"""


@pytest.fixture
def pulled(tmp_path: Path):
    """pulled(project, job, **variables) -> the image gitlab-ci-local would pull for the job."""
    log = tmp_path / "engine.log"
    fake = tmp_path / "engine"
    fake.write_text(RECORDER.format(log=log))
    fake.chmod(0o755)

    def run(project, job: str, **variables: str) -> str:
        log.unlink(missing_ok=True)
        project.run("--container-executable", str(fake), job, variables=variables or None)
        pulls = [line.split()[-1] for line in log.read_text().splitlines() if line.startswith(("pull ", "image "))]
        assert pulls, f"gitlab-ci-local asked the engine nothing for {job}"
        return pulls[-1]

    return run


def _component(project, text: str) -> None:
    project.commit({".gitlab-ci.yml": textwrap.dedent(text)}, "pipeline")


@pytest.mark.pipelines
@pytest.mark.parametrize("inputs, image", [
    ({}, f"{REGISTRY}/maven:1.0.0-jdk21"),  # the default variant, by its suffixed tag
    ({"jdk": "8"}, f"{REGISTRY}/maven:1.0.0-jdk8"),
    ({"jdk": "17"}, f"{REGISTRY}/maven:1.0.0-jdk17"),
    ({"jdk": "25", "provider-image": "harbor.example.com/devops/maven-provider:jdk25"},
     "harbor.example.com/devops/maven-provider:jdk25"),  # an explicit image wins
])
def test_the_jdk_input_picks_the_maven_image(staged, pulled, inputs, image):
    project = staged("java-app", "feature/x")
    include = {"component": f"{COMPONENT}/maven@1.0.0", **({"inputs": inputs} if inputs else {})}
    project.commit({".gitlab-ci.yml": yaml.safe_dump({"stages": ["build", "test", "deploy", "report"],
                                                      "include": [include]})}, "pipeline")
    assert pulled(project, "maven-build") == image
    assert pulled(project, "maven-deploy", CI_COMMIT_TAG="v1.0.0") == image  # every job of the component


@pytest.mark.pipelines
def test_the_node_input_picks_the_npm_image_and_the_classic_include_takes_npm_node(staged, pulled):
    project = staged("java-app", "feature/x")
    _component(project, f"""
        stages: [build, test, deploy, report]
        include:
          - component: {COMPONENT}/npm@1.0.0
            inputs:
              node: "22"
    """)
    assert pulled(project, "npm-build") == f"{REGISTRY}/npm:1.0.0-node22"
    # node-app includes the classic file: NPM_NODE (a project or job variable) picks the variant there.
    classic = staged("node-app", "feature/x")
    assert pulled(classic, "npm-build") == f"{REGISTRY}/npm:1.0.0-node24"
    assert pulled(classic, "npm-test", NPM_NODE="20") == f"{REGISTRY}/npm:1.0.0-node20"


@pytest.mark.pipelines
@pytest.mark.parametrize("manager", ["auto", "npm", "yarn", "pnpm"])
def test_the_package_manager_input_reaches_the_jobs_command(staged, tmp_path, manager):
    """The jobs call package-manager, which reads NPM_PACKAGE_MANAGER: a stand-in on PATH records what it gets."""
    project = staged("node-app", "feature/x")
    _component(project, f"""
        stages: [build, test, deploy, report]
        include:
          - component: {COMPONENT}/npm@1.0.0
            inputs:
              package-manager: {manager}
              node: "26"
    """)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "package-manager"
    stand_in.write_text('#!/bin/sh\necho "package-manager $* with $NPM_PACKAGE_MANAGER on node$NPM_NODE"\n')
    stand_in.chmod(0o755)
    out = project.run("--force-shell-executor", "npm-build",
                      env={"PATH": os.pathsep.join([str(bin_dir), str(VENV_BIN), os.environ["PATH"]])})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-2000:]
    assert f"package-manager install with {manager} on node26" in log
    assert f"package-manager run build --if-present with {manager} on node26" in log
