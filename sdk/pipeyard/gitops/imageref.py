"""Image references as a values file stores them: the repository exactly as written, a tag, a digest.

Unlike a pull, nothing is normalised (no docker.io/library/ prefix): the string
goes into a Deployment verbatim, so it must already be what the cluster pulls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError
from ..registry.reference import COMPONENT_PATTERN, DIGEST_PATTERN, TAG_PATTERN, is_host

# The distribution spec's grammar (distribution/reference), without normalisation.
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH = rf"{COMPONENT_PATTERN}(?:/{COMPONENT_PATTERN})*"
_DIGEST = rf"{DIGEST_PATTERN}|sha512:[a-f0-9]{{128}}"  # a values file may pin any digest the spec allows

REPOSITORY_RE = re.compile(rf"^(?:{_HOST}/)?{_PATH}$")
REFERENCE_RE = re.compile(rf"^(?P<repo>(?:{_HOST}/)?{_PATH})(?::(?P<tag>{TAG_PATTERN}))?(?:@(?P<digest>{_DIGEST}))?$")

EXAMPLE = "harbor.example.com/team/app:1.4.2@sha256:<64 hex digits>"


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


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
    if "/" not in value or not is_host(value.split("/", 1)[0]):
        # A cluster resolves a bare name against Docker Hub: almost never what a company chart wants.
        raise UsageError(f"{option} {value!r} names no registry host",
                         fix="prefix it with the registry, e.g. harbor.example.com/team/app")
    return value
