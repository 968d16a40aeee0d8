"""Nightly: which pinned tool versions in provider.yaml have a newer release, and a merge request for them.

- **Debian-sourced tools** (`source: debian`, `package:`) are compared with the candidate
  `apt-cache policy` reports for the base's release (its main, -updates and -security suites), read
  with a private apt state, so the host's own packages and sources play no part.
- **Download-sourced tools** (`source: download`, `url:`, `sha256:`) are compared with a configurable
  upstream index: pipeyard's JSON index `{"tools": {name: [{version, url, sha256}]}}`, or per tool a
  maven-metadata.xml or a JSON list of versions (the URL then follows the pinned one, and the sha256
  is computed from the download).

A pin keeps its precision: `node: "20"` follows Debian's 20.x and only a 21 is newer; `maven:
"3.9.9"` is newer at 3.9.10. The edits keep provider.yaml's layout and comments, the rendered files
are regenerated with them, and everything goes into one merge request on a fixed branch, refreshed
(not duplicated) night after night.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from pipeyard.model.provider import Provider
from pipeyard_kit import http, urls
from pipeyard_kit.errors import ConfigError, ModelError, RemoteError, UsageError

Echo = Callable[[str], None]
INDEX_DEADLINE = 60.0  # an index is a small document
DOWNLOAD_DEADLINE = 900.0  # a release to checksum: a JDK agent, a CLI archive
UPDATE_BRANCH = "pipeyard/tool-updates"
NUMERIC = re.compile(r"^\d+(?:\.\d+)*\Z")
LEADING_VERSION = re.compile(r"^(\d+(?:\.\d+)*)")


# -- versions ---------------------------------------------------------------------------------------
def upstream_part(debian_version: str) -> str | None:
    """'1:20.19.2+dfsg-1' -> '20.19.2': the upstream version's leading numbers."""
    text = re.sub(r"^\d+:", "", debian_version.strip())
    m = LEADING_VERSION.match(text)
    return m.group(1) if m else None


def _nums(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def same_precision(available: str, pinned: str) -> str:
    """available cut to as many components as the pin has: ('20.19.2', '20') -> '20'."""
    return ".".join(available.split(".")[: len(pinned.split("."))])


def is_newer(available: str, pinned: str) -> bool:
    return _nums(same_precision(available, pinned)) > _nums(pinned)


# -- what was found -------------------------------------------------------------------------------
@dataclass
class ToolUpdate:
    provider: str
    tool: str
    source: str
    pinned: str
    available: str | None = None  # the new pin, at the pin's precision
    seen: str = ""  # what the archive or index offers, e.g. "nodejs 20.19.2+dfsg-1 (trixie)"
    url: str | None = None
    sha256: str | None = None
    note: str = ""

    @property
    def newer(self) -> bool:
        return self.available is not None and self.available != self.pinned

    @property
    def status(self) -> str:
        if self.note:
            return self.note
        return f"newer: {self.available}" if self.newer else "current"


# -- Debian's archive, read with a private apt state -------------------------------------------------
class AptCatalog:
    """Candidate versions per Debian release, from `apt-get update` + `apt-cache policy` in a private dir."""

    def __init__(self, sources: list[str] | None = None, mirror: str | None = None):
        self.sources = list(sources or [])
        self.mirror = mirror
        self._cache: dict[str, dict[str, str]] = {}

    def source_lines(self, release: str) -> list[str]:
        if self.sources:
            return self.sources
        from pipeyard.images.debian_mirror import debian_mirror, security_mirror

        mirror = debian_mirror(self.mirror)
        keyring = "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
        return [f"deb {keyring} {mirror} {release} main", f"deb {keyring} {mirror} {release}-updates main",
                f"deb {keyring} {security_mirror(mirror)} {release}-security main"]

    def candidates(self, release: str, packages: list[str]) -> dict[str, str]:
        if release not in self._cache:
            self._cache[release] = {}
        known = self._cache[release]
        wanted = sorted(set(packages) - set(known))
        if wanted:
            known.update(self._query(release, wanted))
        return {p: known[p] for p in packages if p in known}

    def _query(self, release: str, packages: list[str]) -> dict[str, str]:
        for tool in ("apt-get", "apt-cache"):
            if shutil.which(tool) is None:
                raise ConfigError(f"{tool} is not installed, so Debian-sourced tools cannot be checked",
                                  fix="run `pipeyard updates` on Debian (the CI job's image is Debian)")
        with tempfile.TemporaryDirectory(prefix="pipeyard-apt-") as tmp:
            d = Path(tmp)
            (d / "lists" / "partial").mkdir(parents=True)
            (d / "cache" / "archives" / "partial").mkdir(parents=True)
            (d / "sources.list").write_text("\n".join(self.source_lines(release)) + "\n", encoding="utf-8")
            (d / "status").write_text("", encoding="utf-8")
            opts = [
                "-o", f"Dir::Etc::SourceList={d / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/nonexistent",
                "-o", f"Dir::State::Lists={d / 'lists'}", "-o", f"Dir::State::status={d / 'status'}",
                "-o", f"Dir::Cache={d / 'cache'}", "-o", "Dir::Etc::PreferencesParts=/nonexistent",
                "-o", f"Dir::Etc::Preferences={d / 'preferences'}", "-o", "Debug::NoLocking=1",
                "-o", "APT::Sandbox::User=root", "-o", "Acquire::Languages=none", "-o", "Acquire::Retries=2",
            ]
            env = {**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
            update = subprocess.run(["apt-get", *opts, "-q", "update"], capture_output=True, text=True, env=env,
                                    timeout=600)
            failed = [ln for ln in (update.stdout + update.stderr).splitlines()
                      if ln.startswith(("E:", "W: Failed", "W: Some index files"))]
            if update.returncode != 0 or failed:
                raise RemoteError(f"apt-get update for {release} failed: {(failed or ['exit ' + str(update.returncode)])[0]}",
                                  fix="check --apt-source (or PIPEYARD_DEBIAN_MIRROR) and that the mirror is reachable")
            policy = subprocess.run(["apt-cache", *opts, "policy", *packages], capture_output=True, text=True,
                                    env=env, timeout=120)
        return parse_policy(policy.stdout)


def parse_policy(text: str) -> dict[str, str]:
    """`apt-cache policy a b` -> {package: candidate}; packages apt does not know are absent."""
    found: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = line.rstrip()[:-1].split(":")[0]
        elif current and line.strip().startswith("Candidate:"):
            candidate = line.split(":", 1)[1].strip()
            if candidate and candidate != "(none)":
                found[current] = candidate
    return found


# -- upstream indexes for downloaded tools ------------------------------------------------------------
def parse_index_options(options: tuple[str, ...] | list[str]) -> dict[str, str]:
    """['https://x/index.json', 'agent=https://y/maven-metadata.xml'] -> {'*': ..., 'agent': ...}"""
    mapping: dict[str, str] = {}
    for option in options:
        for item in option.split():
            name, sep, url = item.partition("=")
            if sep and "://" not in name:
                mapping[name] = url
            else:
                mapping["*"] = item
    return mapping


def check_index_options(mapping: dict[str, str], providers: list[Provider]) -> None:
    """Every --index is an http(s) URL, and every TOOL= names a download-sourced tool: an index for a
    misspelt tool would be ignored, and the report would say that tool is current."""
    tools = {name for p in providers for name, tool in p.tools.items() if tool.get("source") == "download"}
    problems = [f"{'' if name == '*' else name + '='}{urls.masked(url)}: {why}"
                for name, url in mapping.items() if (why := urls.problem(url))]
    problems += [f"{name}= names no download-sourced tool of the providers checked"
                 for name in mapping if name != "*" and name not in tools]
    if problems:
        raise UsageError(f"--index (or PIPEYARD_UPSTREAM_INDEX): {'; '.join(problems)}",
                         fix=f"give [TOOL=]https://host/path, TOOL one of {', '.join(sorted(tools)) or 'none'}")


@dataclass(frozen=True)
class Release:
    version: str
    url: str | None = None
    sha256: str | None = None


class UpstreamIndex:
    def __init__(self, urls: dict[str, str] | None = None, *, session: requests.Session | None = None):
        self.urls = dict(urls or {})
        self.session = session or http.session(deadline=INDEX_DEADLINE)
        self._docs: dict[str, Any] = {}

    def releases(self, tool: str) -> list[Release] | None:
        """Releases of tool, or None when no index covers it."""
        if tool in self.urls:
            return _releases_from(self._fetch(self.urls[tool]), tool)
        if "*" in self.urls:
            doc = self._fetch(self.urls["*"])
            if isinstance(doc, dict) and tool in (doc.get("tools") or {}):
                return _releases_from(doc, tool)
        return None

    def _fetch(self, url: str) -> Any:
        if url in self._docs:
            return self._docs[url]
        try:
            if url.startswith("file://") or "://" not in url:
                text = Path(url.removeprefix("file://")).read_text(encoding="utf-8")
            else:
                r = self.session.get(url, timeout=30)
                if r.status_code != 200:
                    raise RemoteError(f"upstream index {url} answered {r.status_code}",
                                      fix="check --index (PIPEYARD_UPSTREAM_INDEX)")
                text = r.text
        except OSError as exc:
            raise ConfigError(f"upstream index {url} cannot be read ({exc.strerror})", fix="check --index") from None
        except requests.RequestException as exc:
            raise RemoteError(f"upstream index {url} is unreachable ({type(exc).__name__})",
                              fix="check --index (PIPEYARD_UPSTREAM_INDEX) and the network") from None
        doc = _parse_index(text, url)
        self._docs[url] = doc
        return doc

    def sha256_of(self, url: str) -> str:
        digest = hashlib.sha256()
        try:
            with http.time_limit(DOWNLOAD_DEADLINE), \
                    self.session.get(url, stream=True, timeout=(10, 300), deadline=None) as r:
                if r.status_code != 200:
                    raise RemoteError(f"{url} answered {r.status_code}", fix="check the index's URL for this version")
                for chunk in http.chunks(r):
                    digest.update(chunk)
        except http.DeadlineExceeded as exc:
            raise RemoteError(f"{url} did not download {exc}", fix="check the network, or the mirror's speed") from None
        except requests.RequestException as exc:
            raise RemoteError(f"{url} is unreachable ({type(exc).__name__})", fix="check the network") from None
        return digest.hexdigest()


def _parse_index(text: str, url: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith("<"):
        try:
            root = ET.fromstring(stripped)
        except ET.ParseError as exc:
            raise ConfigError(f"upstream index {url} is not valid XML ({exc})", fix="point --index at maven-metadata.xml") from None
        return [v.text.strip() for v in root.iter("version") if v.text]
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError(f"upstream index {url} is neither JSON nor maven-metadata.xml",
                          fix="see `pipeyard updates --help` for the formats") from None


def _releases_from(doc: Any, tool: str) -> list[Release]:
    items = doc.get("tools", {}).get(tool, []) if isinstance(doc, dict) else doc
    releases = []
    for item in items or []:
        if isinstance(item, str):
            releases.append(Release(item.removeprefix("v")))
        elif isinstance(item, dict):
            version = str(item.get("version") or item.get("tag_name") or item.get("name") or "").removeprefix("v")
            if version:
                releases.append(Release(version, item.get("url"), item.get("sha256")))
    return releases


# -- finding updates --------------------------------------------------------------------------------
def find_updates(providers: list[Provider], *, apt: AptCatalog, index: UpstreamIndex) -> list[ToolUpdate]:
    found: list[ToolUpdate] = []
    by_release: dict[str, set[str]] = {}
    for p in providers:
        for tool in p.tools.values():
            if tool.get("source") == "debian" and tool.get("package"):
                by_release.setdefault(p.base.split(":", 1)[1], set()).add(tool["package"])
    candidates = {release: apt.candidates(release, sorted(pkgs)) for release, pkgs in sorted(by_release.items())}
    for p in sorted(providers, key=lambda x: x.name):
        release = p.base.split(":", 1)[1]
        for name, tool in sorted(p.tools.items()):
            pinned = str(tool.get("version", ""))
            update = ToolUpdate(p.name, name, tool.get("source", ""), pinned)
            if not NUMERIC.match(pinned):
                update.note = f"skipped: version {pinned!r} is not numeric"
            elif tool.get("source") == "debian":
                _debian(update, tool, release, candidates.get(release, {}))
            elif tool.get("source") == "download":
                _download(update, tool, index)
            found.append(update)
    return found


def _debian(update: ToolUpdate, tool: dict[str, Any], release: str, candidates: dict[str, str]) -> None:
    package = tool.get("package")
    if not package:
        update.note = "skipped: no package"
        return
    candidate = candidates.get(package)
    if candidate is None:
        update.note = f"not in {release}: package {package} is unknown to apt"
        return
    update.seen = f"{package} {candidate} ({release})"
    upstream = upstream_part(candidate)
    if upstream is None:
        update.note = f"skipped: cannot read the version of {package} {candidate}"
        return
    if is_newer(upstream, update.pinned):
        update.available = same_precision(upstream, update.pinned)
    elif _nums(same_precision(upstream, update.pinned)) < _nums(update.pinned):
        update.note = f"pinned ahead of {release}: the archive has {candidate}"


def _download(update: ToolUpdate, tool: dict[str, Any], index: UpstreamIndex) -> None:
    releases = index.releases(update.tool)
    if releases is None:
        update.note = "skipped: no upstream index covers it (--index)"
        return
    stable = [r for r in releases if NUMERIC.match(r.version)]
    if not stable:
        update.note = "skipped: the index lists no release versions"
        return
    latest = max(stable, key=lambda r: _nums(r.version))
    update.seen = f"{latest.version} (index)"
    if _nums(latest.version) <= _nums(update.pinned):
        return
    url = latest.url
    old_url = str(tool.get("url", ""))
    if url is None:
        if update.pinned not in old_url:
            update.note = f"newer {latest.version}, but its URL is unknown: the pinned URL does not contain {update.pinned}"
            return
        url = old_url.replace(update.pinned, latest.version)
    update.available = latest.version
    update.url = url
    update.sha256 = latest.sha256 or index.sha256_of(url)


def report_lines(updates: list[ToolUpdate]) -> list[str]:
    rows = [("provider", "tool", "source", "pinned", "available", "status")]
    rows += [(u.provider, u.tool, u.source, u.pinned, u.seen or "-", u.status) for u in updates]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    newer = [u for u in updates if u.newer]
    lines.append(f"{len(newer)} pinned tool(s) have a newer release" if newer else "every pinned tool is current")
    return lines


# -- editing provider.yaml in place ----------------------------------------------------------------------
_SCALAR = r'("[^"]*"|\'[^\']*\'|[^,}\s#]+)'


def edit_tool(text: str, tool: str, fields: dict[str, str], *, where: str = "provider.yaml") -> str:
    """Set tools.<tool>.<field> values in provider.yaml text, keeping its layout and comments."""
    lines = text.splitlines(keepends=True)
    try:
        start = next(i for i, ln in enumerate(lines) if re.match(r"^tools:\s*(#.*)?$", ln))
    except StopIteration:
        raise ModelError(f"{where}: no top-level tools: block", fix="edit the tool versions by hand") from None
    head = None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.strip() and not line[0].isspace():
            break
        if re.match(rf"^(\s+){re.escape(tool)}:\s*", line):
            head = i
            break
    if head is None:
        raise ModelError(f"{where}: tools.{tool} not found", fix="edit the tool versions by hand")
    indent = len(lines[head]) - len(lines[head].lstrip())
    span = [head]
    if "{" not in lines[head]:
        for i in range(head + 1, len(lines)):
            if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= indent:
                break
            span.append(i)
    for key, value in fields.items():
        pattern = re.compile(rf"(\b{key}:\s*){_SCALAR}")
        for i in span:
            new, n = pattern.subn(lambda m: m.group(1) + json.dumps(value), lines[i], count=1)
            if n:
                lines[i] = new
                break
        else:
            raise ModelError(f"{where}: tools.{tool}.{key} not found", fix="edit the tool versions by hand")
    out = "".join(lines)
    before, after = yaml.safe_load(text), yaml.safe_load(out)
    expected = json.loads(json.dumps(before))
    expected["tools"][tool].update(fields)
    if after != expected:
        raise ModelError(f"{where}: editing tools.{tool} in place changed more than {', '.join(fields)}",
                         fix="edit the tool versions by hand")
    return out


def planned_changes(root: Path, updates: list[ToolUpdate], site: Any) -> dict[str, str]:
    """Repository-relative path -> new text: the provider.yaml edits and every rendered file they change."""
    from pipeyard.model.provider import load_providers
    from pipeyard.render.outputs import TEMPLATES_DIR, build_outputs

    edits: dict[str, str] = {}
    for u in updates:
        if not u.newer:
            continue
        rel = f"providers/{u.provider}/provider.yaml"
        text = edits.get(rel) or (root / rel).read_text(encoding="utf-8")
        fields = {"version": str(u.available)}
        if u.source == "download":
            fields.update({"url": str(u.url), "sha256": str(u.sha256)})
        edits[rel] = edit_tool(text, u.tool, fields, where=rel)
    with tempfile.TemporaryDirectory(prefix="pipeyard-updates-") as tmp:
        copy = Path(tmp)
        shutil.copytree(root / "providers", copy / "providers", symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        for rel, text in edits.items():
            (copy / rel).write_text(text, encoding="utf-8")
        outputs = build_outputs(copy, load_providers(copy), site)
    rendered = {f"{TEMPLATES_DIR}/{rel}": text for rel, text in outputs.templates.items()}
    rendered.update(outputs.files)
    changes = dict(edits)
    for rel, text in rendered.items():
        path = root / rel
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            changes[rel] = text
    return dict(sorted(changes.items()))


def write_changes(root: Path, changes: dict[str, str]) -> None:
    for rel, text in changes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.pipeyard-tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


# -- the merge request -----------------------------------------------------------------------------
def gitlab_for(url: str, token: str) -> Any:
    from pipeyard.release.catalog import client

    return client(url, token, what="a merge request")


def mr_title(updates: list[ToolUpdate]) -> str:
    parts = [f"{u.provider}/{u.tool} {u.pinned} -> {u.available}" for u in updates if u.newer]
    title = "Update pinned tools: " + ", ".join(parts)
    return title if len(title) <= 200 else title[:197] + "..."


def mr_description(updates: list[ToolUpdate], changes: dict[str, str]) -> str:
    lines = ["Pinned tool versions with a newer release, found by the nightly `pipeyard updates`.", "",
             "| provider | tool | source | pinned | new | seen |", "|---|---|---|---|---|---|"]
    lines += [f"| {u.provider} | {u.tool} | {u.source} | {u.pinned} | {u.available} | {u.seen} |"
              for u in updates if u.newer]
    lines += ["", "Files: " + ", ".join(f"`{p}`" for p in changes), "",
              "The build and test jobs of the changed providers run in this merge request's pipeline."]
    return "\n".join(lines) + "\n"


def open_merge_request(gl: Any, project_path: str, target_branch: str, updates: list[ToolUpdate],
                       changes: dict[str, str], *, gitlab_url: str = "", echo: Echo = print,
                       token_var: str = "PIPEYARD_GITLAB_TOKEN") -> str:
    """Rewrite the update branch from the target with one commit, and open or refresh its merge request."""
    from pipeyard.release.catalog import hints
    from pipeyard_kit import gitlab

    title, description = mr_title(updates), mr_description(updates, changes)
    step = "list open merge requests"
    try:
        project = gl.projects.get(project_path, lazy=True)
        existing = gitlab.find_open(project, UPDATE_BRANCH, target_branch)
        if existing is not None and existing.description == description:
            echo(f"merge request !{existing.iid} already proposes these updates: nothing pushed")
            return gitlab.web_url(existing)
        step = f"commit the updates to {UPDATE_BRANCH}"
        tree = {t["path"] for t in project.repository_tree(ref=target_branch, recursive=True, get_all=True)
                if t.get("type") == "blob"}
        actions = [{"action": "update" if path in tree else "create", "file_path": path, "content": text}
                   for path, text in changes.items()]
        project.commits.create({"branch": UPDATE_BRANCH, "start_branch": target_branch, "force": True,
                                "commit_message": title, "actions": actions})
        step = "update the merge request" if existing is not None else "open the merge request"
        mr, state = gitlab.open_or_refresh(project, source=UPDATE_BRANCH, target=target_branch, title=title,
                                           description=description, labels="dependencies", existing=existing)
        echo(f"{'refreshed' if state == 'updated' else 'opened'} merge request !{mr.iid}: {title}")
    except gitlab.errors() as exc:
        raise gitlab.explain(exc, url=gitlab_url or gl.url, project=project_path, what=step,
                             hints=hints(token_var)) from None
    return gitlab.web_url(mr)
