"""The pieces of a build that need no engine: stream parsing, labels, pins, the wheel."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from pipeyard.images.build_stream import StreamState, count_steps, parse_chunk
from pipeyard.images.python_deps import parse_pins, pins_for, platform_args
from pipeyard.images.source_info import public_url, source_info
from pipeyard.model.provider import load_provider
from pipeyard_kit.errors import BuildError

ROOT = Path(__file__).resolve().parents[2]


def events(*chunks: dict) -> tuple[StreamState, list[tuple[str, object]]]:
    state = StreamState()
    seen = []
    for chunk in chunks:
        seen += parse_chunk(chunk, state)
    return state, seen


def test_podman_and_docker_steps_and_cache_hits_are_recognised() -> None:
    state, seen = events({"stream": "[2/3] STEP 4/9: RUN apt-get update\n"}, {"stream": "--> Using cache 1a2b\n"},
                         {"stream": "Step 5/9 : COPY rootfs/ /\n"}, {"stream": " ---> Using cache\n"},
                         {"stream": "Get:1 http://deb.debian.org trixie InRelease\n"},
                         {"aux": {"ID": "sha256:abc"}})
    assert seen == [("step", "RUN apt-get update"), ("cached", None), ("step", "COPY rootfs/ /"), ("cached", None),
                    ("line", "Get:1 http://deb.debian.org trixie InRelease")]
    assert state.step == 2 and state.image_id == "sha256:abc" and state.error is None


def test_an_error_chunk_names_the_failing_step() -> None:
    state, seen = events({"stream": "STEP 3/9: RUN false\n"},
                         {"error": "building at STEP \"RUN false\": exit status 1",
                          "errorDetail": {"message": "exit status 1"}})
    assert state.error.endswith("exit status 1")
    assert state.where == "step 1 (RUN false)"
    assert seen[-1][0] == "error"


def test_steps_are_counted_from_the_first_from(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("ARG X=1\n# comment\nFROM a AS b\nRUN one \\\n  two\nFROM b\nCOPY x /\nUSER 1\n")
    assert count_steps(dockerfile) == 5


@pytest.mark.parametrize("url, public", [
    ("https://oauth2:glpat-XYZ@gitlab.example.com/platform/pipeyard.git", "https://gitlab.example.com/platform/pipeyard"),
    ("git@gitlab.example.com:platform/pipeyard.git", "https://gitlab.example.com/platform/pipeyard"),
    ("ssh://git@gitlab.example.com:2222/platform/pipeyard.git", "https://gitlab.example.com:2222/platform/pipeyard"),
    ("https://gitlab.example.com/platform/pipeyard?private_token=abc", "https://gitlab.example.com/platform/pipeyard"),
])
def test_source_urls_never_carry_credentials(url: str, public: str) -> None:
    assert public_url(url) == public


def test_labels_come_from_the_commit_not_the_clock() -> None:
    first = source_info(ROOT, fallback_source="https://example.com/x")
    second = source_info(ROOT, fallback_source="https://example.com/x")
    assert first == second
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    epoch = int(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True,
                               text=True).stdout)
    assert first.revision.startswith(head)
    assert first.epoch == epoch and first.created.endswith("Z")
    assert set(first.labels()) == {f"org.opencontainers.image.{k}" for k in ("source", "revision", "version", "created")}


def test_outside_git_the_ci_variables_are_used(tmp_path: Path) -> None:
    info = source_info(tmp_path, fallback_source="https://example.com/x",
                       env={"CI_COMMIT_SHA": "a" * 40, "CI_COMMIT_TIMESTAMP": "2026-01-02T03:04:05+00:00",
                            "CI_PROJECT_URL": "https://gitlab.example.com/p"})
    assert (info.revision, info.created, info.source) == ("a" * 40, "2026-01-02T03:04:05Z", "https://gitlab.example.com/p")
    with pytest.raises(BuildError, match="CI_COMMIT_SHA"):
        source_info(tmp_path, fallback_source="x", env={})


def test_a_pins_file_is_parsed_and_a_bad_line_is_named() -> None:
    text = "# header\nyagmail==0.16.0 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64 + "\n"
    [pin] = parse_pins(text, "x.txt")
    assert (pin.name, pin.version, pin.hashes) == ("yagmail", "0.16.0", ("a" * 64, "b" * 64))
    assert parse_pins(pin.line(), "y") == [pin]
    with pytest.raises(BuildError, match="x.txt: line 1"):
        parse_pins("yagmail>=0.16\n", "x.txt")


def test_a_missing_pins_file_says_how_to_make_it(tmp_path) -> None:
    provider = dataclasses.replace(load_provider(ROOT, "sonar"), path=tmp_path / "sonar")
    with pytest.raises(BuildError, match=r"python -m pipeyard.images.pins sonar"):
        pins_for(ROOT, provider)


def test_wheels_are_asked_for_the_images_python_and_every_glibc_it_accepts() -> None:
    args = platform_args("trixie", "amd64")
    assert args[args.index("--python-version") + 1] == "3.13" and "cp313" in args
    assert "manylinux_2_41_x86_64" in args and "manylinux2014_x86_64" in args and "manylinux1_x86_64" in args
    assert "manylinux_2_42_x86_64" not in args


def test_the_images_a_build_started_from_are_remembered_for_its_leftovers() -> None:
    state, _ = events({"stream": "STEP 1/5: FROM localhost/pipeyard/debian:trixie AS runtime\n"},
                      {"stream": "--> 8bf342bde87\n"},
                      {"stream": "STEP 4/5: FROM 09875e9610e5906e15d2e9f87a3507c1f0a31f479f453af494a1f195e084b055 AS tool\n"})
    assert state.images == {"debian", "8bf342bde87", "09875e9610e5"}
    assert state.owns("debian") and state.owns("09875e9610e5") and state.owns("8bf342bde87a")
    assert not state.owns("runtime") and not state.owns("4c7e4cd033b4")
