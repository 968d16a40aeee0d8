"""Run a consumer pipeline for real with gitlab-ci-local, no GitLab server needed.

gitlab-ci-local resolves `include: component` and `include: project` from its
state folder (.gitlab-ci-local/includes/<host>/<project>/<ref>/) before it tries
the network, so staging the rendered component project there makes the example
projects run exactly as they would against the released templates.

A secret (every setting a provider declares secret: MAVEN_REPO_PASSWORD, SONAR_TOKEN...) reaches
gitlab-ci-local in a variables file (mode 0600, removed after the run; its --variables-file, read as
the project's CI/CD variables), never as `--variable NAME=value`, which any user on the machine can
read in the process list.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from pipeyard_kit import __version__
from pipeyard_kit.errors import BuildError, UsageError

CONSUMER_REMOTE = "https://gitlab.example.com/acme/{name}.git"


def gitlab_ci_local(root: Path) -> Path:
    exe = root / "tools" / "node_modules" / ".bin" / "gitlab-ci-local"
    if not exe.exists():
        raise UsageError(f"gitlab-ci-local is not installed ({exe} is missing)", fix="run `make setup`")
    return exe


@cache
def secret_settings() -> frozenset[str]:
    """Every setting a provider declares secret."""
    from pipeyard.model.provider import load_providers, repo_root

    return frozenset(s.env for p in load_providers(repo_root(Path(__file__).parent)) for s in p.settings if s.secret)


@dataclass
class LocalProject:
    path: Path
    tool: Path
    secrets: frozenset[str] = field(default_factory=secret_settings)

    def command(self, args: tuple[str, ...], variables: dict[str, str], variables_file: Path | None) -> list[str]:
        cmd = [str(self.tool), *args]
        for key, value in variables.items():
            if key not in self.secrets:
                cmd += ["--variable", f"{key}={value}"]
        if variables_file is not None:
            # gitlab-ci-local reads `${cwd}/${variablesFile}` (src/variables-from-files.ts), so an absolute
            # path names a file that is not there and the secrets silently go missing: relative to the project.
            cmd += ["--variables-file", os.path.relpath(variables_file, self.path)]
        if variables:
            # Tests set predefined variables on purpose (pipeline source, tag, MR id).
            cmd += ["--ignore-predefined-vars", ",".join(variables)]
        return cmd

    def run(self, *args: str, variables: dict[str, str] | None = None, env: dict[str, str] | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess[str]:
        variables = variables or {}
        hidden = {k: v for k, v in variables.items() if k in self.secrets}
        full_env = {**os.environ, **(env or {})}
        with tempfile.TemporaryDirectory(prefix="pipeyard-gcl-") as tmp:
            variables_file = None
            if hidden:
                variables_file = Path(tmp) / "variables.yml"
                fd = os.open(variables_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(hidden, f)  # JSON is YAML: every value quoted, nothing read as a path or a tag
            cmd = self.command(args, variables, variables_file)
            return subprocess.run(cmd, cwd=self.path, capture_output=True, text=True, env=full_env,
                                  timeout=timeout)

    def jobs(self, variables: dict[str, str] | None = None) -> list[str]:
        """The jobs a pipeline with these predefined variables would run (rules applied)."""
        out = self.run("--list-json", variables=variables)
        if out.returncode != 0:
            raise BuildError(f"gitlab-ci-local could not list the jobs of {self.path.name}: "
                             f"{(out.stderr or out.stdout).strip().splitlines()[-1:]}")
        listing = json.loads(out.stdout[out.stdout.index("["):])
        return sorted(j["name"] for j in listing if j.get("when") != "never")

    def commit(self, files: dict[str, str], message: str = "a change", *, executable: tuple[str, ...] = ()) -> None:
        """Write files (relative paths) and commit them on the checked-out branch; `executable` ones
        get mode 0755, in git too."""
        for rel, text in files.items():
            (self.path / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.path / rel).write_text(text, encoding="utf-8")
        for rel in executable:
            (self.path / rel).chmod(0o755)
        _git(self.path, "add", "-A")
        _git(self.path, "commit", "-q", "-m", message)

    def pushed(self, default_branch: str = "main") -> None:
        """Everything so far is on the server: origin/<default branch> moves to HEAD, so the next
        commit is all that a push (and rules:changes) sees."""
        _git(self.path, "update-ref", f"refs/remotes/origin/{default_branch}", "HEAD")

    def preview(self) -> str:
        out = self.run("--preview")
        if out.returncode != 0:
            raise BuildError(f"gitlab-ci-local --preview failed for {self.path.name}: {out.stderr.strip()}")
        return out.stdout


def recording_scanner() -> str:
    """The scanner stand-in a consumer project commits for its scan job (localci_data/recording-scanner)."""
    return resources.files("pipeyard.demo").joinpath("localci_data/recording-scanner").read_text(encoding="utf-8")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "pipeyard", "GIT_AUTHOR_EMAIL": "ci@example.com",
                        "GIT_COMMITTER_NAME": "pipeyard", "GIT_COMMITTER_EMAIL": "ci@example.com"})


def stage_project(source: Path, dest: Path, templates: Path, component_project: str, *,
                  branch: str = "main", default_branch: str = "main", root: Path) -> LocalProject:
    """Copy a consumer project into a fresh git repository with the templates staged."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".gitlab-ci-local", "node_modules", "target"))
    _git(dest, "init", "-q", "-b", default_branch)
    _git(dest, "remote", "add", "origin", CONSUMER_REMOTE.format(name=source.name))
    # The server had an empty repository before this push: gitlab-ci-local evaluates rules:changes
    # against origin/<default branch>, and GitLab against the commit before the push, so every file
    # of the example counts as changed, as in a project's first pipeline.
    _git(dest, "commit", "-q", "--allow-empty", "-m", "before the push")
    _git(dest, "update-ref", f"refs/remotes/origin/{default_branch}", "HEAD")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "example project")
    _git(dest, "symbolic-ref", "refs/remotes/origin/HEAD", f"refs/remotes/origin/{default_branch}")
    if branch != default_branch:
        _git(dest, "checkout", "-q", "-b", branch)
    host, project_path = component_project.split("/", 1)
    consumer_host = CONSUMER_REMOTE.split("/")[2]
    # gitlab-ci-local keys the cache by the consumer's own remote host.
    cache = dest / ".gitlab-ci-local" / "includes" / consumer_host / project_path / __version__
    shutil.copytree(templates, cache)
    (dest / ".gitlab-ci-local" / ".gitignore").write_text("*\n")
    return LocalProject(path=dest, tool=gitlab_ci_local(root))
