"""`pipeyard demo` (`make demo`): the design's pipeline, end to end, on the embedded defaults.

No Harbor and no GitLab: the base comes from debootstrap, the images are built through Podman's
Docker API and published to the embedded registry, and the design's three jobs run on
examples/java-app in gitlab-ci-local, each inside its published image as a runner pulls it:
the maven build (no variables but the mirror's credentials), the Sonar scan with the build's
classes, then the scheduled report mail. The company services are played on loopback: the Nexus
(pipeyard.demo.maven_repo), SonarQube (the checkout's tests/servers/sonarqube.py, which follows
SonarQube's Web API; its scanner engine can't be downloaded here, so the scan runs the recording
scanner in front of the real quality-gate wait) and the SMTP relay, which writes the mail it
receives as a preview file (pipeyard.demo.mail_catcher).
"""

from __future__ import annotations

import importlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from pipeyard_kit.console import debug_option
from pipeyard_kit.errors import BuildError, UsageError

console = Console(stderr=True)
PIPELINES = {"push to the default branch": {}, "merge request": {"CI_PIPELINE_SOURCE": "merge_request_event"},
             "tag": {"CI_COMMIT_TAG": "v1.0.0"}, "schedule": {"CI_PIPELINE_SOURCE": "schedule"}}


BUILDS = "/builds/acme/java-app"
SCANNER = "ci/recording-scanner"
SONAR_KEY = "com.example:java-app"  # examples/java-app's sonar-project-id


_clock = {"started": time.monotonic()}


def _step(n: int, title: str) -> None:
    console.rule(f"[bold]{n}. {title}[/] (at {time.monotonic() - _clock['started']:.0f} s)")


def _pipeyard(*args: str) -> None:
    exe = Path(sys.executable).parent / "pipeyard"
    rc = subprocess.call([str(exe), *args])
    if rc:
        raise BuildError(f"`pipeyard {' '.join(args)}` failed (exit {rc})", fix="see its message above")


@click.command()
@click.option("--skip-build", is_flag=True, help="Reuse the images already built and published.")
@debug_option
def demo(skip_build: bool) -> None:
    """Render, build, publish, then run the design's build, scan and report mail in the published images."""
    from pipeyard.demo.localci import stage_project
    from pipeyard.model.provider import repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.render.outputs import TEMPLATES_DIR

    root = repo_root()
    site = load_site(find_site(root))
    started = _clock["started"] = time.monotonic()
    _step(1, "render and check the templates")
    _pipeyard("render")
    _pipeyard("check")
    if not skip_build:
        _step(2, "bootstrap the Debian base (cached)")
        _pipeyard("base", "bootstrap", "--release", "trixie")
        _step(3, "build every provider image")
        _pipeyard("build")
    _step(4, f"publish to the embedded registry {site.registry}")
    _pipeyard("registry", "start")
    _pipeyard("publish", "--registry", site.registry)

    _step(5, "which jobs the example pipelines run")
    table = Table("example", *PIPELINES)
    with tempfile.TemporaryDirectory(prefix="pipeyard-demo-") as tmp:
        for example in ("java-app", "node-app"):
            project = stage_project(root / "examples" / example, Path(tmp) / example, root / TEMPLATES_DIR,
                                    site.component_project, root=root, branch="feature/demo")
            table.add_row(example, *(", ".join(project.jobs(v)) for v in PIPELINES.values()))
        console.print(table)

        _step(6, "the design's three jobs on java-app, inside the published images: build, scan, report mail")
        _design_jobs(root, site, Path(tmp))
    console.print(f"[bold green]demo done in {time.monotonic() - started:.0f} s[/]")


def _sonarqube(root: Path) -> Any:
    """The SonarQube stand-in of the checkout's tests (tests/servers/sonarqube.py): one implementation,
    shared with the tests, following SonarQube's Web API."""
    if not (root / "tests" / "servers" / "sonarqube.py").is_file():
        raise UsageError("`pipeyard demo` runs from a pipeyard checkout (tests/servers/ is missing)",
                         fix="run `make demo` in the repository")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("tests.servers.sonarqube")


def _show(log: str, lines: int = 12) -> None:
    console.print("\n".join(log.splitlines()[-lines:]), markup=False, highlight=False, soft_wrap=True)


def _design_jobs(root: Path, site: Any, tmp: Path) -> None:
    from pipeyard.demo.helper_image import container_args, ensure_helper_image
    from pipeyard.demo.localci import recording_scanner, stage_project
    from pipeyard.demo.mail_catcher import MailCatcher
    from pipeyard.demo.maven_repo import MavenRepoServer
    from pipeyard.images.containers import engine
    from pipeyard.render.outputs import TEMPLATES_DIR

    sonarqube = _sonarqube(root)
    preview = root / ".work" / "demo" / "mail-preview"
    user, password = "ci-deployer", secrets.token_urlsafe(16)
    mirror_port = int(os.environ.get("PIPEYARD_DEMO_NEXUS_PORT", "8081"))
    # The stand-in's default project fails its gate on new code; the scan reports that and passes
    # (quality-gate-allow-failure), and the mail tells the team, as the weekly report is meant to.
    state = sonarqube.SonarState(project=SONAR_KEY, project_name="java-app")
    with engine() as eng, MavenRepoServer(tmp / "nexus", user=user, password=password, port=mirror_port) as nexus, \
            sonarqube.SonarStub(state) as sonar, MailCatcher(preview) as smtp:
        helper = ensure_helper_image(eng, console)
        project = stage_project(root / "examples" / "java-app", tmp / "run" / "java-app", root / TEMPLATES_DIR,
                                site.component_project, root=root)
        project.commit({SCANNER: recording_scanner()}, "the scanner stand-in", executable=(SCANNER,))
        # Group-level CI/CD variables: the mirror's credentials and the Sonar token; the mirror
        # itself is baked into the images. The stand-ins' addresses replace the site's.
        sonar_vars = {"SONAR_HOST_URL": sonar.url, "SONAR_TOKEN": sonarqube.TOKEN,
                      "SONAR_SCANNER": f"{BUILDS}/{SCANNER}", "SONAR_QUALITY_GATE_ALLOW_FAILURE": "true"}
        out = project.run(*container_args(helper), "maven-build", "sonar-scan",
                          variables={"MAVEN_REPO_USER": user, "MAVEN_REPO_PASSWORD": password, **sonar_vars},
                          env=eng.podman_env(), timeout=900)
        _show(out.stdout + out.stderr, 20)
        if out.returncode != 0:
            raise BuildError("the build or the scan failed inside the published images", fix="see the log above")
        jars = sorted(p.name for p in project.path.glob("*/target/*.jar"))
        console.print(f"[green]maven-build and sonar-scan passed[/]: {len(nexus.requests)} requests to the stand-in "
                      f"Nexus at 127.0.0.1:{mirror_port}; jars {', '.join(jars) or 'none'}; quality gate "
                      f"{state.gate_status} after {state.calls('api/ce/task')} task polls")

        console.print("[bold]the scheduled pipeline: the Sonar report mail")
        out = project.run(*container_args(helper), "sendmail-sonar",
                          variables={"CI_PIPELINE_SOURCE": "schedule", "SONAR_TOKEN": sonarqube.TOKEN,
                                     "SONAR_INTERNAL_ADDR": sonar.url, "SMTP_HOST": smtp.host,
                                     "SMTP_PORT": str(smtp.port)},
                          env=eng.podman_env(), timeout=600)
        _show(out.stdout + out.stderr)
        if out.returncode != 0 or not smtp.received:
            raise BuildError("the report mail job failed inside the published sendmail image",
                             fix="see the log above")
    console.print(f"[green]sendmail-sonar passed[/]: the report mail is in {preview}/mail.html "
                  "(mail.txt and mail.eml beside it)")
