"""The Dockerfiles (one per provider and variant) agree with provider.yaml and with each other; no engine needed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeyard.images.python_deps import parse_pins, requirements_file
from pipeyard.model import tools
from pipeyard.model.provider import load_provider, load_providers

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = [p.name for p in load_providers(ROOT)]
# Every generated Dockerfile: provider:variant ("" for a provider without variants).
DOCKERFILES = [f"{p.name}:{v.name}" for p in load_providers(ROOT) for v in p.variants]


def dockerfile(name: str) -> str:
    """The Dockerfile of provider[:variant] (the default variant's without one)."""
    provider, _, variant = name.partition(":")
    return (ROOT / "providers" / provider / load_provider(ROOT, provider).variant(variant).dockerfile).read_text()


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


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_base_release_matches_provider_yaml(name: str) -> None:
    provider = load_provider(ROOT, name.split(":")[0])
    lines = logical_lines(dockerfile(name))
    assert lines[0] == "ARG BASE_REGISTRY=localhost/pipeyard"
    release = provider.base.split(":")[1]
    assert lines[1] == f"FROM ${{BASE_REGISTRY}}/debian:{release} AS runtime", (
        f"the Dockerfile of {name} builds FROM another release than provider.yaml image.base ({provider.base})")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_tool_stage_installs_exactly_the_packages_of_provider_yaml(name: str) -> None:
    """image.packages and the Debian tools of the variant, pinned ones as package=version, the variant's
    own first; its npm-sourced tools unpacked where provider.yaml says."""
    provider_name, _, variant_name = name.partition(":")
    provider = load_provider(ROOT, provider_name)
    variant = provider.variant(variant_name)
    tool = " ".join(stages(dockerfile(name))["tool"])
    groups = [g.split() for g in re.findall(r"apt-get install -y --no-install-recommends ([^;]+);", tool)]
    installed = [p for g in groups for p in g if not p.endswith(".deb")]
    debian = {n: t for n, t in variant.tools.items() if t["source"] == "debian"}
    wanted = {*provider.image.get("packages", []), *(tools.apt_spec(t) for t in debian.values())}
    assert sorted(installed) == sorted(wanted)
    own = {tools.apt_spec(t) for n, t in debian.items() if n in variant.own_tools}
    if own:
        assert set(groups[0]) - {p for p in groups[0] if p.endswith(".deb")} == own
    downloads = "\n".join(ln for stage, lines in stages(dockerfile(name)).items() if stage.endswith("-downloads")
                          for ln in lines)
    for tool_name, t in variant.tools.items():
        if t["source"] == "npm":
            assert f"tar -xzf /tmp/downloads/{tool_name}.tgz -C /export{t['into']} " in downloads


def test_the_runtime_stage_is_the_same_in_every_image() -> None:
    runtimes = {name: stages(dockerfile(name))["runtime"] for name in DOCKERFILES}
    first = runtimes[DOCKERFILES[0]]
    for name, runtime in runtimes.items():
        assert runtime == first, f"the Dockerfile of {name}: its runtime stage differs from {DOCKERFILES[0]}'s"


@pytest.mark.parametrize("name", [p.name for p in load_providers(ROOT) if p.has_variants])
def test_variants_differ_in_their_tools_only(name: str) -> None:
    """What comes after the tools is the same in every variant, and runs no command, so each layer of it
    is the same bytes in every variant (tests/images measures it in the bench): only the tool stage, the
    download stages and the labels naming the variant differ."""
    provider = load_provider(ROOT, name)

    def shared(v) -> dict[str, list[str]]:
        found = stages((provider.path / v.dockerfile).read_text())
        found["final"] = [ln for ln in found["final"] if not ln.startswith(("LABEL ", "ENV PIPEYARD_VARIANT="))]
        return {k: lines for k, lines in found.items() if k != "tool" and not k.endswith("-downloads")}

    first = shared(provider.variants[0])
    for v in provider.variants[1:]:
        assert shared(v) == first, f"{name} {v.name}"
    final = first["final"]
    assert [ln for ln in final if ln.startswith("RUN ")] == [], "a command after the tools makes a layer per variant"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_user_is_the_numeric_user_of_provider_yaml(name: str) -> None:
    provider = load_provider(ROOT, name.split(":")[0])
    final = stages(dockerfile(name))["final"]
    users = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    assert users == [str(provider.user)]
    assert users[0].isdigit()
    assert f"--uid {provider.user} " in " ".join(stages(dockerfile(name))["runtime"])


@pytest.mark.parametrize("name", DOCKERFILES)
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
    env = [ln for ln in final if ln.upper().startswith("ENV ") and "PIPEYARD_VARIANT=" not in ln]
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
    assert final.index(runs[0]) < final.index("COPY --from=pipeyard /export/code/ /")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_only_declared_build_args_and_no_secrets_in_the_dockerfile(name: str) -> None:
    args = {ln.split()[1].split("=")[0] for ln in logical_lines(dockerfile(name)) if ln.upper().startswith("ARG ")}
    assert args == {"BASE_REGISTRY", "PIPEYARD_SOURCE", "PIPEYARD_REVISION", "PIPEYARD_VERSION", "PIPEYARD_CREATED"}
    provider = load_provider(ROOT, name.split(":")[0])
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
