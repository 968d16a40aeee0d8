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

from pipeyard.model import tools as tools_mod
from pipeyard_kit.errors import ModelError, UsageError
from pipeyard_kit.yamlio import load_yaml

# Files every provider folder must have: the same skeleton everywhere. {package} is the provider's
# own Python package; Dockerfile, pyproject.toml, README.md's table and provider.json are generated.
SKELETON = ("provider.yaml", "Dockerfile", "README.md", "pyproject.toml", "tests/smoke.sh",
            "{package}/__init__.py", "{package}/provider.json")

# The inputs every component has, and the per-job controls (<job>-stage, <job>-enabled, ...): a
# setting's input may not take their names.
JOB_CONTROLS = ("stage", "enabled", "rules", "changes", "needs")
RESERVED_INPUTS = frozenset({"job-prefix", "registry", "tags", "provider-image", *JOB_CONTROLS})
RESERVED_SUFFIXES = tuple(f"-{c}" for c in JOB_CONTROLS)

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
    flag: str | bool | None = None
    short: str | None = None
    commands: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @property
    def input_type(self) -> str:
        return INPUT_TYPES[self.type]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"env": self.env, "type": self.type, "description": self.description,
                                "required": self.required, "secret": self.secret}
        optional = {"input": self.input, "default": self.default, "options": list(self.options) or None,
                    "flag": self.flag, "short": self.short, "commands": list(self.commands) or None,
                    "minimum": self.minimum, "maximum": self.maximum}
        data.update({k: v for k, v in optional.items() if v is not None})
        return data


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    stage: str
    when: str
    script: tuple[str, ...]
    needs: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One toolchain of an image (maven's jdk17); a provider without variants has one, named ""."""

    name: str  # <input><value>: jdk17, node24; "" for a provider without variants
    value: str  # what the selecting input takes: "17"
    # The shared tools and its own (its own win); a variant is known by its name, so they stay out of == and hash.
    tools: dict[str, dict[str, Any]] = field(compare=False)
    own_tools: tuple[str, ...] = ()
    default: bool = True
    description: str = ""
    reason: str = ""
    eol: str = ""

    @property
    def suffix(self) -> str:
        """What its tags end in: `1.0.0-jdk17`."""
        return f"-{self.name}" if self.name else ""

    @property
    def dockerfile(self) -> str:
        """The generated Dockerfile: the default variant's is `Dockerfile`, every other one's `Dockerfile.<name>`."""
        return "Dockerfile" if self.default or not self.name else f"Dockerfile.{self.name}"


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
    python_requires: tuple[str, ...] = ()
    entry_points: tuple[str, ...] = ()
    # The input that picks a variant (jdk), None without variants; every provider has at least one variant.
    variant_input: str | None = None
    variants: tuple[Variant, ...] = ()

    @property
    def has_variants(self) -> bool:
        return self.variant_input is not None

    @property
    def default_variant(self) -> Variant:
        return next(v for v in self.variants if v.default)

    def variant(self, name: str | None) -> Variant:
        """A variant by its name (jdk17) or its value (17); None is the default one."""
        if name is None or name == "":
            return self.default_variant
        for v in self.variants:
            if name in (v.name, v.value) and v.name:
                return v
        if not self.has_variants:
            raise UsageError(f"{self.name} has no variants, so --variant {name} does not apply",
                             fix=f"build {self.name} without --variant")
        raise UsageError(f"{self.name} has no variant '{name}'",
                         fix=f"use one of: {', '.join(v.name for v in self.variants)}")

    def variant_variable(self) -> str | None:
        """The classic include's CI/CD variable that picks a variant: MAVEN_JDK."""
        if self.variant_input is None:
            return None
        return f"{self.job_prefix}_{self.variant_input}".upper().replace("-", "_")

    @property
    def package(self) -> str:
        """The provider's own Python package, in its folder: pipeyard_<name with _ for ->."""
        return package_of(self.name)

    @property
    def distribution(self) -> str:
        return f"pipeyard-{self.name}"

    @property
    def console_scripts(self) -> dict[str, str]:
        """Console script -> entry point (module:function) of the provider's distribution."""
        return dict(zip(self.cli, self.entry_points, strict=True))

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
    text = resources.files("pipeyard.model").joinpath("schemas/provider.schema.json").read_text(encoding="utf-8")
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


def package_of(name: str) -> str:
    return "pipeyard_" + name.replace("-", "_")


def _entry_points(name: str, cli: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(script names, entry points): NAME runs <package>.cli:main; NAME=module:function says so."""
    names, entries = [], []
    for item in cli:
        script, _, entry = item.partition("=")
        names.append(script)
        entries.append(entry or f"{package_of(name)}.cli:main")
    return tuple(names), tuple(entries)


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
                             required=s.get("required", False), secret=s.get("secret", False),
                             flag=s.get("flag"), short=s.get("short"), commands=tuple(s.get("commands", ())),
                             minimum=s.get("minimum"), maximum=s.get("maximum"))
                     for s in data["settings"])
    _check_settings(path, settings)
    _check_image_env(path, data["image"].get("env", {}), settings)
    jobs = tuple(Job(name=n, description=j["description"], stage=j["stage"], when=j["when"],
                     script=tuple(j["script"]), needs=tuple(j["needs"]),
                     extra={k: v for k, v in j.items() if k not in {"description", "stage", "when", "needs", "script"}})
                 for n, j in data["jobs"].items())
    _check_jobs(path, data["name"], data.get("job_prefix", data["name"]), jobs, settings)
    job_prefix = data.get("job_prefix", data["name"])
    variant_input, variants = _variants(path, data, settings, job_prefix)
    cli, entry_points = _entry_points(data["name"], data["cli"])
    for script, entry in zip(cli, entry_points, strict=True):
        module = entry.split(":", 1)[0]
        if module.split(".", 1)[0] != package_of(data["name"]):
            raise ModelError(f"{path}: cli: {script} runs {entry}, outside the provider's own package "
                             f"{package_of(data['name'])}", fix="point it at a module of the provider's package")
    return Provider(name=data["name"], description=data["description"], path=path.parent, image=data["image"],
                    tools=data["tools"], cli=cli, jobs=jobs, settings=settings,
                    job_prefix=job_prefix,
                    python_requires=tuple(data.get("python", {}).get("requires", ())), entry_points=entry_points,
                    variant_input=variant_input, variants=variants)


def _variants(path: Path, data: dict[str, Any], settings: tuple[Setting, ...],
              job_prefix: str) -> tuple[str | None, tuple[Variant, ...]]:
    """provider.yaml's variants, every problem collected; a provider without any gets one, unnamed."""
    shared = data["tools"]
    problems = [f"tools.{name}: {p}" for name, tool in shared.items() for p in _tool_problems(tool)]
    spec = data.get("variants")
    if spec is None:
        if problems:
            raise ModelError(f"{path}: " + "; ".join(problems))
        return None, (Variant(name="", value="", tools=dict(shared)),)
    by = spec["input"]
    if by in RESERVED_INPUTS or by in {s.input for s in settings if s.input} or by.endswith(RESERVED_SUFFIXES):
        problems.append(f"variants.input: '{by}' is taken by another input: choose another name")
    variable = f"{job_prefix}_{by}".upper().replace("-", "_")
    if variable in {s.env for s in settings}:
        problems.append(f"variants.input: its classic variable {variable} is also a setting: rename one of them")
    if spec["default"] not in spec["values"]:
        problems.append(f"variants.default: '{spec['default']}' is not one of {', '.join(spec['values'])}")
    variants = []
    for value, v in spec["values"].items():
        for name, tool in v["tools"].items():
            where = f"variants.values.{value}.tools.{name}"
            problems += [f"{where}: {p}" for p in _tool_problems(tool)]
            if tool["source"] == "debian" and not tools_mod.is_pinned(tool):
                problems.append(f"{where}.version: '{tool['version']}' is a release line: pin the exact Debian "
                                "version a variant installs (e.g. 21.0.13+9-1~deb13u2)")
        variants.append(Variant(name=f"{by}{value}", value=value, tools={**shared, **v["tools"]},
                                own_tools=tuple(v["tools"]), default=value == spec["default"],
                                description=v.get("description", ""), reason=v["reason"], eol=v.get("eol", "")))
    if problems:
        raise ModelError(f"{path}: {len(problems)} problem(s) in the tools: " + "; ".join(problems))
    return by, tuple(variants)


def _tool_problems(tool: dict[str, Any]) -> list[str]:
    problems = []
    source = tool["source"]
    if source != "debian" and (tool.get("suite") or tool.get("provides")):
        problems.append("suite and provides are for Debian packages only: drop them")
    if source == "debian" and (tool.get("suite") or tool.get("provides")) and not tools_mod.is_pinned(tool):
        problems.append(f"a package from another suite or standing in for others must be pinned: set version to "
                        f"the exact Debian version, not '{tool['version']}'")
    if source == "npm":
        per_arch = "{arch}" in tool["package"]
        if per_arch != isinstance(tool["sha256"], dict):
            problems.append("a package that names {arch} takes one sha256 per architecture (x64: ..., arm64: ...), "
                            "any other one sha256")
        if not tools_mod.is_pinned(tool):
            problems.append(f"version '{tool['version']}' is not an exact npm version: pin one, e.g. 1.22.22")
    elif tool.get("into") or tool.get("links"):
        problems.append("into and links are for npm packages only: drop them")
    return problems


def _check_settings(path: Path, settings: tuple[Setting, ...]) -> None:
    seen_env: set[str] = set()
    seen_input: set[str] = set()
    seen_flags: set[str] = set()
    reserved = RESERVED_INPUTS
    for i, s in enumerate(settings):
        where = f"{path}: settings[{i}]"
        if s.env in seen_env:
            raise ModelError(f"{where}.env: {s.env} is declared twice: keep one")
        seen_env.add(s.env)
        if s.input:
            if s.input in seen_input or s.input in reserved or s.input.endswith(RESERVED_SUFFIXES):
                raise ModelError(f"{where}.input: '{s.input}' is taken: choose another input name")
            seen_input.add(s.input)
        if s.required and s.default is not None:
            raise ModelError(f"{where}: {s.env} is required and has a default: drop one of them")
        if s.type == "enum" and s.default is not None and s.default not in s.options:
            raise ModelError(f"{where}.default: {s.default!r} is not one of {', '.join(s.options)}: fix the default")
        if s.type == "integer" and s.default is not None and not isinstance(s.default, int):
            raise ModelError(f"{where}.default: {s.default!r} is not an integer: fix the default")
        if (s.minimum is not None or s.maximum is not None) and s.type != "integer":
            raise ModelError(f"{where}: minimum and maximum bound integer settings only: drop them or make "
                             f"{s.env} an integer")
        if isinstance(s.default, int) and not isinstance(s.default, bool) and (
                (s.minimum is not None and s.default < s.minimum) or (s.maximum is not None and s.default > s.maximum)):
            raise ModelError(f"{where}.default: {s.default} lies outside minimum..maximum: fix the default")
        flag = None if s.secret or s.flag is False else (s.flag or s.input)
        if flag:
            for command in s.commands or ("",):
                key = f"{command}:--{flag}"
                if key in seen_flags:
                    raise ModelError(f"{where}: the flag --{flag} is taken{f' in {command}' if command else ''}: "
                                     "set another `flag:`")
                seen_flags.add(key)
        if s.type == "boolean" and s.default is not None and not isinstance(s.default, bool):
            raise ModelError(f"{where}.default: {s.default!r} is not true or false: fix the default")


def job_control_variable(job_prefix: str, job: str, control: str) -> str:
    """The CI/CD variable of a classic include's job control: MAVEN_BUILD_DISABLED, MAVEN_BUILD_CHANGES."""
    return f"{job_prefix}_{job}_{control}".upper().replace("-", "_")


def _check_jobs(path: Path, name: str, job_prefix: str, jobs: tuple[Job, ...], settings: tuple[Setting, ...]) -> None:
    own = {j.name for j in jobs}
    envs = {s.env for s in settings}
    for job in jobs:
        for need in job.needs:
            if need == job.name or need == f"{job_prefix}-{job.name}":
                raise ModelError(f"{path}: jobs.{job.name}.needs: a job cannot need itself: remove {need}")
            if need not in own and "-" not in need:
                raise ModelError(f"{path}: jobs.{job.name}.needs: {need} is no job of {name}",
                                 fix=f"name one of {', '.join(sorted(own))}, or another provider's whole job "
                                     "name such as maven-build")
        for control in ("disabled", "changes"):
            var = job_control_variable(job_prefix, job.name, control)
            if var in envs:
                raise ModelError(f"{path}: setting {var} collides with the {control} control of job {job.name}",
                                 fix="rename the setting")


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
    names = [f.format(package=package_of(provider_dir.name)) for f in SKELETON]
    return [f for f in names if not ((provider_dir / f).is_dir() if f.endswith("/") else (provider_dir / f).is_file())]
