"""The nightly updates job: newer pinned tool versions from a real apt run (a local archive) and from
upstream indexes served over HTTP, edits that keep provider.yaml's layout, and the merge request
through GitLab's REST API."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
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
from tests.fixtures import ROOT
from tests.servers import loopback

from .conftest import TOKEN, ComponentProject, selfci

JAR = b"PK\x03\x04 pretend this is agent 1.3.0\n" * 100
JAR_SHA = hashlib.sha256(JAR).hexdigest()
OLD_SHA = "ab" * 32


def package(name: str, version: str, arch: str = "amd64") -> str:
    return (f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Debian <d@example.com>\n"
            f"Filename: pool/{name}_{version}_{arch}.deb\nSize: 100\nSHA256: {'0' * 64}\nDescription: {name}\n\n")


@pytest.fixture
def archive(tmp_path: Path) -> str:
    """A local Debian archive as apt reads one: newer nodejs and maven, npm unchanged, no git."""
    repo = tmp_path / "archive"
    repo.mkdir()
    text = (package("nodejs", "22.3.0+dfsg-1") + package("nodejs", "20.19.2+dfsg-1")
            + package("npm", "9.2.0~ds1-3", "all") + package("maven", "3.9.11-1", "all")
            + package("openjdk-21-jdk-headless", "21.0.8+9-1") + package("openjdk-21-jre-headless", "21.0.8+9-1")
            + package("python3", "3.13.5-1") + package("chromium", "140.0-1"))
    (repo / "Packages.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    return f"deb [trusted=yes] file:{repo} ./"


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
def test_debian_tools_are_compared_with_the_archive(archive: str):
    catalog = up.AptCatalog([archive])
    assert catalog.candidates("trixie", ["nodejs", "npm", "git"]) == {"nodejs": "22.3.0+dfsg-1",
                                                                       "npm": "9.2.0~ds1-3"}
    found = {(u.provider, u.tool): u for u in up.find_updates(load_providers(ROOT), apt=catalog,
                                                               index=up.UpstreamIndex({}))}
    assert found[("npm", "node")].available == "22" and found[("npm", "node")].newer
    assert "nodejs 22.3.0+dfsg-1 (trixie)" == found[("npm", "node")].seen
    assert not found[("npm", "npm")].newer and found[("npm", "npm")].status == "current"
    assert found[("maven", "maven")].available == "3.9.11"
    assert not found[("maven", "jdk")].newer
    assert found[("gitops", "git")].note.startswith("not in trixie")
    assert found[("chrome-headless", "chromium")].note.startswith("skipped")


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


def test_planned_changes_regenerate_what_the_pins_feed(repo: Path, archive: str, upstream: Upstream):
    upstream.files["/index.json"] = json.dumps({"tools": {"agent": [
        {"version": "1.3.0", "url": f"{upstream.url}/dl/agent-1.3.0.jar", "sha256": "2" * 64}]}}).encode()
    providers = load_providers(repo)
    site = load_site(repo / "pipeyard.site.yaml", providers)
    found = up.find_updates(providers, apt=up.AptCatalog([archive]),
                            index=up.UpstreamIndex({"*": f"{upstream.url}/index.json"}))
    newer = [u for u in found if u.newer]
    assert sorted((u.provider, u.tool) for u in newer) == [("maven", "maven"), ("npm", "agent"), ("npm", "node")]
    changes = up.planned_changes(repo, newer, site)
    assert {"providers/maven/provider.yaml", "providers/npm/provider.yaml"} <= set(changes)
    up.write_changes(repo, changes)
    providers = load_providers(repo)
    npm = next(p for p in providers if p.name == "npm")
    assert npm.tools["node"]["version"] == "22" and npm.tools["agent"]["sha256"] == "2" * 64
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
    newer = [u for u in up.find_updates(providers, apt=up.AptCatalog([archive]), index=up.UpstreamIndex({}))
             if u.newer]
    changes = up.planned_changes(repo, newer, site)
    lines: list[str] = []
    url = up.open_merge_request(gl, "platform/pipeyard", "main", newer, changes, echo=lines.append)
    assert url.endswith("/-/merge_requests/1")
    commit = project.commits[0]
    assert (commit["branch"], commit["start_branch"], commit["force"]) == (up.UPDATE_BRANCH, "main", True)
    assert {a["file_path"]: a["action"] for a in commit["actions"]}["providers/npm/provider.yaml"] == "update"
    mr = project.mrs[0]
    assert (mr["source_branch"], mr["target_branch"], mr["labels"]) == (up.UPDATE_BRANCH, "main", "dependencies")
    assert "npm/node 20 -> 22" in mr["title"] and "| npm | node | debian | 20 | 22 |" in mr["description"]

    up.open_merge_request(gl, "platform/pipeyard", "main", newer, changes, echo=lines.append)
    assert len(project.commits) == 1 and len(project.mrs) == 1
    assert "already proposes these updates" in lines[-1]

    only_node = [u for u in newer if u.tool == "node"]
    up.open_merge_request(gl, "platform/pipeyard", "main", only_node,
                          up.planned_changes(repo, only_node, site), echo=lines.append)
    assert len(project.commits) == 2 and len(project.mrs) == 1
    assert project.mrs[0]["title"] == "Update pinned tools: npm/node 20 -> 22"
    assert lines[-1].startswith("refreshed merge request !1")


def test_the_updates_command_end_to_end(gitlab, component_project: ComponentProject, repo: Path, archive: str):
    env = {"PIPEYARD_GITLAB_TOKEN": TOKEN, "CI_SERVER_URL": gitlab.url, "CI_PROJECT_PATH": "platform/pipeyard",
           "CI_DEFAULT_BRANCH": "main", "PIPEYARD_UPSTREAM_INDEX": ""}
    report = selfci("updates", "--apt-source", archive, cwd=repo, env=env)
    assert report.returncode == 0, report.stderr
    assert "npm              node" in report.stdout and "newer: 22" in report.stdout
    assert report.stdout.strip().endswith("2 pinned tool(s) have a newer release")
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
