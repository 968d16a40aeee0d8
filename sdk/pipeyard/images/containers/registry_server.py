"""The embedded registry: Debian's `docker-registry` (CNCF distribution 2.8, the engine inside Harbor).

`pipeyard publish` and `pipeyard demo` push here when no Harbor is configured, so everything works
on a laptop or a runner with no registry of its own. The process outlives the pipeyard command that
started it (a later `podman pull` still works); a pid file in the root lets any later command find
and stop it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
import warnings
from pathlib import Path

import requests

from pipeyard_kit.errors import BuildError, ConfigError, RemoteError

BINARY = "docker-registry"
START_TIMEOUT = 15.0
# One access-log line per finished blob upload: what the benchmarks count.
BLOB_UPLOAD_LINE = re.compile(r'"PUT /v2/\S+/blobs/uploads/\S* HTTP/[\d.]+" 2\d\d ')


def default_root() -> Path:
    """Where the embedded registry keeps its data unless told otherwise."""
    env = os.environ.get("PIPEYARD_REGISTRY_ROOT")
    if env:
        path = Path(env)
        # A relative root would be a different registry from each folder it is started in.
        if not path.is_absolute() or (path.exists() and not path.is_dir()):
            raise ConfigError(f"PIPEYARD_REGISTRY_ROOT={env!r} is not "
                              f"{'a folder' if path.is_absolute() else 'an absolute path'}",
                              fix="point it at a folder (absolute path) for the registry's data, or unset it")
        return path
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "pipeyard" / "registry"


def write_htpasswd(path: Path, user: str, password: str) -> Path:
    """An htpasswd file the registry accepts (bcrypt is the only scheme it reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{user}:{_bcrypt(password)}\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _bcrypt(password: str) -> str:
    # A low cost keeps each authenticated request cheap: the registry checks the hash on every call.
    try:
        import bcrypt  # type: ignore[import-not-found]

        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # removed in Python 3.13, where the bcrypt package takes over

    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that started it in this same process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class LocalRegistry:
    """A `docker-registry serve` process with filesystem storage under `root`."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 5000, htpasswd: Path | None = None):
        self.root = Path(root)
        self.host = host
        self.port = port
        self.htpasswd = Path(htpasswd) if htpasswd else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_here = False

    # -- where things are -------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

    @property
    def config_path(self) -> Path:
        return self.root / "config.yml"

    @property
    def pid_path(self) -> Path:
        return self.root / "registry.pid"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    # -- state --------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._answers()

    def _answers(self) -> bool:
        try:
            r = requests.get(f"{self.url}/v2/", timeout=1)
        except requests.RequestException:
            return False
        # 401 is a registry too: one that wants a login.
        return "Docker-Distribution-Api-Version" in r.headers or r.status_code in (200, 401)

    def _pid(self) -> int | None:
        """The pid in the pid file, if that process is alive and is this root's registry.

        A stale pid file may name a pid the system has since given to something else.
        """
        try:
            pid = int(self.pid_path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if str(self.config_path).encode() not in cmdline or not _alive(pid):
            return None
        return pid

    # -- lifecycle ----------------------------------------------------------------------------------
    def config_text(self) -> str:
        secret_file = self.root / "http.secret"
        if not secret_file.exists():
            # A fixed secret keeps upload URLs valid across a restart of the same registry.
            secret_file.write_text(secrets.token_hex(16))
            secret_file.chmod(0o600)
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  formatter: text",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.data_dir}",
            "  delete:",
            "    enabled: true",
            "  cache:",
            "    blobdescriptor: inmemory",
            "http:",
            f"  addr: {self.address}",
            f"  secret: {secret_file.read_text().strip()}",
            "  headers:",
            "    X-Content-Type-Options: [nosniff]",
        ]
        if self.htpasswd:
            lines += ["auth:", "  htpasswd:", "    realm: pipeyard", f"    path: {self.htpasswd}"]
        return "\n".join(lines) + "\n"

    def start(self) -> LocalRegistry:
        """Start the registry, or reuse one already answering on host:port."""
        if self._answers():
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self.config_path.write_text(self.config_text(), encoding="utf-8")
        # The registry reads every REGISTRY_* variable as config; an exported REGISTRY_AUTH_FILE
        # (set by podman login helpers) makes it crash at start.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns the handle from here on
        try:
            self._proc = subprocess.Popen(
                [BINARY, "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # outlives this command, and a Ctrl-C aimed at pipeyard
            )
        except FileNotFoundError:
            raise BuildError(
                f"cannot start the embedded registry: `{BINARY}` is not installed",
                fix="install it with `apt-get install docker-registry` (or run `make setup`)",
            ) from None
        finally:
            log.close()
        self.pid_path.write_text(str(self._proc.pid))
        self._started_here = True
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RemoteError(
                    f"the embedded registry on {self.address} exited at start (code {self._proc.returncode})",
                    fix=f"read {self.log_path}; another process may hold port {self.port}",
                )
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RemoteError(
            f"the embedded registry on {self.address} did not answer within {START_TIMEOUT:.0f} s",
            fix=f"read {self.log_path}",
        )

    def stop(self) -> None:
        """Stop the process this registry root runs; a no-op if none is running."""
        pid = self._proc.pid if self._proc and self._proc.poll() is None else self._pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            self._wait_gone(pid)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        self.pid_path.unlink(missing_ok=True)

    def _wait_gone(self, pid: int) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:
                    return
            elif not _alive(pid):
                return
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        # Leave a registry somebody else started alone.
        if self._started_here:
            self.stop()

    # -- the access log, for benchmarks and tests ---------------------------------------------------
    def log_offset(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def blob_uploads(self, since: int = 0) -> int:
        """Finished blob uploads (`PUT .../blobs/uploads/...`) logged after byte offset `since`."""
        if not self.log_path.exists():
            return 0
        with open(self.log_path, "rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", "replace")
        return sum(1 for line in text.splitlines() if BLOB_UPLOAD_LINE.search(line))

    def __repr__(self) -> str:
        return f"LocalRegistry({self.root}, {self.address})"
