"""Starting Debian's Chromium under Playwright the way a Kubernetes runner needs it.

Scratch space is ours and goes when we are done, so nothing leaks between jobs that share
a runner and nothing needs a writable HOME (arbitrary uids on OpenShift-style clusters
have none):
- the Playwright driver's directory holds each browser's fresh profile and artifacts;
- each browser's own directory is its HOME and its TMPDIR, where Chromium keeps the
  shared memory files it would otherwise put in /dev/shm.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self

from pipeyard_chrome_headless.errors import BrowserError
from pipeyard_kit.errors import ConfigError

log = logging.getLogger("pipeyard.screenshot")

DEFAULT_CHROMIUM = "/usr/bin/chromium-headless-shell"
SANDBOX_MODES = ("auto", "on", "off")

# Playwright adds most of its own automation switches; these are the ones our runners
# depend on, listed here so they hold whatever Playwright's defaults become.
LAUNCH_ARGS = (
    "--disable-dev-shm-usage",  # pods get a 64 MB /dev/shm and Chromium crashes when it fills up
    "--disable-gpu",
    "--disable-background-networking",  # runners without internet otherwise stall on Google hosts
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--force-color-profile=srgb",  # the same colours on every machine, so pixels can be compared
)


# Chromium keeps a Unix socket under its TMPDIR (org.chromium.Chromium.XXXXXX/SingletonSocket)
# and aborts when the path passes the 107-byte socket limit; a long TMPDIR (inside a job's
# build directory, say) would do that, so scratch space moves to /tmp instead.
_MAX_SCRATCH_ROOT = 40


def scratch_root() -> str:
    root = tempfile.gettempdir()
    if len(root) <= _MAX_SCRATCH_ROOT or not os.access("/tmp", os.W_OK):
        return root
    return "/tmp"


def userns_available() -> bool:
    """Whether Chromium's namespace sandbox can work for this (non-root) user.

    Container runtimes' default seccomp and AppArmor profiles usually forbid
    unprivileged user namespaces; Chromium then aborts with "No usable sandbox".
    """
    try:
        probe = subprocess.run(["unshare", "--user", "--map-root-user", "true"], capture_output=True, timeout=10,
                               check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def want_sandbox(mode: str) -> bool:
    if mode == "on":
        return True
    if mode == "off" or os.geteuid() == 0:
        # Chromium refuses to start its sandbox as root.
        return False
    return userns_available()


def node_cache_dir() -> str | None:
    """Where the Playwright driver's Node keeps compiled code between runs, if anywhere.

    Compiling Playwright's 7 MB bundle is a third of the driver's 0.5 s start; a warm
    cache (the image builds one, see provider.yaml image.warm_up) skips it. Writing a new
    cache costs nothing measurable, so a fresh container is never slower for trying.
    """
    if os.environ.get("NODE_COMPILE_CACHE"):
        return os.environ["NODE_COMPILE_CACHE"]
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        path = root / "pipeyard" / "node-compile-cache"
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: an arbitrary uid with no HOME and no passwd entry
        return None
    return str(path) if os.access(path, os.W_OK) else None


@contextlib.contextmanager
def _driver_environment(scratch: Path) -> Iterator[None]:
    """Set the Playwright driver's environment while it starts; it copies os.environ then.

    The Node driver creates profile and artifacts directories under its TMPDIR and removes
    them only on a clean close; inside our scratch dir they go whatever happens.
    """
    wanted = {"TMPDIR": str(scratch), "NODE_COMPILE_CACHE": node_cache_dir()}
    saved = {name: os.environ.get(name) for name in wanted}
    try:
        for name, value in wanted.items():
            if value is not None:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Driver:
    """The process's one Playwright driver, shared by every open Browser.

    Playwright's sync API allows one driver per thread, and a second Browser (another
    font setup, say) should not need a second process.
    """

    users = 0
    playwright: Any = None
    scratch: Path | None = None

    @classmethod
    def acquire(cls) -> Any:
        if cls.playwright is None:
            from playwright.sync_api import sync_playwright  # the import costs 0.1 s: not for --help

            cls.scratch = Path(tempfile.mkdtemp(prefix="pipeyard-playwright-", dir=scratch_root()))
            try:
                with _driver_environment(cls.scratch):
                    cls.playwright = sync_playwright().start()
            except BaseException:
                shutil.rmtree(cls.scratch, ignore_errors=True)
                cls.scratch = None
                raise
        cls.users += 1
        return cls.playwright

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users > 0:
            return
        playwright, scratch = cls.playwright, cls.scratch
        cls.playwright = cls.scratch = None
        with contextlib.suppress(Exception):
            playwright.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


class Browser:
    """One Chromium for a whole run; use it as a context manager.

    `env` adds to (or overrides) the browser's environment, e.g. FONTCONFIG_FILE.
    """

    def __init__(self, executable: str | os.PathLike[str] = DEFAULT_CHROMIUM, *, sandbox: str = "auto",
                 env: Mapping[str, str] | None = None, timeout: float = 60.0):
        if sandbox not in SANDBOX_MODES:
            raise ConfigError(f"CHROMIUM_SANDBOX={sandbox!r} is not allowed: use one of {', '.join(SANDBOX_MODES)}")
        self.executable = Path(executable)
        self.sandbox_mode = sandbox
        self.sandbox = False
        self.extra_env = dict(env or {})
        self.timeout = timeout
        self.run_dir: Path | None = None
        self._playwright: Any = None
        self._browser: Any = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def playwright_browser(self) -> Any:
        if self._browser is None:
            raise BrowserError("the browser is not running", fix="use Browser() as a context manager")
        return self._browser

    def _check_executable(self) -> None:
        if not self.executable.is_file():
            raise ConfigError(f"CHROMIUM_PATH={self.executable} does not exist",
                              fix="install Debian's chromium-headless-shell package, or point CHROMIUM_PATH at "
                                  "a Chromium binary such as /usr/bin/chromium")
        if not os.access(self.executable, os.X_OK):
            raise ConfigError(f"CHROMIUM_PATH={self.executable} is not executable",
                              fix="point CHROMIUM_PATH at the chromium binary")

    def _environment(self, run_dir: Path) -> dict[str, str]:
        home = run_dir / "home"
        for sub in (home, home / ".config", home / ".cache"):
            sub.mkdir(mode=0o700, exist_ok=True)
        return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_CACHE_HOME": str(home / ".cache"), "TMPDIR": str(run_dir), **self.extra_env}

    def start(self) -> None:
        self._check_executable()
        from playwright.sync_api import Error

        self.run_dir = Path(tempfile.mkdtemp(prefix="pipeyard-chromium-", dir=scratch_root()))
        try:
            self._playwright = _Driver.acquire()
            self.sandbox = want_sandbox(self.sandbox_mode)
            try:
                self._browser = self._launch(self.sandbox)
            except Error as exc:
                if not (self.sandbox and self.sandbox_mode == "auto"):
                    raise
                # The probe said yes but the runtime still refused (AppArmor's userns
                # restriction does this): the job matters more than the sandbox.
                log.warning("Chromium's sandbox failed to start (%s); running without it", _launch_cause(exc))
                self.sandbox = False
                self._browser = self._launch(False)
        except Error as exc:
            self.close()
            raise BrowserError(f"Chromium ({self.executable}) failed to start: {_launch_cause(exc)}",
                               fix="rerun with TRACE=1 for its log; if it mentions the sandbox, set CHROMIUM_SANDBOX=off")
        except BaseException:
            self.close()
            raise
        log.debug("Chromium %s started (sandbox %s, scratch %s)", self._browser.version,
                  "on" if self.sandbox else "off", self.run_dir)

    def _launch(self, sandbox: bool) -> Any:
        assert self.run_dir is not None
        return self._playwright.chromium.launch(
            executable_path=str(self.executable), headless=True, chromium_sandbox=sandbox,
            args=list(LAUNCH_ARGS), env=self._environment(self.run_dir), timeout=self.timeout * 1000)

    def new_context(self, **options: Any) -> Any:
        return self.playwright_browser.new_context(**options)

    def close(self) -> None:
        """Close everything we started; safe to call twice and after a failed start."""
        browser, playwright, run_dir = self._browser, self._playwright, self.run_dir
        self._browser = self._playwright = self.run_dir = None
        with contextlib.suppress(Exception):
            if browser is not None:
                browser.close()
        if playwright is not None:
            _Driver.release()
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    """Playwright's messages carry a call log after the first line; the first line is the cause."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _launch_cause(exc: BaseException) -> str:
    """Chromium's own FATAL line from the browser log Playwright attaches, else Playwright's summary."""
    fatal = re.search(r"FATAL:[^\]]*\] ([^\n]+)", str(exc))
    return fatal[1].strip() if fatal else _first_line(exc)
