"""The names pipeyard checks everywhere: image references and app names.

The grammar is the distribution spec's (distribution/reference): a repository path
component, a tag and a digest. The registry client (pipeyard_kit.registry)
normalises references the way docker pulls them; here, as a values file stores them,
nothing is normalised (no docker.io/library/ prefix): the string goes into a
Deployment verbatim, so it must already be what the cluster pulls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeyard_kit.errors import UsageError

COMPONENT_PATTERN = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
DIGEST_PATTERN = r"sha256:[a-f0-9]{64}"
COMPONENT = re.compile(rf"^{COMPONENT_PATTERN}\Z")
TAG = re.compile(rf"^{TAG_PATTERN}\Z")
DIGEST = re.compile(rf"^{DIGEST_PATTERN}\Z")
# An app's folder in the config repository and its Helm release name: a DNS-1123 label
# (Kubernetes names; Helm caps release names at 53 characters).
APP_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?\Z")
APP_NAME_MAX = 53


def is_host(part: str) -> bool:
    """Whether a reference's first part names a registry, as docker decides it."""
    return "." in part or ":" in part or part == "localhost"


_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH = rf"{COMPONENT_PATTERN}(?:/{COMPONENT_PATTERN})*"
_DIGEST = rf"{DIGEST_PATTERN}|sha512:[a-f0-9]{{128}}"  # a values file may pin any digest the spec allows

REPOSITORY_RE = re.compile(rf"^(?:{_HOST}/)?{_PATH}\Z")
REFERENCE_RE = re.compile(rf"^(?P<repo>(?:{_HOST}/)?{_PATH})(?::(?P<tag>{TAG_PATTERN}))?(?:@(?P<digest>{_DIGEST}))?\Z")

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
