"""Reaching the registry an image reference names, with the platform's registry credentials."""

from __future__ import annotations

import json

from pipeyard.supply import cyclonedx, referrers
from pipeyard.supply.verify import resolve_digest
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry import Reference, RegistryClient
from pipeyard_kit.registry.credentials import env_hint, from_env
from pipeyard_kit.registry.reference import default_scheme


def client_for(ref: Reference) -> RegistryClient:
    return RegistryClient(ref.api_host, scheme=ref.scheme or default_scheme(ref.host),
                          credentials=from_env("PIPEYARD_REGISTRY"), credential_hint=env_hint("PIPEYARD_REGISTRY"),
                          unreachable_fix="check the image's registry and that this machine can reach it")


def fetch_sbom(client: RegistryClient, repo: str, reference: str) -> tuple[str, bytes]:
    """The image's digest and the CycloneDX document attached to it as a referrer."""
    digest = resolve_digest(client, repo, reference)
    found = referrers.list_referrers(client, repo, digest, cyclonedx.MEDIA_TYPE)
    if not found:
        raise RemoteError(f"{client.host}/{repo}@{digest[:19]} has no CycloneDX SBOM attached",
                          fix="publish it with pipeyard (which attaches one), or read a local image's with "
                              "`pipeyard sbom localhost/pipeyard/NAME:VERSION`")
    data, _ = client.get_manifest(repo, found[-1]["digest"])
    layers = [x for x in json.loads(data).get("layers") or [] if x.get("mediaType") == cyclonedx.MEDIA_TYPE]
    if not layers:
        raise RemoteError(f"the SBOM referrer of {client.host}/{repo}@{digest[:19]} holds no CycloneDX layer",
                          fix="re-publish the image to attach a fresh SBOM")
    return digest, client.get_blob(repo, layers[0]["digest"])
