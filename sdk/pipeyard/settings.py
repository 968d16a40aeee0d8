"""Runtime settings of a provider CLI, resolved and validated from the environment.

The list of settings is generated from provider.yaml (generated/providers.json), so
the entrypoints never keep a second list by hand. Precedence, highest first:

1. an explicit override (a CLI flag),
2. the job's environment (CI/CD variables; empty counts as unset),
3. the site default baked into the image (/etc/pipeyard/site.json),
4. the provider.yaml default.

Secrets also accept <NAME>_FILE, are never taken from the site file, and are
masked by show().
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError

SITE_FILE_ENV = "PIPEYARD_SITE_FILE"
DEFAULT_SITE_FILE = "/etc/pipeyard/site.json"
MASK = "********"
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@cache
def _catalog() -> dict[str, Any]:
    text = resources.files("pipeyard").joinpath("generated/providers.json").read_text(encoding="utf-8")
    return json.loads(text)["providers"]


def declared(provider: str) -> list[dict[str, Any]]:
    try:
        return _catalog()[provider]["settings"]
    except KeyError:
        raise ConfigError(f"pipeyard knows no provider '{provider}'", fix="run `make render` after adding it") from None


def _site_defaults(env: Mapping[str, str]) -> dict[str, Any]:
    path = Path(env.get(SITE_FILE_ENV) or DEFAULT_SITE_FILE)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"site file {path} is unreadable ({exc})",
                          fix=f"rebuild the image or point {SITE_FILE_ENV} at a valid file") from None
    return dict(data.get("defaults", {}))


def split_list(value: str) -> list[str]:
    """Comma- or semicolon-separated lists, as people paste them into CI variables."""
    return [p.strip() for p in re.split(r"[,;]", value) if p.strip()]


def _fix(spec: dict[str, Any]) -> str:
    name = spec["env"]
    if spec.get("secret"):
        return f"set {name} or {name}_FILE in the project's CI/CD variables"
    return f"set {name} in the job's variables or the project's CI/CD variables"


def _convert(spec: dict[str, Any], raw: Any, source: str) -> tuple[Any, str | None]:
    name, kind = spec["env"], spec["type"]
    text = str(raw).strip() if not isinstance(raw, bool) else ("true" if raw else "false")
    if kind == "integer":
        try:
            return int(text), None
        except ValueError:
            return None, f"{name}={text!r} ({source}) is not a whole number: {_fix(spec)} to a number"
    if kind == "boolean":
        low = text.lower()
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return None, f"{name}={text!r} ({source}) is not a boolean: use true or false"
    if kind == "enum":
        if text not in spec["options"]:
            return None, f"{name}={text!r} ({source}) is not allowed: use one of {', '.join(spec['options'])}"
        return text, None
    if kind == "url":
        if not re.match(r"^https?://[^\s/]+", text):
            shown = MASK if spec.get("secret") else repr(text)
            return None, f"{name}={shown} ({source}) is not an http(s) URL: use e.g. https://host/path"
        return text.rstrip("/"), None
    if kind == "email-list":
        addresses = split_list(text)
        bad = [a for a in addresses if not _EMAIL.match(a)]
        if bad:
            return None, f"{name} ({source}) has invalid address(es) {', '.join(bad)}: use name@example.com, separated by , or ;"
        return addresses, None
    return text, None


@dataclass(frozen=True)
class Settings(Mapping[str, Any]):
    provider: str
    data: dict[str, Any]
    sources: dict[str, str]
    secrets: frozenset[str]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def origin(self, name: str) -> str:
        """Where a value came from, for messages (never the value): the variable itself when
        it was set directly, else its source (NAME_FILE, the site file, the default)."""
        source = self.sources.get(name, "unset")
        return name if source in ("environment", "flag") else source

    def show(self) -> list[tuple[str, str, str]]:
        """(name, value, source) rows with every secret masked."""
        rows = []
        for name, value in sorted(self.data.items()):
            if value is None:
                shown = ""
            elif name in self.secrets:
                shown = MASK
            elif isinstance(value, list):
                shown = ", ".join(value)
            else:
                shown = str(value).lower() if isinstance(value, bool) else str(value)
            rows.append((name, shown, self.sources.get(name, "unset")))
        return rows


def _read_secret_file(spec: dict[str, Any], path_text: str) -> tuple[str | None, str | None]:
    name = spec["env"]
    try:
        return Path(path_text).read_text(encoding="utf-8").strip(), None
    except OSError as exc:
        return None, f"{name}_FILE={path_text} cannot be read ({exc.strerror}): point {name}_FILE at a readable file"


def load(provider: str, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None,
         *, require: bool = True) -> Settings:
    """Resolve every declared setting; collect all problems, then raise once."""
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    site = _site_defaults(env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    secrets = set()
    for spec in declared(provider):
        name = spec["env"]
        raw: Any = None
        source = "unset"
        if spec.get("secret"):
            secrets.add(name)
        if name in overrides:
            raw, source = overrides[name], "flag"
        elif env.get(name, "") != "":
            raw, source = env[name], "environment"
        elif spec.get("secret") and env.get(f"{name}_FILE", "") != "":
            raw, problem = _read_secret_file(spec, env[f"{name}_FILE"])
            source = f"{name}_FILE"
            if problem:
                problems.append(problem)
                continue
        elif not spec.get("secret") and site.get(name) not in (None, ""):
            raw, source = site[name], "site"
        elif spec.get("default") is not None:
            raw, source = spec["default"], "default"
        if raw is None or raw == "":
            if spec.get("required") and require:
                problems.append(f"{name} is not set: {_fix(spec)}")
            values[name], sources[name] = None, "unset"
            continue
        value, problem = _convert(spec, raw, source)
        if problem:
            problems.append(problem)
        values[name], sources[name] = value, source
    if problems:
        raise ConfigError(problems)
    return Settings(provider=provider, data=values, sources=sources, secrets=frozenset(secrets))
