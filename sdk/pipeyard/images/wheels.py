"""The two pipeyard wheels an image installs, built fresh from the checkout: pipeyard-kit
(sdk/kit/) and the provider's own distribution (providers/<name>/).

Each wheel is built from a clean copy of its sources (no __pycache__, no egg-info, no
build/ left in the checkout) with SOURCE_DATE_EPOCH set to the commit time, and cached
by a digest of those sources: an unchanged tree reuses the same bytes, so the image
layer that installs it stays cached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipeyard.model.provider import Provider
from pipeyard_kit.errors import BuildError

KIT = Path("sdk/kit")
_SKIP = {"__pycache__", ".pytest_cache", "build", "dist"}
STALE_AFTER = 24 * 3600


@dataclass(frozen=True)
class WheelSource:
    """A distribution's folder and the entries of it that make the wheel."""

    folder: Path
    entries: tuple[str, ...]
    name: str  # the wheel's file name prefix, e.g. pipeyard_kit

    @classmethod
    def kit(cls, root: Path) -> WheelSource:
        return cls(root / KIT, ("pyproject.toml", "pipeyard_kit"), "pipeyard_kit")

    @classmethod
    def provider(cls, provider: Provider) -> WheelSource:
        return cls(provider.path, ("pyproject.toml", provider.package), provider.distribution.replace("-", "_"))


def _files(source: WheelSource) -> list[Path]:
    files = []
    for entry in source.entries:
        path = source.folder / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in sorted(path.rglob("*"))
                      if p.is_file() and not _SKIP.intersection(p.relative_to(source.folder).parts)
                      and p.suffix not in (".pyc", ".pyo") and ".egg-info" not in str(p)]
    return files


def source_digest(source: WheelSource) -> str:
    digest = hashlib.sha256()
    for path in _files(source):
        digest.update(str(path.relative_to(source.folder)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_wheel(source: WheelSource, cache: Path, *, epoch: int) -> Path:
    """Return a wheel of the source, building it only when its files changed."""
    key = source_digest(source)[:20]
    out_dir = cache / source.name / key
    existing = sorted(out_dir.glob(f"{source.name}-*.whl"))
    if existing:
        os.utime(out_dir)
        return existing[0]
    with tempfile.TemporaryDirectory(prefix="pipeyard-wheel-", dir=cache.parent if cache.parent.is_dir() else None) as tmp:
        src = Path(tmp) / "src"
        for path in _files(source):
            target = src / path.relative_to(source.folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "PIP_NO_INPUT": "1"}
        staging = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
               "--wheel-dir", str(staging), str(src)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
        wheels = sorted(staging.glob(f"{source.name}-*.whl"))
        if out.returncode != 0 or not wheels:
            tail = " / ".join(ln.strip() for ln in (out.stderr or out.stdout).splitlines()[-4:])
            raise BuildError(f"building the {source.name} wheel from {source.folder} failed: {tail}",
                             fix=f"run `pip wheel --no-deps {source.folder}` to see the full error")
        out_dir.mkdir(parents=True, exist_ok=True)
        final = out_dir / wheels[0].name
        shutil.move(str(wheels[0]), final)
    _prune(cache / source.name, keep=out_dir)
    return final


def _prune(cache: Path, keep: Path) -> None:
    # Wheels of old source trees are dead weight, but a build running at the same time may be
    # using one: only those unused for a day go.
    cutoff = time.time() - STALE_AFTER
    for other in cache.iterdir():
        if other.is_dir() and other != keep and other.stat().st_mtime < cutoff:
            shutil.rmtree(other, ignore_errors=True)
