"""The Harbor project settings that enforce the supply chain, against the fake Harbor at 2.10 and at the
newest release (their swaggers differ: auto_sbom_generation arrived in 2.11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeyard.model.site import load_site
from pipeyard.publish.harbor import HarborClient, SecretSink, provision
from pipeyard.publish.harbor.provision import Summary
from pipeyard.publish.harbor.security import SecurityPolicy, apply_security, harbor_version
from pipeyard_kit.errors import ModelError, RemoteError
from pipeyard_kit.registry import Credentials
from tests.publish.fake_harbor import FakeHarbor

ADMIN = Credentials("admin", "Harbor12345", "HARBOR_USERNAME and HARBOR_PASSWORD (or HARBOR_PASSWORD_FILE)")
STRICT = SecurityPolicy(scan_on_push=True, prevent_vulnerable="high", require_signatures=True, generate_sbom=True)


@pytest.fixture(params=["v2.10.0-b8f5bbd9", "v2.16.0-dev-9c1fa5b2"], ids=["harbor-2.10", "harbor-main"])
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FakeHarbor:
    monkeypatch.setenv("PIPEYARD_RETRIES", "2")
    monkeypatch.setenv("PIPEYARD_RETRY_BACKOFF", "0.01")
    h = FakeHarbor(harbor_version=request.param)
    h.start()
    yield h
    h.stop()


def newest(h: FakeHarbor) -> bool:
    return not h.harbor_version.startswith("v2.10")


def settle(h: FakeHarbor, policy: SecurityPolicy = STRICT) -> Summary:
    summary = Summary(h.url, "pipeyard")
    apply_security(HarborClient(h.url, ADMIN), "pipeyard", policy, summary)
    return summary


def test_first_run_sets_each_field_as_the_swagger_names_it_and_the_second_writes_nothing(fake: FakeHarbor) -> None:
    fake.add_project("pipeyard", retention_id="7")
    first = settle(fake)
    actions = {c.item: c.action for c in first.changes}
    assert actions["scan on push"] == actions["vulnerable images"] == actions["cosign signatures"] == "updated"
    [put] = [c for c in fake.writes() if c.method == "PUT"]
    assert put.path == "/projects/pipeyard" and put.status == 200
    sent = put.body["metadata"]
    # Only the keys that differ, as strings; never the retention id the retention step owns.
    assert all(isinstance(v, str) for v in sent.values()) and "retention_id" not in sent
    meta = fake.projects["pipeyard"]["metadata"]
    assert (meta["auto_scan"], meta["prevent_vul"], meta["severity"], meta["enable_content_trust_cosign"]) == \
        ("true", "true", "high", "true")
    assert meta["retention_id"] == "7"
    if newest(fake):
        assert actions["SBOM generation"] == "updated" and meta["auto_sbom_generation"] == "true"
    else:
        sbom = next(c for c in first.changes if c.item == "SBOM generation")
        assert sbom.action == "skipped"
        assert "v2.10.0-b8f5bbd9 has no auto_sbom_generation (Harbor 2.11 added it)" in sbom.detail
        assert "auto_sbom_generation" not in sent and "auto_sbom_generation" not in meta

    writes = len(fake.writes())
    second = settle(fake)
    assert len(fake.writes()) == writes
    assert not second.changed
    assert {c.action for c in second.changes} <= {"unchanged", "skipped"}


def test_a_setting_changed_in_the_ui_is_put_back_alone(fake: FakeHarbor) -> None:
    fake.add_project("pipeyard")
    settle(fake)
    fake.projects["pipeyard"]["metadata"]["prevent_vul"] = "false"
    summary = settle(fake)
    assert {c.item for c in summary.changes if c.action == "updated"} == {"vulnerable images"}
    assert fake.writes()[-1].body == {"metadata": {"prevent_vul": "true"}}


def test_turning_enforcement_off_writes_false_and_leaves_the_severity(fake: FakeHarbor) -> None:
    fake.add_project("pipeyard", prevent_vul="true", severity="critical", enable_content_trust_cosign="true")
    relaxed = SecurityPolicy(scan_on_push=False, prevent_vulnerable=None, require_signatures=False, generate_sbom=False)
    summary = settle(fake, relaxed)
    meta = fake.projects["pipeyard"]["metadata"]
    assert meta["prevent_vul"] == "false" and meta["severity"] == "critical"
    assert meta["enable_content_trust_cosign"] == "false"
    assert {c.item: c.detail for c in summary.changes}["vulnerable images"] == "pulls allowed"
    # A missing key already reads as false in Harbor: nothing to write for auto_scan or SBOMs.
    assert "auto_scan" not in fake.writes()[-1].body["metadata"]


def test_a_harbor_that_drops_a_field_it_does_not_know_is_an_error_naming_it() -> None:
    with FakeHarbor(harbor_version="v2.10.0-b8f5bbd9") as h:
        h.add_project("pipeyard")
        client = HarborClient(h.url, ADMIN)
        client.system_info = lambda: {}  # type: ignore[method-assign]  # a version it does not show
        with pytest.raises(RemoteError) as e:
            apply_security(client, "pipeyard", STRICT, Summary(h.url, "pipeyard"))
    assert "did not keep project pipeyard's auto_sbom_generation" in str(e.value)
    assert "harbor: in the site file" in str(e.value)


def test_provision_applies_the_site_policy_after_the_rest(fake: FakeHarbor, tmp_path: Path) -> None:
    summary = provision(HarborClient(fake.url, ADMIN), "pipeyard", SecretSink(tmp_path / "s"), security=STRICT)
    items = [c.item for c in summary.changes]
    assert items.index("gc schedule") < items.index("scan on push")
    assert fake.projects["pipeyard"]["metadata"]["enable_content_trust_cosign"] == "true"


def test_the_site_file_sets_the_policy(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("harbor:\n  prevent_vulnerable: medium\n  require_signatures: true\n  generate_sbom: false\n")
    policy = SecurityPolicy.from_site(load_site(site).harbor)
    assert policy == SecurityPolicy(True, "medium", True, False)
    assert SecurityPolicy.from_site({"prevent_vulnerable": False}).prevent_vulnerable is None
    assert SecurityPolicy.from_site(None) == SecurityPolicy()
    site.write_text("harbor:\n  prevent_vulnerable: severe\n")
    with pytest.raises(ModelError) as e:
        load_site(site)
    assert "prevent_vulnerable" in str(e.value)
    with pytest.raises(ModelError):
        SecurityPolicy.from_site({"prevent_vulnerable": "severe"})


def test_versions_are_read_from_harbors_version_string() -> None:
    assert harbor_version("v2.10.0-b8f5bbd9") == (2, 10)
    assert harbor_version("v2.16.0-dev-9c1fa5b2") == (2, 16)
    assert harbor_version("") is None
