"""The bad-input suite's session: fault servers on loopback, planted secrets, a checkout to run in."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.model.provider import load_providers
from tests.badinput import servers
from tests.badinput.harness import Context
from tests.badinput.planted import planted_secrets as plant

ROOT = Path(__file__).resolve().parents[2]
# Every variable a provider declares secret; the planted values add the other credentials a job carries.
SECRET_VARIABLES = sorted({s.env for p in load_providers(ROOT) for s in p.settings if s.secret})


def planted_secrets() -> dict[str, str]:
    return plant(SECRET_VARIABLES)


@pytest.fixture(scope="session")
def planted() -> dict[str, str]:
    return planted_secrets()


@pytest.fixture(scope="session")
def fault_servers() -> Iterator[dict[str, str]]:
    garbage = servers.Garbage().start()
    silent = servers.Silent().start()
    babbler = servers.Babbler().start()
    closed = servers.closed_port()
    try:
        yield {
            "closed": f"http://127.0.0.1:{closed}", "closed_port": str(closed),
            "silent_port": str(silent.port), "babbler_port": str(babbler.port),
            "silent": f"http://127.0.0.1:{silent.port}",
            **{f"g_{fault}": garbage.url(fault) for fault in servers.FAULTS},
        }
    finally:
        garbage.stop()
        silent.stop()
        babbler.stop()


def copy_checkout(dest: Path) -> Path:
    """A copy of the checkout for `pipeyard` cases: a case that wrongly succeeds writes there, never here."""
    for name in ("providers", "examples", "pipeline-templates", "b2i"):
        shutil.copytree(ROOT / name, dest / name, symlinks=True,
                        ignore=shutil.ignore_patterns("node_modules", "target", ".npm", "__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "pipeyard.site.yaml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("checkout"))


@pytest.fixture
def context(tmp_path: Path, fault_servers: dict[str, str], planted: dict[str, str], checkout: Path) -> Context:
    work = tmp_path / "work"
    work.mkdir()
    WORK_DIRS.append(work)
    return Context(work=work, servers={**fault_servers, "checkout": str(checkout)}, planted=planted)


# Every case's work folder (its HOME is inside), for the check that no case left a process behind.
WORK_DIRS: list[Path] = []


def _left_running(folders: list[Path]) -> list[tuple[int, str]]:
    """Processes whose command line or environment points into a case's folder: a case that wrongly went
    on to start the embedded registry or a podman service, and left it behind."""
    marks = [str(f).encode() for f in folders]
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if any(m in environ or m in cmdline.encode() for m in marks):
            found.append((int(proc.name), cmdline.strip()))
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running() -> Iterator[None]:
    """Every case fails before it starts anything; one that started a server anyway (a registry on the
    embedded port, once, which then answered for every later `make demo`) fails the suite here."""
    yield
    leftovers = _left_running(WORK_DIRS)
    for pid, _ in leftovers:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    assert not leftovers, f"bad-input cases left processes running: {leftovers}"
