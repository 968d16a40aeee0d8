"""`screenshot`: capture one page, or every page in a shots.yml, with one browser.

Flags map 1:1 to shot keys (options.KEYS). Playwright is imported only when a browser
starts, so --help, --version and option errors answer at once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from pipeyard_chrome_headless.options import FORMATS, LOAD_STATES, PDF_FORMATS, make_shot
from pipeyard_kit import options
from pipeyard_kit import settings as settings_mod
from pipeyard_kit.console import run_main, setup_logging
from pipeyard_kit.errors import ConfigError, UsageError
from pipeyard_kit.exits import quick_exit

PROVIDER = "chrome-headless"
log = logging.getLogger("pipeyard.screenshot")

# Flag parameter -> shot key, for the flags that describe a shot.
SHOT_FLAGS = {
    "width": "width", "height": "height", "scale": "scale", "full_page": "full_page", "selector": "selector",
    "wait_until": "wait_until", "wait_for": "wait_for", "delay": "delay", "timeout": "timeout",
    "cookie": "cookies", "header": "headers", "auth": "auth",
    "format": "format", "quality": "quality", "pdf_format": "pdf_format", "margin": "margin",
    "landscape": "landscape", "hide": "hide", "disable_animations": "disable_animations",
    "ignore_https_errors": "ignore_https_errors", "allow_error_status": "allow_error_status",
}

EPILOG = """\b
Examples:
  screenshot https://example.com -o example.png
  screenshot https://example.com/report -o report.pdf --pdf-format A4 --margin 1cm
  screenshot https://app.example.com -o app.jpg -q 80 --full-page --hide .cookie-banner
  screenshot https://grafana.example.com/d/x -o g.png --wait-for .panel-container --timeout 60
  screenshot --config shots.yml --output-dir screenshots

\b
shots.yml (a shot's keys beat defaults:, which beat these flags):
  defaults: {width: 1440, wait_until: networkidle}
  shots:
    - https://example.com/
    - url: https://grafana.example.com/d/x
      output: grafana.png
      headers: {Authorization: "Bearer ${GRAFANA_TOKEN}"}

Keys are the long flags' names with underscores (full_page, wait_for, pdf_format, ...),
plus url and output; cookies, headers and auth take mappings and expand ${VAR}.
Settings come from flags, then the environment (SCREENSHOT_CONFIG, SCREENSHOT_OUTPUT_DIR,
SCREENSHOT_TIMEOUT, SCREENSHOT_AUTH[_FILE], CHROMIUM_PATH, CHROMIUM_SANDBOX); see --show-config.
"""


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
               epilog=EPILOG)
@click.argument("url", required=False)
@click.option("-o", "--output", metavar="FILE", help="Where to write one page; .png, .jpg or .pdf picks the format. "
              "[default: a name made from the URL]")
@options.setting_options(PROVIDER)
@click.option("-w", "--width", metavar="PX", help="Viewport width.  [default: 1280]")
@click.option("--height", metavar="PX", help="Viewport height.  [default: 720]")
@click.option("--scale", metavar="N", help="Device scale factor: 2 gives a retina capture twice as large.  [default: 1]")
@click.option("--full-page", is_flag=True, help="Capture the whole scrollable page, not only the viewport.")
@click.option("-s", "--selector", metavar="CSS", help="Capture only the first element matching this selector.")
@click.option("--wait-until", metavar="STATE", help=f"Load state to wait for: {', '.join(LOAD_STATES)}.  "
              "[default: load]")
@click.option("--wait-for", metavar="CSS", help="Wait until an element matching this selector is visible.")
@click.option("--delay", metavar="TIME", help="A fixed wait before capturing, after everything else: 2, 0.5 or 500ms.")
@click.option("--timeout", metavar="SECONDS", help="Limit for loading the page and for each wait. "
              "[env: SCREENSHOT_TIMEOUT; default: 30]")
@click.option("--cookie", multiple=True, metavar="NAME=VALUE", help="A cookie for the page's URL; repeatable.")
@click.option("-H", "--header", multiple=True, metavar="'NAME: VALUE'", help="An extra HTTP header; repeatable.")
@click.option("--auth", metavar="USER:PASSWORD", help="HTTP basic auth for the page's origin. Prefer SCREENSHOT_AUTH "
              "(or SCREENSHOT_AUTH_FILE): a flag shows up in process lists.")
@click.option("-f", "--format", "format", metavar="FORMAT", help=f"Output format ({', '.join(FORMATS)}), "
              "when the file name does not say.")
@click.option("-q", "--quality", metavar="0-100", help="JPEG quality.")
@click.option("--pdf-format", metavar="SIZE", help=f"PDF page size: {', '.join(PDF_FORMATS)}.  [default: A4]")
@click.option("--margin", metavar="LENGTHS", help="PDF margins, 1 to 4 CSS lengths: 1cm, or '10mm 15mm'.  "
              "[default: 1cm]")
@click.option("--landscape", is_flag=True, help="PDF in landscape orientation.")
@click.option("--hide", multiple=True, metavar="CSS", help="Hide elements matching this selector; repeatable.")
@click.option("--disable-animations", is_flag=True, help="Stop CSS animations and transitions, ask for reduced motion.")
@click.option("--ignore-https-errors", is_flag=True, help="Accept untrusted TLS certificates.")
@click.option("--allow-error-status", is_flag=True, help="Capture pages that answer HTTP 4xx or 5xx instead of failing.")
@options.common_options(PROVIDER, "screenshot")
@click.pass_context
def screenshot(ctx: click.Context, url: str | None, output: str | None, **flags: Any) -> None:
    """Capture web pages as PNG, JPEG or PDF with Debian's Chromium.

    Give a URL (or an HTML file) to capture one page, or a shots.yml (--config) to capture many
    with one browser. A timeout, an unreachable URL or an HTTP error status fails with a message
    naming the page; in a batch every shot is tried and the failures are listed at the end.
    """
    given = options.overrides(flags)
    conf = settings_mod.load(PROVIDER, overrides=given)
    raw = {SHOT_FLAGS[k]: v for k, v in options.without_settings(flags).items() if _given(ctx, k)}
    raw.setdefault("timeout", conf["SCREENSHOT_TIMEOUT"])
    if conf["SCREENSHOT_AUTH"] is not None and "auth" not in raw:
        user, colon, _password = conf["SCREENSHOT_AUTH"].partition(":")
        if not user or not colon:
            # A bad variable is the job's configuration, not the command line: named as itself, never echoed.
            raise ConfigError(f"{conf.given_as('SCREENSHOT_AUTH')} is not USER:PASSWORD",
                              fix="set it to the page's basic-auth login and password, separated by ':'")
        raw["auth"] = conf["SCREENSHOT_AUTH"]
    if url:
        if "SCREENSHOT_CONFIG" in given:
            raise UsageError("give either a URL or --config, not both",
                             fix="run once per URL, or add the URL to the shots file")
        out_dir = Path(conf["SCREENSHOT_OUTPUT_DIR"]) if "SCREENSHOT_OUTPUT_DIR" in given else None
        shots = [make_shot({**raw, "url": url, "output": output}, output_dir=out_dir)]
    else:
        if output:
            raise UsageError("-o/--output names one page's file and there is no URL",
                             fix="give a URL, or set output: per shot in the shots file and use --output-dir")
        shots = _batch(conf, raw)
    _run(conf, shots)


def _batch(conf: settings_mod.Settings, raw: dict[str, Any]) -> list[Any]:
    from pipeyard_chrome_headless.batch import load_batch

    path = Path(conf["SCREENSHOT_CONFIG"])
    if not path.is_file():
        source = conf.sources["SCREENSHOT_CONFIG"]
        if source == "default" and not path.exists():
            raise UsageError(f"no URL given and there is no {path} here",
                             fix="give a URL to capture, or a shots file with --config FILE (or SCREENSHOT_CONFIG)")
        what = "is a folder" if path.is_dir() else "does not exist"
        named = f"--config {path}" if source == "flag" else f"SCREENSHOT_CONFIG={path} ({source})"
        raise (UsageError if source == "flag" else ConfigError)(
            f"{named} {what}", fix="name the shots file; a relative path starts at the job's working directory")
    return load_batch(path, base=raw, output_dir=Path(conf["SCREENSHOT_OUTPUT_DIR"]))


def _run(conf: settings_mod.Settings, shots: list[Any]) -> None:
    from pipeyard_chrome_headless.browser import Browser
    from pipeyard_chrome_headless.capture import Tab
    from pipeyard_chrome_headless.errors import CaptureError

    started = time.perf_counter()
    with Browser(conf["CHROMIUM_PATH"], sandbox=conf["CHROMIUM_SANDBOX"]) as browser:
        if len(shots) == 1:
            # Its context closes with the browser, a moment later.
            Tab(browser, shots[0]).capture(shots[0])
            return
        from pipeyard_chrome_headless.batch import run_batch

        failures = run_batch(browser, shots)
    done = len(shots) - len(failures)
    log.info("captured %d of %d pages in %.1f s", done, len(shots), time.perf_counter() - started)
    if failures:
        urls = ", ".join(shot.url for shot, _ in failures)
        raise CaptureError(f"{len(failures)} of {len(shots)} shots failed ({urls})",
                           fix="see the error for each above; the other pages were written")


def main() -> None:
    setup_logging()
    try:
        run_main(screenshot, "screenshot")
    except SystemExit as done:
        # The browser, its driver and their scratch directories are closed by now.
        quick_exit(done.code)
