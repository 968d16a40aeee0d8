"""Podman's Docker-compatible API service, started for one pipeyard process.

Each process gets its own socket ($CT_ROOT/run/podman-<pid>.sock) so two pipeyard
commands running at once never stop the service the other one is using; they
share the image store and its layer cache, which podman locks itself.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from pipeyard.images.containers.podman_config import PodmanConfig
from pipeyard_kit.errors import RemoteError

START_TIMEOUT = 60.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # `--time=0` never exits by itself: without this, a killed pipeyard would leave
    # a service behind for every run.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def socket_answers(path: Path) -> bool:
    """True when something accepts connections on the unix socket."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


class PodmanService:
    def __init__(self, config: PodmanConfig, podman: str = "podman"):
        self.config = config
        self.podman = podman
        run_dir = config.root / "run"
        self.socket = run_dir / f"podman-{os.getpid()}.sock"
        self.log_path = run_dir / f"podman-{os.getpid()}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        exe = shutil.which(self.podman) or self.podman
        self.config.write()
        self.socket.unlink(missing_ok=True)
        env = {**os.environ, **self.config.env()}
        # A Docker client's variables must not leak into podman's own registry logins.
        env.pop("DOCKER_HOST", None)
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [exe, "system", "service", "--time=0", self.url],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not socket_answers(self.socket):
            if self._proc.poll() is not None:
                tail = self._log_tail()
                self._proc = None
                raise RemoteError(
                    f"podman system service {self.url} exited at start ({tail})",
                    fix=f"run `podman info` with the settings in {self.config.conf_dir} to see why; "
                        f"the full log is {self.log_path}",
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RemoteError(f"podman system service {self.url} did not answer within {START_TIMEOUT:.0f} s",
                                  fix=f"see {self.log_path}")
            time.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no log"
        return lines[-1].strip() if lines else "no output"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.socket.unlink(missing_ok=True)
        if proc is not None and proc.returncode in (0, -signal.SIGTERM):
            self.log_path.unlink(missing_ok=True)
