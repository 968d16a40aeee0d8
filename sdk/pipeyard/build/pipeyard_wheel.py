"""The pipeyard wheel that goes into every image, built fresh from the checkout.

The wheel is built from a clean copy of the sources (no __pycache__, no egg-info,
no build/ left in the checkout) with SOURCE_DATE_EPOCH set to the commit time, and
cached by a digest of those sources: an unchanged tree reuses the same bytes, so
the image layer that installs it stays cached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import BuildError

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "sdk/pipeyard")
_SKIP = {"__pycache__", ".pytest_cache"}
STALE_AFTER = 24 * 3600


def _files(root: Path) -> list[Path]:
    files = []
    for entry in SOURCES:
        path = root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in sorted(path.rglob("*"))
                      if p.is_file() and not _SKIP.intersection(p.relative_to(root).parts)
                      and p.suffix not in (".pyc", ".pyo")]
    return files


def source_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_wheel(root: Path, cache: Path, *, epoch: int) -> Path:
    """Return a wheel of the checkout at root, building it only when the sources changed."""
    key = source_digest(root)[:20]
    out_dir = cache / key
    existing = sorted(out_dir.glob("pipeyard-*.whl"))
    if existing:
        os.utime(out_dir)
        return existing[0]
    with tempfile.TemporaryDirectory(prefix="pipeyard-wheel-", dir=cache.parent if cache.parent.is_dir() else None) as tmp:
        src = Path(tmp) / "src"
        for path in _files(root):
            target = src / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "PIP_NO_INPUT": "1"}
        staging = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
               "--wheel-dir", str(staging), str(src)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
        wheels = sorted(staging.glob("pipeyard-*.whl"))
        if out.returncode != 0 or not wheels:
            tail = " / ".join(ln.strip() for ln in (out.stderr or out.stdout).splitlines()[-4:])
            raise BuildError(f"building the pipeyard wheel from {root} failed: {tail}",
                             fix="run `pip wheel --no-deps .` in the checkout to see the full error")
        out_dir.mkdir(parents=True, exist_ok=True)
        final = out_dir / wheels[0].name
        shutil.move(str(wheels[0]), final)
    _prune(cache, keep=out_dir)
    return final


def _prune(cache: Path, keep: Path) -> None:
    # Wheels of old source trees are dead weight, but a build running at the same time may be
    # using one: only those unused for a day go.
    cutoff = time.time() - STALE_AFTER
    for other in cache.iterdir():
        if other.is_dir() and other != keep and other.stat().st_mtime < cutoff:
            shutil.rmtree(other, ignore_errors=True)
