"""Where the images come from: git revision, commit time and source URL, for the OCI labels.

Every value derives from the commit, never from the clock, so building the same
commit twice gives the same labels (org.opencontainers.image.created is the
commit time, not the build time).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pipeyard_kit import __version__
from pipeyard_kit.errors import BuildError


@dataclass(frozen=True)
class SourceInfo:
    revision: str
    created: str
    epoch: int
    source: str
    version: str = __version__

    def labels(self) -> dict[str, str]:
        return {
            "org.opencontainers.image.source": self.source,
            "org.opencontainers.image.revision": self.revision,
            "org.opencontainers.image.version": self.version,
            "org.opencontainers.image.created": self.created,
        }


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def public_url(url: str) -> str:
    """A clone URL without credentials, as a browsable https URL when it was scp-style."""
    scp = re.match(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+?)(?:\.git)?$", url)
    if scp and "://" not in url:
        return f"https://{scp.group(1)}/{scp.group(2)}"
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path.removesuffix(".git")
    scheme = "https" if parts.scheme in ("ssh", "git") else parts.scheme
    # A token in the user part or the query of a clone URL must never reach a label.
    return urlunsplit((scheme, host, path, "", ""))


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_info(root: Path, *, fallback_source: str, env: dict[str, str] | None = None) -> SourceInfo:
    env = dict(os.environ if env is None else env)
    revision = _git(root, "rev-parse", "HEAD") or env.get("CI_COMMIT_SHA")
    epoch_text = _git(root, "log", "-1", "--format=%ct", "HEAD") or env.get("SOURCE_DATE_EPOCH")
    if not epoch_text and env.get("CI_COMMIT_TIMESTAMP"):
        epoch_text = str(int(datetime.fromisoformat(env["CI_COMMIT_TIMESTAMP"]).timestamp()))
    if not revision or not epoch_text:
        raise BuildError(f"cannot tell which commit {root} is, for the image labels",
                         fix="build from a git checkout, or set CI_COMMIT_SHA and CI_COMMIT_TIMESTAMP")
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        revision += "-dirty"
    origin = env.get("CI_PROJECT_URL") or _git(root, "remote", "get-url", "origin") or fallback_source
    epoch = int(epoch_text)
    return SourceInfo(revision=revision, created=_iso(epoch), epoch=epoch, source=public_url(origin))
