"""`package-manager`: a job step run by the project's own package manager, npm, yarn or pnpm.

    package-manager install           npm ci | yarn install --immutable (yarn 1: --frozen-lockfile)
                                      | pnpm install --frozen-lockfile
    package-manager run NAME [ARGS]   NAME from package.json's scripts; --if-present skips a missing one
    package-manager test [ARGS]       the test script
    package-manager publish [ARGS]    npm publish | yarn npm publish (yarn 1: yarn publish) | pnpm publish
    package-manager which             the package manager, and what chose it

NPM_PACKAGE_MANAGER names the package manager; `auto` (the default) takes the one whose lockfile
the project has, else package.json's packageManager field, else npm. Which yarn it is (1 or 4) is
the yarn wrapper's call, asked through `yarn --version`, so the two can never disagree. The
command runs through the wrappers on PATH, which configure the registry first; it is printed
before it runs, then takes this process over (exit code and signals are the tool's own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from pipeyard_kit import options
from pipeyard_kit import settings as settings_mod
from pipeyard_kit.console import run_main
from pipeyard_kit.errors import ConfigError, RemoteError

PROVIDER = "npm"
SETTING = "NPM_PACKAGE_MANAGER"
# The lockfiles, in the order auto looks for them.
LOCKFILES = {"pnpm": ("pnpm-lock.yaml",), "yarn": ("yarn.lock",), "npm": ("package-lock.json", "npm-shrinkwrap.json")}


@dataclass(frozen=True)
class Choice:
    name: str  # npm, yarn, pnpm
    why: str


def _package_json(cwd: Path) -> dict:
    path = cwd / "package.json"
    if not path.is_file():
        raise ConfigError(f"no package.json in {cwd}", fix="run package-manager in the project's folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc})", fix="fix package.json") from None
    return data if isinstance(data, dict) else {}


def _declared(package: Mapping) -> str | None:
    """package.json's packageManager (pnpm@10.1.0 -> pnpm), when it names one of the three."""
    value = str(package.get("packageManager") or "")
    name = value.split("@", 1)[0]
    return name if name in LOCKFILES else None


def choose(setting: str, cwd: Path, package: Mapping) -> Choice:
    if setting != "auto":
        return Choice(setting, f"{SETTING}={setting}")
    found = [name for name, files in LOCKFILES.items() if any((cwd / f).is_file() for f in files)]
    declared = _declared(package)
    if len(found) == 1:
        return Choice(found[0], f"{LOCKFILES[found[0]][0]} is the project's lockfile")
    if len(found) > 1:
        if declared in found:
            return Choice(declared, f"package.json's packageManager names {declared} among several lockfiles")
        files = ", ".join(f for name in found for f in LOCKFILES[name] if (cwd / f).is_file())
        raise ConfigError(f"the project has several lockfiles ({files}), so {SETTING}=auto cannot tell its "
                          "package manager", fix=f"delete the stale ones, or set {SETTING} (the package-manager input)")
    if declared:
        return Choice(declared, f"package.json's packageManager names {declared} (no lockfile yet)")
    return Choice("npm", "no lockfile and no packageManager in package.json")


def yarn_major(env: Mapping[str, str], cwd: Path) -> int:
    """The yarn the wrapper runs here: 1, or 2 and later (same commands as 4)."""
    try:
        out = subprocess.run(["yarn", "--version"], capture_output=True, text=True, env=dict(env), cwd=cwd,
                             timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RemoteError(f"`yarn --version` could not run ({exc})", fix="use an image with yarn on PATH") from None
    version = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if out.returncode != 0 or not version[:1].isdigit():
        sys.stderr.write(out.stderr)
        raise ConfigError(f"`yarn --version` failed (exit {out.returncode})", fix="see yarn's message above")
    return int(version.split(".", 1)[0])


def _lockfile_check(choice: Choice, cwd: Path) -> None:
    files = LOCKFILES[choice.name]
    if not any((cwd / f).is_file() for f in files):
        raise ConfigError(f"{choice.why}, but there is no {files[0]} in {cwd}: a CI install takes exactly the "
                          "committed lockfile", fix=f"commit {files[0]} (run `{choice.name} install` once), or set "
                                                  f"{SETTING} to the package manager whose lockfile you commit")


def command_for(step: str, args: Sequence[str], choice: Choice, *, yarn: int | None) -> list[str]:
    pm = choice.name
    if step == "install":
        return {"npm": ["npm", "ci"], "pnpm": ["pnpm", "install", "--frozen-lockfile"],
                "yarn": ["yarn", "install", "--frozen-lockfile" if yarn == 1 else "--immutable"]}[pm] + list(args)
    if step == "test":
        return [pm, "test", *args] if pm != "npm" or not args else ["npm", "test", "--", *args]
    if step == "publish":
        if pm == "yarn":
            # yarn 1 asks for a new version unless told not to prompt; yarn 2+ publishes through `yarn npm`.
            return ["yarn", "publish", "--non-interactive", *args] if yarn == 1 else ["yarn", "npm", "publish", *args]
        # pnpm refuses to publish from a detached HEAD, which is how CI checks a tag out.
        return ["pnpm", "publish", "--no-git-checks", *args] if pm == "pnpm" else ["npm", "publish", *args]
    raise AssertionError(step)


def _run(argv: list[str]) -> None:
    click.echo(f"$ {' '.join(argv)}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise ConfigError(f"{argv[0]} cannot run ({exc.strerror})", fix=f"use the npm image, where {argv[0]} "
                                                                        "is on PATH") from None


def _resolve(cwd: Path) -> tuple[Choice, dict]:
    package = _package_json(cwd)
    values = settings_mod.load(PROVIDER, env=os.environ)
    return choose(values.get(SETTING) or "auto", cwd, package), package


def _yarn(choice: Choice, cwd: Path) -> int | None:
    return yarn_major(os.environ, cwd) if choice.name == "yarn" else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@options.common_options(PROVIDER, "package-manager")
def main_group(**_flags) -> None:
    """Run a job step with the project's package manager (NPM_PACKAGE_MANAGER, default auto: by the lockfile)."""


@main_group.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def install(args: tuple[str, ...]) -> None:
    """Install exactly the lockfile: npm ci, yarn install --immutable, pnpm install --frozen-lockfile."""
    cwd = Path.cwd()
    choice, _ = _resolve(cwd)
    _lockfile_check(choice, cwd)
    _run(command_for("install", args, choice, yarn=_yarn(choice, cwd)))


@main_group.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.option("--if-present", is_flag=True, help="Do nothing when package.json has no such script.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(name: str, if_present: bool, args: tuple[str, ...]) -> None:
    """Run a script of package.json."""
    cwd = Path.cwd()
    choice, package = _resolve(cwd)
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    if name not in scripts:
        if if_present:
            click.echo(f"package-manager: package.json has no `{name}` script: nothing to run", err=True)
            return
        raise ConfigError(f"package.json has no `{name}` script", fix="add it, or pass --if-present")
    extra = ["--", *args] if choice.name == "npm" and args else list(args)
    _run([choice.name, "run", name, *extra])


@main_group.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def test(args: tuple[str, ...]) -> None:
    """Run the test script."""
    cwd = Path.cwd()
    choice, _ = _resolve(cwd)
    _run(command_for("test", args, choice, yarn=None))


@main_group.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def publish(args: tuple[str, ...]) -> None:
    """Publish the package: npm publish, yarn npm publish (yarn 1: yarn publish), pnpm publish."""
    cwd = Path.cwd()
    choice, _ = _resolve(cwd)
    _run(command_for("publish", args, choice, yarn=_yarn(choice, cwd)))


@main_group.command()
def which() -> None:
    """Print the package manager and why (yarn with its major version)."""
    cwd = Path.cwd()
    choice, _ = _resolve(cwd)
    yarn = _yarn(choice, cwd)
    click.echo(f"{choice.name}{yarn if yarn else ''}: {choice.why}")


def main() -> None:
    run_main(main_group, "package-manager")
