"""B2I fixtures: the stand-in agents on a local HTTP mirror, the base image built once per session
through the real checksum-verified download, app images, and containers run with podman."""

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

from tests.fixtures import ROOT

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
def base_image(spec_path: Path) -> str:
    """The 21-trixie base, built once through `pipeyard b2i base` from the stand-in mirror."""
    result = b2i("base", "--config", str(spec_path), "--variant", "21-trixie")
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def jars(workdir: Path, classes: Path) -> dict[str, Path]:
    out = workdir / "jars"
    return {"fat": standins.fat_jar(classes, out / "hello-fat.jar"),
            "layered": standins.layered_jar(classes, out / "hello-boot.jar"),
            "fonts": standins.fontcheck_jar(classes, out / "fontcheck.jar")}


def build_app(spec_path: Path, jar: Path, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return b2i("build", "--config", str(spec_path), "--jar", str(jar), "--name", name, *extra)


@pytest.fixture(scope="session")
def apps(base_image: str, spec_path: Path, jars: dict[str, Path]) -> dict[str, str]:
    """App images shared by the session: name -> local ref."""
    refs = {}
    for name, jar, extra in (("hello-traced", jars["fat"], ("--tracing", "on")),
                             ("hello-plain", jars["fat"], ("--tracing", "off")),
                             ("hello-boot", jars["layered"], ()),
                             ("fontcheck", jars["fonts"], ("--metrics", "off"))):
        result = build_app(spec_path, jar, name, *extra)
        assert result.returncode == 0, result.stderr[-3000:]
        refs[name] = result.stdout.strip().splitlines()[-1]
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

    def remove(self) -> None:
        podman(self.env, "rm", "-f", "-t", "1", self.name, check=False)


@pytest.fixture
def run_app(podman_env: dict[str, str]) -> Iterator:
    started: list[Container] = []

    def start(image: str, *, env: dict[str, str] | None = None, memory: str | None = None,
              args: tuple[str, ...] = ()) -> Container:
        run_args: list[str] = []
        for k, v in (env or {}).items():
            run_args += ["-e", f"{k}={v}"]
        if memory:
            run_args += ["--memory", memory]
        c = Container(podman_env, image, run_args=tuple(run_args), args=args)
        started.append(c)
        return c

    yield start
    for c in started:
        c.remove()
