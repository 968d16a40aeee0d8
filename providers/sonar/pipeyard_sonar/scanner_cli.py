"""The SonarScanner CLI for servers older than 10.6: from the site's mirror, checked, run on the image's JRE.

The zip is the upstream one (no bundled JRE), at the upstream path under SONAR_SCANNER_MIRROR_URL
(Distribution/sonar-scanner-cli/sonar-scanner-cli-<version>.zip, as binaries.sonarsource.com lays it
out). It is used only when its sha256 matches the pin: provider.yaml tools.sonar-scanner-cli, or a
site's SONAR_SCANNER_CLI_VERSION with SONAR_SCANNER_CLI_SHA256. A verified copy is kept under the
scanner's user home (SONAR_USER_HOME, else ~/.sonar), so a runner with a cache downloads it once.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipeyard_kit import download, settings
from pipeyard_kit.errors import BuildError, ChecksumError, ConfigError, RemoteError

TOOL = "sonar-scanner-cli"
UPSTREAM_DIR = "Distribution/sonar-scanner-cli"


@dataclass(frozen=True)
class Pin:
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"sonar-scanner-cli-{self.version}.zip"

    def url(self, mirror: str) -> str:
        return f"{mirror.rstrip('/')}/{UPSTREAM_DIR}/{self.file_name}"


def pin(resolved: Any, provider: str = "sonar") -> Pin:
    pinned = (settings.spec(provider).get("tools") or {}).get(TOOL) or {}
    version = resolved.get("SONAR_SCANNER_CLI_VERSION") or str(pinned.get("version", ""))
    sha256 = resolved.get("SONAR_SCANNER_CLI_SHA256") or ""
    if not sha256 and version == str(pinned.get("version", "")):
        sha256 = str(pinned.get("sha256", ""))
    if not version or len(sha256.removeprefix("sha256:")) != 64:
        raise ConfigError(f"SONAR_SCANNER_CLI_VERSION={version} has no sha256 to check the download against",
                          fix="set SONAR_SCANNER_CLI_SHA256 to the sha256sum of that zip, or unset "
                              "SONAR_SCANNER_CLI_VERSION to use the pinned one")
    return Pin(version, sha256.removeprefix("sha256:").lower())


def user_home(env: Any = os.environ) -> Path:
    return Path(env.get("SONAR_USER_HOME") or Path.home() / ".sonar")


def install(resolved: Any, *, why: str, verify: bool | str = True, env: Any = os.environ) -> Path:
    """bin/sonar-scanner of the pinned CLI, downloaded and unpacked if this machine has no verified copy."""
    mirror = resolved.get("SONAR_SCANNER_MIRROR_URL") or ""
    the_pin = pin(resolved)
    if not mirror:
        raise ConfigError(f"SONAR_SCANNER_MIRROR_URL is not set, and {why} needs the SonarScanner CLI "
                          f"{the_pin.version}",
                          fix="set SONAR_SCANNER_MIRROR_URL to the site's mirror of binaries.sonarsource.com "
                              f"(it must hold {UPSTREAM_DIR}/{the_pin.file_name})")
    folder = user_home(env) / "pipeyard" / TOOL / the_pin.sha256
    home = folder / f"sonar-scanner-{the_pin.version}"
    script = home / "bin" / "sonar-scanner"
    if script.is_file() and (folder / ".complete").is_file():
        return script
    try:
        archive = download.fetch(the_pin.url(mirror), the_pin.sha256, folder / the_pin.file_name, timeout=300,
                                 tls=verify)
    except ChecksumError as exc:
        # The kit's message names the file and both digests; the fix names the settings.
        raise ConfigError(exc.message, fix=f"the mirror's {the_pin.file_name} is not the pinned one: replace it with "
                                           "the upstream zip, or set SONAR_SCANNER_CLI_SHA256 if the file is "
                                           "trusted") from None
    except RemoteError as exc:
        raise RemoteError(f"SONAR_SCANNER_MIRROR_URL: {exc.message}",
                          fix=f"upload {the_pin.file_name} to the mirror under {UPSTREAM_DIR}/, or point "
                              "SONAR_SCANNER_MIRROR_URL at a mirror that has it") from None
    _unpack(archive, folder)
    if not script.is_file():
        raise BuildError(f"{the_pin.file_name} has no sonar-scanner-{the_pin.version}/bin/sonar-scanner",
                         fix="the zip on the mirror is not the upstream SonarScanner CLI; replace it")
    for exe in (home / "bin").iterdir():
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (folder / ".complete").write_text(the_pin.sha256 + "\n", encoding="utf-8")
    return script


def _unpack(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            parts = PurePosixPath(info.filename).parts
            if PurePosixPath(info.filename).is_absolute() or ".." in parts:
                raise BuildError(f"{archive.name} holds an entry outside its folder ({info.filename!r})",
                                 fix="the zip on the mirror is not the upstream SonarScanner CLI; replace it")
            if info.is_dir():
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                out.write(src.read())
            if (info.external_attr >> 16) & 0o111:
                target.chmod(0o755)
