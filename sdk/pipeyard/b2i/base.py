"""`pipeyard b2i base`: the B2I Java base image for one variant of b2i/b2i.yaml.

The context is staged in a scratch folder: b2i/ as it is (its rootfs/ holds the launcher), the
verified agents, and the licensed fonts only when asked for (the private `licensed` target).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeyard.b2i import imaging
from pipeyard.b2i.agents import install_all
from pipeyard.b2i.spec import B2ISpec, Variant, apt_sources
from pipeyard.images.containers import Engine
from pipeyard.images.progress import BuildBoard
from pipeyard_kit.b2i.request import LABEL_PREFIX
from pipeyard_kit.errors import UsageError

FONT_SUFFIXES = (".ttf", ".ttc", ".otf")


@dataclass(frozen=True)
class BaseResult:
    ref: str
    image_id: str
    licensed: bool


def base_image_ref(base_registry: str, variant: Variant) -> str:
    return f"{base_registry.rstrip('/')}/debian:{variant.release}"


def licensed_fonts(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"--licensed-fonts {folder}: no such folder", fix="pass the folder holding the font files")
    fonts = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in FONT_SUFFIXES)
    if not fonts:
        raise UsageError(f"--licensed-fonts {folder} holds no .ttf, .ttc or .otf file",
                         fix="copy the company's licensed fonts there first (see b2i/licensed-fonts/README.md)")
    return fonts


def stage(spec: B2ISpec, mirror: str, dest: Path, fonts: list[Path] | None = None) -> Path:
    """The build context: Dockerfile, rootfs/ (with the launcher), agents/, licensed-fonts/."""
    shutil.copyfile(spec.folder / "Dockerfile", dest / "Dockerfile")
    shutil.copytree(spec.folder / "rootfs", dest / "rootfs", symlinks=True)
    (dest / "agents").mkdir()
    install_all(spec.agents, mirror, dest / "agents")
    (dest / "licensed-fonts").mkdir()
    for font in fonts or []:
        shutil.copyfile(font, dest / "licensed-fonts" / font.name)
    return dest


def build_base(eng: Engine, spec: B2ISpec, variant: Variant, *, board: BuildBoard, root: Path,
               mirror: str | None = None, base_registry: str = "localhost/pipeyard",
               fonts_folder: Path | None = None) -> BaseResult:
    fonts = licensed_fonts(fonts_folder) if fonts_folder else None
    mirror = spec.with_mirror(mirror)
    ref = spec.local_ref(variant) + ("-licensed" if fonts else "")
    labels = {
        **imaging.oci_labels(root, spec.name),
        f"{LABEL_PREFIX}.variant": variant.name,
        f"{LABEL_PREFIX}.jdk": variant.jdk,
        f"{LABEL_PREFIX}.jdk-packages": " ".join(variant.packages),
        f"{LABEL_PREFIX}.licensed-fonts": "true" if fonts else "false",
        **{f"{LABEL_PREFIX}.agent.{name}": agent.version for name, agent in sorted(spec.agents.items())},
    }
    buildargs = {
        "BASE_IMAGE": base_image_ref(base_registry, variant),
        "JDK_PACKAGES": " ".join(variant.packages),
        "APT_SUITES": " ".join(apt_sources(variant.suites)),
        "FONT_PACKAGES": " ".join(spec.font_packages),
        "APP_UID": str(spec.user),
    }
    with tempfile.TemporaryDirectory(prefix="b2i-base-", dir=eng.config.tmp_dir if eng.config.tmp_dir.is_dir() else None) as tmp:
        context = stage(spec, mirror, Path(tmp), fonts)
        image_id = imaging.build(eng, context, ref, board=board, name=f"b2i-java:{variant.name}",
                                 buildargs=buildargs, target="licensed" if fonts else "public", labels=labels)
    return BaseResult(ref=ref, image_id=image_id, licensed=bool(fonts))
