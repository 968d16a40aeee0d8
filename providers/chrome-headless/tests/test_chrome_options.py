"""Shot options and shots.yml, checked without a browser: values, defaults, precedence, every message."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeyard_chrome_headless import Shot, load_batch, make_shot
from pipeyard_chrome_headless.options import check_shot, slug
from pipeyard_kit.errors import ConfigError, UsageError

URL = "https://grafana.example.com/d/abc/ci-overview"


def test_defaults_and_a_name_from_the_url():
    shot = make_shot({"url": URL})
    assert shot == Shot(url=URL, output=Path("grafana-example-com-d-abc-ci-overview.png"))
    assert (shot.width, shot.height, shot.scale, shot.wait_until, shot.timeout) == (1280, 720, 1.0, "load", 30.0)


@pytest.mark.parametrize(("output", "fmt", "expected"), [
    ("a.png", None, "png"), ("a.JPG", None, "jpeg"), ("a.jpeg", None, "jpeg"), ("a.pdf", None, "pdf"),
    ("a", "pdf", "pdf"), (None, "jpg", "jpeg"),
])
def test_format_from_extension_or_flag(output, fmt, expected):
    assert make_shot({"url": URL, "output": output, "format": fmt}).format == expected


def test_a_missing_output_takes_the_formats_extension_in_the_output_dir():
    shot = make_shot({"url": "http://127.0.0.1:8080/", "format": "pdf"}, output_dir=Path("out"))
    assert shot.output == Path("out/127-0-0-1-8080.pdf")
    assert slug("file:///tmp/report.html") == "report"


def test_values_are_converted():
    shot = make_shot({"url": URL, "width": "1440", "height": 900, "scale": "2", "delay": "500ms",
                      "timeout": "2s", "wait_until": "NetworkIdle", "margin": "10mm 5mm",
                      "cookies": ["session=abc", "theme = dark"], "headers": {"X-Env": "ci"},
                      "auth": "bot:pa:ss", "hide": ".banner", "disable_animations": "yes", "output": "a.pdf",
                      "pdf_format": "letter"})
    assert (shot.width, shot.height, shot.scale, shot.delay, shot.timeout) == (1440, 900, 2.0, 0.5, 2.0)
    assert (shot.wait_until, shot.pdf_format, shot.margin) == ("networkidle", "Letter", ("10mm", "5mm", "10mm", "5mm"))
    assert shot.cookies == (("session", "abc"), ("theme", "dark"))
    assert (shot.headers, shot.auth, shot.hide, shot.disable_animations) == \
        ((("X-Env", "ci"),), ("bot", "pa:ss"), (".banner",), True)


def test_the_password_stays_out_of_repr_and_messages():
    shot = make_shot({"url": URL, "auth": "bot:hunter2"})
    assert "hunter2" not in repr(shot)
    _, problems = check_shot({"url": URL, "auth": "hunter2"})
    assert problems == ["--auth is not USER:PASSWORD (or username:/password: keys): fix the credentials"]


def test_a_local_html_file_becomes_a_file_url(tmp_path):
    (tmp_path / "report.html").write_text("<p>hi</p>")
    shot = make_shot({"url": "report.html"}, files_dir=tmp_path)
    assert shot.url == (tmp_path / "report.html").as_uri()
    assert shot.output == Path("report.png")


def test_every_bad_flag_is_reported_at_once_with_exit_2():
    with pytest.raises(UsageError) as err:
        make_shot({"url": "example.com", "width": "wide", "scale": "9", "wait_until": "idle", "delay": "soon",
                   "headers": ["X-Bad"], "quality": "80", "output": "x.png"})
    assert err.value.exit_code == 2
    assert err.value.message.splitlines() == [
        "7 problems with the options:",
        "  - URL 'example.com' is not an http(s) URL or an existing file: use e.g. https://host/path",
        "  - --quality applies to JPEG output only: drop it or write a .jpg",
        "  - --width 'wide' is not a whole number: use e.g. 1280",
        "  - --scale 9 is out of range: use 0.25 to 5",
        "  - --wait-until 'idle' is not allowed: use one of load, domcontentloaded, networkidle, commit",
        "  - --delay 'soon' is not a duration: use seconds (2, 0.5) or milliseconds (500ms)",
        "  - --header entry 1 has no ':': write it as 'Name: value'",
    ]


@pytest.mark.parametrize(("raw", "problem"), [
    ({"output": "a.gif"}, "--output 'a.gif' has an unknown extension: use .png, .jpg or .pdf, or set the format"),
    ({"output": "a.png", "format": "pdf"}, "--format is pdf but the output 'a.png' is named as png: make them agree"),
    ({"output": "a.pdf", "full_page": True}, "--full-page does not apply to PDF output: drop it or change the output"),
    ({"output": "a.png", "margin": "1cm"}, "--margin does not apply to PNG output: drop it or change the output"),
    ({"output": "a.pdf", "margin": "1 cm"},
     "--margin '1 cm' is not a margin: use 1 to 4 lengths in px, in, cm or mm, like CSS (1cm or 10mm 15mm)"),
    ({"timeout": 0}, "--timeout '0' must be more than zero: use e.g. 30"),
    ({"cookies": {"bad name": "x"}}, "--cookie name 'bad name' is not valid: use letters, digits and -_. only"),
    ({"cookies": {"a": "1;2"}}, "--cookie value of 'a' contains a line break or ;: remove it"),
    ({"full_pgae": True}, "--full-pgae is not a shot option: did you mean 'full_page'?"),
])
def test_one_problem_names_the_option_and_the_fix(raw, problem):
    _, problems = check_shot({"url": URL, **raw})
    assert problems == [problem]


def test_cookies_need_an_http_page(tmp_path):
    (tmp_path / "p.html").write_text("x")
    _, problems = check_shot({"url": "p.html", "cookies": {"a": "1"}}, files_dir=tmp_path)
    assert problems == ["--cookie does not work on a file:// page: serve the page over http(s)"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shots.yml"
    path.write_text(text)
    return path


def test_batch_precedence_shot_over_defaults_over_flags(tmp_path):
    path = write(tmp_path, """
defaults:
  width: 1440
  wait-until: networkidle
  headers: {X-Env: ci}
shots:
  - https://example.com/
  - url: https://example.com/report
    output: sub/report.pdf
    width: 800
  - {url: "https://example.com/b", timeout: 5}
""")
    shots = load_batch(path, base={"width": "1000", "height": "500", "timeout": 30}, output_dir=tmp_path / "out")
    assert [(s.output, s.format, s.width, s.height, s.wait_until, s.timeout) for s in shots] == [
        (tmp_path / "out/example-com.png", "png", 1440, 500, "networkidle", 30.0),
        (tmp_path / "out/sub/report.pdf", "pdf", 800, 500, "networkidle", 30.0),
        (tmp_path / "out/example-com-b.png", "png", 1440, 500, "networkidle", 5.0),
    ]
    assert all(s.headers == (("X-Env", "ci"),) for s in shots)


def test_a_bare_list_and_pdf_defaults_that_skip_images(tmp_path):
    path = write(tmp_path, "- https://example.com/a\n- {url: https://example.com/b, output: b.pdf}\n")
    assert [s.format for s in load_batch(path, output_dir=tmp_path)] == ["png", "pdf"]
    path = write(tmp_path, "defaults: {margin: 2cm, full_page: true}\n"
                           "shots: [https://example.com/a, {url: https://example.com/b, output: b.pdf}]\n")
    a, b = load_batch(path, output_dir=tmp_path)
    assert (a.full_page, b.margin) == (True, ("2cm",) * 4)


def test_secrets_come_from_the_environment(tmp_path):
    path = write(tmp_path, """
shots:
  - url: https://example.com/a
    headers: {Authorization: "Bearer ${GRAFANA_TOKEN}"}
    auth: {username: bot, password: "${DASH_PASSWORD}"}
""")
    shot, = load_batch(path, output_dir=tmp_path, env={"GRAFANA_TOKEN": "t0k", "DASH_PASSWORD": "pw"})
    assert (shot.headers, shot.auth) == ((("Authorization", "Bearer t0k"),), ("bot", "pw"))
    with pytest.raises(ConfigError) as err:
        load_batch(path, output_dir=tmp_path, env={})
    assert err.value.problems == [
        f"{path}: shots[0] uses ${{DASH_PASSWORD}}, which is not set: set DASH_PASSWORD in the job's CI/CD variables",
        f"{path}: shots[0] uses ${{GRAFANA_TOKEN}}, which is not set: set GRAFANA_TOKEN in the job's CI/CD variables",
    ]


def test_every_problem_in_the_file_at_once(tmp_path):
    path = write(tmp_path, """
defaults:
  widht: 100
  height: tall
shots:
  - https://example.com/a
  - url: https://example.com/a
  - url: https://example.com/c
    quality: 80
  - 42
extra: 1
""")
    with pytest.raises(ConfigError) as err:
        load_batch(path, output_dir=tmp_path)
    # The bad default shows once, not once per shot.
    assert err.value.problems == [
        f"{path}: unknown top-level key 'extra': use one of defaults, shots",
        f"{path}: defaults.widht is not a default shot option: did you mean 'width'?",
        f"{path}: defaults.height 'tall' is not a whole number: use e.g. 720",
        f"{path}: shots[2].quality applies to JPEG output only: drop it or write a .jpg",
        f"{path}: shots[3] must be a URL or a mapping with url:",
    ]


def test_two_shots_writing_one_file(tmp_path):
    path = write(tmp_path, "- https://example.com/a\n- {url: 'https://example.com/a?x=1', width: 400}\n")
    with pytest.raises(ConfigError, match=r"shots\[1\] writes .*example-com-a\.png, as shots\[0\] does: "
                                          r"give each shot its own output"):
        load_batch(path, output_dir=tmp_path)


def test_an_unreadable_file_names_the_path(tmp_path):
    with pytest.raises(Exception, match=r"shots\.yml: no such shots file"):
        load_batch(tmp_path / "shots.yml", output_dir=tmp_path)
    path = write(tmp_path, "shots: [a\n")
    with pytest.raises(Exception, match=r"shots\.yml:\d+:\d+: not valid YAML"):
        load_batch(path, output_dir=tmp_path)


@pytest.mark.parametrize("output", ["../escape.png", "sub/../../escape.png", "/etc/passwd.png"])
def test_a_shots_file_cannot_write_outside_the_output_folder(tmp_path, output):
    shots = tmp_path / "shots.yml"
    shots.write_text(f"shots:\n  - url: https://example.com/\n    output: {output}\n")
    with pytest.raises(ConfigError) as err:
        load_batch(shots, output_dir=tmp_path / "screenshots")
    assert f"{output!r} leaves the output folder" in str(err.value)


@pytest.mark.parametrize("raw, says", [
    ({"delay": "61"}, "'61' is more than 60 s: use at most 60"),
    ({"delay": "999999s"}, "is more than 60 s"),
    ({"timeout": "601"}, "'601' is more than 600 s: use at most 600"),
])
def test_waits_have_a_ceiling(raw, says):
    with pytest.raises(UsageError) as err:
        make_shot({"url": "https://example.com/", **raw})
    assert says in str(err.value)
