"""The Dockerfiles agree with provider.yaml and with each other; no engine needed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeyard.images.python_deps import parse_pins, requirements_file
from pipeyard.model.provider import load_provider, load_providers

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = [p.name for p in load_providers(ROOT)]


def dockerfile(name: str) -> str:
    return (ROOT / "providers" / name / "Dockerfile").read_text()


def logical_lines(text: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", text)
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def stages(text: str) -> dict[str, list[str]]:
    """Stage name (or 'final') -> its instructions, FROM included."""
    out: dict[str, list[str]] = {}
    current = None
    for line in logical_lines(text):
        if line.upper().startswith("FROM "):
            m = re.search(r"\sAS\s+(\S+)$", line, re.IGNORECASE)
            current = m.group(1) if m else "final"
            out[current] = []
        if current:
            out[current].append(line)
    return out


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_base_release_matches_provider_yaml(name: str) -> None:
    provider = load_provider(ROOT, name)
    lines = logical_lines(dockerfile(name))
    assert lines[0] == "ARG BASE_REGISTRY=localhost/pipeyard"
    release = provider.base.split(":")[1]
    assert lines[1] == f"FROM ${{BASE_REGISTRY}}/debian:{release} AS runtime", (
        f"providers/{name}/Dockerfile builds FROM another release than provider.yaml image.base ({provider.base})")


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_tool_stage_installs_exactly_the_packages_of_provider_yaml(name: str) -> None:
    provider = load_provider(ROOT, name)
    tool = " ".join(stages(dockerfile(name))["tool"])
    m = re.search(r"apt-get install -y --no-install-recommends ([^;]+);", tool)
    installed = m.group(1).split() if m else []
    assert sorted(installed) == sorted(provider.image.get("packages", []))


def test_the_runtime_stage_is_the_same_in_every_image() -> None:
    runtimes = {name: stages(dockerfile(name))["runtime"] for name in PROVIDERS}
    first = runtimes[PROVIDERS[0]]
    for name, runtime in runtimes.items():
        assert runtime == first, f"providers/{name}/Dockerfile's runtime stage differs from {PROVIDERS[0]}'s"


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_user_is_the_numeric_user_of_provider_yaml(name: str) -> None:
    provider = load_provider(ROOT, name)
    final = stages(dockerfile(name))["final"]
    users = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    assert users == [str(provider.user)]
    assert users[0].isdigit()
    assert f"--uid {provider.user} " in " ".join(stages(dockerfile(name))["runtime"])


@pytest.mark.parametrize("name", PROVIDERS)
def test_no_entrypoint_and_the_rootfs_is_copied_last(name: str) -> None:
    lines = logical_lines(dockerfile(name))
    assert not [ln for ln in lines if ln.upper().startswith("ENTRYPOINT")], "GitLab's Kubernetes executor ignores it"
    copies = [ln for ln in lines if ln.upper().startswith("COPY ")]
    assert copies[-1] == "COPY rootfs/ /"


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_warm_up_runs_as_the_image_user_before_pipeyard_itself(name: str) -> None:
    """Warm caches belong to the user who runs the jobs, and sit below the pipeyard wheel's layer,
    so a pipeyard code change neither refills nor re-pushes them."""
    provider = load_provider(ROOT, name)
    final = stages(dockerfile(name))["final"]
    env = [ln for ln in final if ln.upper().startswith("ENV ")]
    assert env == ([" ".join(["ENV", *(f'{k}="{v}"' for k, v in sorted(provider.image["env"].items()))])]
                   if provider.image.get("env") else [])
    warm = provider.image.get("warm_up")
    runs = [ln for ln in final if ln.startswith("RUN ") and "setpriv" in ln]
    if not warm:
        assert not runs
        return
    assert len(runs) == 1
    user = provider.user
    assert f"install -d -o {user} -g 0 -m 0775 {' '.join(warm['dirs'])};" in runs[0]
    for command in warm["run"]:
        assert f"setpriv --reuid={user} --regid=0 --clear-groups -- {command}" in runs[0]
    assert final.index(runs[0]) < final.index("COPY _pipeyard/wheel/ /tmp/pipeyard-wheel/")


@pytest.mark.parametrize("name", PROVIDERS)
def test_only_declared_build_args_and_no_secrets_in_the_dockerfile(name: str) -> None:
    args = {ln.split()[1].split("=")[0] for ln in logical_lines(dockerfile(name)) if ln.upper().startswith("ARG ")}
    assert args == {"BASE_REGISTRY", "PIPEYARD_SOURCE", "PIPEYARD_REVISION", "PIPEYARD_VERSION", "PIPEYARD_CREATED"}
    provider = load_provider(ROOT, name)
    for setting in provider.settings:
        if setting.secret:
            assert setting.env not in dockerfile(name)


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_extra_has_a_hash_pinned_requirements_file(name: str) -> None:
    provider = load_provider(ROOT, name)
    for extra in provider.image.get("extras", []):
        path = requirements_file(ROOT, extra)
        assert path.is_file(), f"run `python -m pipeyard.images.pins {extra}`"
        pins = parse_pins(path.read_text(), str(path))
        assert pins and all(p.hashes for p in pins)


@pytest.mark.parametrize("name", PROVIDERS)
def test_smoke_script_is_executable_and_shellcheck_clean(name: str) -> None:
    smoke = ROOT / "providers" / name / "tests" / "smoke.sh"
    assert smoke.is_file() and smoke.stat().st_mode & 0o111
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (make setup installs it)")
    out = subprocess.run(["shellcheck", "-s", "sh", str(smoke)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
