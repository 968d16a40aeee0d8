"""A Chinese page renders with a CJK font, not tofu: shown against a render where only Latin fonts exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from chrome_support import CHROMIUM, needs_chromium
from PIL import Image

from pipeyard_chrome_headless import Browser, capture, make_shot

pytestmark = [pytest.mark.browser, needs_chromium]

LATIN_ONLY = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>/usr/share/fonts/truetype/liberation</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


def glyph_cells(path: Path) -> list[bytes]:
    """The four 64x64 cells the page draws one character into each."""
    image = Image.open(path).convert("L")
    return [image.crop((64 * i, 0, 64 * i + 64, 64)).tobytes() for i in range(4)]


def ink(cell: bytes) -> int:
    return sum(1 for value in cell if value < 128)


def used_fonts(browser: Browser, url: str) -> list[str]:
    """The platform fonts Chromium drew the text with, as DevTools reports them."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        cdp = context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#text"})["nodeId"]
        return [f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]
    finally:
        context.close()


def test_chinese_is_drawn_with_a_cjk_font_not_tofu(browser, site, tmp_path):
    liberation = Path("/usr/share/fonts/truetype/liberation")
    if not liberation.is_dir():
        pytest.skip("fonts-liberation is not installed: run `make setup`")
    url = f"{site.url}/zh.html"
    real = glyph_cells(capture(browser, make_shot({"url": url, "output": str(tmp_path / "zh.png")})))
    real_fonts = used_fonts(browser, url)

    conf = tmp_path / "latin-only.conf"
    conf.write_text(LATIN_ONLY.format(cache=tmp_path / "fc-cache"))
    with Browser(CHROMIUM, env={"FONTCONFIG_FILE": str(conf)}) as latin:
        tofu = glyph_cells(capture(latin, make_shot({"url": url, "output": str(tmp_path / "tofu.png")})))
        tofu_fonts = used_fonts(latin, url)

    # Without a CJK font every character is the same missing-glyph box ...
    assert len(set(tofu)) == 1
    assert not any("CJK" in f or "WenQuanYi" in f for f in tofu_fonts)
    # ... with one, four different glyphs, each with real strokes in it.
    assert len(set(real)) == 4
    assert all(ink(cell) > 100 for cell in real)
    assert any("CJK" in f or "WenQuanYi" in f for f in real_fonts), real_fonts
