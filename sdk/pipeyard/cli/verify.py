"""`pipeyard verify IMAGE --key PUBLIC.pem`: cosign's verdict on an image's signature, without cosign."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard_kit.console import debug_option


@click.command(epilog="Accepts what `cosign verify --key` accepts: a simple signing payload for exactly this "
                      "digest in sha256-<digest>.sig, signed by the key. PIPEYARD_REGISTRY_USERNAME and "
                      "PIPEYARD_REGISTRY_PASSWORD log in; exits 1 when the image is not signed by the key.")
@click.argument("image")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="PUBLIC.pem", help="The public key (cosign.pub) of the platform's signing key.")
@click.option("--attestation", is_flag=True,
              help="Also require a CycloneDX SBOM attestation signed by the key (as `cosign verify-attestation "
                   "--type cyclonedx` does).")
@debug_option
def verify(image: str, key_path: Path, attestation: bool) -> None:
    """Check that IMAGE (registry/repository:tag or @digest) is signed by the key."""
    from pipeyard.supply.keys import load_public_key
    from pipeyard.supply.remote import client_for
    from pipeyard.supply.verify import verify_image
    from pipeyard_kit.errors import PipeyardError
    from pipeyard_kit.registry import Reference

    public = load_public_key(key_path)
    ref = Reference.parse(image)
    verdict = verify_image(client_for(ref), ref.repository, ref.reference, public)
    for line in verdict.lines():
        click.echo(line)
    if not verdict.signed:
        raise PipeyardError(f"{image} is not signed by {key_path}",
                            fix="sign it with `pipeyard publish --sign` and the matching private key")
    if attestation and not verdict.attested:
        raise PipeyardError(f"{image} has no CycloneDX SBOM attestation signed by {key_path}",
                            fix="publish it with --sign, which attests its SBOM")
