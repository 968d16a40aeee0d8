"""The kit's YAML reader: alias bombs, self-referring aliases and deep nesting fail fast with one error."""

from __future__ import annotations

import time

import pytest
import yaml

from pipeyard_kit import yamlio
from pipeyard_kit.errors import ConfigError, ModelError


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """The classic bomb: each level an anchor of `width` aliases of the level below (width**levels values)."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", [yaml.SafeLoader, yamlio.FAST_LOADER])
def test_a_billion_laughs_fails_fast_naming_the_line(loader):
    started = time.monotonic()
    with pytest.raises(ModelError) as err:
        yamlio.load(billion_laughs(), "site.yaml", loader=loader)
    assert time.monotonic() - started < 1
    assert err.value.render().startswith("site.yaml:")
    assert "once its aliases are expanded (an alias bomb?)" in err.value.render()


def test_an_alias_inside_its_own_anchor_is_refused():
    with pytest.raises(ModelError, match="an alias refers to the value that holds it"):
        yamlio.load("a: &a [1, *a]\n", "shots.yml", loader=yaml.SafeLoader)


def test_nesting_deeper_than_gitlab_allows_is_refused():
    with pytest.raises(ModelError, match="nests deeper than 100 levels"):
        yamlio.load("a: " + "[" * 150 + "]" * 150 + "\n", "deep.yml", loader=yaml.SafeLoader)


def test_ordinary_anchors_and_merge_keys_still_load():
    text = "base: &base {image: maven, tags: [k8s]}\njob: {<<: *base, script: [mvn]}\nother: *base\n"
    assert yamlio.load(text, "ci.yml") == {"base": {"image": "maven", "tags": ["k8s"]},
                                            "job": {"image": "maven", "tags": ["k8s"], "script": ["mvn"]},
                                            "other": {"image": "maven", "tags": ["k8s"]}}


def test_the_caller_chooses_the_error_and_a_file_must_be_utf8(tmp_path):
    with pytest.raises(ConfigError, match="values-dev.yaml:2:4: it grows"):
        yamlio.load("a: &a [" + ", ".join(["x"] * 500) + "]\nb: [" + ", ".join(["*a"] * 500) + "]\n",
                    "values-dev.yaml", error=ConfigError)
    path = tmp_path / "site.yaml"
    path.write_bytes(b"defaults: {A: \xff}\n")
    with pytest.raises(ModelError, match="not UTF-8 text"):
        yamlio.load_yaml(path)


def test_two_documents_where_one_is_expected():
    with pytest.raises(ModelError, match="holds 2 YAML documents"):
        yamlio.load("a: 1\n---\nb: 2\n", "site.yaml")
