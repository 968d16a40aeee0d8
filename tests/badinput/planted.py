"""Fake secrets for the bad-input suite, unique to a run, so a hit can only come from a leak in it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

# Credentials a job carries besides the ones the providers declare secret.
JOB_SECRETS = ("CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "HARBOR_PASSWORD", "COSIGN_PASSWORD")


def planted_secrets(names: Iterable[str]) -> dict[str, str]:
    tag = secrets.token_hex(6)
    values = {name: f"Planted{name.title().replace('_', '')}{tag}" for name in sorted({*names, *JOB_SECRETS})}
    # Basic auth for a page is USER:PASSWORD; the password alone must not leak either.
    values["SCREENSHOT_AUTH"] = f"ci:{values.get('SCREENSHOT_AUTH', 'Planted' + tag)}"
    values["PLANTED"] = f"PlantedSecret{tag}"
    return values
