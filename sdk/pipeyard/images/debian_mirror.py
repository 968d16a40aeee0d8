"""Which Debian mirror to bootstrap from: the one this machine's apt already uses.

A company that can reach only its own mirror has already told apt about it, so
reading apt's sources needs no new setting. PIPEYARD_DEBIAN_MIRROR or --mirror
overrides it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MIRROR_ENV = "PIPEYARD_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_DIR = Path("/etc/apt")


def _source_files(apt_dir: Path) -> list[Path]:
    files = [apt_dir / "sources.list"]
    files += sorted((apt_dir / "sources.list.d").glob("*.list"))
    files += sorted((apt_dir / "sources.list.d").glob("*.sources"))
    return [f for f in files if f.is_file()]


def _uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        one_line = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
        if one_line:
            uris.append(one_line.group(1))
        deb822 = re.match(r"^URIs:\s*(.+)$", line, re.IGNORECASE)
        if deb822:
            uris += deb822.group(1).split()
    return uris


def apt_mirror(apt_dir: Path = APT_DIR) -> str | None:
    """The first Debian archive apt uses (not the security archive, not a third party)."""
    for path in _source_files(apt_dir):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for uri in _uris(text):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return None


def debian_mirror(override: str | None = None, apt_dir: Path = APT_DIR) -> str:
    return (override or os.environ.get(MIRROR_ENV) or apt_mirror(apt_dir) or DEFAULT_MIRROR).rstrip("/")


def security_mirror(mirror: str) -> str:
    """deb.debian.org/debian -> deb.debian.org/debian-security: every official mirror lays it out so."""
    return mirror + "-security"
