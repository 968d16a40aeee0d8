"""A private npm registry for tests: verdaccio 6.8 from tools/node_modules, nothing proxied.

Every package needs an authenticated user to read and to publish, like a company
registry; public packages 404 because there is no uplink. Users come from
`add_user()`, which returns the token npm puts in `//host/:_authToken=`.
The benchmarks start it with `uplink=` (the npm registry), as a company's proxy group
is set up, to install real dependency trees through it.
Run it by hand with `python -m tests.servers.verdaccio --help`.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[2]
VERDACCIO = ROOT / "tools" / "node_modules" / "verdaccio" / "bin" / "verdaccio"

CONFIG = """\
storage: {storage}
auth:
  htpasswd:
    file: {htpasswd}
    max_users: 1000
uplinks: {uplinks}
packages:
  '@*/*':
    access: $authenticated
    publish: $authenticated
    unpublish: $authenticated{proxy}
  '**':
    access: $authenticated
    publish: $authenticated
    unpublish: $authenticated{proxy}
web:
  enable: false
server:
  keepAliveTimeout: 5
log: {{type: stdout, format: json, level: http}}
"""


class VerdaccioError(RuntimeError):
    pass


class Verdaccio:
    """Start with `with Verdaccio(workdir, port) as registry:`; `registry.url` ends without a slash."""

    def __init__(self, workdir: Path, port: int, *, uplink: str | None = None):
        self.workdir = Path(workdir)
        self.port = port
        self.uplink = uplink
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = self.workdir / "verdaccio.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Self:
        if not VERDACCIO.is_file():
            raise VerdaccioError(f"{VERDACCIO} is missing: run `make setup` (npm install in tools/)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yaml"
        uplinks = f"{{upstream: {{url: '{self.uplink}', timeout: 60s}}}}" if self.uplink else "{}"
        proxy = "\n    proxy: upstream" if self.uplink else ""
        config.write_text(CONFIG.format(storage=self.workdir / "storage", htpasswd=self.workdir / "htpasswd",
                                        uplinks=uplinks, proxy=proxy))
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            ["node", str(VERDACCIO), "--config", str(config), "--listen", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise VerdaccioError(f"verdaccio exited with {self._proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ping", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise VerdaccioError(f"verdaccio did not answer /-/ping within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def add_user(self, name: str, password: str) -> str:
        """Create a user (npm adduser's request) and return its token."""
        body = json.dumps({"name": name, "password": password, "type": "user", "roles": []}).encode()
        req = urllib.request.Request(f"{self.url}/-/user/org.couchdb.user:{name}", data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.load(resp)["token"]
        except urllib.error.HTTPError as exc:
            raise VerdaccioError(f"verdaccio refused user {name}: HTTP {exc.code} {exc.read()[:200]!r}") from None

    def packument(self, name: str, token: str) -> dict | None:
        """The registry document of a package, or None when it isn't published."""
        req = urllib.request.Request(f"{self.url}/{name.replace('/', '%2f')}",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def http_log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.verdaccio", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4873)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--user", default="ci")
    parser.add_argument("--password", required=True)
    parser.add_argument("--publish", type=Path, action="append", default=[],
                        help="a package tarball to publish with the new user's token (repeatable)")
    args = parser.parse_args(argv)
    registry = Verdaccio(args.workdir, args.port).start()
    try:
        token = registry.add_user(args.user, args.password)
    except VerdaccioError as exc:
        registry.stop()
        sys.exit(f"error: {exc}")
    for tarball in args.publish:
        env_rc = args.workdir / "publish.npmrc"
        env_rc.write_text(f"//127.0.0.1:{args.port}/:_authToken={token}\n")
        env_rc.chmod(0o600)
        subprocess.run(["npm", "publish", str(tarball.resolve()), "--registry", registry.url + "/",
                        "--userconfig", str(env_rc), "--loglevel", "warn"], check=True, stdout=subprocess.DEVNULL)
    print(f"NPM_REGISTRY_URL={registry.url}/\nNPM_TOKEN={token}", flush=True)
    # Blocked, so SIGTERM lands here and verdaccio (its own session) is stopped, not orphaned.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
