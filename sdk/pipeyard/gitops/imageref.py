"""Image references as a values file stores them: the repository exactly as written, a tag, a digest.

Unlike a pull, nothing is normalised (no docker.io/library/ prefix): the string
goes into a Deployment verbatim, so it must already be what the cluster pulls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

# The distribution spec's grammar (distribution/reference), without normalisation.
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}"

TAG_RE = re.compile(rf"^{_TAG}$")
REPOSITORY_RE = re.compile(rf"^(?:{_HOST}/)?{_PATH}$")
REFERENCE_RE = re.compile(rf"^(?P<repo>(?:{_HOST}/)?{_PATH})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")

EXAMPLE = "harbor.example.com/team/app:1.4.2@sha256:<64 hex digits>"


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


def _first_host_part(text: str) -> str:
    return text.split("/", 1)[0]


def parse_image(text: str, *, setting: str = "GITOPS_IMAGE") -> ImageRef:
    """REPOSITORY:TAG[@DIGEST]; the tag is required because it is what people read in the config repository."""
    value = (text or "").strip()
    match = REFERENCE_RE.match(value)
    if not match:
        raise UsageError(f"{setting}={value!r} is not a valid image reference",
                         fix=f"write REGISTRY/PATH:TAG[@sha256:DIGEST], e.g. {EXAMPLE}")
    if not match["tag"]:
        raise UsageError(f"{setting}={value!r} has no tag",
                         fix=f"add the tag the image was published under, e.g. {EXAMPLE}")
    return ImageRef(match["repo"], match["tag"], match["digest"] or "")


def check_repository(text: str, *, option: str = "--image") -> str:
    """A bare repository (no tag, no digest), as `chart init --image` takes it."""
    value = (text or "").strip()
    if "@" in value or ":" in value.rsplit("/", 1)[-1] or not REPOSITORY_RE.match(value):
        raise UsageError(f"{option} {value!r} is not an image repository",
                         fix="write REGISTRY/PATH without tag or digest, e.g. harbor.example.com/team/app")
    if "/" not in value or not any(c in _first_host_part(value) for c in ".:") and _first_host_part(value) != "localhost":
        # A cluster resolves a bare name against Docker Hub: almost never what a company chart wants.
        raise UsageError(f"{option} {value!r} names no registry host",
                         fix="prefix it with the registry, e.g. harbor.example.com/team/app")
    return value
