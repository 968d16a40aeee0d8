"""The journey: each example's real pipelines in gitlab-ci-local, every job inside the provider
images, against the stand-ins (Nexus, SonarQube, the config repository's git server, SMTP, npm).

Images are built once per session through `pipeyard build` (cached layers, shared with
`make test-in-images`), then published by pipeyard's own publish code to a real registry
(Debian's docker-registry on a free port). Jobs name them there (PIPEYARD_REGISTRY) and Podman
pulls them on first use, as a runner pulls from Harbor.

`make test` runs the representative slice (java-app's push pipeline); PIPEYARD_JOURNEYS=all
(`make test-journeys`) runs every example and pipeline kind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.model.provider import load_providers
from pipeyard.model.site import find_site, load_site
from tests.fixtures import ROOT
from tests.journeys.journey_support import PROVIDERS, JourneyRegistry, published_images

ALL = os.environ.get("PIPEYARD_JOURNEYS") == "all"


def pytest_collection_modifyitems(items):
    for item in items:
        if "journey_matrix" in item.keywords and not ALL:
            item.add_marker(pytest.mark.skip(reason="the whole journey matrix runs in `make test-journeys`"))


@pytest.fixture(scope="session")
def journey_images(eng) -> dict[str, str]:
    """The provider images of the journeys, built as `pipeyard build` builds them (cached)."""
    from rich.console import Console

    from pipeyard.images.base import bootstrap
    from pipeyard.images.build import BuildRequest, build_images

    console = Console(stderr=True, force_terminal=False, soft_wrap=True)
    providers = load_providers(ROOT, list(PROVIDERS))
    bootstrap(eng, "trixie", console=console)
    site = load_site(find_site(ROOT), load_providers(ROOT))
    results = build_images(eng, BuildRequest(root=ROOT, providers=providers, site=site), console=console)
    return {r.provider: r.ref for r in results}


@pytest.fixture(scope="session")
def journey_registry(eng, journey_images, tmp_path_factory) -> Iterator[JourneyRegistry]:
    """The images published to a real registry on a free port, as a release publishes them to Harbor."""
    with published_images(eng, journey_images, tmp_path_factory.mktemp("journey-registry")) as registry:
        yield registry


@pytest.fixture(scope="session")
def helper(eng) -> str:
    from rich.console import Console

    from pipeyard.demo.helper_image import ensure_helper_image

    return ensure_helper_image(eng, Console(stderr=True, force_terminal=False))


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("journeys")


@pytest.fixture(scope="session")
def app_registry(scratch: Path) -> Iterator:
    """The registry the pipelines push app images to (Debian's docker-registry on a free port), holding a
    stand-in of the B2I base at pipeyard/b2i-java:21-trixie: the journeys never run the app image
    (tests/b2i does), they build and pin it."""
    from pipeyard.images.containers.registry_server import LocalRegistry
    from tests.b2i.standins import tiny_base
    from tests.fixtures import free_port

    with LocalRegistry(scratch / "app-registry", port=free_port()) as reg:
        tiny_base(reg.address, "pipeyard/b2i-java")
        yield reg
