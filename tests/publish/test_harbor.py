"""Harbor set-up against a loopback Harbor rebuilt from Harbor's own source (2.10, 2.15 and main)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import requests

from pipeyard.publish.harbor import HarborClient, SecretSink, provision
from pipeyard.publish.harbor.policies import validate_project_name
from pipeyard_kit.errors import ConfigError, RemoteError, UsageError
from pipeyard_kit.registry import Credentials
from tests.fixtures import free_port, run_cli
from tests.servers.redirects import redirecting_origins

from .conftest import invoke
from .fake_harbor import FakeHarbor
from .harbor_model import VERSIONS

ADMIN = Credentials("admin", "Harbor12345", "HARBOR_USERNAME and HARBOR_PASSWORD (or HARBOR_PASSWORD_FILE)")


@pytest.fixture(params=VERSIONS)
def fake(request: pytest.FixtureRequest) -> FakeHarbor:
    h = FakeHarbor(users={"admin": ("Harbor12345", True), "dev": ("dev-pw", False)}, version=request.param)
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
    assert rules["always"]["tag_selectors"][0]["pattern"] == ("{latest,latest-*,stable,stable-*,v[0-9]*,[0-9],"
                                                              "[0-9][0-9],[0-9]-*,[0-9][0-9]-*,[0-9]*.[0-9]*}")
    assert rules["nDaysSinceLastPull"]["params"] == {"nDaysSinceLastPull": 30}
    assert all(json.loads(r["tag_selectors"][0]["extras"]) == {"untagged": False} for r in policy["rules"])

    [rule] = fake.immutable[project["project_id"]]
    assert rule["tag_selectors"][0]["pattern"] == "{v*,[0-9]*.[0-9]*.[0-9]*}" and rule["action"] == "immutable"
    assert fake.gc["schedule"] == {"type": "Weekly", "cron": "0 0 0 * * 0",
                                   "next_scheduled_time": fake.gc["schedule"]["next_scheduled_time"]}
    assert json.loads(fake.gc["job_parameters"])["delete_untagged"] is True
    # Harbor set its sid cookie on every answer; pipeyard never sent it back, so no write met the CSRF check.
    assert fake.calls and not any(c.cookie for c in fake.calls)

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
    assert existing.secret not in "\n".join(first.lines())

    # Someone changed the policy in the UI: pipeyard puts its own back, in place (same id).
    fake.retentions[policy_id]["rules"][0]["params"] = {"latestPushedK": 3}
    second = run(fake, tmp_path)
    assert {c.item: c.action for c in second.changes}["tag retention"] == "updated"
    put = [c for c in fake.writes() if c.method == "PUT" and c.path == f"/retentions/{policy_id}"]
    assert len(put) == 1 and put[0].body["id"] == policy_id
    assert fake.retentions[policy_id]["rules"][0]["params"] == {"latestPushedK": 10}


def test_gc_needs_a_system_admin_and_is_skipped_with_a_clear_message(fake: FakeHarbor, tmp_path: Path) -> None:
    fake.add_project("pipeyard", members={"dev": "projectAdmin"})
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


# -- conformance: what Harbor enforces, and the old behaviour it catches --------------------------------
def basic(user: str = "admin", password: str = "Harbor12345") -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_every_answer_sets_the_session_cookie_and_a_write_that_sends_it_back_is_refused(fake: FakeHarbor) -> None:
    head = requests.head(f"{fake.url}/api/v2.0/projects", params={"project_name": "x"}, headers=basic(), timeout=5)
    assert head.cookies.get("sid"), "Harbor sets sid on every answer"
    body = {"project_name": "with-cookie", "metadata": {"public": "false"}}
    refused = requests.post(f"{fake.url}/api/v2.0/projects", json=body, timeout=5,
                            headers={**basic(), "Cookie": f"sid={head.cookies['sid']}"})
    assert refused.status_code == 403
    assert refused.json() == {"errors": [{"code": "FORBIDDEN", "message": "CSRF token invalid"}]}
    accepted = requests.post(f"{fake.url}/api/v2.0/projects", json=body, headers=basic(), timeout=5)
    assert accepted.status_code == 201 and accepted.content == b"" and accepted.headers["Location"]


def test_a_client_that_keeps_cookies_has_its_writes_refused(fake: FakeHarbor, tmp_path: Path) -> None:
    """The client as it was: a plain requests.Session keeps the sid of Harbor's first answer (here the
    project check), so from the second call on every write meets the CSRF check. It used to be
    misreported as a missing admin role."""
    client = HarborClient(fake.url, ADMIN)
    client.session.cookies = requests.cookies.RequestsCookieJar()  # the old, cookie-keeping session
    with pytest.raises(RemoteError) as err:
        provision(client, "pipeyard", SecretSink(tmp_path / "s"))
    assert "as a browser session without a CSRF token (403: CSRF token invalid)" in str(err.value)
    assert [(c.method, c.path, c.status, c.cookie) for c in fake.writes()] == [("POST", "/projects", 403, True)]
    assert "pipeyard" not in fake.projects
    # The same run with the client as it is now sets everything up.
    assert run(fake, tmp_path).changed


@pytest.mark.parametrize("body, message", [
    ({"name": "Ci_Push"}, "robot name is not in lower case or contains illegal characters"),
    ({"duration": 0}, "bad request error duration input: 0, duration must be either -1(Never) or a positive integer"),
    ({"level": "group"}, "bad request error level input: group"),
    ({"permissions": []}, "bad request empty permission"),
    ({"permissions": [{"kind": "project", "namespace": "pipeyard", "access": []}]}, "bad request empty access"),
    ({"permissions": [{"kind": "project", "namespace": "pipeyard",
                       "access": [{"resource": "repository", "action": "fly"}]}]}, "bad request permission: repository:fly"),
])
def test_robot_creation_is_validated_as_harbor_does(fake: FakeHarbor, body: dict, message: str) -> None:
    fake.add_project("pipeyard")
    robot = {"name": "ci-push", "duration": -1, "level": "project", "disable": False,
             "permissions": [{"kind": "project", "namespace": "pipeyard",
                              "access": [{"resource": "repository", "action": "pull"}]}], **body}
    r = requests.post(f"{fake.url}/api/v2.0/robots", json=robot, headers=basic(), timeout=5)
    assert (r.status_code, r.json()["errors"][0]["message"]) == (400, message)


def test_project_robots_are_listed_by_level_and_a_positive_project_id(fake: FakeHarbor, tmp_path: Path) -> None:
    run(fake, tmp_path)
    url = f"{fake.url}/api/v2.0/robots"
    missing = requests.get(url, params={"q": "Level=project"}, headers=basic(), timeout=5)
    assert missing.status_code == 400
    bad = requests.get(url, params={"q": "Level=project,ProjectID=0"}, headers=basic(), timeout=5)
    wording = "Project ID must be int type." if fake.version == "2.10" else "ProjectID must be a positive integer"
    assert (bad.status_code, bad.json()["errors"][0]["message"]) == (400, wording)
    pid = fake.projects["pipeyard"]["project_id"]
    listed = requests.get(url, params={"q": f"Level=project,ProjectID={pid}"}, headers=basic(), timeout=5).json()
    assert sorted(r["name"] for r in listed) == ["robot$pipeyard+ci-push", "robot$pipeyard+runner-pull"]
    assert all("secret" not in r for r in listed)


def test_retention_limits_as_harbor_enforces_them(fake: FakeHarbor, tmp_path: Path) -> None:
    run(fake, tmp_path)
    policy_id = int(fake.projects["pipeyard"]["metadata"]["retention_id"])
    policy = fake.retentions[policy_id]
    url = f"{fake.url}/api/v2.0/retentions/{policy_id}"
    twice = {**policy, "rules": [policy["rules"][0], dict(policy["rules"][0])]}
    dup = requests.put(url, json=twice, headers=basic(), timeout=5)
    assert (dup.status_code, dup.json()["errors"][0]["message"]) == (409, "rule 1 is conflict with rule 0")
    many = {**policy, "rules": [{**policy["rules"][0], "params": {"latestPushedK": n}} for n in range(16)]}
    over = requests.put(url, json=many, headers=basic(), timeout=5)
    assert (over.status_code, over.json()["errors"][0]["message"]) == (400, "only 15 rules are allowed at most")
    cron = requests.put(url, json={**policy, "trigger": {"kind": "Schedule", "settings": {"cron": "5 0 0 * * *"}}},
                        headers=basic(), timeout=5)
    assert cron.status_code == 400 and "the 1st field (indicating Seconds of time)" in cron.text
    # Harbor accepts an unknown template at the API; the scheduled run is what fails on it.
    odd = {**policy, "rules": [{**policy["rules"][0], "template": "keepEverything"}]}
    assert requests.put(url, json=odd, headers=basic(), timeout=5).status_code == 200
    from .harbor_model import Artifact, RetentionError

    with pytest.raises(RetentionError, match="rule evaluator keepEverything is not registered"):
        fake.run_retention("pipeyard", [Artifact("maven", "sha256:1", ["1.0.0"], 1.0)])


def test_more_than_15_rules_is_refused_before_harbor_is_written(fake: FakeHarbor, tmp_path: Path) -> None:
    run(fake, tmp_path)
    policy_id = int(fake.projects["pipeyard"]["metadata"]["retention_id"])
    others = [{"disabled": False, "action": "retain", "template": "latestPushedK", "params": {"latestPushedK": n},
               "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
               "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                   "pattern": f"team-{n}/**"}]}} for n in range(13)]
    fake.retentions[policy_id]["rules"] += others
    fake.retentions[policy_id]["rules"][0]["params"] = {"latestPushedK": 3}  # makes publish want to write
    writes = len(fake.writes())
    with pytest.raises(ConfigError, match="would have 16 rules; Harbor allows 15 per project"):
        run(fake, tmp_path)
    assert len(fake.writes()) == writes


def publish_history(commits: int) -> list:
    """What `pipeyard publish` leaves in a repository after `commits` publishes of a changing image on the
    default branch: each build keeps its short sha; the version, major and latest tags moved to the newest;
    a release v0.3.0 was published long ago. Shas come from hashing, so most start with a digit."""
    import hashlib

    from .harbor_model import Artifact

    arts = [Artifact("maven", "sha256:release", ["0.3.0", "v0.3.0"], pushed=1.0)]
    for i in range(commits):
        sha = hashlib.sha1(f"commit {i}".encode()).hexdigest()[:8]  # noqa: S324 - a commit id stand-in
        arts.append(Artifact("maven", f"sha256:build-{i:02d}", [sha], pushed=100.0 + i))
    arts[-1].tags += ["0.4.0", "0", "latest"]
    return arts


def test_retention_deletes_old_builds_and_keeps_release_tags(fake: FakeHarbor, tmp_path: Path) -> None:
    run(fake, tmp_path)
    history = publish_history(25)
    assert sum(a.tags[0][0].isdigit() for a in history[1:]) > 10, "most commit shas start with a digit"
    outcome = fake.run_retention("pipeyard", history, now=1000.0)["maven"]
    newest = {f"sha256:build-{i:02d}" for i in range(15, 25)}
    assert set(outcome["retained"]) == newest | {"sha256:release"}
    assert len(outcome["deleted"]) == 15


def test_the_old_release_pattern_kept_nearly_every_build(fake: FakeHarbor, tmp_path: Path) -> None:
    """The policy as publish wrote it before: `[0-9]*` among the always-kept tags matches every commit
    sha that starts with a digit, and Harbor keeps an artifact when ANY tag matches."""
    run(fake, tmp_path)
    policy = fake.retentions[int(fake.projects["pipeyard"]["metadata"]["retention_id"])]
    always = next(r for r in policy["rules"] if r["template"] == "always")
    always["tag_selectors"][0]["pattern"] = "{latest,stable,v*,[0-9]*}"
    outcome = fake.run_retention("pipeyard", publish_history(25), now=1000.0)["maven"]
    assert len(outcome["deleted"]) < 10, outcome


def test_a_disabled_immutable_rule_is_left_alone(fake: FakeHarbor, tmp_path: Path) -> None:
    run(fake, tmp_path)
    pid = fake.projects["pipeyard"]["project_id"]
    [rule] = fake.immutable[pid]
    fake.disable_immutable_rule("pipeyard", rule["id"])
    writes = len(fake.writes())
    summary = run(fake, tmp_path)
    change = next(c for c in summary.changes if c.item == "immutable release tags")
    assert change.action == "skipped" and f"rule {rule['id']} is disabled in Harbor" in change.detail
    assert len(fake.writes()) == writes and len(fake.immutable[pid]) == 1
    # What the old code did: it saw no enabled rule and created the same JSON again, which Harbor refuses.
    again = requests.post(f"{fake.url}/api/v2.0/projects/pipeyard/immutabletagrules", timeout=5,
                          json={k: v for k, v in rule.items() if k not in ("id", "project_id", "disabled")}
                          | {"disabled": False}, headers={**basic(), "X-Is-Resource-Name": "true"})
    assert (again.status_code, again.json()["errors"][0]["message"]) == (409, "immutable rule already exists")


def test_gc_schedule_rules_per_version(fake: FakeHarbor) -> None:
    url = f"{fake.url}/api/v2.0/system/gc/schedule"
    empty = requests.get(url, headers=basic(), timeout=5)
    assert (empty.status_code, empty.content) == (200, b"")
    six = {"schedule": {"type": "Weekly", "cron": "0 0 0 * * 0"}, "parameters": {"delete_untagged": True, "workers": 6}}
    r = requests.put(url, json=six, headers=basic(), timeout=5)
    if fake.version == "2.10":
        assert r.status_code == 400 and "less than or equal to 5" in r.text
    else:
        assert r.status_code == 200
    assert requests.put(url, json={"schedule": {"type": "Weekly", "cron": ""}}, headers=basic(),
                        timeout=5).status_code == 400
    assert requests.get(url, headers=basic("dev", "dev-pw"), timeout=5).status_code == 403
    assert requests.get(url, timeout=5).status_code == 401
    # POST replaces an existing schedule as PUT does: no 409.
    one = {"schedule": {"type": "Daily", "cron": "0 0 1 * * *"}, "parameters": {"delete_untagged": True, "workers": 1}}
    assert requests.post(url, json=one, headers=basic(), timeout=5).status_code == 201
    params = json.loads(requests.get(url, headers=basic(), timeout=5).json()["job_parameters"])
    assert ("redis_url_reg" in params) == (fake.version == "2.10")


def test_a_second_run_on_each_version_recognises_harbors_gc_parameters(fake: FakeHarbor, tmp_path: Path) -> None:
    run(fake, tmp_path)
    summary = run(fake, tmp_path)
    assert {c.item: c.action for c in summary.changes}["gc schedule"] == "unchanged"


@pytest.mark.parametrize("status", [302, 307])
def test_the_login_does_not_follow_a_redirect_to_another_origin(status) -> None:
    with redirecting_origins(status) as origins:
        client = HarborClient(origins.start, Credentials("admin", "Harbor-Secret-1"))
        assert client.project_exists("pipeyard")
        # A 307 keeps the write and its body: still no credential goes with it.
        client.request("POST", "/projects", json={"project_name": "pipeyard"}, what="create project pipeyard")
    assert [r.method for r in origins.received] == ["HEAD", "POST" if status == 307 else "GET"]
    assert origins.credentials_seen_by_other() == []
