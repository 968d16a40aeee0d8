"""Harbor set-up against a loopback Harbor that follows the v2.0 swagger."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from pipeyard.publish.harbor import HarborClient, SecretSink, provision
from pipeyard.publish.harbor.policies import validate_project_name
from pipeyard.publish.registry import Credentials
from pipeyard_kit.errors import RemoteError, UsageError
from tests.fixtures import free_port, run_cli

from .conftest import invoke
from .fake_harbor import FakeHarbor

ADMIN = Credentials("admin", "Harbor12345", "HARBOR_USERNAME and HARBOR_PASSWORD (or HARBOR_PASSWORD_FILE)")


@pytest.fixture
def fake() -> FakeHarbor:
    h = FakeHarbor(users={"admin": ("Harbor12345", True), "dev": ("dev-pw", False)})
    h.start()
    yield h
    h.stop()


def run(h: FakeHarbor, tmp_path: Path, creds: Credentials = ADMIN, project: str = "pipeyard", **kw):
    return provision(HarborClient(h.url, creds), project, SecretSink(tmp_path / "secrets"), **kw)


def test_first_run_sets_up_everything(fake: FakeHarbor, tmp_path: Path) -> None:
    summary = run(fake, tmp_path)
    actions = {c.item: c.action for c in summary.changes}
    assert actions == {"project pipeyard": "created", "robot runner-pull": "created", "robot ci-push": "created",
                       "tag retention": "created", "immutable release tags": "created", "gc schedule": "created"}
    create = next(c for c in fake.calls if c.method == "POST" and c.path == "/projects")
    assert create.body == {"project_name": "pipeyard", "metadata": {"public": "false"}}
    assert create.status == 201

    project = fake.projects["pipeyard"]
    policy = fake.retentions[int(project["metadata"]["retention_id"])]
    assert policy["scope"] == {"level": "project", "ref": project["project_id"]}
    assert policy["trigger"]["settings"]["cron"] == "0 0 0 * * *"
    rules = {r["template"]: r for r in policy["rules"]}
    assert rules["latestPushedK"]["params"] == {"latestPushedK": 10}
    assert rules["always"]["tag_selectors"][0]["pattern"] == "{latest*,stable,v*,[0-9]*}"
    assert rules["nDaysSinceLastPull"]["params"] == {"nDaysSinceLastPull": 30}
    assert all(json.loads(r["tag_selectors"][0]["extras"]) == {"untagged": False} for r in policy["rules"])

    [rule] = fake.immutable[project["project_id"]]
    assert rule["tag_selectors"][0]["pattern"] == "{v*,[0-9]*.[0-9]*.[0-9]*}" and rule["action"] == "immutable"
    assert fake.gc["schedule"]["type"] == "Weekly"
    assert json.loads(fake.gc["job_parameters"])["delete_untagged"] is True

    pull = next(r for r in fake.robots if r["name"] == "robot$pipeyard+runner-pull")
    push = next(r for r in fake.robots if r["name"] == "robot$pipeyard+ci-push")
    pull_access = {(a["resource"], a["action"]) for a in pull["permissions"][0]["access"]}
    push_access = {(a["resource"], a["action"]) for a in push["permissions"][0]["access"]}
    assert ("repository", "pull") in pull_access and ("repository", "push") not in pull_access
    assert ("repository", "push") in push_access
    assert pull["permissions"][0]["namespace"] == "pipeyard"


def test_robot_secrets_go_to_0600_files_and_never_into_the_summary(fake: FakeHarbor, tmp_path: Path) -> None:
    summary = run(fake, tmp_path)
    text = "\n".join(summary.lines())
    for robot in fake.robots:
        path = tmp_path / "secrets" / f"pipeyard+{robot['name'].rsplit('+', 1)[1]}.secret"
        assert path.read_text().strip() == robot["secret"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert robot["secret"] not in text
        assert str(path) in text
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700


def test_second_run_changes_nothing_and_says_so(fake: FakeHarbor, tmp_path: Path) -> None:
    run(fake, tmp_path)
    writes = len(fake.writes())
    summary = run(fake, tmp_path)
    assert len(fake.writes()) == writes, [(c.method, c.path) for c in fake.writes()[writes:]]
    assert not summary.changed
    assert summary.lines()[-1] == "  nothing changed"
    actions = {c.item: c.action for c in summary.changes}
    assert actions["robot ci-push"] == "exists"
    assert "not recreated" in next(c.detail for c in summary.changes if c.item == "robot ci-push")
    assert set(actions.values()) == {"exists", "unchanged"}


def test_existing_project_robot_and_a_different_policy(fake: FakeHarbor, tmp_path: Path) -> None:
    fake.add_project("pipeyard")
    existing = fake.add_robot("pipeyard", "ci-push")
    first = run(fake, tmp_path)
    policy_id = int(fake.projects["pipeyard"]["metadata"]["retention_id"])
    assert {c.item: c.action for c in first.changes}["robot ci-push"] == "exists"
    assert not (tmp_path / "secrets" / "pipeyard+ci-push.secret").exists()
    assert existing["secret"] not in "\n".join(first.lines())

    # Someone changed the policy in the UI: pipeyard puts its own back, in place (same id).
    fake.retentions[policy_id]["rules"][0]["params"] = {"latestPushedK": 3}
    second = run(fake, tmp_path)
    assert {c.item: c.action for c in second.changes}["tag retention"] == "updated"
    put = [c for c in fake.writes() if c.method == "PUT" and c.path == f"/retentions/{policy_id}"]
    assert len(put) == 1 and put[0].body["id"] == policy_id
    assert fake.retentions[policy_id]["rules"][0]["params"] == {"latestPushedK": 10}


def test_gc_needs_a_system_admin_and_is_skipped_with_a_clear_message(fake: FakeHarbor, tmp_path: Path) -> None:
    fake.add_project("pipeyard")
    summary = run(fake, tmp_path, Credentials("dev", "dev-pw"))
    gc = next(c for c in summary.changes if c.item == "gc schedule")
    assert gc.action == "skipped"
    assert "dev is not a Harbor system administrator (403)" in gc.detail and "--no-gc" in gc.detail
    assert {c.item: c.action for c in summary.changes}["tag retention"] == "created"


def test_401_names_the_credential_variables_and_not_the_password(fake: FakeHarbor, tmp_path: Path) -> None:
    with pytest.raises(RemoteError) as e:
        run(fake, tmp_path, Credentials("admin", "wrong-password"))
    message = str(e.value)
    assert f"Harbor {fake.url} refused the login of HARBOR_USERNAME=admin (401 Unauthorized)" in message
    assert "check HARBOR_USERNAME and HARBOR_PASSWORD (or HARBOR_PASSWORD_FILE)" in message
    assert "wrong-password" not in message


def test_403_on_project_creation_is_an_error(fake: FakeHarbor, tmp_path: Path) -> None:
    fake.only_admin_creates_projects = True
    with pytest.raises(RemoteError) as e:
        run(fake, tmp_path, Credentials("dev", "dev-pw"))
    assert "dev may not create project pipeyard (403 Forbidden: Only system admin can create project)" in str(e.value)


def test_a_409_on_create_means_it_exists(fake: FakeHarbor, tmp_path: Path) -> None:
    # Another run created the project between our check and our create.
    fake.fail("HEAD", r"^/projects$", status=404)
    fake.add_project("pipeyard")
    summary = run(fake, tmp_path)
    assert {c.item: c.action for c in summary.changes}["project pipeyard"] == "exists"
    assert [c.status for c in fake.calls if c.method == "POST" and c.path == "/projects"] == [409]


def test_transient_5xx_is_retried(fake: FakeHarbor, tmp_path: Path) -> None:
    fake.fail("POST", r"^/projects$", status=503, times=2)
    fake.fail("GET", r"^/robots$", status=502, times=1)
    client = HarborClient(fake.url, ADMIN)
    summary = provision(client, "pipeyard", SecretSink(tmp_path / "s"))
    assert client.retries == 3
    assert {c.item: c.action for c in summary.changes}["project pipeyard"] == "created"


def test_a_5xx_that_persists_is_one_clear_error(fake: FakeHarbor, tmp_path: Path) -> None:
    fake.fail("POST", r"^/retentions$", status=500, times=None)
    with pytest.raises(RemoteError) as e:
        run(fake, tmp_path)
    message = str(e.value)
    assert f"Harbor {fake.url} kept failing with 500 Internal Server Error: injected fault" in message
    assert "create the tag retention policy (4 attempts)" in message


def test_unreachable_harbor(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(RemoteError) as e:
        provision(HarborClient(f"http://127.0.0.1:{port}", ADMIN), "pipeyard", SecretSink(tmp_path))
    assert f"Harbor http://127.0.0.1:{port} is unreachable" in str(e.value)


@pytest.mark.parametrize("name", ["Pipeyard", "ci__images", "-ci", "ci-", "a/b", "", "a" * 256, "ci images"])
def test_invalid_project_names(name: str) -> None:
    with pytest.raises(UsageError) as e:
        validate_project_name(name)
    assert "not a valid Harbor project name" in str(e.value) and "lowercase" in str(e.value)


@pytest.mark.parametrize("name", ["pipeyard", "ci-images", "a", "team.ci_images-2", "1"])
def test_valid_project_names(name: str) -> None:
    assert validate_project_name(name) == name


# -- through the CLI, as a platform engineer runs it ------------------------------------------------
def harbor_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HARBOR_USERNAME": "admin", "HARBOR_PASSWORD": "Harbor12345", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "PIPEYARD_RETRIES": "3", "PIPEYARD_RETRY_BACKOFF": "0.01", **extra}


def test_cli_setup_only_twice(fake: FakeHarbor, tmp_path: Path, capsys, monkeypatch) -> None:
    first = run_cli("pipeyard", "publish", "--harbor", fake.url, "--setup-only", env=harbor_env(tmp_path))
    assert first.returncode == 0, first.stderr
    assert f"Harbor {fake.url}, project pipeyard:" in first.stdout
    assert "changed: project pipeyard, robot runner-pull" in first.stdout
    secrets_dir = tmp_path / "cfg" / "pipeyard" / "harbor" / fake.address.replace(":", "_")
    assert (secrets_dir / "pipeyard+ci-push.secret").exists()
    for robot in fake.robots:
        assert robot["secret"] not in first.stdout + first.stderr

    for k, v in harbor_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    code, out, err = invoke(capsys, "publish", "--harbor", fake.url, "--setup-only")
    assert code == 0, err
    assert out.rstrip().endswith("nothing changed")


def test_cli_shows_robot_secrets_once_when_asked(fake: FakeHarbor, tmp_path: Path, capsys, monkeypatch) -> None:
    for k, v in harbor_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    args = ("publish", "--harbor", fake.url, "--registry", f"{fake.address}/ci-images", "--setup-only",
            "--show-robot-secrets", "--robot-secrets", str(tmp_path / "robots"))
    code, out, err = invoke(capsys, *args)
    assert code == 0, err
    for robot in fake.robots:
        assert f"{robot['name']}\t{robot['secret']}" in out
        assert robot["secret"] not in err
    assert (tmp_path / "robots" / "ci-images+runner-pull.secret").exists()
    code, out, err = invoke(capsys, *args)
    assert code == 0 and not any(robot["secret"] in out for robot in fake.robots)


def test_cli_password_file(fake: FakeHarbor, tmp_path: Path, capsys, monkeypatch) -> None:
    pw = tmp_path / "pw"
    pw.write_text("Harbor12345\n")
    for k, v in harbor_env(tmp_path, HARBOR_PASSWORD="", HARBOR_PASSWORD_FILE=str(pw)).items():
        monkeypatch.setenv(k, v)
    code, out, err = invoke(capsys, "publish", "--harbor", fake.url, "--setup-only", "--no-gc")
    assert code == 0, err
    assert "gc schedule" in out and "skipped - --no-gc" in out


def test_cli_invalid_project_name_fails_before_calling_harbor(fake: FakeHarbor, tmp_path: Path) -> None:
    r = run_cli("pipeyard", "publish", "--harbor", fake.url, "--registry", f"{fake.address}/CI_Images",
                env=harbor_env(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip() == ("error: 'CI_Images' is not a valid Harbor project name: use 1-255 lowercase letters "
                                "and digits, with single '.', '_' or '-' between them (e.g. 'pipeyard', 'ci-images')")
    assert fake.calls == []


def test_cli_missing_credentials(fake: FakeHarbor, capsys) -> None:
    code, _, err = invoke(capsys, "publish", "--harbor", fake.url)
    assert code == 1
    assert err.strip() == ("error: HARBOR_USERNAME and HARBOR_PASSWORD are not set: set HARBOR_USERNAME and "
                           "HARBOR_PASSWORD (or HARBOR_PASSWORD_FILE) in the job's CI/CD variables")
    assert fake.calls == []


def test_cli_wrong_password(fake: FakeHarbor, tmp_path: Path, capsys, monkeypatch) -> None:
    for k, v in harbor_env(tmp_path, HARBOR_PASSWORD="nope-123").items():
        monkeypatch.setenv(k, v)
    code, out, err = invoke(capsys, "publish", "--harbor", fake.url)
    assert code == 1
    assert "401 Unauthorized" in err and "nope-123" not in err + out


def test_publish_keeps_the_b2i_rules_of_the_shared_policy(fake: FakeHarbor, tmp_path: Path) -> None:
    """One retention policy per project: b2i's own rules survive a publish, and the
    provider rules leave b2i/** alone so a smaller b2i limit still applies."""
    run(fake, tmp_path)
    policy_id = int(fake.projects["pipeyard"]["metadata"]["retention_id"])
    b2i_rule = {"disabled": False, "action": "retain", "template": "latestPushedK", "params": {"latestPushedK": 3},
                "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
                "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                    "pattern": "b2i/**"}]}}
    fake.retentions[policy_id]["rules"].append(b2i_rule)
    again = run(fake, tmp_path)
    assert {c.item: c.action for c in again.changes}["tag retention"] == "unchanged"
    rules = fake.retentions[policy_id]["rules"]
    assert any(r["scope_selectors"]["repository"][0]["pattern"] == "b2i/**"
               and r["scope_selectors"]["repository"][0]["decoration"] == "repoMatches" for r in rules)
    provider = [r for r in rules if r["scope_selectors"]["repository"][0]["decoration"] == "repoExcludes"]
    assert len(provider) == 3 and all(r["scope_selectors"]["repository"][0]["pattern"] == "b2i/**" for r in provider)
