"""What every journey does: stage an example as a consumer project, run one of its pipelines in
gitlab-ci-local inside the published images, and read what happened.

The stand-ins are the shared ones: the Nexus of pipeyard.demo.maven_repo (with the JaCoCo plugin
stand-in of pipeyard.demo.jacoco_plugin), tests/servers' SonarQube, git server and verdaccio,
aiosmtpd, and the gitops tests' GitLab merge-request API. The scan runs the recording scanner
(pipeyard/demo/localci_data/recording-scanner): SonarQube cannot run here.
"""

from __future__ import annotations

import email
import importlib.util
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller

from pipeyard.demo.helper_image import container_args
from pipeyard.demo.localci import LocalProject, recording_scanner, stage_project
from pipeyard.model.provider import load_providers
from pipeyard.model.site import find_site, load_site
from tests.fixtures import ROOT, free_port
from tests.pipelines.workflow_rules import creates_pipeline

PROVIDERS = ("maven", "npm", "sonar", "sendmail", "gitops", "b2i")
# What `pipeyard publish` pushes on the default branch: the version, its major and latest.
PUBLISHED_TAGS = ("1.0.0", "1", "latest")
COMPONENT = "gitlab.example.com/platform/pipeyard"
RECORD_DIR = "/journey"
SCANNER = "ci/recording-scanner"
_SUMMARY = re.compile(r"^\s*(PASS|FAIL|WARN)\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class JourneyRegistry:
    address: str
    prefix: str          # what PIPEYARD_REGISTRY is set to
    env: dict[str, str]  # podman's environment: our store, and this registry spoken to over HTTP

    def ref(self, name: str, tag: str = PUBLISHED_TAGS[0]) -> str:
        return f"{self.prefix}/{name}:{tag}"


@contextmanager
def published_images(eng, built: dict[str, str], root: Path) -> Iterator[JourneyRegistry]:
    """The built images ({provider: local ref}) published by pipeyard's publish code to a real registry
    (Debian's docker-registry) on a free port; Podman pulls them from there, as a runner from Harbor."""
    from pipeyard.images.containers.registry_server import LocalRegistry
    from pipeyard.publish.images import LocalImage, publish_images, variant_tags
    from pipeyard_kit.registry import RegistryClient, Target

    registry = LocalRegistry(root / "registry", port=free_port()).start()
    try:
        site = load_site(find_site(ROOT), load_providers(ROOT))
        providers = {p.name: p for p in load_providers(ROOT, list(built))}
        # Each built image is its provider's default variant: tagged as publish tags it, so the templates'
        # <version>-jdk<jdk> and the plain tags both name it.
        images = []
        for provider, ref in built.items():
            variant = site.default_variant(providers[provider]).name
            images.append(LocalImage(site.image_of(providers[provider]), ref, variant,
                                     tuple(variant_tags(list(PUBLISHED_TAGS), variant, plain=True))))
        target = Target.parse(f"{registry.address}/pipeyard")
        publish_images(eng.client, images, target, RegistryClient(registry.address, scheme="http"),
                       list(PUBLISHED_TAGS), echo=lambda _line: None)
        env = eng.podman_env()
        # Podman speaks plain HTTP only to registries marked insecure: this one joins pipeyard's own
        # list in a copy of its registries.conf, for the pipelines run here.
        conf = root / "registries.conf"
        base = Path(env["CONTAINERS_REGISTRIES_CONF"]).read_text(encoding="utf-8")
        conf.write_text(base + f'\n[[registry]]\nlocation = "{registry.address}"\ninsecure = true\n',
                        encoding="utf-8")
        yield JourneyRegistry(registry.address, str(target), {**env, "CONTAINERS_REGISTRIES_CONF": str(conf)})
    finally:
        _forget_pulled(eng, registry.address)
        registry.stop()


def _forget_pulled(eng, address: str) -> None:
    """What the pipelines pulled goes with the registry: its names are removed, and an image left with
    no name at all (pulled bytes the build never made) too. The built images stay."""
    podman_env = {**os.environ, **eng.podman_env()}

    def podman(*args: str) -> str:
        return subprocess.run(["podman", *args], env=podman_env, capture_output=True, text=True).stdout

    pulled = [r for r in podman("images", "--format", "{{.Repository}}:{{.Tag}}").split()
              if r.startswith(address + "/")]
    ids = {podman("image", "inspect", "--format", "{{.Id}}", r).strip() for r in pulled}
    for ref in pulled:
        podman("untag", ref, ref)
    for image_id in filter(None, ids):
        if podman("image", "inspect", "--format", "{{len .RepoTags}}", image_id).strip() == "0":
            podman("rmi", image_id)


def stage(scratch: Path, example: str, name: str, branch: str = "main") -> LocalProject:
    """A fresh consumer project of the example, on branch, with the recording scanner committed."""
    project = stage_project(ROOT / "examples" / example, scratch / name, ROOT / "pipeline-templates", COMPONENT,
                            root=ROOT, branch=branch)
    project.commit({SCANNER: recording_scanner()}, "the recording scanner the journey's scan job runs",
                   executable=(SCANNER,))
    return project


def git(project: LocalProject, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project.path, capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Run:
    returncode: int
    log: str
    seconds: float

    def results(self) -> dict[str, str]:
        """gitlab-ci-local's closing summary: job name -> PASS, FAIL or WARN (allowed to fail)."""
        return {job: status for status, job in _SUMMARY.findall(self.log)}

    def assert_passed(self, *jobs: str) -> None:
        results = self.results()
        assert self.returncode == 0, self.log[-6000:]
        for job in jobs:
            assert results.get(job) == "PASS", f"{job}: {results.get(job, 'did not run')}\n{self.log[-4000:]}"

    @property
    def jobs(self) -> set[str]:
        return set(self.results())


def run_pipeline(project: LocalProject, registry: JourneyRegistry, helper: str, record: Path,
                 variables: dict[str, str], *jobs: str, timeout: int = 1800) -> Run:
    """The pipeline (or only `jobs`) with these CI/CD variables; the images come from the registry."""
    started = time.monotonic()
    out = project.run(*container_args(helper), "--volume", f"{record}:{RECORD_DIR}", *jobs,
                      variables={"PIPEYARD_REGISTRY": registry.prefix, **variables}, env=registry.env,
                      timeout=timeout)
    return Run(out.returncode, out.stdout + out.stderr, time.monotonic() - started)


def record_dir(tmp_path: Path) -> Path:
    record = tmp_path / "record"
    record.mkdir()
    record.chmod(0o777)  # the jobs run as the images' own user
    return record


def merged(project: LocalProject) -> dict[str, Any]:
    """The pipeline as gitlab-ci-local merged it (includes, inputs, extends resolved)."""
    return yaml.safe_load(project.preview().split("---", 1)[-1])


def creates(project: LocalProject, env: dict[str, str]) -> bool:
    """Whether GitLab would create this pipeline at all (workflow:rules, which gitlab-ci-local skips)."""
    return creates_pipeline(merged(project)["workflow"]["rules"], env)


def gitlab_mr_api(**kwargs: Any):
    """The gitops provider tests' GitLab merge-request API (GitLab's documented behaviour)."""
    path = ROOT / "providers" / "gitops" / "tests" / "gitlab_mr_api.py"
    spec = importlib.util.spec_from_file_location("gitops_gitlab_mr_api", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.GitLabApi(**kwargs)


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


class Inbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def __enter__(self) -> Inbox:
        self._controller.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._controller.stop()

    def variables(self) -> dict[str, str]:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_SECURITY": "none"}

    def assert_report(self, job_variables: dict[str, str], project_key: str,
                      internal_url: str) -> email.message.EmailMessage:
        """One Sonar report mail, from and to whom the job says, linking only the external URL."""
        (sender, recipients, raw), = self.messages
        assert sender == job_variables["EMAIL_FROM"]
        expected = {a.strip() for key in ("EMAIL_TO_LIST", "EMAIL_CC_LIST")
                    for a in job_variables[key].replace(",", ";").split(";") if a.strip()}
        assert set(recipients) == expected
        mail = email.message_from_bytes(raw, policy=policy.default)
        html = mail.get_body(("html",)).get_content()
        assert job_variables["SONAR_EXTERNAL_ADDR"] in html and internal_url not in html
        assert project_key in html or project_key.replace(":", "%3A") in html
        return mail
