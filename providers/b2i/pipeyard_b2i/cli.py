"""`b2i-build`: the script of the .b2i-build job. The maven build's jar becomes the app image, with no daemon.

Settings come from provider.yaml (flag > job variable > site default > default); every problem is
collected and reported at once, before any network call. The build itself is pipeyard_kit.b2i.build,
the same code `pipeyard b2i build` runs on a laptop. What was pushed goes to the dotenv report
(b2i.env): B2I_IMAGE (REPOSITORY:TAG@DIGEST) and B2I_DIGEST, which GitLab hands to the jobs that need
this one, so the gitops bump pins exactly this digest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from pipeyard_b2i.dotenv import write_dotenv
from pipeyard_kit import options
from pipeyard_kit import settings as settings_mod
from pipeyard_kit.b2i.build import BuildResult, Destination, build, summary
from pipeyard_kit.b2i.jar import pick_jar
from pipeyard_kit.b2i.request import AppRequest, Checked, app_repository, validate
from pipeyard_kit.console import run_main, setup_logging
from pipeyard_kit.errors import ConfigError, PipeyardError
from pipeyard_kit.ocibuild.base import resolve
from pipeyard_kit.registry import Reference, RegistryClient, Target
from pipeyard_kit.registry.credentials import env_hint, from_env
from pipeyard_kit.registry.reference import default_scheme
from pipeyard_kit.trust import install_custom_ca

PROVIDER = "b2i"
DOTENV = "b2i.env"
# What the job calls each field of a build request, for the messages.
NAMES = {"name": "B2I_APP_NAME", "tracing": "B2I_TRACING", "metrics": "B2I_METRICS", "tz": "B2I_TZ",
         "port": "B2I_APP_PORT", "jar": "B2I_JAR"}


def _jar(pattern: str, root: Path) -> Path:
    matches = sorted(root.glob(pattern)) if any(c in pattern for c in "*?[") else [root / pattern]
    return pick_jar(matches, pattern)


def plan(settings: settings_mod.Settings, env: Mapping[str, str], root: Path) -> tuple[Checked, Target, Reference]:
    """The checked request, where it goes and what it is built on; every problem at once."""
    problems = settings_mod.missing(settings)
    checked = target = base = None
    app = settings["B2I_APP_NAME"] or env.get("CI_PROJECT_NAME", "")
    if not app:
        problems.append("B2I_APP_NAME is not set and this is not a pipeline (no CI_PROJECT_NAME): set B2I_APP_NAME "
                        "to the app's name")
    try:
        jar = _jar(settings["B2I_JAR"], root)
        deps = settings["B2I_DEPENDENCIES"]
        request = AppRequest(jar=jar, name=app, tracing=settings["B2I_TRACING"], metrics=settings["B2I_METRICS"],
                             tz=settings["B2I_TZ"] or None, port=settings["B2I_APP_PORT"],
                             dependencies=root / deps if deps else None)
        if app:
            checked = validate(request, names=NAMES)
    except ConfigError as exc:
        problems.extend([exc.render()] if exc.fix else exc.problems)
    for name, parse in (("B2I_APP_REGISTRY", lambda v: Target.parse(v, option="B2I_APP_REGISTRY")),
                        ("B2I_BASE_IMAGE", Reference.parse)):
        if settings[name]:
            try:
                parsed = parse(settings[name])
            except PipeyardError as exc:
                problems.append(f"{name}={exc.render()}")
                continue
            if name == "B2I_APP_REGISTRY":
                target = parsed
            else:
                base = parsed
    if problems:
        raise ConfigError(problems)
    assert checked is not None and target is not None and base is not None
    return checked, target, base


def run(settings: settings_mod.Settings, env: Mapping[str, str], root: Path, dotenv: Path) -> BuildResult:
    checked, target, base_ref = plan(settings, env, root)
    client = RegistryClient(target.host, scheme=target.scheme, credentials=from_env("B2I_REGISTRY", env=dict(env)),
                            credential_hint=env_hint("B2I_REGISTRY"))
    if base_ref.api_host == target.host:
        base_client = client
    else:
        base_client = RegistryClient(base_ref.api_host, scheme=base_ref.scheme or default_scheme(base_ref.api_host),
                                     credentials=from_env("B2I_BASE_REGISTRY", env=dict(env)),
                                     credential_hint=env_hint("B2I_BASE_REGISTRY"))
    client.ping()
    base = resolve(base_client, base_ref, missing_fix=(
        "check B2I_BASE_IMAGE; the platform team publishes the base with `pipeyard b2i base --push`"))
    dest = Destination(client, target.host, app_repository(target.prefix, checked.request.name))
    extra = tuple(settings_mod.split_list(settings["B2I_EXTRA_TAGS"] or ""))
    result = build(checked, base=base, base_client=base_client, dest=dest, extra_tags=extra, env=env,
                   echo=lambda m: click.echo(m, err=True))
    write_dotenv(dotenv, {"B2I_IMAGE": result.reference, "B2I_DIGEST": result.digest})
    return result


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@options.common_options(PROVIDER, "b2i-build")
@options.setting_options(PROVIDER)
@click.option("--dotenv", "dotenv", type=click.Path(dir_okay=False, path_type=Path), default=DOTENV,
              show_default=True, help="Where B2I_IMAGE and B2I_DIGEST are written (the job's dotenv report).")
def command(dotenv: Path, **setting_flags: Any) -> None:
    """Build the app image from the jar with no daemon and push it; print REPOSITORY:TAG@DIGEST."""
    install_custom_ca()
    settings = settings_mod.load(PROVIDER, overrides=options.overrides(setting_flags), require=False)
    root = Path(os.environ.get("CI_PROJECT_DIR") or Path.cwd())
    result = run(settings, os.environ, root, dotenv)
    click.echo(summary(result), err=True)
    click.echo(f"{dotenv}: B2I_IMAGE={result.reference} B2I_DIGEST={result.digest}", err=True)
    click.echo(result.reference)


def main() -> None:
    setup_logging()
    run_main(command, "b2i-build")


if __name__ == "__main__":
    main()
