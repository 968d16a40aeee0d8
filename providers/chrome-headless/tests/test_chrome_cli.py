"""The `screenshot` console script as a CI job runs it: one page, a shots.yml batch, and its errors."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from chrome_support import needs_chromium
from PIL import Image
from pypdf import PdfReader

from tests.fixtures import free_port, run_cli


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A TMPDIR short enough for Chromium's socket paths, to show the browser leaves nothing in it."""
    path = Path(tempfile.mkdtemp(prefix="ss-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_help_and_version():
    help_ = run_cli("screenshot", "--help")
    assert help_.returncode == 0
    for flag in ("--config", "--output-dir", "--wait-for", "--pdf-format", "--hide", "--show-config", "shots.yml"):
        assert flag in help_.stdout
    version = run_cli("screenshot", "--version")
    assert (version.returncode, version.stdout.strip()) == (0, "screenshot, version 1.0.0")


def test_bad_options_exit_2_with_one_error_and_no_browser(tmp_path):
    result = run_cli("screenshot", "http://127.0.0.1:1/", "-o", "x.gif", "--timeout", "soon", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: 2 problems with the options:",
        "  - --output 'x.gif' has an unknown extension: use .png, .jpg or .pdf, or set the format",
        "  - --timeout 'soon' is not a duration: use seconds (2, 0.5) or milliseconds (500ms)",
    ]
    nothing = run_cli("screenshot", cwd=tmp_path)
    assert nothing.returncode == 2
    assert nothing.stderr.strip() == ("error: no URL given and there is no shots.yml here: give a URL to capture, "
                                      "or a shots file with --config FILE (or SCREENSHOT_CONFIG)")


@pytest.mark.browser
@needs_chromium
def test_one_page(site, tmp_path, scratch):
    result = run_cli("screenshot", f"{site.url}/blocks.html", "-o", "shot.png", "--width", "300", "--height", "200",
                     cwd=tmp_path, env={"TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    image = Image.open(tmp_path / "shot.png").convert("RGB")
    assert image.size == (300, 200)
    assert image.getpixel((150, 50)) == (0, 255, 0)
    assert not any(scratch.iterdir())  # profile, HOME and temp files went with the browser


@pytest.mark.browser
@needs_chromium
def test_batch_writes_every_page_it_can_and_names_the_one_it_cannot(site, tmp_path, scratch):
    down = f"http://127.0.0.1:{free_port()}/status"
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "shots.yml").write_text(f"""
defaults:
  width: 400
  height: 300
shots:
  - url: {site.url}/blocks.html
    output: blocks.png
  - url: {site.url}/doc.html
    output: reports/doc.pdf
  - {down}
  - url: {site.url}/echo.html?batch
    output: echo.jpg
    headers: {{X-Token: "${{CI_TOKEN}}"}}
""")
    result = run_cli("screenshot", "--config", "ci/shots.yml", "--output-dir", "out", cwd=tmp_path,
                     env={"CI_TOKEN": "t0k", "SCREENSHOT_TIMEOUT": "20", "TMPDIR": str(scratch)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (f"cannot reach {down}: the connection was refused: check the URL and that the server is up"
            in result.stderr)
    assert result.stderr.splitlines()[-1] == (f"error: 1 of 4 shots failed ({down}): see the error for each above; "
                                              "the other pages were written")
    out = tmp_path / "out"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == \
        ["blocks.png", "echo.jpg", "reports/doc.pdf"]
    assert Image.open(out / "blocks.png").size == (400, 300)
    assert len(PdfReader(out / "reports" / "doc.pdf").pages) == 3
    assert site.received("/echo.html?batch")[-1]["x-token"] == "t0k"
    assert not any(scratch.iterdir())
