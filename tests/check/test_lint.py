"""`pipeyard lint`: consumer files checked offline and through GitLab's CI lint API."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.fixtures import ROOT, run_cli
from tests.servers.gitlab_api import FakeGitLab
from tests.servers.redirects import redirecting_origins

COMPONENT = "gitlab.example.com/platform/pipeyard"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(textwrap.dedent(text))
    return path


def lint(path: Path, *extra: str):
    return run_cli("pipeyard", "lint", str(path), *extra)


@pytest.mark.parametrize("example", ["java-app", "node-app"])
def test_examples_are_valid(example):
    out = lint(ROOT / "examples" / example / ".gitlab-ci.yml")
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout


def test_misspelled_key_in_a_job(tmp_path):
    path = _write(tmp_path, """
        build:
          scirpt: [make]
    """)
    out = lint(path)
    assert out.returncode == 1
    assert "build: unknown key 'scirpt': did you mean 'script'?" in out.stderr
    assert "Traceback" not in out.stderr


def test_misspelled_key_inside_a_hidden_job(tmp_path):
    path = _write(tmp_path, """
        .base:
          image: alpine
          artifact:
            paths: [out/]
        build:
          extends: .base
          script: [make]
    """)
    out = lint(path)
    assert out.returncode == 1
    assert ".base: unknown key 'artifact': did you mean 'artifacts'?" in out.stderr


def test_include_of_a_template_that_does_not_exist(tmp_path):
    path = _write(tmp_path, f"""
        include:
          - component: {COMPONENT}/gradle@1.0.0
    """)
    out = lint(path)
    assert out.returncode == 1
    assert "include of component 'gradle', a template that doesn't exist" in out.stderr
    assert "available components: b2i, chrome-headless, gitops, maven, npm, sendmail, sonar" in out.stderr
    path = _write(tmp_path, """
        include:
          - project: platform/pipeyard
            ref: 1.0.0
            file: /mavn.gitlab-ci.yml
    """)
    out = lint(path)
    assert out.returncode == 1 and "/mavn.gitlab-ci.yml, a template that doesn't exist" in out.stderr


def test_input_outside_its_options_and_unknown_input(tmp_path):
    path = _write(tmp_path, f"""
        stages: [report]
        include:
          - component: {COMPONENT}/sendmail@1.0.0
            inputs:
              email-to: a@example.com
              email-from: ci@example.com
              smtp-host: smtp.example.com
              sonar-project-id: app
              sonar-internal-url: http://sonar:9000
              sonar-external-url: https://sonar.example.com
              smtp-security: tls
              email-too: b@example.com
    """)
    out = lint(path)
    assert out.returncode == 1
    assert "input 'smtp-security'='tls' is outside its options: use one of none, starttls, ssl" in out.stderr
    assert "unknown input 'email-too'" in out.stderr


def test_missing_required_input(tmp_path):
    path = _write(tmp_path, f"""
        include:
          - component: {COMPONENT}/sonar@1.0.0
    """)
    out = lint(path)
    assert out.returncode == 1
    assert "input 'host-url' is required" in out.stderr


def test_extends_of_an_undefined_template_suggests_the_right_one(tmp_path):
    path = _write(tmp_path, """
        include:
          - project: platform/pipeyard
            ref: 1.0.0
            file: /npm.gitlab-ci.yml
        build:
          extends: .npm-biuld
    """)
    out = lint(path)
    assert out.returncode == 1
    assert "extends '.npm-biuld', which is not defined: did you mean '.npm-build'?" in out.stderr


def test_stage_not_declared(tmp_path):
    path = _write(tmp_path, """
        stages: [build]
        include:
          - project: platform/pipeyard
            ref: 1.0.0
            file: /sonar.gitlab-ci.yml
        scan:
          extends: .sonar-scan
    """)
    out = lint(path)
    assert out.returncode == 1 and "scan: stage 'test' is not in stages" in out.stderr


@pytest.fixture
def gitlab():
    fake = FakeGitLab().start()
    yield fake
    fake.stop()


def test_lint_through_gitlabs_ci_lint_api(gitlab, tmp_path):
    answers = {"valid": False, "errors": ["jobs:sonar-report config contains unknown keys: extend"],
               "warnings": [], "merged_yaml": "", "includes": []}
    gitlab.route("POST", "/projects/acme/node-app/ci/lint", lambda req: (200, answers))
    path = ROOT / "examples" / "node-app" / ".gitlab-ci.yml"
    out = lint(path, "--gitlab-url", gitlab.url, "--token", gitlab.token, "--project", "acme/node-app")
    assert out.returncode == 1
    assert "GitLab: jobs:sonar-report config contains unknown keys: extend" in out.stderr
    sent = [r for r in gitlab.requests if r.path.endswith("/ci/lint")]
    assert sent and sent[0].method == "POST" and sent[0].headers["PRIVATE-TOKEN"] == gitlab.token
    assert sent[0].body["content"] == path.read_text()
    answers.update(valid=True, errors=[])
    out = lint(path, "--gitlab-url", gitlab.url, "--token", gitlab.token, "--project", "acme/node-app")
    assert out.returncode == 0, out.stderr
    assert "GitLab's lint API" in out.stdout


def test_lint_api_wrong_token_and_unreachable_server(gitlab, tmp_path):
    path = ROOT / "examples" / "java-app" / ".gitlab-ci.yml"
    out = lint(path, "--gitlab-url", gitlab.url, "--token", "wrong-secret-token", "--project", "acme/java-app")
    assert out.returncode == 1
    assert f"GitLab at {gitlab.url} refused the token (401)" in out.stderr
    assert "wrong-secret-token" not in out.stderr + out.stdout
    out = lint(path, "--gitlab-url", "http://127.0.0.1:9", "--token", "t", "--project", "acme/java-app")
    assert out.returncode == 1 and "cannot reach GitLab at http://127.0.0.1:9" in out.stderr


@pytest.mark.parametrize("status", [302, 307])
def test_the_lint_api_token_does_not_follow_a_redirect_to_another_origin(status):
    # 307 keeps the POST and its body (RFC 9110 15.4.8); python-gitlab refuses a 302 that turns it into a GET.
    path = ROOT / "examples" / "java-app" / ".gitlab-ci.yml"
    with redirecting_origins(status) as origins:
        out = lint(path, "--gitlab-url", origins.start, "--token", "glpat-Secret-lint", "--project", "acme/java-app")
    assert origins.credentials_seen_by_other() == []
    assert "glpat-Secret-lint" not in out.stdout + out.stderr and "Traceback" not in out.stderr
    if status == 307:
        assert [r.method for r in origins.received] == ["POST"]


def test_usage_errors_exit_2(tmp_path):
    out = lint(tmp_path / "nope.yml")
    assert out.returncode == 2 and "no such file" in out.stderr
    out = run_cli("pipeyard", "lint", "--bogus-flag")
    assert out.returncode == 2


@pytest.mark.parametrize("kind", ["maven", "node"])
@pytest.mark.parametrize("style", ["component", "classic"])
def test_init_writes_a_starter_that_passes_lint(tmp_path, kind, style):
    out = run_cli("pipeyard", "init", "--kind", kind, "--style", style, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ci = tmp_path / ".gitlab-ci.yml"
    checked = lint(ci)
    assert checked.returncode == 0
    assert "warning" not in checked.stderr  # the workflow template is in: no duplicate pipelines
    assert "workflow" in ci.read_text()
    again = run_cli("pipeyard", "init", "--kind", kind, cwd=tmp_path)
    assert again.returncode == 2 and "pass --force" in again.stderr


# -- real pipelines: !reference, wildcard includes, include rules and inputs, extends across files ---
def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    return tmp_path / ".gitlab-ci.yml"


REAL = {
    ".gitlab-ci.yml": f"""
        stages: [build, test, deploy]
        include:
          - component: {COMPONENT}/workflow@1.0.0
          - local: ci/*.yml
          - local: ci/templates/deploy.yml
            inputs:
              environment: staging
            rules:
              - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
        build:
          extends: .base
          script:
            - !reference [.setup, script]
            - make build
          rules:
            - !reference [.default-rules, rules]
    """,
    "ci/base.yml": """
        .base:
          image: debian:bookworm
          stage: build
        .setup:
          script: [echo setting up]
        .default-rules:
          rules:
            - if: $CI_PIPELINE_SOURCE == "schedule"
              when: never
            - when: on_success
    """,
    "ci/test.yml": """
        unit:
          extends: .base
          stage: test
          script: [make test]
    """,
    "ci/templates/deploy.yml": """
        spec:
          inputs:
            environment:
              options: [staging, production]
        ---
        deploy-$[[ inputs.environment ]]:
          extends: .base
          stage: deploy
          script:
            - make deploy ENV=$[[ inputs.environment ]]
          environment:
            name: $[[ inputs.environment ]]
    """,
}


def test_a_real_pipeline_with_references_wildcards_inputs_and_extends_across_files(tmp_path):
    path = _project(tmp_path, REAL)
    out = lint(path)
    assert out.returncode == 0, out.stderr
    assert "valid (3 jobs: unit, deploy-staging, build;" in out.stdout
    result = json.loads(lint(path, "--json").stdout)
    assert result["valid"] and result["jobs"] == ["unit", "deploy-staging", "build"]
    assert not [f for f in result["findings"] if f["severity"] != "note"]


def test_a_missing_reference_names_its_file_and_line(tmp_path):
    files = dict(REAL)
    files["ci/test.yml"] = """
        unit:
          extends: .base
          stage: test
          script:
            - !reference [.setup, before_script]
    """
    out = lint(_project(tmp_path, files))
    assert out.returncode == 1
    assert "ci/test.yml:6: !reference [.setup, before_script]: .setup.before_script is not defined" in out.stderr


def test_every_error_names_the_file_and_line_of_the_key(tmp_path):
    files = dict(REAL)
    files["ci/test.yml"] = """
        unit:
          extends: .base
          stage: test
          scirpt: [make test]
          artifact:
            paths: [out/]
    """
    path = _project(tmp_path, files)
    out = lint(path)
    assert out.returncode == 1
    assert "ci/test.yml:5: unit: unknown key 'scirpt': did you mean 'script'?" in out.stderr
    findings = json.loads(lint(path, "--json").stdout)["findings"]
    errors = [f for f in findings if f["severity"] == "error"]
    assert {"file": "ci/test.yml", "line": 6, "severity": "error",
            "message": "unit: unknown key 'artifact': did you mean 'artifacts'?"} in errors
    # An inherited key is reported where it is written, not at the job that extends it.
    files["ci/base.yml"] = REAL["ci/base.yml"].replace("stage: build", "stage: build\n          imagee: x")
    out = lint(_project(tmp_path, files))
    assert "ci/base.yml:5: .base: unknown key 'imagee'" in out.stderr


def test_spec_inputs_of_a_local_include_are_checked(tmp_path):
    files = dict(REAL)
    files[".gitlab-ci.yml"] = REAL[".gitlab-ci.yml"].replace("environment: staging", "environment: prod")
    out = lint(_project(tmp_path, files))
    assert out.returncode == 1
    assert "input 'environment'='prod' is outside its options: use one of staging, production" in out.stderr
    assert ".gitlab-ci.yml:6" in out.stderr


def test_no_workflow_rules_with_merge_request_rules_warns_of_duplicate_pipelines(tmp_path):
    files = dict(REAL)
    files[".gitlab-ci.yml"] = REAL[".gitlab-ci.yml"].replace(f"  - component: {COMPONENT}/workflow@1.0.0\n        ", "")
    path = _project(tmp_path, files)
    out = lint(path)
    assert out.returncode == 0, out.stderr
    assert "warning: .gitlab-ci.yml:" in out.stderr and "a branch with an open merge request gets two " \
        "pipelines" in out.stderr
    warnings = [f for f in json.loads(lint(path, "--json").stdout)["findings"] if f["severity"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["line"]
    # With the workflow component, no warning.
    assert "warning" not in lint(_project(tmp_path, REAL)).stderr


def test_json_output_of_an_invalid_file_exits_1(tmp_path):
    path = _write(tmp_path, """
        build:
          scirpt: [make]
    """)
    out = lint(path, "--json")
    assert out.returncode == 1
    result = json.loads(out.stdout)
    assert result["valid"] is False
    assert result["findings"][0]["line"] == 3 and "unknown key 'scirpt'" in result["findings"][0]["message"]
