"""`pipeyard provider new`: a new provider, and nothing else to edit, from render to a running image."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures import ROOT, VENV_BIN

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


def pipeyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACE", "PIPEYARD_SITE")}
    return subprocess.run([str(VENV_BIN / "pipeyard"), *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=1200)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """A clone-like copy of the checkout: what git tracks, committed."""
    dest = tmp_path_factory.mktemp("house") / "pipeyard"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.splitlines()
    for rel in files:
        if (ROOT / rel).is_file() or (ROOT / rel).is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel, follow_symlinks=False)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run(["git", "commit", "-qm", "copy"], cwd=dest, check=True, env=env)
    return dest


@pytest.fixture(scope="module")
def hello(copy: Path) -> Path:
    result = pipeyard("provider", "new", "hello", "--description", "Says hello: a provider a platform team adds.",
                      cwd=copy)
    assert result.returncode == 0, result.stderr
    assert "wrote providers/hello/provider.yaml" in result.stdout
    rendered = pipeyard("render", cwd=copy)
    assert rendered.returncode == 0, rendered.stderr
    return copy / "providers" / "hello"


def test_render_writes_the_generated_half_and_check_passes(copy: Path, hello: Path):
    for generated in ("Dockerfile", "pyproject.toml", "pipeyard_hello/provider.json"):
        assert (hello / generated).is_file(), generated
    assert "GENERATED: settings" in (hello / "README.md").read_text()
    assert "HELLO_MESSAGE" in (hello / "README.md").read_text()
    assert (copy / "pipeline-templates" / "templates" / "hello.yml").is_file()
    assert "[`hello`](providers/hello/README.md)" in (copy / "README.md").read_text()
    assert "pipeyard_hello" in (copy / ".importlinter").read_text()
    assert "build-hello" in (copy / ".gitlab-ci.yml").read_text()
    checked = pipeyard("check", cwd=copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_new_providers_own_tests_pass(copy: Path, hello: Path):
    env = {**os.environ, "PYTHONPATH": str(hello)}
    result = subprocess.run([str(VENV_BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(hello / "tests")], capture_output=True, text=True, cwd=copy, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_new_provider_keeps_the_import_contracts(copy: Path, hello: Path):
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "PYTHONPATH": f"{hello}:{copy / 'sdk'}:{copy / 'sdk' / 'kit'}"}
    result = subprocess.run([str(VENV_BIN / "lint-imports"), "--no-cache", ".importlinter"],
                            capture_output=True, text=True, cwd=copy, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name, says", [
    ("Hello", "is not a provider name"),
    ("maven", "providers/maven exists already"),
    ("screenshot", "the command screenshot belongs to providers/chrome-headless"),
    ("kit", "'kit' is reserved"),
])
def test_a_bad_name_is_refused_before_anything_is_written(copy: Path, name: str, says: str):
    before = sorted(p.name for p in (copy / "providers").iterdir())
    result = pipeyard("provider", "new", name, cwd=copy)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in (copy / "providers").iterdir()) == before


@pytest.mark.images
def test_the_new_provider_builds_and_its_command_runs_in_its_image(copy: Path, hello: Path):
    from pipeyard.images.containers import engine, run_container
    from pipeyard_kit import __version__

    built = pipeyard("build", "hello", cwd=copy)
    assert built.returncode == 0, built.stdout + built.stderr
    ref = f"localhost/pipeyard/hello:{__version__}"
    with engine() as eng:
        helped = run_container(eng, ref, ["hello", "--help"])
        assert helped.exit_code == 0, helped.output
        assert "--message" in helped.stdout and "[HELLO_MESSAGE]" in helped.stdout
        smoke = run_container(eng, ref, ["sh", "-c", (hello / "tests" / "smoke.sh").read_text()])
        assert smoke.exit_code == 0 and "hello smoke: ok" in smoke.stdout, smoke.output
        scripts = run_container(eng, ref, ["ls", "/opt/pipeyard/bin"])
        own = sorted(s for s in scripts.stdout.split() if not s.startswith(("python", "activate", "Activate")))
        assert own == ["hello"], "the image carries its own command only"
        eng.client.images.remove(ref, force=True)
