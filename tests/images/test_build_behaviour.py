"""How builds behave: an unchanged rebuild is all cache, a failing step is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeyard.images.build import BuildRequest, build_images
from pipeyard.images.containers.leftovers import working_containers
from pipeyard.model.provider import load_provider, load_providers
from pipeyard.model.site import load_site
from pipeyard.render.outputs import render_pyproject
from pipeyard_kit.errors import BuildError

from .conftest import PREFIX, ROOT

pytestmark = pytest.mark.images


def test_an_unchanged_rebuild_reuses_every_layer(eng, built, site_file: Path, planted, console, monkeypatch) -> None:
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    # The same wheel: other work in the checkout must not count as a change here.
    request = BuildRequest(root=ROOT, providers=[load_provider(ROOT, "sendmail")], site=load_site(site_file),
                           prefix=PREFIX, wheel=built["sendmail"].wheel)
    before = eng.client.images.get(built["sendmail"].image_id).attrs["RootFS"]["Layers"]
    [again] = build_images(eng, request, console=console)
    assert eng.client.images.get(again.image_id).attrs["RootFS"]["Layers"] == before
    assert again.cached_steps >= 8


def test_extra_tags_point_at_the_same_image(eng, built, site_file: Path, planted, console, monkeypatch) -> None:
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    request = BuildRequest(root=ROOT, providers=[load_provider(ROOT, "sendmail")], site=load_site(site_file),
                           prefix=PREFIX, tags=("candidate",), wheel=built["sendmail"].wheel)
    [result] = build_images(eng, request, console=console)
    assert result.tags == [f"{PREFIX}/sendmail:{result.ref.rsplit(':', 1)[1]}", f"{PREFIX}/sendmail:candidate"]
    assert eng.client.images.get(f"{PREFIX}/sendmail:candidate").id == result.image_id


def test_a_failing_step_is_named_in_one_build_error(eng, built, tmp_path: Path, console) -> None:
    folder = tmp_path / "providers" / "broken"
    shutil.copytree(ROOT / "providers" / "sendmail", folder, symlinks=True)
    yaml_text = (folder / "provider.yaml").read_text().replace("name: sendmail", "name: broken", 1)
    (folder / "provider.yaml").write_text(yaml_text.replace("  name: sendmail", "  name: broken", 1))
    (folder / "Dockerfile").write_text("ARG BASE_REGISTRY=localhost/pipeyard\nFROM ${BASE_REGISTRY}/debian:trixie\n"
                                       "RUN echo about to fail && exit 3\n")
    (tmp_path / "pyproject.toml").write_text("")
    (folder / "pipeyard_sendmail").rename(folder / "pipeyard_broken")
    [broken] = load_providers(tmp_path)
    (folder / "pyproject.toml").write_text(render_pyproject(broken))
    request = BuildRequest(root=ROOT, providers=[broken], site=load_site(None), prefix=PREFIX)
    before = working_containers(eng)
    with pytest.raises(BuildError) as info:
        build_images(eng, request, console=console)
    message = str(info.value)
    assert message.startswith(f"building {PREFIX}/broken:")
    assert "failed at step 2 (RUN echo about to fail && exit 3)" in message
    assert "fix providers/broken/Dockerfile" in message
    # Podman keeps the failed step's working container; the build removes its own.
    new = {cid: name for cid, name in working_containers(eng).items() if cid not in before}
    assert not [name for name in new.values() if name.startswith("debian-working-container")]


def test_a_missing_local_base_says_how_to_bootstrap_it(eng, console, monkeypatch) -> None:
    from dataclasses import replace

    import pipeyard.images.build as images

    monkeypatch.setattr(images, "LOCAL_BASE_REGISTRY", "localhost/pipeyard-nobase")
    site = replace(load_site(None), base_registry="localhost/pipeyard-nobase")
    request = BuildRequest(root=ROOT, providers=[load_provider(ROOT, "sendmail")], site=site, prefix=PREFIX)
    with pytest.raises(BuildError) as info:
        build_images(eng, request, console=console)
    assert "localhost/pipeyard-nobase/debian:trixie" in str(info.value)
    assert "pipeyard base bootstrap --release trixie" in str(info.value)
