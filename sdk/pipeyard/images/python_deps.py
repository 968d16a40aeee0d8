"""The third-party Python packages of a provider, hash-pinned in providers/<name>/requirements.txt.

Debian ships the kit's libraries (click, requests, yaml...). What it does not ship
(yagmail, playwright, pysonar and their dependencies) is pinned, one file per provider
(provider.yaml python.requires), by `python -m pipeyard.images.pins`. The host downloads those wheels with
its own pip settings (index, proxy, CA) and verifies every digest; the image build
then installs them with `pip --no-index --require-hashes`, never touching the network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeyard.images.download import verify
from pipeyard.model.provider import Provider
from pipeyard_kit.errors import BuildError

REQUIREMENTS_FILE = "requirements.txt"
# The Python and glibc each Debian release ships: what the wheels must fit.
DEBIAN_PYTHON = {"trixie": ("3.13", 41), "bookworm": ("3.11", 36)}
ARCHES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: tuple[str, ...]

    def line(self) -> str:
        hashes = "".join(f" \\\n    --hash=sha256:{h}" for h in self.hashes)
        return f"{self.name}=={self.version}{hashes}\n"


def parse_pins(text: str, source: str) -> list[Pin]:
    pins = []
    for n, logical in enumerate(re.sub(r"\\\n", " ", text).splitlines(), 1):
        logical = logical.split("#", 1)[0].strip()
        if not logical:
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)((?:\s+--hash=sha256:[0-9a-f]{64})+)\s*$", logical)
        if not m:
            raise BuildError(f"{source}: line {n} is not `name==version --hash=sha256:...`",
                             fix="regenerate the file with `python -m pipeyard.images.pins`")
        hashes = tuple(re.findall(r"sha256:([0-9a-f]{64})", m.group(3)))
        pins.append(Pin(m.group(1), m.group(2), hashes))
    return pins


def requirements_file(provider: Provider) -> Path:
    return provider.path / REQUIREMENTS_FILE


def pins_for(root: Path, provider: Provider) -> list[Pin]:
    """Every pin of the provider's requirements.txt; none for a provider without Python requirements."""
    path = requirements_file(provider)
    rel = path.relative_to(root) if path.is_relative_to(root) else path
    if not path.is_file():
        if provider.python_requires:
            raise BuildError(f"{rel} is missing: the image needs the pinned packages of python.requires",
                             fix=f"run `python -m pipeyard.images.pins {provider.name}`")
        return []
    return parse_pins(path.read_text(encoding="utf-8"), str(rel))


def platform_args(release: str, arch: str) -> list[str]:
    """pip's --python-version/--platform flags for a Debian release's Python on this arch."""
    python, glibc_minor = DEBIAN_PYTHON[release]
    machine = ARCHES.get(arch, arch)
    abi = "cp" + python.replace(".", "")
    args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp", "--abi", abi]
    # pip does not widen a manylinux tag to older glibc versions by itself.
    tags = [f"manylinux_2_{m}_{machine}" for m in range(glibc_minor, 4, -1)]
    tags += [f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    for tag in tags:
        args += ["--platform", tag]
    return args


def _wheel_key(filename: str) -> tuple[str, str]:
    name, version = filename.split("-")[:2]
    return normalize(name), version


def _cached(pins: list[Pin], cache: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    wanted = {(normalize(p.name), p.version): p for p in pins}
    for wheel in cache.glob("*.whl"):
        pin = wanted.get(_wheel_key(wheel.name))
        if pin is not None:
            try:
                verify(wheel, pin.hashes)
            except BuildError:
                wheel.unlink()
                continue
            found[normalize(pin.name)] = wheel
    return found


def wheelhouse(pins: list[Pin], dest: Path, cache: Path, *, release: str, arch: str) -> list[Path]:
    """Put a verified wheel for every pin in dest, downloading only what the cache lacks."""
    dest.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    have = _cached(pins, cache)
    missing = [p for p in pins if normalize(p.name) not in have]
    if missing:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
            req.write("".join(p.line() for p in missing))
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
               "--disable-pip-version-check", "-d", str(cache), *platform_args(release, arch), "-r", req.name]
        out = subprocess.run(cmd, capture_output=True, text=True)
        Path(req.name).unlink()
        if out.returncode != 0:
            errors = [ln for ln in out.stderr.splitlines() if "ERROR" in ln or "THESE PACKAGES" in ln][:4]
            raise BuildError(f"pip could not download the pinned wheels {', '.join(p.name for p in missing)}: "
                             f"{' / '.join(errors) or out.stderr.strip()[-300:]}",
                             fix="check pip's index and proxy settings (pip config list), or repin with "
                                 "`python -m pipeyard.images.pins`")
        have = _cached(pins, cache)
    placed = []
    for pin in pins:
        wheel = have.get(normalize(pin.name))
        if wheel is None:
            raise BuildError(f"no wheel of {pin.name}=={pin.version} fits Debian {release}'s Python on {arch}",
                             fix="repin with `python -m pipeyard.images.pins` on this architecture")
        target = dest / wheel.name
        shutil.copy2(wheel, target)
        placed.append(target)
    (dest / "requirements.txt").write_text("".join(p.line() for p in pins), encoding="utf-8")
    return placed
