"""Render and validate every provider, and run one example pipeline, against
check-jsonschema alone on the same files (the baseline, measured in this run).
Goal: render + validate everything in under 2 s on 2 cores."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report, best_of  # noqa: E402

from pipeyard.check.merge import TemplateSource
from pipeyard.check.project import example_problems, template_problems
from pipeyard.demo.localci import stage_project
from pipeyard.model.provider import load_providers
from pipeyard.model.site import load_site
from pipeyard.render.outputs import TEMPLATES_DIR, build_outputs

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def render_and_validate() -> None:
    providers = load_providers(ROOT)
    site = load_site(ROOT / "pipeyard.site.yaml", providers)
    outputs = build_outputs(ROOT, providers, site)
    assert not template_problems(outputs)
    assert not example_problems(ROOT, TemplateSource(ROOT / TEMPLATES_DIR, site.component_project))


def baseline_files(tmp: Path) -> list[str]:
    """The same documents, one per file, as check-jsonschema accepts them."""
    files = []
    for path in sorted((ROOT / TEMPLATES_DIR).rglob("*.yml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            out = tmp / f"{path.stem}-{i}.yml"
            out.write_text(yaml.safe_dump(doc))
            files.append(str(out))
    for ci in sorted((ROOT / "examples").glob("*/.gitlab-ci.yml")):
        files.append(str(ci))
    return files


def main() -> None:
    report = Report("foundation: render + validate, and one example pipeline")
    with tempfile.TemporaryDirectory() as tmp:
        files = baseline_files(Path(tmp))
        check = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", *files]
        baseline = best_of(lambda: subprocess.run(check, capture_output=True, check=False), runs=3)
        report.add(f"baseline: check-jsonschema alone on {len(files)} documents", baseline)
        in_process = best_of(render_and_validate, runs=3)
        report.add("render + validate all providers + examples (in process)", in_process, baseline=baseline,
                   goal="< 2 s")
        cli = best_of(lambda: subprocess.run([str(BIN / "pipeyard"), "check"], cwd=ROOT, capture_output=True,
                                             check=False), runs=3)
        report.add("`pipeyard check` (CLI, incl. start-up)", cli, baseline=baseline, goal="< 2 s")
        project = stage_project(ROOT / "examples" / "java-app", Path(tmp) / "java-app", ROOT / TEMPLATES_DIR,
                                "gitlab.example.com/platform/pipeyard", root=ROOT)
        t0 = time.perf_counter()
        jobs = project.jobs({"CI_PIPELINE_SOURCE": "schedule"})
        listed = time.perf_counter() - t0
        report.add(f"gitlab-ci-local: plan the java-app schedule pipeline ({len(jobs)} job)", listed,
                   baseline=baseline)
    report.print()


if __name__ == "__main__":
    main()
