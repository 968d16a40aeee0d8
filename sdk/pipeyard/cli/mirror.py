"""`pipeyard mirror`: copy images into a registry, keeping their names, or pipeyard's own under the site's."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.cli.publish import CREDENTIALS_HELP
from pipeyard_kit import __version__
from pipeyard_kit.console import debug_option


@click.command(epilog=CREDENTIALS_HELP.replace("; with --harbor, HARBOR_USERNAME and HARBOR_PASSWORD "
                                               "(or HARBOR_PASSWORD_FILE)", " for the target, "
                                               "PIPEYARD_SOURCE_USERNAME and PIPEYARD_SOURCE_PASSWORD for "
                                               "the sources (anonymous if unset)"))
@click.option("--list", "list_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Images to copy, one registry/project/repository:tag per line; # comments.")
@click.option("--providers", "provider_names", metavar="NAMES",
              help="Instead of --list: pipeyard's provider images (comma-separated, or `all`), taken from "
                   "--from under pipeyard's names and copied under the names the site file gives them "
                   "(image_name, image_names).")
@click.option("--from", "source", metavar="HOST[:PORT]/PREFIX",
              help="With --providers: the registry and project pipeyard's images are released to.")
@click.option("--tag", default=__version__, show_default=True, help="With --providers: the tag to copy.")
@click.option("--site", "site_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With --providers: the site file that names the images "
                   "[default: $PIPEYARD_SITE, else pipeyard.site.yaml in the checkout].")
@click.option("--to", "to", required=True, metavar="HOST[:PORT][/PREFIX]",
              help="Target registry; each image keeps its project and repository under PREFIX (with "
                   "--providers: gets the site's name under PREFIX).")
@debug_option
def mirror(list_path: Path | None, provider_names: str | None, source: str | None, tag: str,
           site_path: Path | None, to: str) -> None:
    """Copy images into a private registry, keeping project and repository names; skip blobs it has.

    With --providers, copy pipeyard's provider images and name them as the site file does, e.g. a site
    with `image_name: "{provider}-provider"` gets maven as PREFIX/maven-provider.
    """
    from pipeyard.publish.mirror import Mirror, mirror_images, provider_images, read_list
    from pipeyard_kit.errors import UsageError
    from pipeyard_kit.registry import Reference, RegistryClient, Target
    from pipeyard_kit.registry.credentials import env_hint, from_env
    from pipeyard_kit.registry.reference import default_scheme

    # Everything a user can get wrong is checked before any server is called.
    if (list_path is None) == (provider_names is None):
        raise UsageError("give either --list FILE or --providers NAMES", fix="see `pipeyard mirror --help`")
    names: dict[Reference, str] | None = None
    if provider_names is not None:
        from pipeyard.model.provider import load_providers, repo_root
        from pipeyard.model.site import find_site, load_site
        from pipeyard_kit.refs import TAG

        if not source:
            raise UsageError("--providers needs --from", fix="add --from HOST[:PORT]/PROJECT, where pipeyard's "
                                                             "images are released")
        if not TAG.match(tag):
            raise UsageError(f"--tag {tag!r} is not a valid tag", fix="tags are up to 128 letters, digits, '_', '.' "
                                                                     "and '-'")
        root = repo_root()
        wanted = [n.strip() for n in provider_names.split(",") if n.strip() and n.strip() != "all"]
        selected = load_providers(root, wanted or None)
        site = load_site(site_path or find_site(root), load_providers(root))
        names = provider_images(selected, site, Target.parse(source, option="--from"), tag)
        refs = list(names)
    else:
        if source or site_path:
            raise UsageError("--from and --site go with --providers", fix="drop them, or use --providers")
        refs = read_list(list_path)  # type: ignore[arg-type]
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
    mirror_images(refs, Mirror(target, dst, source_client), echo=click.echo, names=names)
