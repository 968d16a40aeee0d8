"""Runtime settings of a provider CLI, resolved and validated from the environment.

The list of settings is generated from provider.yaml into the provider's own package
(pipeyard_<name>/provider.json), so the entrypoints never keep a second list by hand. Precedence, highest first:

1. an explicit override (a CLI flag),
2. the job's environment (CI/CD variables; empty counts as unset),
3. the site default baked into the image (/etc/pipeyard/site.json),
4. the provider.yaml default.

Secrets also accept <NAME>_FILE, are never taken from the site file, and are
masked by show().
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from pipeyard_kit import secrets, urls
from pipeyard_kit.errors import ConfigError

# The tool wrappers load this module on the first call of every job: typing (and dataclasses, which
# imports inspect) would cost that call several milliseconds, so neither is imported at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SITE_FILE_ENV = "PIPEYARD_SITE_FILE"
DEFAULT_SITE_FILE = "/etc/pipeyard/site.json"
MASK = "********"
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+\Z")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


SPEC_FILE = "provider.json"


def package_of(provider: str) -> str:
    """The Python package of a provider: providers/<name>/pipeyard_<name with _ for ->/."""
    return "pipeyard_" + provider.replace("-", "_")


def spec_file(provider: str) -> Path | None:
    """The provider's generated provider.json, where the installed package has it."""
    # find_spec, not importlib.resources: this runs on a tool wrapper's first call in every job, and
    # importlib.resources alone costs more than the rest of the lookup.
    found = importlib.util.find_spec(package_of(provider))
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / SPEC_FILE
    return path if path.is_file() else None


@cache
def spec(provider: str) -> dict[str, Any]:
    path = spec_file(provider)
    if path is None:
        raise ConfigError(f"pipeyard knows no provider '{provider}' here ({package_of(provider)}/{SPEC_FILE} "
                          "is not installed)", fix=f"install pipeyard-{provider}, or run `make render` after adding it")
    return json.loads(path.read_text(encoding="utf-8"))


def declared(provider: str) -> list[dict[str, Any]]:
    return spec(provider)["settings"]


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
    via_input = f" (or the `{spec['input']}` input)" if spec.get("input") else ""
    return f"set {name} in the job's variables or the project's CI/CD variables{via_input}"


def applies(spec: dict[str, Any], command: str | None) -> bool:
    """Whether a setting belongs to this subcommand (provider.yaml `commands:`; none means every one)."""
    return command is None or command in spec.get("commands", [command])


def _subject(spec: dict[str, Any], source: str, shown: str) -> str:
    """How a message names the value: the flag a user typed, or the variable and where it came from."""
    if source == "flag":
        return f"--{spec.get('flag') or spec.get('input')} {shown}"
    return f"{spec['env']}={shown} ({source})"


def convert(spec: dict[str, Any], raw: Any, source: str) -> tuple[Any, str | None]:
    """(value, None), or (None, the problem naming the setting and the fix) for a value of this setting."""
    name, kind = spec["env"], spec["type"]
    text = str(raw).strip() if not isinstance(raw, bool) else ("true" if raw else "false")
    shown = MASK if spec.get("secret") else repr(text)
    if kind == "integer":
        low, high = spec.get("minimum"), spec.get("maximum")
        bounds = f" from {low} to {high}" if low is not None and high is not None else \
            (f" of at least {low}" if low is not None else (f" of at most {high}" if high is not None else ""))
        try:
            number = int(text)
        except ValueError:
            return None, f"{_subject(spec, source, shown)} is not a whole number: use a whole number{bounds}"
        if (low is not None and number < low) or (high is not None and number > high):
            return None, f"{_subject(spec, source, str(number))} is out of range: use a whole number{bounds}"
        return number, None
    if kind == "boolean":
        low = text.lower()
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return None, f"{_subject(spec, source, shown)} is not a boolean: use true or false"
    if kind == "enum":
        if text not in spec["options"]:
            return None, f"{_subject(spec, source, shown)} is not allowed: use one of {', '.join(spec['options'])}"
        return text, None
    if kind == "url":
        why = urls.problem(text)
        if why == urls.CREDENTIALS:
            where = f"--{spec.get('flag') or spec.get('input')}" if source == "flag" else name
            given = "" if source == "flag" else f" ({source})"
            return None, (f"{where} carries credentials in the URL{given}: remove the user:password@ part; "
                          "credentials come from the provider's user and token settings only")
        if why:
            shown = MASK if spec.get("secret") else repr(urls.masked(text))
            return None, f"{_subject(spec, source, shown)} is not an http(s) URL ({why}): use e.g. {urls.EXAMPLE}"
        return text.rstrip("/"), None
    if kind == "email-list":
        addresses = split_list(text)
        bad = [a for a in addresses if not _EMAIL.match(a)]
        if bad:
            where = f"--{spec.get('flag') or spec.get('input')}" if source == "flag" else f"{name} ({source})"
            return None, f"{where} has invalid address(es) {', '.join(bad)}: use name@example.com, separated by , or ;"
        return addresses, None
    return text, None


class FlagError(ConfigError):
    """Every problem is with a flag given on the command line: a usage error (exit 2), like click's own."""

    exit_code = 2


class Settings(Mapping):
    """The resolved values of one provider's settings (read-only), and where each came from."""

    __slots__ = ("provider", "data", "sources", "secrets")

    def __init__(self, provider: str, data: dict[str, Any], sources: dict[str, str], secrets: frozenset[str]):
        for name, value in (("provider", provider), ("data", data), ("sources", sources), ("secrets", secrets)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Settings are read-only ({name})")

    def __repr__(self) -> str:
        return f"Settings(provider={self.provider!r}, sources={self.sources!r})"

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def given_as(self, name: str) -> str:
        """How a message names where a value came from: the variable itself, or `NAME (from NAME_FILE)`,
        `NAME (site default)` and so on (never the value)."""
        source = self.sources.get(name, "unset")
        return name if source in ("environment", "flag") else f"{name} (from {source})"

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


def load(provider: str, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None,
         *, require: bool = True, command: str | None = None, exempt: frozenset[str] = frozenset()) -> Settings:
    """Resolve every declared setting; collect all problems, then raise once.

    Required settings are checked for `command` only (provider.yaml `commands:`), and not for the
    `exempt` ones, which this run does not need (no SMTP relay for a preview, say).
    """
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    site = _site_defaults(env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    from_flags = True
    secret_names = set()
    for spec in declared(provider):
        name = spec["env"]
        raw: Any = None
        source = "unset"
        if spec.get("secret"):
            secret_names.add(name)
        if name in overrides:
            raw, source = overrides[name], "flag"
        elif spec.get("secret") and (env.get(name, "") != "" or env.get(secrets.file_variable(name), "") != ""):
            try:
                raw, source = secrets.read(name, env)
            except secrets.SecretFileError as exc:
                problems.append(str(exc))
                from_flags = False
                continue
            source = "environment" if source == name else source
        elif env.get(name, "") != "":
            raw, source = env[name], "environment"
        elif not spec.get("secret") and site.get(name) not in (None, ""):
            raw, source = site[name], "site"
        elif spec.get("default") is not None:
            raw, source = spec["default"], "default"
        if raw is None or raw == "":
            if spec.get("required") and require and applies(spec, command) and name not in exempt:
                problems.append(f"{name} is not set: {_fix(spec)}")
                from_flags = False
            values[name], sources[name] = None, "unset"
            continue
        value, problem = convert(spec, raw, source)
        if problem:
            problems.append(problem)
            from_flags = from_flags and source == "flag"
        elif value == [] and spec.get("required") and require and applies(spec, command) and name not in exempt:
            problems.append(f"{name} ({source}) names nothing: {_fix(spec)}")
            from_flags = False
        values[name], sources[name] = value, source
    if problems:
        raise (FlagError if from_flags else ConfigError)(problems)
    return Settings(provider=provider, data=values, sources=sources, secrets=frozenset(secret_names))


def missing(resolved: Settings, *, command: str | None = None, exempt: frozenset[str] = frozenset()) -> list[str]:
    """The required settings this command lacks, for a CLI that loaded with require=False to collect its own
    problems first: the same lines load() would report."""
    return [f"{spec['env']} is not set: {_fix(spec)}" for spec in declared(resolved.provider)
            if spec.get("required") and applies(spec, command) and spec["env"] not in exempt
            and resolved.get(spec["env"]) in (None, "", [])]
