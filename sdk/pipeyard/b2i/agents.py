"""The agents of the B2I base image: downloaded from the mirror, checked against b2i.yaml, unpacked.

A file is used only after its sha256 matched the pin; a mismatch fails the build naming the file and
both digests. Verified files are cached by digest, so a rebuild downloads nothing.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from pipeyard.b2i.spec import Agent
from pipeyard.images import download
from pipeyard_kit.errors import BuildError, RemoteError


def cache_dir() -> Path:
    env = os.environ.get("PIPEYARD_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipeyard"
    return base / "b2i-agents"


def fetch(agent: Agent, mirror: str, cache: Path | None = None) -> Path:
    """The agent's file, verified against its pin; a verified copy in the cache is reused."""
    dest = (cache or cache_dir()) / agent.sha256 / agent.file_name
    try:
        return download.fetch(agent.url(mirror), agent.sha256, dest, timeout=300)
    except (RemoteError, OSError) as exc:
        reason = exc.message if isinstance(exc, RemoteError) else f"{agent.url(mirror)}: {exc.strerror}"
        raise RemoteError(f"agents.{agent.name}: {reason}",
                          fix=f"upload {agent.file_name} to the mirror at {agent.path}, or point --mirror "
                              f"(B2I_MIRROR_URL) at a mirror that has it") from None


def _inside(dest: Path, name: str, archive: str) -> Path:
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise BuildError(f"{archive} holds an entry outside its folder ({name!r})",
                         fix="the archive on the mirror is not the upstream one; replace it")
    return dest.joinpath(*parts)


def _strip(name: str, prefix: str) -> str | None:
    if not prefix:
        return name
    parts = PurePosixPath(name).parts
    if not parts or parts[0] != prefix:
        return None
    return str(PurePosixPath(*parts[1:])) if len(parts) > 1 else None


def unpack(agent: Agent, archive: Path, root: Path) -> Path:
    """Install the agent under root (the image's /opt/b2i); returns where it went."""
    dest = root / agent.install
    if agent.unpack == "none":
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, dest)
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    found = False
    if agent.unpack == "zip":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = _strip(info.filename, agent.strip)
                if name is None or info.is_dir():
                    continue
                target = _inside(dest, name, agent.file_name)
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                mode = (info.external_attr >> 16) & 0o777
                target.chmod(0o755 if mode & 0o111 or name.endswith(".sh") else 0o644)
                found = True
    else:
        with tarfile.open(archive, "r:gz") as t:
            for member in t.getmembers():
                name = _strip(member.name, agent.strip)
                if name is None or not member.isfile():
                    continue
                target = _inside(dest, name, agent.file_name)
                target.parent.mkdir(parents=True, exist_ok=True)
                src = t.extractfile(member)
                assert src is not None
                with src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                target.chmod(0o755 if member.mode & 0o111 else 0o644)
                found = True
    if not found:
        raise BuildError(f"{agent.file_name} has no files under '{agent.strip or '/'}'",
                         fix=f"check agents.{agent.name}.strip in b2i.yaml against the archive's layout")
    _select_plugins(agent, dest)
    return dest


def _select_plugins(agent: Agent, dest: Path) -> None:
    """SkyWalking's optional plugins are enabled by copying them into plugins/."""
    if not agent.optional_plugins:
        return
    optional = dest / "optional-plugins"
    available = sorted(p.name for p in optional.glob("*.jar")) if optional.is_dir() else []
    missing = []
    for prefix in agent.optional_plugins:
        matches = [n for n in available if n.startswith(prefix)]
        if not matches:
            missing.append(prefix)
        for name in matches:
            (dest / "plugins").mkdir(exist_ok=True)
            shutil.copyfile(optional / name, dest / "plugins" / name)
    if missing:
        raise BuildError(f"agents.{agent.name}.optional_plugins: no optional plugin starts with {', '.join(missing)}",
                         fix=f"use names from optional-plugins/ ({', '.join(available) or 'none there'})")


def install_all(agents: dict[str, Agent], mirror: str, root: Path) -> dict[str, Path]:
    """Fetch, verify and unpack every agent into root; all downloads are checked before any unpacks."""
    files = {name: fetch(agent, mirror) for name, agent in sorted(agents.items())}
    return {name: unpack(agents[name], files[name], root) for name in sorted(files)}
