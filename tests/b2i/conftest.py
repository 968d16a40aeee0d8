"""B2I fixtures: the stand-in agents on a local HTTP mirror, the base image built once per session
through the real checksum-verified download and pushed to a session registry, app images built there
with no engine (as the pipeline job builds them), pulled and run with podman."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.images.containers.registry_server import LocalRegistry
from tests.fixtures import ROOT, free_port

from ..servers import loopback
from . import standins

B2I_CLI = ("from pipeyard_kit.console import run_main; from pipeyard.cli.b2i import b2i; import sys; "
           "run_main(b2i, 'pipeyard b2i', sys.argv[1:])")


def b2i(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pipeyard b2i ARGS` as a user runs it (through the group, whether or not main.py lists it yet)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("TRACE", None)
    return subprocess.run([sys.executable, "-c", B2I_CLI, *args], capture_output=True, text=True, env=full_env,
                          cwd=ROOT, timeout=900)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("b2i")


@pytest.fixture(scope="session")
def classes(workdir: Path) -> Path:
    return standins.compile_all(workdir / "v1", "v1")


@pytest.fixture(scope="session")
def mirror(workdir: Path, classes: Path) -> Iterator[tuple[str, dict[str, standins.AgentFile]]]:
    """The company Nexus stand-in: the agents at b2i.yaml's paths, over HTTP on loopback."""
    root = workdir / "mirror"
    agents = standins.build_agents(classes, root)
    server = loopback.serve(functools.partial(_Quiet, directory=str(root)))
    yield f"http://127.0.0.1:{server.server_address[1]}", agents
    loopback.stop(server)


@pytest.fixture(scope="session")
def spec_path(workdir: Path, mirror: tuple[str, dict[str, standins.AgentFile]]) -> Path:
    url, agents = mirror
    return standins.write_spec(ROOT, workdir / "b2i", url, agents)


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    from pipeyard.images.containers import podman_config

    config = podman_config()
    config.write()
    return {**os.environ, **config.env()}


def podman(env: dict[str, str], *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


@pytest.fixture(scope="session")
def session_registry(workdir: Path) -> Iterator[LocalRegistry]:
    """The session's registry (the embedded registry's Debian docker-registry, on a free port)."""
    with LocalRegistry(workdir / "registry", port=free_port()) as reg:
        yield reg


@pytest.fixture(scope="session")
def project(session_registry: LocalRegistry) -> str:
    """HOST:PORT/PROJECT of the session's registry, where the base and the app images go."""
    return f"{session_registry.address}/b2itest"


@pytest.fixture(scope="session")
def base_image(spec_path: Path, project: str) -> str:
    """The 21-trixie base, built once through `pipeyard b2i base` from the stand-in mirror and pushed
    to the session registry as PROJECT/b2i-java:21-trixie (what the daemonless builds build on)."""
    result = b2i("base", "--config", str(spec_path), "--variant", "21-trixie", "--push", "--registry", project)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def jars(workdir: Path, classes: Path) -> dict[str, Path]:
    out = workdir / "jars"
    return {"fat": standins.fat_jar(classes, out / "hello-fat.jar"),
            "layered": standins.layered_jar(classes, out / "hello-boot.jar"),
            "thin": standins.thin_jar(classes, out / "thin" / "target"),
            "fonts": standins.fontcheck_jar(classes, out / "fontcheck.jar")}


def build_app(spec_path: Path, jar: Path, name: str, *extra: str, project: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pipeyard b2i build`, daemonless into project (or as extra says: --engine, --registry)."""
    target = ("--registry", project) if project else ()
    return b2i("build", "--config", str(spec_path), "--jar", str(jar), "--name", name, *target, *extra, env=env)


def pinned(built: subprocess.CompletedProcess[str]) -> str:
    """REPOSITORY@DIGEST of what a daemonless build printed (REPOSITORY:TAG@DIGEST): what podman pulls."""
    ref = built.stdout.strip().splitlines()[-1]
    repo_tag, digest = ref.split("@")
    return f"{repo_tag.rsplit(':', 1)[0]}@{digest}"


def pull(env: dict[str, str], ref: str) -> str:
    """Pull ref from the session registry (plain HTTP on a free port: not in registries.conf)."""
    podman(env, "pull", "--tls-verify=false", ref, timeout=600)
    return ref


@pytest.fixture(scope="session")
def apps(base_image: str, spec_path: Path, jars: dict[str, Path], project: str, podman_env: dict[str, str],
         workdir: Path) -> dict[str, str]:
    """App images shared by the session, built with no engine and pulled: name -> REPOSITORY@DIGEST."""
    refs = {}
    for name, jar, extra in (("hello-traced", jars["fat"], ("--tracing", "on")),
                             ("hello-plain", jars["fat"], ("--tracing", "off")),
                             ("hello-boot", jars["layered"], ()),
                             ("hello-thin", jars["thin"], ()),
                             ("fontcheck", jars["fonts"], ("--metrics", "off"))):
        result = build_app(spec_path, jar, name, *extra, project=project,
                           env={"PIPEYARD_CACHE_DIR": str(workdir / "cache")})
        assert result.returncode == 0, result.stderr[-3000:]
        refs[name] = pull(podman_env, pinned(result))
    return refs


class Container:
    """A detached app container on the host network; removed at the end of the test."""

    def __init__(self, env: dict[str, str], image: str, *, run_args: tuple[str, ...] = (),
                 args: tuple[str, ...] = ()):
        self.env = env
        self.name = f"b2i-test-{uuid.uuid4().hex[:10]}"
        podman(env, "run", "-d", "--name", self.name, *run_args, image, *args)

    def exec(self, *cmd: str, user: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        opts = ("--user", user) if user else ()
        return podman(self.env, "exec", *opts, self.name, *cmd, check=check)

    def logs(self) -> str:
        r = podman(self.env, "logs", self.name, check=False)
        return r.stdout + r.stderr

    def stop(self, timeout: int = 20) -> None:
        """SIGTERM, as Kubernetes stops a pod: tini hands it to the JVM, which shuts down in order."""
        podman(self.env, "stop", "-t", str(timeout), self.name, timeout=timeout + 30)

    def remove(self) -> None:
        podman(self.env, "rm", "-f", "-t", "1", self.name, check=False)


@pytest.fixture
def run_app(podman_env: dict[str, str]) -> Iterator:
    started: list[Container] = []

    def start(image: str, *, env: dict[str, str] | None = None, memory: str | None = None,
              args: tuple[str, ...] = (), volumes: tuple[str, ...] = ()) -> Container:
        run_args: list[str] = []
        for k, v in (env or {}).items():
            run_args += ["-e", f"{k}={v}"]
        if memory:
            run_args += ["--memory", memory]
        for volume in volumes:
            run_args += ["-v", volume]
        c = Container(podman_env, image, run_args=tuple(run_args), args=args)
        started.append(c)
        return c

    yield start
    for c in started:
        c.remove()
