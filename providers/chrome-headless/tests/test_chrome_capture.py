"""Real captures of local pages with one shared Chromium: pixels, sizes, PDFs, what the server receives, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from chrome_support import PASSWORD, USER, needs_chromium
from PIL import Image
from pypdf import PdfReader

from pipeyard_chrome_headless import PageTimeout, PageUnreachable, capture, make_shot, run_batch
from tests.fixtures import free_port

pytestmark = [pytest.mark.browser, needs_chromium]

RED, GREEN, BLUE, YELLOW, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 255, 255)


def rgb(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def test_known_blocks_come_out_in_their_colours(browser, site, tmp_path):
    # The public one-call API: its own tab, closed afterwards.
    image = rgb(capture(browser, make_shot({"url": f"{site.url}/blocks.html", "output": str(tmp_path / "b.png")})))
    assert image.size == (1280, 720)
    assert [image.getpixel(p) for p in [(50, 50), (150, 50), (50, 150), (150, 150), (250, 250)]] == \
        [RED, GREEN, BLUE, YELLOW, WHITE]


def test_viewport_and_device_scale(shoot, site):
    image = rgb(shoot(f"{site.url}/blocks.html", "retina.png", width=300, height=250, scale=2))
    assert image.size == (600, 500)
    # CSS pixel (150, 50) is device pixel (300, 100); the red block's edge moves to 200.
    assert image.getpixel((300, 100)) == GREEN
    assert image.getpixel((198, 198)) == RED
    assert image.getpixel((202, 202)) == YELLOW


def test_full_page_captures_the_whole_height(shoot, site):
    viewport = Image.open(shoot(f"{site.url}/tall.html", "top.png"))
    full = Image.open(shoot(f"{site.url}/tall.html", "full.png", full_page=True))
    assert viewport.size == (1280, 720)
    assert full.size == (1280, 3000)


@pytest.mark.parametrize(("scale", "size"), [(1, (200, 120)), (2, (400, 240))])
def test_selector_clip_is_the_element(shoot, site, scale, size):
    image = rgb(shoot(f"{site.url}/clip.html", "card.png", selector="#card", scale=scale))
    assert image.size == size
    assert {image.getpixel((0, 0)), image.getpixel((size[0] - 1, size[1] - 1))} == {(0, 0x88, 0xFF)}


def test_jpeg_by_extension_with_quality(shoot, site):
    out = shoot(f"{site.url}/blocks.html", "blocks.jpg", quality=60)
    image = Image.open(out)
    assert image.format == "JPEG"
    r, g, b = image.convert("RGB").getpixel((50, 50))
    assert r > 230 and g < 25 and b < 25


def test_pdf_has_the_pages_text_and_size(shoot, site):
    out = shoot(f"{site.url}/doc.html", "report.pdf", pdf_format="A4", margin="1cm")
    reader = PdfReader(out)
    assert len(reader.pages) == 3
    assert "Quarterly build report" in reader.pages[0].extract_text()
    assert "Section three: vulnerabilities" in reader.pages[2].extract_text()
    box = reader.pages[0].mediabox
    # A4 is 595 x 842 points; Chromium rounds the page to whole CSS pixels.
    assert abs(float(box.width) - 595) < 2 and abs(float(box.height) - 842) < 2


def test_pdf_landscape_letter_by_format_flag(shoot, site):
    out = shoot(f"{site.url}/doc.html", "report", format="pdf", pdf_format="letter",
                landscape=True)
    box = PdfReader(out).pages[0].mediabox
    assert abs(float(box.width) - 792) < 2 and abs(float(box.height) - 612) < 2


def test_cookies_and_headers_reach_the_server(shoot, site):
    shoot(f"{site.url}/echo.html?h", "echo.png",
          cookies={"session": "abc123", "theme": "dark"}, headers=["X-Pipeline: 42", "X-Env: ci"])
    got = site.received("/echo.html?h")[-1]
    assert sorted(got["cookie"].split("; ")) == ["session=abc123", "theme=dark"]
    assert (got["x-pipeline"], got["x-env"]) == ("42", "ci")


def test_basic_auth_reaches_the_server(shoot, site):
    image = rgb(shoot(f"{site.url}/private/page.html", "private.png", auth=f"{USER}:{PASSWORD}"))
    assert image.getpixel((10, 10)) == GREEN
    assert site.received("/private/page.html")[-1]["authorization"].startswith("Basic ")


@pytest.mark.parametrize(("auth", "outcome"), [(None, "missing"), (f"{USER}:wrong", "refused")])
def test_basic_auth_failure_names_the_url_and_the_fix(shoot, site, auth, outcome):
    with pytest.raises(PageUnreachable) as err:
        shoot(f"{site.url}/private/page.html", "no.png", auth=auth)
    assert str(err.value) == (f"{site.url}/private/page.html asks for HTTP basic auth and the credentials were "
                              f"{outcome}: set --auth, auth: in shots.yml or SCREENSHOT_AUTH (or SCREENSHOT_AUTH_FILE), "
                              "or check the cookies and headers")


def test_error_status_fails_unless_allowed(shoot, site):
    with pytest.raises(PageUnreachable, match=r"/missing.html answered HTTP 404 Not Found: check the URL"):
        shoot(f"{site.url}/missing.html", "missing.png")
    assert shoot(f"{site.url}/missing.html", "missing.png", allow_error_status=True).is_file()


def test_wait_for_selector_captures_the_late_element(shoot, site):
    image = rgb(shoot(f"{site.url}/late.html", "late.png", wait_for="#ready"))
    assert image.getpixel((50, 50)) == GREEN


def test_hide_selectors(shoot, site):
    shown = rgb(shoot(f"{site.url}/banner.html", "shown.png"))
    hidden = rgb(shoot(f"{site.url}/banner.html", "hidden.png", hide=[".cookie-banner"]))
    assert (shown.getpixel((50, 50)), hidden.getpixel((50, 50))) == (RED, WHITE)


def test_disable_animations_shows_the_resting_state(shoot, tmp_path):
    page = tmp_path / "spin.html"
    page.write_text("<style>@keyframes k { from { background: #f00 } to { background: #00f } }"
                    "body { margin: 0 } div { width: 100px; height: 100px; background: #0f0;"
                    " animation: k 100s infinite }</style><div></div>")
    moving = rgb(shoot(str(page), "moving.png"))
    still = rgb(shoot(str(page), "still.png", disable_animations=True))
    assert moving.getpixel((50, 50))[0] > 200  # the animation's red start
    assert still.getpixel((50, 50)) == GREEN


def test_wait_timeout_names_the_url_and_the_selector(shoot, site):
    with pytest.raises(PageTimeout) as err:
        shoot(f"{site.url}/echo.html", "never.png", wait_for="#never", timeout=1.5)
    assert str(err.value).startswith(
        f"timed out after 1.5 s waiting for selector '#never' on {site.url}/echo.html: raise the timeout")


def test_load_timeout_names_the_url_and_the_load_state(shoot, site):
    with pytest.raises(PageTimeout) as err:
        shoot(f"{site.url}/hanging.html", "hang.png", timeout="500ms")
    assert str(err.value).startswith(
        f"timed out after 0.5 s loading {site.url}/hanging.html (waiting for load state 'load')")


def test_missing_clip_element_is_a_timeout_naming_the_selector(shoot, site):
    with pytest.raises(PageTimeout, match=r"waiting for selector '#nope' to clip on http://127\.0\.0\.1:\d+/clip"):
        shoot(f"{site.url}/clip.html", "nope.png", selector="#nope", timeout=1.5)


def test_unreachable_url_names_the_url_and_the_fix(shoot):
    url = f"http://127.0.0.1:{free_port()}/dashboard"
    with pytest.raises(PageUnreachable) as err:
        shoot(url, "down.png")
    assert str(err.value) == (f"cannot reach {url}: the connection was refused: check the URL and that the "
                              "server is up and reachable from the runner")


def test_batch_reuses_one_tab_yet_resets_cookies_and_headers(browser, site, tmp_path):
    down = f"http://127.0.0.1:{free_port()}/"
    shots = [make_shot({"url": f"{site.url}/echo.html?1", "output": str(tmp_path / "1.png"),
                        "cookies": {"a": "1"}, "headers": {"X-One": "1"}}),
             make_shot({"url": down, "output": str(tmp_path / "down.png")}),
             make_shot({"url": f"{site.url}/echo.html?3", "output": str(tmp_path / "3.png")}),
             make_shot({"url": f"{site.url}/doc.html", "output": str(tmp_path / "4.pdf")})]
    failures = run_batch(browser, shots)
    assert [(shot.url, type(err)) for shot, err in failures] == [(down, PageUnreachable)]
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["1.png", "3.png", "4.pdf"]
    third = site.received("/echo.html?3")[-1]
    assert "cookie" not in third and "x-one" not in third
    assert site.received("/echo.html?1")[-1]["cookie"] == "a=1"
