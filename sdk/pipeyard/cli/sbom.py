"""`pipeyard sbom IMAGE`: print or save an image's CycloneDX SBOM."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard_kit.console import debug_option


@click.command(epilog="A registry image's SBOM is the CycloneDX referrer `pipeyard publish` attached, found "
                      "through the referrers API or its tag-schema fallback; PIPEYARD_REGISTRY_USERNAME and "
                      "PIPEYARD_REGISTRY_PASSWORD log in. A local image's (localhost/..., or a provider name) "
                      "is the one `pipeyard build` made, or is made now from the image's files.")
@click.argument("image")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the SBOM here instead of printing it.")
@click.option("--summary", is_flag=True, help="Print only how many components of each kind it lists.")
@debug_option
def sbom(image: str, output: Path | None, summary: bool) -> None:
    """Print or save the CycloneDX SBOM of IMAGE (a local image, a provider name, or a registry image)."""
    from pipeyard.supply import sbom as sboms

    data, where = _local(image) if _is_local(image) else _remote(image)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
        click.echo(f"{output}: SBOM of {where} ({sboms.summary(data)})")
    elif summary:
        click.echo(f"{where}: {sboms.summary(data)}")
    else:
        click.echo(data.decode(), nl=False)


def _is_local(image: str) -> bool:
    return image.startswith("localhost/") or "/" not in image


def _local(image: str) -> tuple[bytes, str]:
    import docker.errors

    from pipeyard.cli.publish import docker_client
    from pipeyard.publish import images as pub
    from pipeyard.supply.sbom import for_image
    from pipeyard_kit import __version__
    from pipeyard_kit.errors import BuildError

    if "/" not in image:
        from pipeyard.model.provider import load_providers, repo_root

        provider = load_providers(repo_root(), [image.split(":", 1)[0]])[0]
        image = pub.local_ref(provider.image_name, image.split(":", 1)[1] if ":" in image else __version__)
    with docker_client() as store:
        try:
            local = store.images.get(image)
        except docker.errors.ImageNotFound:
            raise BuildError(f"no image {image} in the local store", fix="build it first: pipeyard build") from None
        data, _ = for_image(local, image)
    return data, image


def _remote(image: str) -> tuple[bytes, str]:
    from pipeyard.supply.remote import client_for, fetch_sbom
    from pipeyard_kit.registry import Reference

    ref = Reference.parse(image)
    digest, data = fetch_sbom(client_for(ref), ref.repository, ref.reference)
    return data, f"{ref.host}/{ref.repository}@{digest}"
