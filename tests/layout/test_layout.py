"""The house's layout, python-gitlab style: every provider folder has the skeleton, every command
resolves where it should, and the import contracts of the three floors hold (and would catch a
climbing import)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from importlib import import_module, metadata
from pathlib import Path

import pytest

import pipeyard_kit
from pipeyard.cli.main import COMMANDS
from pipeyard.model.provider import load_providers, missing_skeleton
from tests.fixtures import ROOT, VENV_BIN

PROVIDERS = load_providers(ROOT)


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_every_provider_folder_has_the_skeleton(provider):
    assert missing_skeleton(provider.path) == []
    assert (provider.path / provider.package).is_dir(), "a provider's code lives in its own folder"
    assert (provider.path / "tests").is_dir()


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_every_cli_is_a_console_script_of_the_providers_own_distribution(provider):
    dist = metadata.distribution(provider.distribution)
    scripts = {ep.name: ep for ep in dist.entry_points if ep.group == "console_scripts"}
    assert sorted(scripts) == sorted(provider.cli), f"{provider.distribution} ships other commands than its cli:"
    for name, entry in provider.console_scripts.items():
        assert scripts[name].value == entry
        assert scripts[name].module.split(".")[0] == provider.package
        assert callable(scripts[name].load())


def test_no_command_is_shipped_twice():
    owners: dict[str, str] = {}
    # One per name: an editable install can be seen twice on sys.path (its dist-info and egg-info).
    ours = {d.metadata["Name"]: d for d in metadata.distributions() if d.metadata["Name"].startswith("pipeyard")}
    for dist in ours.values():
        for ep in dist.entry_points:
            if ep.group == "console_scripts":
                assert ep.name not in owners, f"{ep.name} is in {owners.get(ep.name)} and {dist.metadata['Name']}"
                owners[ep.name] = dist.metadata["Name"]
    assert owners["pipeyard"] == "pipeyard"
    assert all(owners[c] == p.distribution for p in PROVIDERS for c in p.cli)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_pipeyard_command_lives_in_a_module_named_after_it(command):
    module, attr = COMMANDS[command].split(":")
    assert module == f"pipeyard.cli.{command}"
    assert getattr(import_module(module), attr).name == command


def test_one_version_for_the_platform_the_kit_and_every_provider():
    version = pipeyard_kit.__version__
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == version
    for provider in PROVIDERS:
        assert tomllib.loads((provider.path / "pyproject.toml").read_text())["project"]["version"] == version


def lint_imports(config: Path, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(VENV_BIN / "lint-imports"), "--no-cache", str(config)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_the_import_contracts_of_the_checkout_hold():
    result = lint_imports(ROOT / ".importlinter", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.fixture
def house(tmp_path: Path) -> Path:
    """A copy of the three floors (kit, platform, two providers) on its own import path."""
    shutil.copytree(ROOT / "sdk" / "kit" / "pipeyard_kit", tmp_path / "pipeyard_kit")
    shutil.copytree(ROOT / "sdk" / "pipeyard", tmp_path / "pipeyard")
    for name in ("maven", "sonar"):
        package = f"pipeyard_{name}"
        shutil.copytree(ROOT / "providers" / name / package, tmp_path / package)
    contracts = (ROOT / ".importlinter").read_text()
    kept = {"pipeyard_maven", "pipeyard_sonar"}
    lines = [ln for ln in contracts.splitlines()
             if not (ln.strip().startswith("pipeyard_") and ln.strip() != "pipeyard_kit" and ln.strip() not in kept)]
    (tmp_path / ".importlinter").write_text("\n".join(lines) + "\n")
    return tmp_path


def plant(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.mark.parametrize("module, line, broken", [
    ("pipeyard_maven/configure.py", "from pipeyard.model import provider  # noqa", "A provider imports the kit, never the platform"),
    ("pipeyard_kit/settings.py", "import pipeyard.render  # noqa", "The kit imports nothing of pipeyard"),
    ("pipeyard_sonar/gate.py", "import pipeyard_maven.configure  # noqa", "No provider imports another"),
    ("pipeyard/check/lint.py", "import pipeyard_sonar.scan  # noqa", "The platform imports the kit, never a provider's package"),
])
def test_a_planted_climbing_import_breaks_its_contract(house: Path, module: str, line: str, broken: str):
    assert lint_imports(house / ".importlinter", house, pythonpath=house).returncode == 0
    plant(house / module, line)
    result = lint_imports(house / ".importlinter", house, pythonpath=house)
    assert result.returncode == 1, result.stdout
    assert f"{broken} BROKEN" in result.stdout
    assert module.split("/")[0] in result.stdout


def test_a_providers_tests_reach_the_platform_only_through_the_shared_tests():
    """import-linter sees packages, not a provider's tests folder (no package): so this reads them. The
    platform's pieces a provider's tests need (a registry, the Maven mirror, chart files) come through
    tests/ (fixtures.py, servers/), and the provider folder stays the kit's and its own."""
    import ast

    climbing = []
    for path in sorted(ROOT.glob("providers/*/tests/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            climbing += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                         if n == "pipeyard" or n.startswith("pipeyard.")]
    assert climbing == []
