"""`pipeyard mirror`: copy images into a registry, keeping their names."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.cli.publish import CREDENTIALS_HELP
from pipeyard_kit.console import debug_option


@click.command(epilog=CREDENTIALS_HELP.replace("; with --harbor, HARBOR_USERNAME and HARBOR_PASSWORD "
                                               "(or HARBOR_PASSWORD_FILE)", " for the target, "
                                               "PIPEYARD_SOURCE_USERNAME and PIPEYARD_SOURCE_PASSWORD for "
                                               "the sources (anonymous if unset)"))
@click.option("--list", "list_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE",
              help="Images to copy, one registry/project/repository:tag per line; # comments.")
@click.option("--to", "to", required=True, metavar="HOST[:PORT][/PREFIX]",
              help="Target registry; each image keeps its project and repository under PREFIX.")
@debug_option
def mirror(list_path: Path, to: str) -> None:
    """Copy images into a private registry, keeping project and repository names; skip blobs it has."""
    from pipeyard.publish.mirror import Mirror, mirror_images, read_list
    from pipeyard_kit.registry import Reference, RegistryClient, Target
    from pipeyard_kit.registry.credentials import env_hint, from_env
    from pipeyard_kit.registry.reference import default_scheme

    refs = read_list(list_path)
    target = Target.parse(to, option="--to", need_prefix=False)
    dst = RegistryClient(target.host, scheme=target.scheme, credentials=from_env("PIPEYARD_REGISTRY"),
                         credential_hint=env_hint("PIPEYARD_REGISTRY"))
    source_credentials = from_env("PIPEYARD_SOURCE")
    sources: dict[tuple[str, str], RegistryClient] = {}

    def source_client(ref: Reference) -> RegistryClient:
        key = (ref.api_host, ref.scheme or default_scheme(ref.host))
        if key not in sources:
            sources[key] = RegistryClient(key[0], scheme=key[1], credentials=source_credentials,
                                          credential_hint=env_hint("PIPEYARD_SOURCE"),
                                          unreachable_fix="check the image's registry name in the list "
                                                          "and that this machine can reach it")
        return sources[key]

    dst.ping()
    mirror_images(refs, Mirror(target, dst, source_client), echo=click.echo)
