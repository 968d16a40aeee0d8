"""Image references and push targets, parsed the way docker and podman read them."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from pipeyard_kit.errors import UsageError
from pipeyard_kit.refs import COMPONENT, DIGEST, TAG, is_host

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def default_scheme(host: str) -> str:
    """Plain HTTP for loopback registries and hosts listed in PIPEYARD_PLAIN_HTTP; HTTPS otherwise."""
    plain = {h.strip() for h in os.environ.get("PIPEYARD_PLAIN_HTTP", "").split(",") if h.strip()}
    return "http" if is_loopback(host) or host in plain else "https"


def _split_scheme(text: str) -> tuple[str | None, str]:
    for scheme in ("http", "https"):
        if text.startswith(f"{scheme}://"):
            return scheme, text[len(scheme) + 3:]
    return None, text


def check_components(repository: str, given: str) -> None:
    for part in repository.split("/"):
        if not COMPONENT.match(part):
            raise UsageError(f"'{given}': '{part}' is not a valid repository name component",
                             fix="use lowercase letters, digits and single . _ - separators")


@dataclass(frozen=True)
class Reference:
    """registry/repository[:tag][@digest]"""

    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    scheme: str | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        given = text
        scheme, text = _split_scheme(text.strip())
        digest = None
        if "@" in text:
            text, digest = text.split("@", 1)
            if not DIGEST.match(digest):
                raise UsageError(f"'{given}': '{digest}' is not a sha256 digest",
                                 fix="write the digest as sha256:<64 hex digits>")
        tag = None
        last = text.rsplit("/", 1)[-1]
        if ":" in last:
            text, tag = text.rsplit(":", 1)
            if not TAG.match(tag):
                raise UsageError(f"'{given}': '{tag}' is not a valid tag",
                                 fix="tags are up to 128 letters, digits, '_', '.' and '-'")
        parts = text.split("/")
        if len(parts) > 1 and is_host(parts[0]):
            host, repository = parts[0], "/".join(parts[1:])
        else:
            host, repository = DOCKER_HUB, text
        if host == DOCKER_HUB and "/" not in repository:
            repository = f"library/{repository}"
        if not repository:
            raise UsageError(f"'{given}' names no repository", fix="write registry/project/repository:tag")
        check_components(repository, given)
        if tag is None and digest is None:
            tag = "latest"
        return cls(host, repository, tag, digest, scheme)

    @property
    def api_host(self) -> str:
        """Docker Hub's name and its API host differ; every other registry serves under its own name."""
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def reference(self) -> str:
        """What the manifest endpoint takes: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = f"{self.host}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


@dataclass(frozen=True)
class Target:
    """Where images go: HOST[:PORT][/PREFIX]; a repository name is appended to PREFIX."""

    host: str
    prefix: str
    scheme: str

    @staticmethod
    def split(text: str) -> tuple[str | None, str, str]:
        """(scheme, host, prefix) without validation, for checks that must come first."""
        scheme, rest = _split_scheme(text.strip().rstrip("/"))
        host, _, prefix = rest.partition("/")
        return scheme, host, prefix

    @classmethod
    def parse(cls, text: str, *, option: str = "--registry", need_prefix: bool = True) -> Target:
        scheme, host, prefix = cls.split(text)
        if not host or not is_host(host):
            raise UsageError(f"{option} {text!r} does not start with a registry host",
                             fix=f"write {option} HOST[:PORT]/PROJECT, e.g. 127.0.0.1:5000/pipeyard")
        if need_prefix and not prefix:
            raise UsageError(f"{option} {text!r} names no project",
                             fix=f"write {option} HOST[:PORT]/PROJECT, e.g. {host}/pipeyard")
        if prefix:
            check_components(prefix, text)
        return cls(host, prefix, scheme or default_scheme(host))

    @property
    def project(self) -> str:
        return self.prefix.split("/", 1)[0]

    def repository(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def __str__(self) -> str:
        return f"{self.host}/{self.prefix}" if self.prefix else self.host
