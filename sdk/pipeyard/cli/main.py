"""The `pipeyard` command. Subcommands live in their own modules and load lazily,
so `pipeyard --help` stays fast and a provider image needs none of the platform deps."""

from __future__ import annotations

import importlib

import click

from pipeyard_kit import __version__
from pipeyard_kit.console import debug_option, run_main, setup_logging
from pipeyard_kit.errors import ConfigError

# name -> "module:attribute"; one module per command, named after it (tests/layout checks each resolves).
COMMANDS = {name: f"pipeyard.cli.{name}:{name}" for name in (
    "render", "check", "lint", "init", "providers", "provider", "base", "build", "publish", "mirror",
    "registry", "demo", "chart", "b2i", "release", "updates", "sbom", "verify", "bundle")}


# The platform extra's packages (pyproject.toml [platform]): `pip install pipeyard` alone lacks them.
PLATFORM_EXTRA = {"docker", "gitlab", "check_jsonschema", "importlinter"}


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in PLATFORM_EXTRA:
                raise
            raise ConfigError(f"`pipeyard {ctx.invoked_subcommand}` needs {exc.name}, which this installation "
                              "lacks", fix="install the platform extra: pip install 'pipeyard[platform]'") from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeyard")
@debug_option
def cli() -> None:
    """Render, validate, build and publish pipeyard's GitLab CI providers."""


def main() -> None:
    setup_logging()
    run_main(cli, "pipeyard")


if __name__ == "__main__":
    main()
