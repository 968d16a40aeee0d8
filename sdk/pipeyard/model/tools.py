"""What provider.yaml says about one tool, read the same way by render, build and `pipeyard updates`.

A tool is a plain mapping from provider.yaml (`tools:` or a variant's `tools:`):

    debian   apt installs `package`, pinned to `version` when that is an exact Debian version
             (8u504-ga-1, 3.9.9-1) and left to the archive when it is a release line ("21"); `suite`
             names another suite than the base release (sid, bookworm-security)
    npm      the npm package's tarball from the registry, checked against its sha256 and unpacked
             into `into`; `package` may name {arch}, with one sha256 per architecture
    download a file from `url`, checked against its sha256
"""

from __future__ import annotations

import re
from typing import Any

Tool = dict[str, Any]

# [epoch:]upstream-revision: what `apt-get install package=version` takes. A version without a
# revision ("21", "2.47", "debian") is a release line the archive fills in.
DEBIAN_EXACT = re.compile(r"^(\d+:)?\d[A-Za-z0-9.+~-]*-[A-Za-z0-9.+~]+\Z")
NPM_EXACT = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\Z")
# Debian's architecture names (the engine's, as `docker version` reports them) -> npm's.
NPM_ARCH = {"amd64": "x64", "x86_64": "x64", "arm64": "arm64", "aarch64": "arm64"}
DEFAULT_REGISTRY = "https://registry.npmjs.org"


def is_pinned(tool: Tool) -> bool:
    """An exact version (installed as is), not a release line the archive fills in."""
    version = str(tool.get("version", ""))
    if tool.get("source") == "debian":
        return bool(DEBIAN_EXACT.match(version))
    if tool.get("source") == "npm":
        return bool(NPM_EXACT.match(version))
    return True


def apt_spec(tool: Tool) -> str:
    """`package=version` for a pinned Debian tool, the bare package otherwise."""
    return f"{tool['package']}={tool['version']}" if is_pinned(tool) else tool["package"]


def npm_arch(engine_arch: str) -> str:
    arch = NPM_ARCH.get(engine_arch.lower())
    if arch is None:
        from pipeyard_kit.errors import BuildError

        raise BuildError(f"no npm builds are pinned for the engine's architecture {engine_arch}",
                         fix="build on x86_64 or aarch64")
    return arch


def npm_package(tool: Tool, arch: str) -> str:
    return str(tool["package"]).replace("{arch}", arch)


def npm_sha256(tool: Tool, arch: str) -> str | None:
    sha = tool.get("sha256")
    return sha.get(arch) if isinstance(sha, dict) else sha


def npm_file_name(tool: Tool, arch: str) -> str:
    """The tarball's name as the registry serves it: @yarnpkg/cli-dist 4.18.1 -> cli-dist-4.18.1.tgz."""
    return f"{npm_package(tool, arch).rsplit('/', 1)[-1]}-{tool['version']}.tgz"


def npm_tarball_url(tool: Tool, arch: str, registry: str = DEFAULT_REGISTRY) -> str:
    """The registry's own tarball URL layout (<registry>/<name>/-/<basename>-<version>.tgz), which npm
    mirrors (Nexus, Artifactory, verdaccio) keep."""
    return f"{registry.rstrip('/')}/{npm_package(tool, arch)}/-/{npm_file_name(tool, arch)}"


def label_version(tool: Tool) -> str:
    return str(tool.get("version", ""))
