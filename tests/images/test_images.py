"""The image matrix: global checks on every provider image, plus each provider's own smoke checks.

Which check runs where is data: provider.yaml's image (user, smoke), cli and variants lists, and
providers/<name>/tests/smoke.sh. `make test` checks each provider's default variant;
`make test-variants` (PIPEYARD_TEST_VARIANTS=all) every variant, named provider:variant.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pipeyard.images.containers import run_container
from pipeyard.images.source_info import source_info
from pipeyard.model.provider import load_provider, load_providers
from pipeyard.model.site import load_site
from pipeyard_kit import __version__

from .conftest import IMAGES, ROOT, SITE_DEFAULTS
from .image_scan import scan_image

pytestmark = pytest.mark.images

def missing_cli(provider, command: str) -> str | None:
    """Why a console script cannot work yet (its module is not written), or None."""
    target = provider.console_scripts.get(command.split()[0])
    if target is None:
        return None
    module = target.split(":")[0]
    if importlib.util.find_spec(module) is None:
        return f"{module} (behind `{command.split()[0]}`) does not exist yet"
    return None


def provider_of(image: str):
    return load_provider(ROOT, image.split(":")[0])


def variant_of(image: str):
    provider = provider_of(image)
    return provider.variant(image.partition(":")[2] or None)


def cases(kind: str) -> list:
    out = []
    for image in IMAGES:
        p = provider_of(image)
        commands = p.cli if kind == "cli" else p.image.get("smoke", [])
        for command in commands:
            reason = missing_cli(p, command)
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(image, command, marks=marks, id=f"{image}:{command}"))
    return out


def ref(built, name: str) -> str:
    return built[name].ref


def run(eng, built, name: str, *command: str, **kwargs):
    return run_container(eng, ref(built, name), list(command), **kwargs)


@pytest.mark.parametrize("name", IMAGES)
def test_runs_as_its_numeric_non_root_user(eng, built, name: str) -> None:
    user = provider_of(name).user
    assert eng.client.images.get(ref(built, name)).attrs["Config"]["User"] == str(user)
    out = run(eng, built, name, "id", "-u")
    assert (out.exit_code, out.stdout.strip()) == (0, str(user))


@pytest.mark.parametrize("name", IMAGES)
def test_the_image_carries_the_kit_and_its_own_provider_only(eng, built, name: str) -> None:
    provider = provider_of(name)
    others = {c for p in load_providers(ROOT) if p.name != provider.name for c in p.cli} | {"pipeyard"}
    listed = set(run(eng, built, name, "ls", "/opt/pipeyard/bin", "/usr/local/bin").stdout.split())
    assert set(provider.cli) <= listed
    assert not others & listed, f"{name} ships commands of other providers or the platform"
    script = ("import importlib.metadata as m; print(' '.join(sorted({d.metadata['Name'] for d in m.distributions() "
              "if d.metadata['Name'].startswith('pipeyard')})))")
    out = run(eng, built, name, "/opt/pipeyard/bin/python3", "-c", script)
    assert out.stdout.split() == sorted(["pipeyard-kit", provider.distribution])
    platform = run(eng, built, name, "/opt/pipeyard/bin/python3", "-c", "import pipeyard")
    assert platform.exit_code == 1 and "No module named 'pipeyard'" in platform.stderr


@pytest.mark.parametrize("name", IMAGES)
def test_the_command_can_be_overridden(eng, built, name: str) -> None:
    out = run(eng, built, name, "sh", "-c", 'echo "$((6 * 7)) from $0"')
    assert (out.exit_code, out.stdout) == (0, "42 from sh\n")


@pytest.mark.parametrize("name, cli", cases("cli"))
@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_the_provider_cli_answers(eng, built, name: str, cli: str, flag: str) -> None:
    out = run(eng, built, name, cli, flag)
    assert out.exit_code == 0, out.output[-2000:]
    if flag == "--version":
        assert __version__ in out.output
    else:
        assert "Usage:" in out.output


@pytest.mark.parametrize("name", IMAGES)
def test_the_tools_are_on_path_in_a_login_shell_as_any_uid(eng, built, name: str) -> None:
    """Login shells reset PATH, and Kubernetes may pick the uid: the CLIs must still be found."""
    provider = provider_of(name)
    tools = " ".join(provider.cli)
    out = run(eng, built, name, "bash", "-lc", f"for t in {tools}; do command -v $t; done", user="123456:0")
    assert out.exit_code == 0, out.output
    assert out.stdout.split() == [f"/usr/local/bin/{t}" for t in provider.cli]


@pytest.mark.parametrize("name", IMAGES)
def test_the_oci_labels_come_from_the_commit(eng, built, name: str) -> None:
    labels = eng.client.images.get(ref(built, name)).labels
    source = source_info(ROOT, fallback_source="https://gitlab.example.com/platform/pipeyard")
    for key, value in source.labels().items():
        assert labels.get(key) == value, key
    assert labels["org.opencontainers.image.version"] == __version__
    provider, variant = provider_of(name), variant_of(name)
    assert labels["dev.pipeyard.provider"] == provider.name
    # The variant and the version of every tool in it, as provider.yaml pins them.
    assert labels.get("dev.pipeyard.variant", "") == variant.name
    assert {k.removeprefix("dev.pipeyard.tool."): v for k, v in labels.items() if k.startswith("dev.pipeyard.tool.")} \
        == {tool: str(spec["version"]) for tool, spec in variant.tools.items()}
    assert ("dev.pipeyard.end-of-life" in labels) == bool(variant.eol)


@pytest.mark.parametrize("name, command", cases("smoke"))
def test_smoke_command(eng, built, name: str, command: str) -> None:
    out = run(eng, built, name, "sh", "-c", command)
    assert out.exit_code == 0, out.output[-2000:]


@pytest.mark.parametrize("name", IMAGES)
def test_smoke_script(eng, built, name: str) -> None:
    provider = provider_of(name)
    tests = ROOT / "providers" / provider.name / "tests"
    out = run(eng, built, name, "sh", "/smoke/smoke.sh", volumes={str(tests): {"bind": "/smoke", "mode": "ro"}})
    assert out.exit_code == 0, out.output[-3000:]
    assert out.stdout.strip().splitlines()[-1] == f"{provider.name} smoke: ok"


@pytest.mark.parametrize("name", IMAGES)
def test_no_secret_in_layers_config_or_history(eng, built, name: str, planted: dict[str, str]) -> None:
    hits = scan_image(eng, ref(built, name), list(planted.values()))
    assert hits == [], f"planted secrets found in {ref(built, name)}: {hits}"


@pytest.mark.parametrize("name", IMAGES)
def test_the_site_defaults_are_baked_without_secrets(eng, built, name: str, site_file: Path, planted) -> None:
    import json

    provider = provider_of(name)
    out = run(eng, built, name, "cat", "/etc/pipeyard/site.json")
    baked = json.loads(out.stdout)["defaults"]
    declared = {s.env for s in provider.settings if not s.secret}
    assert baked == {k: v for k, v in SITE_DEFAULTS.items() if k in declared}
    assert out.stdout == load_site(site_file).baked_json(provider)
    assert not any(value in out.stdout for value in planted.values())


@pytest.mark.parametrize("name", IMAGES)
def test_the_site_ca_is_in_the_system_bundle(eng, built, name: str, site_ca: Path) -> None:
    body = site_ca.read_text().splitlines()[1]
    out = run(eng, built, name, "grep", "-cF", body, "/etc/ssl/certs/ca-certificates.crt")
    assert out.stdout.strip() == "1"
    if "keytool" in run(eng, built, name, "sh", "-c", "command -v keytool || true").stdout:
        # JDK 8's keytool has no -cacerts: its store is the JRE's file (Debian links it to /etc/ssl/certs/java).
        listing = run(eng, built, name, "sh", "-c", 'keytool -list -cacerts -storepass changeit 2>/dev/null || '
                      'keytool -list -keystore "$(readlink -f "$(command -v java)" | sed "s,/bin/java$,,")'
                      '/lib/security/cacerts" -storepass changeit')
        assert "site-01" in listing.stdout, listing.output[-1000:]


@pytest.mark.parametrize("name", IMAGES)
def test_custom_ca_certs_at_job_start_as_a_non_root_user(eng, built, name: str, site_ca: Path) -> None:
    pem = site_ca.read_text()
    out = run(eng, built, name, "/opt/pipeyard/bin/python3", "-m", "pipeyard_kit.trust",
              environment={"CUSTOM_CA_CERTS": pem}, user="123456:0")
    assert out.exit_code == 0, out.output
    assert "export SSL_CERT_FILE=/home/pipeyard/.cache/pipeyard/ca/ca-bundle.pem" in out.stdout
    assert "export NODE_EXTRA_CA_CERTS=/home/pipeyard/.cache/pipeyard/ca/ca-bundle.pem" in out.stdout
    bad = run(eng, built, name, "/opt/pipeyard/bin/python3", "-m", "pipeyard_kit.trust",
              environment={"CUSTOM_CA_CERTS": "/no/such.pem"})
    assert bad.exit_code == 1 and bad.stderr.startswith("error: CUSTOM_CA_CERTS='/no/such.pem'")


def test_the_secret_scan_does_see_into_the_layers(eng, built) -> None:
    """A control for the scan above: a value that is baked on purpose must be found."""
    hits = scan_image(eng, ref(built, IMAGES[[i.split(":")[0] for i in IMAGES].index("maven")]),
                      [SITE_DEFAULTS["MAVEN_MIRROR_URL"]])
    assert any(h.endswith(".tar: " + SITE_DEFAULTS["MAVEN_MIRROR_URL"]) or "layer" in h for h in hits), hits
