"""The provider commands' bad-input cases again, inside the built images (tests/badinput/in_image.py):
the image's kit, provider package and tools, as the image's user, with nothing from the checkout but
the cases. What holds on the host must hold where the jobs run."""

from __future__ import annotations

import json

import pytest

from pipeyard.model.provider import load_provider
from tests.badinput.conftest import SECRET_VARIABLES
from tests.images.conftest import PROVIDERS, ROOT, image_key
from tests.images.test_images import run

pytestmark = pytest.mark.images


# Each provider's default variant: the cases exercise pipeyard's commands, which are the same in every
# variant (the variants differ only in their tools).
@pytest.mark.parametrize("name", [image_key(p, load_provider(ROOT, p).default_variant.name)
                                  for p in PROVIDERS if p != "chrome-headless"])
def test_bad_input_inside_the_image(eng, built, name: str) -> None:
    # chrome-headless's cases start Chromium once each: the host suite runs them (marked browser).
    # The tables are generated from every provider's provider.json, so the runner (not the cases, whose
    # environment is built from scratch) sees every provider's package source; the commands it runs are
    # the image's own.
    path = ":".join(["/src", *(f"/src/providers/{p}" for p in PROVIDERS)])
    out = run(eng, built, name, "/opt/pipeyard/bin/python", "-m", "tests.badinput.in_image", *SECRET_VARIABLES,
              volumes={str(ROOT / "tests"): {"bind": "/src/tests", "mode": "ro"},
                       str(ROOT / "providers"): {"bind": "/src/providers", "mode": "ro"}},
              environment={"PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}, working_dir="/tmp", timeout=900)
    assert out.exit_code == 0, out.output[-3000:]
    result = json.loads(out.stdout)
    assert result["ran"] >= 5, f"only {result['ran']} cases found a console script in the {name} image"
    assert result["problems"] == {}, json.dumps(result["problems"], indent=1)[:6000]
