"""`b2i-build` as the .b2i-build job runs it: the jar the build job left becomes an image in the registry,
and the dotenv report names exactly what was pushed."""

from __future__ import annotations

import json
import re

import requests
from b2i_support import PASSWORD, SHA, USER, job_env, tags


def test_the_job_pushes_the_image_and_reports_its_digest(runner, registry, base, project) -> None:
    done = runner.run(["b2i-build"], env=job_env(project, registry.address, base), cwd=project)
    assert done.returncode == 0, done.stderr[-3000:]
    image = done.stdout.strip()
    repo = f"{registry.address}/apps/b2i/orders"
    m = re.fullmatch(rf"{re.escape(repo)}:{SHA[:8]}@(sha256:[0-9a-f]{{64}})", image)
    assert m, image
    digest = m.group(1)
    # The report GitLab reads: bare KEY=VALUE lines, nothing else (no blank line, no comment, no quotes).
    assert (project / "b2i.env").read_text() == f"B2I_IMAGE={image}\nB2I_DIGEST={digest}\n"
    content = re.search(r"content tag (\w{12})", done.stderr).group(1)
    assert tags(registry, "apps/b2i/orders") == sorted([SHA[:8], content, "latest"])
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    r = requests.head(f"{registry.url}/v2/apps/b2i/orders/manifests/{SHA[:8]}", headers=accept, timeout=5)
    assert r.headers["Docker-Content-Digest"] == digest
    manifest = requests.get(f"{registry.url}/v2/apps/b2i/orders/manifests/{digest}", headers=accept, timeout=5).json()
    config = json.loads(requests.get(f"{registry.url}/v2/apps/b2i/orders/blobs/{manifest['config']['digest']}",
                                     timeout=5).content)
    # The commit's time, the commit and the project: provenance from the pipeline, never the clock.
    assert config["created"] == "2024-06-01T12:00:00Z"
    labels = config["config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == SHA
    assert labels["org.opencontainers.image.source"] == "https://gitlab.example.com/shop/orders"
    assert labels["io.pipeyard.b2i.layout"] == "thin"
    assert "base layers (1): 1 mounted from pipeyard/b2i-java" in done.stderr


def test_a_branch_pipeline_leaves_latest_alone(runner, registry, base, project) -> None:
    env = job_env(project, registry.address, base, CI_COMMIT_BRANCH="feature/x", CI_COMMIT_SHORT_SHA="feedf00d",
                  B2I_APP_NAME="orders-feature", B2I_EXTRA_TAGS="review-7; pr-7")
    done = runner.run(["b2i-build"], env=env, cwd=project)
    assert done.returncode == 0, done.stderr[-3000:]
    found = tags(registry, "apps/b2i/orders-feature")
    assert "latest" not in found and {"feedf00d", "review-7", "pr-7"} <= set(found)


def test_every_problem_is_one_report_before_any_network_call(runner, project) -> None:
    env = {"CI_PROJECT_DIR": str(project), "CI_PROJECT_NAME": "Orders_Service", "B2I_BASE_IMAGE": "harbor/b2i:Bad Tag",
           "B2I_JAR": "build/libs/*.jar", "B2I_APP_REGISTRY": "", "PIPEYARD_RETRIES": "1"}
    done = runner.run(["b2i-build"], env=env, cwd=project)
    assert done.returncode == 1
    err = done.stderr
    assert err.startswith("error: 3 configuration problems:") and "Traceback" not in err
    for text in ("B2I_APP_REGISTRY is not set: set B2I_APP_REGISTRY in the job's variables or the project's CI/CD "
                 "variables (or the `app-registry` input)",
                 "B2I_JAR='build/libs/*.jar' matches no jar: point B2I_JAR at the jar the build job left",
                 "B2I_BASE_IMAGE='harbor/b2i:Bad Tag': 'Bad Tag' is not a valid tag"):
        assert text in err, text
    assert "unreachable" not in err
    named = runner.run(["b2i-build"], env={**env, "B2I_JAR": "target/*.jar", "B2I_BASE_IMAGE": "harbor.example.com/p/b:1",
                                           "B2I_APP_REGISTRY": "harbor.example.com/apps"}, cwd=project)
    assert named.stderr.strip() == ("error: B2I_APP_NAME 'Orders_Service' is not a valid app name: use lowercase letters "
                                    "and digits with single '.', '_' or '-' between them, at most 63 characters (it "
                                    "names the image)")
    bad = runner.run(["b2i-build"], env={**env, "B2I_TRACING": "maybe"}, cwd=project)
    assert bad.stderr.strip() == "error: B2I_TRACING='maybe' (environment) is not allowed: use one of on, off"


def test_two_executable_jars_ask_which_one(runner, registry, base, project) -> None:
    extra = project.parent / "two"
    (extra / "target").mkdir(parents=True, exist_ok=True)
    for name in ("a.jar", "b.jar"):
        (extra / "target" / name).write_bytes((project / "target" / "orders-1.0.jar").read_bytes())
    done = runner.run(["b2i-build"], env=job_env(extra, registry.address, base), cwd=extra)
    assert done.returncode == 1
    assert "B2I_JAR='target/*.jar' matches 2 executable jars" in done.stderr
    assert "set B2I_JAR to the one the image runs" in done.stderr


def test_registry_credentials_come_from_the_variables_and_never_show(runner, auth_registry, registry, base,
                                                                     project, tmp_path) -> None:
    # The base is in another registry (copied once); the app's registry wants a login.
    env = job_env(project, auth_registry.address, base, B2I_REGISTRY_USERNAME=USER, B2I_REGISTRY_PASSWORD="wrong")
    refused = runner.run(["b2i-build"], env=env, cwd=project)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: registry {auth_registry.address} answered 401 Unauthorized to GET /v2/: check B2I_REGISTRY_USERNAME "
        "and B2I_REGISTRY_PASSWORD (or B2I_REGISTRY_PASSWORD_FILE): registry "
        f"{auth_registry.address} refused them")
    secret = project.parent / "password"
    secret.write_text(PASSWORD + "\n")
    env = job_env(project, auth_registry.address, base, B2I_REGISTRY_USERNAME=USER, B2I_REGISTRY_PASSWORD_FILE=str(secret))
    done = runner.run(["b2i-build"], env=env, cwd=project)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"base layers (1): 1 copied from {base.rsplit(':', 1)[0]}" in done.stderr
    shown = runner.run(["b2i-build", "--show-config"], env={**env, "B2I_REGISTRY_PASSWORD": PASSWORD}, cwd=project)
    assert PASSWORD not in done.stdout + done.stderr + shown.stdout + shown.stderr
    assert "B2I_REGISTRY_PASSWORD" in shown.stdout and "********" in shown.stdout
