"""`pipeyard provider new NAME`: a new provider folder from the skeleton every provider shares.

It writes the hand-written half of the skeleton: provider.yaml, the package with one command, a
smoke test and a pytest test, and a README with the settings markers. `make render` then writes
the other half (Dockerfile, pyproject.toml, provider.json, the README table, the templates), and
`pipeyard build NAME` builds the image, with no other edit anywhere.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2

from pipeyard.model.provider import load_providers, package_of
from pipeyard_kit.errors import UsageError

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
RESERVED = {"pipeyard", "kit", "workflow"}
# template (under render/templates/provider/) -> path in the new folder
FILES = {
    "provider.yaml.j2": "provider.yaml",
    "README.md.j2": "README.md",
    "package/__init__.py.j2": "{package}/__init__.py",
    "package/cli.py.j2": "{package}/cli.py",
    "tests/smoke.sh.j2": "tests/smoke.sh",
    "tests/test_cli.py.j2": "tests/test_{suffix}_cli.py",
}


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("pipeyard.render", "templates/provider"),
                              autoescape=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def check_name(root: Path, name: str) -> None:
    if not NAME.match(name) or len(name) > 40:
        raise UsageError(f"'{name}' is not a provider name",
                         fix="use lowercase letters and digits, words joined by single '-', e.g. my-tool")
    if name in RESERVED:
        raise UsageError(f"'{name}' is reserved", fix="choose another name")
    if (root / "providers" / name).exists():
        raise UsageError(f"providers/{name} exists already", fix="choose another name, or edit that provider")
    for provider in load_providers(root):
        if name in provider.cli:
            raise UsageError(f"the command {name} belongs to providers/{provider.name}",
                             fix="choose another name")


def new_provider(root: Path, name: str, description: str) -> list[Path]:
    """Write providers/<name>/ and return the files written."""
    check_name(root, name)
    if len(description.strip()) < 10:
        raise UsageError("--description is too short", fix="say in a sentence what the provider does")
    package = package_of(name)
    context = {"name": name, "package": package, "prefix": name.upper().replace("-", "_"),
               "description": description.strip().replace("\n", " ")}
    folder = root / "providers" / name
    written = []
    for template, target in FILES.items():
        path = folder / target.format(package=package, suffix=package.removeprefix("pipeyard_"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_env().get_template(template).render(**context), encoding="utf-8")
        if path.suffix == ".sh":
            path.chmod(0o755)
        written.append(path)
    return written

