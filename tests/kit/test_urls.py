"""URL settings are parsed whole: nothing a URL cannot hold reaches a generated file."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pipeyard_kit import settings, urls
from pipeyard_kit.urls import split


@pytest.mark.parametrize("url", ["https://nexus.example.com/repository/maven-public/", "http://127.0.0.1:8081",
                                 "https://[::1]:8443/npm/", "https://npm.example.com/corp/?x=1"])
def test_good_urls_pass(url):
    assert urls.problem(url) is None


@pytest.mark.parametrize("url, says", [
    ("https://npm.example.com/\nscript-shell=/tmp/evil.sh", "a line break"),
    ("https://npm.example.com/ x", "a space"),
    ("https://npm.example.com/\x00", "another character"),
    ("ftp://npm.example.com/", "does not start with http"),
    ("npm.example.com", "does not start with http"),
    ("https://user:pw@npm.example.com/", "carries credentials"),
    ("https://token@npm.example.com/", "carries credentials"),
    ("https://npm.example.com:99999/", "port"),
    ("https:///path", "no valid host"),
    ("https://bad_host!/", "no valid host"),
    ("https://npm.example.com/#x", "#fragment"),
])
def test_bad_urls_are_refused_whole(url, says):
    assert says in urls.problem(url)


def test_masked_hides_credentials():
    assert urls.masked("https://ci:t0ken@nexus.example.com/x") == "https://***@nexus.example.com/x"


def test_a_url_setting_with_credentials_is_refused_and_never_echoed():
    env = {"MAVEN_MIRROR_URL": "https://ci:Sup3rSecret@nexus.example.com/repo", "PIPEYARD_SITE_FILE": "/nonexistent"}
    with pytest.raises(settings.ConfigError) as err:
        settings.load("maven", env=env)
    message = str(err.value)
    assert "MAVEN_MIRROR_URL carries credentials in the URL (environment)" in message
    assert "Sup3rSecret" not in message and "ci:" not in message


# urls.split stands in for urllib.parse.urlsplit on the wrappers' first call: it must give the same parts.
SPLIT_CASES = [
    "https://nexus.example.com/repository/maven-public/", "http://127.0.0.1:8081/repository/npm-group/",
    "https://NEXUS.Example.COM:8443/a/b?c=d&e=f", "HTTPS://host/", "https://host", "https://host:/x",
    "https://[::1]:8443/npm/", "https://[2001:db8::7]/", "http://user:pw@host:99/p", "https://tok@host/",
    "https://host/path#frag", "https://host/path?q#", "https://host?x=1", "https://host#f", "//host/only",
    "/just/a/path", "relative/path", "mailto:someone@example.com", "1http://host/", "a_b://host/",
    "git+ssh://git@host/repo.git", "https://host:65535/", "https://host:0/", "https://host:65536/",
    "https://host:12ab/", "https://host:-1/", "https://[::1/", "https://::1]/", "https://host/a:b@c/d",
    "https://h.example.com/%7Euser/;params", "https:", "https://", "http:///path",
]


@pytest.mark.parametrize("url", SPLIT_CASES)
def test_split_gives_urlsplits_parts(url: str) -> None:
    try:
        expected = urlsplit(url)
        want = (tuple(expected), expected.hostname)
    except ValueError:
        want = ValueError
    try:
        parts = split(url)
        got = (tuple(parts), parts.hostname)
    except ValueError:
        got = ValueError
    assert got == want
    if want is not ValueError:
        try:
            port = expected.port
        except ValueError:
            port = ValueError
        try:
            ours = parts.port
        except ValueError:
            ours = ValueError
        assert ours == port
