"""The provider model: providers/<name>/provider.yaml, validated and typed.

provider.yaml is the single source of truth. The templates, the entrypoints'
environment validation and the README tables are all generated from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import ModelError, UsageError
from .yamlio import load_yaml

# Files every provider folder must have: the same skeleton everywhere.
SKELETON = ("provider.yaml", "Dockerfile", "README.md", "tests/smoke.sh")

INPUT_TYPES = {"string": "string", "url": "string", "path": "string", "enum": "string",
               "email-list": "string", "integer": "number", "boolean": "boolean"}


@dataclass(frozen=True)
class Setting:
    env: str
    type: str
    description: str
    input: str | None = None
    default: Any = None
    options: tuple[str, ...] = ()
    required: bool = False
    secret: bool = False

    @property
    def input_type(self) -> str:
        return INPUT_TYPES[self.type]

    def to_json(self) -> dict[str, Any]:
        data = {"env": self.env, "type": self.type, "description": self.description,
                "required": self.required, "secret": self.secret}
        if self.input:
            data["input"] = self.input
        if self.default is not None:
            data["default"] = self.default
        if self.options:
            data["options"] = list(self.options)
        return data


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    stage: str
    when: str
    script: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Provider:
    name: str
    description: str
    path: Path
    image: dict[str, Any]
    tools: dict[str, dict[str, Any]]
    cli: tuple[str, ...]
    jobs: tuple[Job, ...]
    settings: tuple[Setting, ...]
    job_prefix: str

    @property
    def image_name(self) -> str:
        return self.image["name"]

    @property
    def base(self) -> str:
        return self.image["base"]

    @property
    def user(self) -> int:
        return self.image.get("user", 10001)

    def setting(self, env: str) -> Setting:
        for s in self.settings:
            if s.env == env:
                return s
        raise KeyError(env)


@cache
def provider_schema() -> dict[str, Any]:
    text = resources.files("pipeyard").joinpath("schemas/provider.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "".join(parts) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    """One line naming the key and the fix, not jsonschema's wall of text."""
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{_key_path(error)}: missing required key '{missing}': add it"
    if v == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else error.message
        allowed = sorted(error.schema.get("properties", {}))
        return f"{_key_path(error)}: unknown key '{extra}': remove it or use one of {', '.join(allowed)}"
    if v == "enum":
        return f"{_key_path(error)}: {error.instance!r} is not allowed: use one of {', '.join(map(str, error.validator_value))}"
    if v == "pattern":
        return f"{_key_path(error)}: {error.instance!r} does not match {error.validator_value}: rename it"
    if v == "type":
        return f"{_key_path(error)}: expected {error.validator_value}, got {type(error.instance).__name__}: change the value"
    if v == "not":
        return f"{_key_path(error)}: a secret setting takes no input and no default: remove them (secrets come from CI/CD variables only)"
    return f"{_key_path(error)}: {error.message}"


def _best_error(errors: list[jsonschema.ValidationError]) -> jsonschema.ValidationError:
    return jsonschema.exceptions.best_match(errors)


def parse_provider(path: Path, data: Any) -> Provider:
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a mapping at the top level", fix="see providers/maven/provider.yaml for the layout")
    errors = list(jsonschema.Draft202012Validator(provider_schema()).iter_errors(data))
    if errors:
        raise ModelError(f"{path}: {_describe(_best_error(errors))}")
    folder = path.parent.name
    if data["name"] != folder:
        raise ModelError(f"{path}: name: '{data['name']}' differs from its folder '{folder}': make them equal")
    settings = tuple(Setting(env=s["env"], type=s["type"], description=s["description"], input=s.get("input"),
                             default=s.get("default"), options=tuple(s.get("options", ())),
                             required=s.get("required", False), secret=s.get("secret", False))
                     for s in data["settings"])
    _check_settings(path, settings)
    _check_image_env(path, data["image"].get("env", {}), settings)
    jobs = tuple(Job(name=n, description=j["description"], stage=j["stage"], when=j["when"],
                     script=tuple(j["script"]),
                     extra={k: v for k, v in j.items() if k not in {"description", "stage", "when", "script"}})
                 for n, j in data["jobs"].items())
    return Provider(name=data["name"], description=data["description"], path=path.parent, image=data["image"],
                    tools=data["tools"], cli=tuple(data["cli"]), jobs=jobs, settings=settings,
                    job_prefix=data.get("job_prefix", data["name"]))


def _check_settings(path: Path, settings: tuple[Setting, ...]) -> None:
    seen_env: set[str] = set()
    seen_input: set[str] = set()
    reserved = {"stage", "job-prefix", "registry", "tags"}
    for i, s in enumerate(settings):
        where = f"{path}: settings[{i}]"
        if s.env in seen_env:
            raise ModelError(f"{where}.env: {s.env} is declared twice: keep one")
        seen_env.add(s.env)
        if s.input:
            if s.input in seen_input or s.input in reserved or s.input.endswith("-stage"):
                raise ModelError(f"{where}.input: '{s.input}' is taken: choose another input name")
            seen_input.add(s.input)
        if s.required and s.default is not None:
            raise ModelError(f"{where}: {s.env} is required and has a default: drop one of them")
        if s.type == "enum" and s.default is not None and s.default not in s.options:
            raise ModelError(f"{where}.default: {s.default!r} is not one of {', '.join(s.options)}: fix the default")
        if s.type == "integer" and s.default is not None and not isinstance(s.default, int):
            raise ModelError(f"{where}.default: {s.default!r} is not an integer: fix the default")
        if s.type == "boolean" and s.default is not None and not isinstance(s.default, bool):
            raise ModelError(f"{where}.default: {s.default!r} is not true or false: fix the default")


# Image layers are readable by anyone who can pull the image.
_SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET", "PRIVATE_KEY", "CREDENTIALS")


def _check_image_env(path: Path, env: dict[str, str], settings: tuple[Setting, ...]) -> None:
    declared = {s.env for s in settings}
    for name in env:
        if name in declared:
            raise ModelError(f"{path}: image.env.{name} is a setting, and ENV would hide its site default",
                             fix=f"give {name} a default under settings instead")
        if any(word in name for word in _SECRET_WORDS):
            raise ModelError(f"{path}: image.env.{name} looks like a secret, and image layers are readable by "
                             "anyone who can pull the image", fix="pass it as a CI/CD variable at run time")


def repo_root(start: Path | None = None) -> Path:
    """The pipeyard checkout: the nearest folder with providers/ and pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "providers").is_dir() and (d / "pyproject.toml").is_file():
            return d
    pkg = Path(__file__).resolve().parents[2]
    if (pkg / "providers").is_dir():
        return pkg
    raise UsageError("no pipeyard checkout here (no providers/ folder)", fix="run pipeyard from the repository root")


def load_provider(root: Path, name: str) -> Provider:
    path = root / "providers" / name / "provider.yaml"
    if not path.is_file():
        known = ", ".join(provider_names(root)) or "none"
        raise UsageError(f"unknown provider '{name}'", fix=f"use one of: {known}")
    return parse_provider(path, load_yaml(path, what="provider file"))


def provider_names(root: Path) -> list[str]:
    return sorted(p.parent.name for p in (root / "providers").glob("*/provider.yaml"))


def load_providers(root: Path, names: list[str] | tuple[str, ...] | None = None) -> list[Provider]:
    return [load_provider(root, n) for n in (names or provider_names(root))]


def missing_skeleton(provider_dir: Path) -> list[str]:
    return [f for f in SKELETON if not (provider_dir / f).is_file()]
