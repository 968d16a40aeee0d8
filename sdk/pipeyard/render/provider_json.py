"""pipeyard_<name>/provider.json: a provider's settings and commands, for its CLIs at run time.

The CLIs run inside images without provider.yaml, so render packs what they validate
their environment against into the provider's own package.
"""

from __future__ import annotations

import json

from pipeyard.model.provider import Provider
from pipeyard.render import stamps
from pipeyard_kit import __version__


def provider_json(provider: Provider) -> str:
    data = {
        "_generated": stamps.of(provider),
        "version": __version__,
        "name": provider.name,
        "image": provider.image_name,
        "cli": list(provider.cli),
        "settings": [s.to_json() for s in provider.settings],
        # The pinned tools, for a CLI that fetches one at run time (the sonar image's SonarScanner CLI).
        "tools": provider.tools,
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
