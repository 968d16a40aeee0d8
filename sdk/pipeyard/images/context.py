"""The build context of one provider image: its folder plus what pipeyard generates for it.

    Dockerfile, rootfs/, ...        the provider folder, as it is in the checkout; Dockerfile is the
                                    variant's (Dockerfile.<variant> for all but the default one)
    _pipeyard/wheels/               verified third-party wheels + requirements.txt (hash-pinned)
    _pipeyard/ca/                   the site's CA certificates (the runtime stage, so every tool trusts them)
    _pipeyard/site/                 /etc/pipeyard/site.json
    _pipeyard/wheel/                the freshly built pipeyard-kit and provider wheels
    _pipeyard/downloads/            the variant's npm-sourced tools, checked against their sha256

Every file gets the commit time as mtime, so an unchanged input gives an identical
COPY layer and the layer cache holds across checkouts and machines.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from pipeyard.model.provider import Provider
from pipeyard.model.site import Site

GENERATED = "_pipeyard"
SITE_CA_DIR = "usr/local/share/ca-certificates/pipeyard-site"


def _copy_provider(provider: Provider, dest: Path) -> None:
    shutil.copytree(provider.path, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", GENERATED))
    # Every Dockerfile ends with `COPY rootfs/ /`: a provider with no files of its own still builds.
    (dest / "rootfs").mkdir(exist_ok=True)


def _write_site(provider: Provider, site: Site, dest: Path, ca_dest: Path) -> None:
    etc = dest / "etc" / "pipeyard"
    etc.mkdir(parents=True)
    # Only this provider's non-secret settings: Site.defaults_for drops secrets even if a file had them.
    (etc / "site.json").write_text(site.baked_json(provider), encoding="utf-8")
    ca_dir = ca_dest / SITE_CA_DIR
    ca_dir.mkdir(parents=True)
    for n, pem in enumerate(site.ca_certificates, 1):
        (ca_dir / f"site-{n:02d}.crt").write_text(pem, encoding="utf-8")


def _pin_mtimes(root: Path, epoch: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (epoch, epoch), follow_symlinks=False)
    os.utime(root, (epoch, epoch))


def assemble(provider: Provider, dest: Path, *, site: Site, own_wheels: list[Path], wheels: Path,
             epoch: int, dockerfile: str = "Dockerfile",
             stage_downloads: Callable[[Path], object] | None = None) -> Path:
    """Write the context of provider into dest (which must not exist) and return it."""
    _copy_provider(provider, dest)
    if dockerfile != "Dockerfile":
        shutil.copyfile(provider.path / dockerfile, dest / "Dockerfile")
    gen = dest / GENERATED
    (gen / "downloads").mkdir(parents=True)
    if stage_downloads is not None:
        stage_downloads(gen / "downloads")
    shutil.copytree(wheels, gen / "wheels")
    (gen / "wheel").mkdir(parents=True)
    for wheel in own_wheels:
        shutil.copy2(wheel, gen / "wheel" / wheel.name)
    _write_site(provider, site, gen / "site", gen / "ca")
    _pin_mtimes(dest, epoch)
    return dest
