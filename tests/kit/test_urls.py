"""URL settings are parsed whole: nothing a URL cannot hold reaches a generated file."""

from __future__ import annotations

import pytest

from pipeyard_kit import settings, urls


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
