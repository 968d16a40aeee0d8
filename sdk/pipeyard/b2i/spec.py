"""b2i/b2i.yaml, read and checked: the variants, the fonts and the pinned agents of the B2I base image.

Every problem in the file is collected and reported at once, each naming its key and the fix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeyard_kit.errors import ConfigError, UsageError
from pipeyard_kit.yamlio import load_yaml

MIRROR_ENV = "B2I_MIRROR_URL"
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
UNPACK = ("zip", "tgz", "none")
AGENTS = ("arthas", "skywalking", "jmx_exporter")


@dataclass(frozen=True)
class Variant:
    name: str
    release: str
    jdk: str
    packages: tuple[str, ...]
    description: str = ""
    # Debian suites besides the release the packages come from (sid), at a lower apt priority.
    suites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agent:
    name: str
    version: str
    path: str
    sha256: str
    unpack: str
    install: str
    strip: str = ""
    optional_plugins: tuple[str, ...] = ()
    upstream: str = ""

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def url(self, mirror: str) -> str:
        return f"{mirror.rstrip('/')}/{self.path.lstrip('/')}"


@dataclass(frozen=True)
class Setting:
    env: str
    description: str
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class B2ISpec:
    path: Path
    name: str
    image: str
    mirror: str
    user: int
    default_variant: str
    variants: dict[str, Variant]
    font_packages: tuple[str, ...]
    agents: dict[str, Agent]
    settings: tuple[Setting, ...]

    @property
    def folder(self) -> Path:
        return self.path.parent

    def variant(self, name: str | None) -> Variant:
        name = name or self.default_variant
        if name not in self.variants:
            raise UsageError(f"unknown B2I variant '{name}'", fix=f"use one of: {', '.join(sorted(self.variants))}")
        return self.variants[name]

    def local_ref(self, variant: Variant) -> str:
        """The base image in the local store; `pipeyard publish`-style pushes rename it per registry."""
        return f"localhost/{self.image}:{variant.name}"

    def with_mirror(self, mirror: str | None) -> str:
        return (mirror or os.environ.get(MIRROR_ENV) or self.mirror).rstrip("/")


def default_path(root: Path) -> Path:
    return root / "b2i" / "b2i.yaml"


def _text(data: dict[str, Any], key: str, where: str, problems: list[str], *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            problems.append(f"{where}.{key} is missing: add it")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.append(f"{where}.{key}: expected text, got {type(value).__name__}: quote the value")
        return ""
    return str(value)


def _list(data: dict[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}.{key}: expected a list of names: write [a, b]")
        return ()
    return tuple(value)


def _agent(name: str, data: Any, problems: list[str]) -> Agent | None:
    where = f"agents.{name}"
    if not isinstance(data, dict):
        problems.append(f"{where}: expected a mapping with version, path, sha256, unpack and install")
        return None
    sha = _text(data, "sha256", where, problems).lower()
    if sha and not SHA256.match(sha):
        problems.append(f"{where}.sha256 '{sha}' is not 64 hex digits: paste the file's sha256sum")
    unpack = _text(data, "unpack", where, problems)
    if unpack and unpack not in UNPACK:
        problems.append(f"{where}.unpack '{unpack}' is not one of {', '.join(UNPACK)}: fix it")
    install = _text(data, "install", where, problems)
    if install.startswith("/") or ".." in install.split("/"):
        problems.append(f"{where}.install '{install}' must be a path inside /opt/b2i: drop the leading / or ..")
    return Agent(name=name, version=_text(data, "version", where, problems), path=_text(data, "path", where, problems),
                 sha256=sha, unpack=unpack, install=install, strip=_text(data, "strip", where, problems, required=False),
                 optional_plugins=_list(data, "optional_plugins", where, problems),
                 upstream=_text(data, "upstream", where, problems, required=False))


def _provider_jdk(path: Path, provider_name: str, jdk: str, where: str,
                  problems: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The JDK a provider's variant installs (jdk_of: maven, jdk: "8" -> maven's jdk8): the same package,
    pin and suite, so the apps run on the JDK they were built with, and `pipeyard updates` moves both."""
    from pipeyard.model import tools
    from pipeyard.model.provider import load_provider, repo_root
    from pipeyard_kit.errors import PipeyardError

    try:
        # The checkout the file lies in, else the one pipeyard runs in (a copy of b2i/ elsewhere).
        try:
            root = repo_root(path.parent)
        except PipeyardError:
            root = repo_root()
        provider = load_provider(root, provider_name)
        variant = provider.variant(jdk)
    except PipeyardError as exc:
        problems.append(f"{where}.jdk_of: {exc.render()}")
        return (), ()
    tool = variant.tools.get("jdk")
    if tool is None or tool.get("source") != "debian":
        problems.append(f"{where}.jdk_of: {provider_name}'s {variant.name} has no Debian jdk tool: list packages instead")
        return (), ()
    return (tools.apt_spec(tool),), ((tool["suite"],) if tool.get("suite") else ())


def apt_sources(suites: tuple[str, ...]) -> tuple[str, ...]:
    """The suites apt needs for these: a security suite brings its release (bookworm-security: bookworm too)."""
    found: list[str] = []
    for suite in suites:
        if suite.endswith("-security"):
            found.append(suite.removesuffix("-security"))
        found.append(suite)
    return tuple(dict.fromkeys(found))


def parse(path: Path, data: Any) -> B2ISpec:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level", fix="see b2i/b2i.yaml in pipeyard")
    problems: list[str] = []
    variants: dict[str, Variant] = {}
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, dict) or not raw_variants:
        problems.append("variants is missing: declare at least one, e.g. 21-trixie")
        raw_variants = {}
    for name, v in raw_variants.items():
        where = f"variants.{name}"
        if not isinstance(v, dict):
            problems.append(f"{where}: expected a mapping with release, jdk and packages (or jdk_of)")
            continue
        jdk = _text(v, "jdk", where, problems)
        if v.get("jdk_of"):
            packages, suites = _provider_jdk(path, str(v["jdk_of"]), jdk, where, problems)
        else:
            packages, suites = _list(v, "packages", where, problems), ()
        variants[name] = Variant(name=name, release=_text(v, "release", where, problems), jdk=jdk, packages=packages,
                                 description=_text(v, "description", where, problems, required=False), suites=suites)
    default_variant = _text(data, "default_variant", "(top level)", problems)
    if default_variant and variants and default_variant not in variants:
        problems.append(f"default_variant '{default_variant}' is not a variant: use one of {', '.join(variants)}")
    agents: dict[str, Agent] = {}
    raw_agents = data.get("agents") if isinstance(data.get("agents"), dict) else {}
    for name in AGENTS:
        if name not in raw_agents:
            problems.append(f"agents.{name} is missing: pin its version, path and sha256")
    for name, a in raw_agents.items():
        if name not in AGENTS:
            problems.append(f"agents.{name}: unknown agent: use one of {', '.join(AGENTS)}")
            continue
        agent = _agent(name, a, problems)
        if agent:
            agents[name] = agent
    settings = []
    for i, s in enumerate(data.get("settings") or []):
        if not isinstance(s, dict) or not s.get("env"):
            problems.append(f"settings[{i}]: expected a mapping with env and description")
            continue
        default = s.get("default")
        settings.append(Setting(env=str(s["env"]), description=str(s.get("description", "")),
                                default=None if default is None else str(default), required=bool(s.get("required"))))
    fonts = data.get("fonts") if isinstance(data.get("fonts"), dict) else {}
    font_packages = _list(fonts, "packages", "fonts", problems)
    user = data.get("user", 10001)
    if not isinstance(user, int) or isinstance(user, bool) or user <= 0:
        problems.append(f"user: {user!r} is not a numeric non-root uid: use e.g. 10001")
        user = 10001
    image = _text(data, "image", "(top level)", problems)
    mirror = _text(data, "mirror", "(top level)", problems)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    return B2ISpec(path=path, name=_text(data, "name", "(top level)", []) or "b2i-java", image=image, mirror=mirror, user=user, default_variant=default_variant,
                   variants=variants, font_packages=font_packages, agents=agents, settings=tuple(settings))


def load(path: Path) -> B2ISpec:
    return parse(path, load_yaml(path, what="b2i file"))
