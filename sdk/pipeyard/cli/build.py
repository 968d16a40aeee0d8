"""`pipeyard build`: the provider images, through the Docker Engine API."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.cli.options import IMAGE_TAG
from pipeyard_kit.console import debug_option
from pipeyard_kit.errors import UsageError


@click.command()
@click.argument("providers", nargs=-1)
@click.option("--site", "site_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Site file whose non-secret defaults and CA certificates are baked in "
                   "[default: $PIPEYARD_SITE, else pipeyard.site.yaml in the checkout].")
@click.option("--tag", "tags", multiple=True, type=IMAGE_TAG,
              help="Extra tag for every image (repeatable); images are always tagged with the version.")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Build this variant (jdk17, node22) instead of its provider's default (repeatable).")
@click.option("--all-variants", is_flag=True, help="Build every variant of the providers (the site file's `only`, if set).")
@click.option("--no-cache", is_flag=True, help="Rebuild every layer.")
@click.option("--verbose", "-v", is_flag=True, help="Print the build output of every step.")
@click.option("--no-sbom", is_flag=True,
              help="Skip each image's CycloneDX SBOM (made from the image's own files; publish attaches it).")
@debug_option
def build(providers: tuple[str, ...], site_path: Path | None, tags: tuple[str, ...], variants: tuple[str, ...],
          all_variants: bool, no_cache: bool, verbose: bool, no_sbom: bool) -> None:
    """Build the provider images (all of them when no PROVIDER is given), each provider's default variant
    unless --variant or --all-variants says otherwise; print every ref, one per line."""
    from pipeyard.images.build import BuildRequest, build_images, check_tags
    from pipeyard.images.containers import engine
    from pipeyard.images.progress import stderr_console
    from pipeyard.model.provider import load_providers, repo_root
    from pipeyard.model.site import find_site, load_site

    # Everything a user can get wrong is checked before the engine starts.
    root = repo_root()
    selected = load_providers(root, list(providers) or None)
    check_tags(tags)
    if site_path is not None and not site_path.is_file():
        raise UsageError(f"--site {site_path}: no such file", fix="pass the path of a site file")
    site = load_site(site_path or find_site(root), load_providers(root))
    console = stderr_console()
    request = BuildRequest(root=root, providers=selected, site=site, tags=tags, no_cache=no_cache,
                           variants=variants, all_variants=all_variants)
    request.images()  # a wrong --variant is a usage error before the engine starts
    with engine() as eng:
        results = build_images(eng, request, console=console, verbose=verbose)
        if not no_sbom:
            from pipeyard.supply.sbom import record, summary

            for r in results:
                path, data = record(eng.client, r.ref)
                console.print(f"{r.provider}: SBOM {summary(data)} -> {path}", markup=False, soft_wrap=True)
    for r in results:
        for tag in r.tags:
            click.echo(tag)
