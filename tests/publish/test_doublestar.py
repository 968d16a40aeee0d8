"""Harbor's patterns (bmatcuk/doublestar v1): pipeyard's matcher and the stand-in's, written apart,
agree with each other and with the cases doublestar's own tests pin."""

from __future__ import annotations

import pytest

from pipeyard.publish.harbor import doublestar as client
from pipeyard.publish.harbor.policies import IMMUTABLE_TAGS, RELEASE_TAGS

from .harbor_model import doublestar as standin

CASES = [
    ("**", "b2i/orders", True), ("b2i/**", "b2i/orders", True), ("b2i/**", "b2i/a/b", True),
    ("b2i/**", "b2i", False), ("b2i/**", "maven", False), ("a/**/b", "a/b", True), ("a/**/b", "a/x/y/b", True),
    ("*", "a/b", False), ("*", "maven", True), ("?at", "cat", True), ("?at", "at", False),
    ("[0-9]*", "1a2b3c4d", True), ("[0-9]*", "abcdef12", False), ("[^0-9]*", "abc", True),
    ("{a,b}c", "bc", True), ("{a,b}c", "cc", False), ("", "anything", True),
    ("v*", "v1.2.3", True), ("{v*,[0-9]*.[0-9]*.[0-9]*}", "1.2.3", True), ("{v*,[0-9]*.[0-9]*.[0-9]*}", "1.2", False),
]


@pytest.mark.parametrize("pattern, name, expected", CASES)
def test_both_matchers_follow_doublestar(pattern: str, name: str, expected: bool) -> None:
    assert client.match(pattern, name) is expected
    assert standin(pattern, name) is expected


@pytest.mark.parametrize("tag, release", [
    ("latest", True), ("stable", True), ("v1.4.2", True), ("1.4.2", True), ("1.4", True), ("1", True), ("12", True),
    ("2.0.0-rc.1", True), ("a91957a8", False), ("12345678", False), ("0a1b2c3d", False), ("ci-41", False),
    # a variant's tags: the release ones with its suffix, never a sha with it
    ("latest-jdk17", True), ("1-jdk17", True), ("12-node22", True), ("1.4.2-jdk17", True), ("v1.4.2-node24", True),
    ("a91957a8-jdk17", False), ("12345678-node22", False), ("1a2b3c4d-jdk8", False),
])
def test_release_tags_are_versions_and_never_commit_shas(tag: str, release: bool) -> None:
    assert client.match(RELEASE_TAGS, tag) is release
    assert standin(RELEASE_TAGS, tag) is release


@pytest.mark.parametrize("tag, immutable", [("1.4.2", True), ("v1.4.2", True), ("1.4", False), ("1", False),
                                            ("latest", False), ("a91957a8", False), ("1.4.2-jdk17", True),
                                            ("1-jdk17", False), ("1.4-node22", False), ("a91957a8-jdk8", False)])
def test_only_full_versions_are_immutable(tag: str, immutable: bool) -> None:
    assert client.match(IMMUTABLE_TAGS, tag) is immutable
