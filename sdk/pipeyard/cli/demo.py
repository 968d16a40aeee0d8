"""`pipeyard demo` (`make demo`): the main job, end to end, on the embedded defaults.

No Harbor and no GitLab: the base comes from debootstrap, the images are built
through Podman's Docker API, published to the embedded registry, and the design's
own job (`mvn clean package`, no variables but credentials) runs inside the
published maven image via gitlab-ci-local, against a local stand-in for Nexus.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from pipeyard_kit.console import debug_option
from pipeyard_kit.errors import BuildError

console = Console(stderr=True)
PIPELINES = {"push to the default branch": {}, "merge request": {"CI_PIPELINE_SOURCE": "merge_request_event"},
             "tag": {"CI_COMMIT_TAG": "v1.0.0"}, "schedule": {"CI_PIPELINE_SOURCE": "schedule"}}


def _step(n: int, title: str) -> None:
    console.rule(f"[bold]{n}. {title}")


def _pipeyard(*args: str) -> None:
    exe = Path(sys.executable).parent / "pipeyard"
    rc = subprocess.call([str(exe), *args])
    if rc:
        raise BuildError(f"`pipeyard {' '.join(args)}` failed (exit {rc})", fix="see its message above")


@click.command()
@click.option("--skip-build", is_flag=True, help="Reuse the images already built and published.")
@debug_option
def demo(skip_build: bool) -> None:
    """Render, build, publish and run the main job inside its published image."""
    from pipeyard.demo.helper_image import container_args, ensure_helper_image
    from pipeyard.demo.localci import stage_project
    from pipeyard.demo.maven_repo import MavenRepoServer
    from pipeyard.images.containers import engine
    from pipeyard.model.provider import repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.render.outputs import TEMPLATES_DIR

    root = repo_root()
    site = load_site(find_site(root))
    started = time.monotonic()
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

        _step(6, "run the main job: java-app's maven-build, inside the published maven image")
        user, password = "ci-deployer", secrets.token_urlsafe(16)
        mirror_port = int(os.environ.get("PIPEYARD_DEMO_NEXUS_PORT", "8081"))
        with engine() as eng, MavenRepoServer(Path(tmp) / "nexus", user=user, password=password,
                                              port=mirror_port) as nexus:
            helper = ensure_helper_image(eng, console)
            project = stage_project(root / "examples" / "java-app", Path(tmp) / "run" / "java-app",
                                    root / TEMPLATES_DIR, site.component_project, root=root)
            # Only the credentials come from "group-level CI/CD variables"; the mirror is baked in.
            out = project.run(*container_args(helper), "maven-build",
                              variables={"MAVEN_REPO_USER": user, "MAVEN_REPO_PASSWORD": password},
                              env=eng.podman_env(), timeout=900)
            log = out.stdout + out.stderr
            console.print("\n".join(log.splitlines()[-25:]), markup=False, highlight=False, soft_wrap=True)
            if out.returncode != 0:
                raise BuildError("the maven-build job failed inside the published image", fix="see its log above")
            jars = sorted((project.path / "target").glob("*.jar"))
            console.print(f"[green]maven-build passed[/]: {len(nexus.requests)} requests to the stand-in "
                          f"Nexus at 127.0.0.1:{mirror_port}; artifact {', '.join(j.name for j in jars) or 'none'}")
    console.print(f"[bold green]demo done in {time.monotonic() - started:.0f} s[/]")
