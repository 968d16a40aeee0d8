"""Nightly: which pinned tool versions in provider.yaml have a newer release, and a merge request for them.

Every variant's tools are checked on their own (maven's jdk8 against Debian unstable, its jdk17
against Debian 12's security archive), so each variant gets its own patch releases proposed.

- **Debian-sourced tools** (`source: debian`, `package:`) are compared with the candidate
  `apt-cache policy` reports for the tool's suite (`suite:`, else the base's release with its
  -updates and -security suites), read with a private apt state, so the host's own packages and
  sources play no part. An exact pin (8u504-ga-1) moves to the archive's newer version of the same
  package, which carries the line in its name (openjdk-8-*); a release line ("21") keeps its precision.
- **npm-sourced tools** (`source: npm`) are compared with the npm registry's versions of the same
  major (node 24.x, npm 11.x): a newer one is pinned with the sha256 of its tarball, per
  architecture for Node's builds, each download checked against the registry's sha512 integrity.
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

from pipeyard.model import tools as tools_mod
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


def _order(c: str) -> int:
    # dpkg: ~ sorts before everything, even the end of the part; letters before other characters.
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternating non-digit and digit runs."""
    while a or b:
        first = 0
        while (a and not a[0].isdigit()) or (b and not b[0].isdigit()):
            ac = _order(a[0]) if a and not a[0].isdigit() else 0
            bc = _order(b[0]) if b and not b[0].isdigit() else 0
            if ac != bc:
                return ac - bc
            a, b = a[1:] if a and not a[0].isdigit() else a, b[1:] if b and not b[0].isdigit() else b
        da = re.match(r"\d*", a).group(0)
        db = re.match(r"\d*", b).group(0)
        a, b = a[len(da):], b[len(db):]
        first = int(da or 0) - int(db or 0)
        if first:
            return first
    return 0


def debian_compare(a: str, b: str) -> int:
    """< 0, 0 or > 0 as Debian version a is older than, equal to or newer than b (dpkg's rules)."""
    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        return int(epoch or 0), upstream, revision

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return ea - eb
    return _compare_part(ua, ub) or _compare_part(ra, rb)


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
    sha256: str | dict[str, str] | None = None
    note: str = ""
    variant: str = ""  # jdk17: the variant whose own tool this is; "" for a shared one
    key: tuple[str, ...] = ()  # where provider.yaml pins it: ("tools", "maven"), ("variants", "values", "17", ...)

    @property
    def label(self) -> str:
        """maven[jdk17]/jdk, npm/yarn: what the report and the merge request call it."""
        return f"{self.provider}{f'[{self.variant}]' if self.variant else ''}/{self.tool}"

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
        """A release (trixie) with its -updates and -security suites; a security suite (bookworm-security)
        with its release, as image builds take them; any other suite (sid) alone."""
        if self.sources:
            return self.sources
        from pipeyard.images.base import RELEASES
        from pipeyard.images.debian_mirror import debian_mirror, security_mirror

        mirror = debian_mirror(self.mirror)
        keyring = "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
        if release.endswith("-security"):
            return [f"deb {keyring} {mirror} {release.removesuffix('-security')} main",
                    f"deb {keyring} {security_mirror(mirror)} {release} main"]
        if release not in RELEASES:
            return [f"deb {keyring} {mirror} {release} main"]
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
                # As the image builds read them: the signature is checked, and unstable's 7-day
                # Valid-Until would fail on a snapshot or lagging mirror.
                "-o", "Acquire::Check-Valid-Until=false",
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


# -- the npm registry ---------------------------------------------------------------------------------
class NpmRegistry:
    """Package versions and tarballs from the npm registry (or a company proxy of it)."""

    # The registry's abbreviated metadata: versions and dist only, a fraction of the full document.
    ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"

    def __init__(self, url: str | None = None, *, session: requests.Session | None = None):
        from pipeyard.images.downloads import auth_headers, npm_registry

        self.url = npm_registry(url)
        self.session = session or requests.Session()
        # A company proxy of the registry may want the token the image builds use (PIPEYARD_NPM_TOKEN).
        self.session.headers.update(auth_headers() or {})
        self._docs: dict[str, dict[str, Any]] = {}

    def versions(self, package: str) -> dict[str, dict[str, Any]]:
        if package not in self._docs:
            url = f"{self.url}/{package.replace('/', '%2f')}"
            try:
                r = self.session.get(url, headers={"Accept": self.ACCEPT}, timeout=60)
            except requests.RequestException as exc:
                raise RemoteError(f"the npm registry {self.url} is unreachable ({type(exc).__name__})",
                                  fix="check --npm-registry (PIPEYARD_NPM_REGISTRY) and the network") from None
            if r.status_code == 404:
                self._docs[package] = {}  # reported per tool: the registry does not know it
            elif r.status_code != 200:
                raise RemoteError(f"the npm registry {self.url} answered {r.status_code} for {package}",
                                  fix="check --npm-registry (PIPEYARD_NPM_REGISTRY) and PIPEYARD_NPM_TOKEN")
            else:
                self._docs[package] = r.json().get("versions") or {}
        return self._docs[package]

    def sha256(self, package: str, version: str) -> str:
        """The tarball's sha256, downloaded and checked against the registry's own integrity."""
        import base64

        dist = (self.versions(package).get(version) or {}).get("dist") or {}
        url = dist.get("tarball") or ""
        algo, _, expected = str(dist.get("integrity", "")).partition("-")
        if not url or algo not in ("sha512", "sha384", "sha256") or not expected:
            raise RemoteError(f"{package}@{version} has no tarball with an integrity in {self.url}",
                              fix="pin it by hand, with the sha256 of a tarball you trust")
        integrity, digest = hashlib.new(algo), hashlib.sha256()
        try:
            with self.session.get(url, stream=True, timeout=(10, 300)) as r:
                if r.status_code != 200:
                    raise RemoteError(f"{url} answered {r.status_code}", fix="check the registry")
                for chunk in r.iter_content(1 << 20):
                    integrity.update(chunk)
                    digest.update(chunk)
        except requests.RequestException as exc:
            raise RemoteError(f"{url} is unreachable ({type(exc).__name__})", fix="check the network") from None
        if base64.b64encode(integrity.digest()).decode() != expected:
            from pipeyard_kit.errors import ChecksumError

            raise ChecksumError(f"{package}-{version}.tgz from {self.url}", f"({algo} {expected})", digest.hexdigest())
        return digest.hexdigest()


# -- finding updates --------------------------------------------------------------------------------
def tool_locations(provider: Provider) -> list[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
    """(variant, tool, its mapping, where provider.yaml pins it) for every tool: the shared ones, then
    each variant's own."""
    found = [("", name, tool, ("tools", name)) for name, tool in sorted(provider.tools.items())]
    if provider.has_variants:
        for v in provider.variants:
            found += [(v.name, name, v.tools[name], ("variants", "values", v.value, "tools", name))
                      for name in sorted(v.own_tools)]
    return found


def _suite(provider: Provider, tool: dict[str, Any]) -> str:
    return tool.get("suite") or provider.base.split(":", 1)[1]


def find_updates(providers: list[Provider], *, apt: AptCatalog, index: UpstreamIndex,
                 npm: NpmRegistry | None = None) -> list[ToolUpdate]:
    found: list[ToolUpdate] = []
    by_suite: dict[str, set[str]] = {}
    for p in providers:
        for _v, _name, tool, _key in tool_locations(p):
            if tool.get("source") == "debian" and tool.get("package"):
                by_suite.setdefault(_suite(p, tool), set()).add(tool["package"])
    candidates = {suite: apt.candidates(suite, sorted(pkgs)) for suite, pkgs in sorted(by_suite.items())}
    for p in sorted(providers, key=lambda x: x.name):
        for variant, name, tool, key in tool_locations(p):
            pinned = str(tool.get("version", ""))
            update = ToolUpdate(p.name, name, tool.get("source", ""), pinned, variant=variant, key=key)
            if tool.get("source") == "debian":
                suite = _suite(p, tool)
                _debian(update, tool, suite, candidates.get(suite, {}))
            elif not NUMERIC.match(pinned) and not tools_mod.is_pinned(tool):
                update.note = f"skipped: version {pinned!r} is not numeric"
            elif tool.get("source") == "npm":
                _npm(update, tool, npm or NpmRegistry())
            elif tool.get("source") == "download":
                _download(update, tool, index)
            found.append(update)
    return found


def _debian(update: ToolUpdate, tool: dict[str, Any], release: str, candidates: dict[str, str]) -> None:
    package = tool.get("package")
    if not package:
        update.note = "skipped: no package"
        return
    if not tools_mod.is_pinned(tool) and not NUMERIC.match(update.pinned):
        update.note = f"skipped: version {update.pinned!r} is not numeric"
        return
    candidate = candidates.get(package)
    if candidate is None:
        update.note = f"not in {release}: package {package} is unknown to apt"
        return
    update.seen = f"{package} {candidate} ({release})"
    if tools_mod.is_pinned(tool):
        order = debian_compare(candidate, update.pinned)
        if order > 0:
            update.available = candidate
        elif order < 0:
            update.note = f"pinned ahead of {release}: the archive has {candidate}"
        return
    upstream = upstream_part(candidate)
    if upstream is None:
        update.note = f"skipped: cannot read the version of {package} {candidate}"
        return
    if is_newer(upstream, update.pinned):
        update.available = same_precision(upstream, update.pinned)
    elif _nums(same_precision(upstream, update.pinned)) < _nums(update.pinned):
        update.note = f"pinned ahead of {release}: the archive has {candidate}"


def _semver(version: str) -> tuple[int, ...] | None:
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)\Z", version)
    return tuple(int(x) for x in m.groups()) if m else None


def _npm(update: ToolUpdate, tool: dict[str, Any], registry: NpmRegistry) -> None:
    """The newest release of the same major (24.x for node 24.22.3): a variant keeps its line."""
    pinned = _semver(update.pinned)
    if pinned is None:
        update.note = f"skipped: version {update.pinned!r} is not an exact release"
        return
    arches = sorted(tool["sha256"], key=lambda a: a != "x64") if isinstance(tool.get("sha256"), dict) else [None]
    package = tools_mod.npm_package(tool, arches[0] or "x64")
    same_line = [(v, s) for v in registry.versions(package) if (s := _semver(v)) and s[0] == pinned[0]]
    if not same_line:
        update.note = f"skipped: {registry.url} lists no {pinned[0]}.x release of {package}"
        return
    latest, parts = max(same_line, key=lambda x: x[1])
    update.seen = f"{package} {latest} (npm registry)"
    if parts <= pinned:
        return
    update.available = latest
    if arches == [None]:
        update.sha256 = registry.sha256(package, latest)
    else:
        update.sha256 = {a: registry.sha256(tools_mod.npm_package(tool, a), latest) for a in arches}


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
    rows = [("provider", "variant", "tool", "source", "pinned", "available", "status")]
    rows += [(u.provider, u.variant or "-", u.tool, u.source, u.pinned, u.seen or "-", u.status) for u in updates]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    newer = [u for u in updates if u.newer]
    lines.append(f"{len(newer)} pinned tool(s) have a newer release" if newer else "every pinned tool is current")
    return lines


# -- editing provider.yaml in place ----------------------------------------------------------------------
_SCALAR = r'("[^"]*"|\'[^\']*\'|[^,}\s#]+)'


def _key_line(lines: list[str], key: str, start: int, end: int) -> int | None:
    """The line in lines[start:end] that opens `key:` at the block's own level (quoted keys too)."""
    pattern = re.compile(rf"""^(\s*)(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}'):(\s|$)""")
    level = None
    for i in range(start, end):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        level = indent if level is None else level
        m = pattern.match(line)
        if m and indent == level:
            return i
    return None


def _block_end(lines: list[str], head: int) -> int:
    """One past the last line of the block `head` opens (a flow mapping runs until its braces close)."""
    indent = len(lines[head]) - len(lines[head].lstrip())
    if "{" in lines[head]:
        depth, i = 0, head
        while i < len(lines):
            depth += lines[i].split("#", 1)[0].count("{") - lines[i].split("#", 1)[0].count("}")
            i += 1
            if depth <= 0:
                return i
        return i
    i = head + 1
    while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
        i += 1
    return i


def _flatten(fields: dict[str, Any]) -> dict[str, str]:
    flat = {}
    for key, value in fields.items():
        if isinstance(value, dict):
            flat.update({str(k): str(v) for k, v in value.items()})
        else:
            flat[key] = str(value)
    return flat


def edit_tool(text: str, tool: str | tuple[str, ...], fields: dict[str, Any], *, where: str = "provider.yaml") -> str:
    """Set a tool's fields in provider.yaml text (tools.<tool>, or the key path of a variant's tool),
    keeping its layout and comments; a per-architecture sha256 is a mapping of arch -> digest."""
    key = ("tools", tool) if isinstance(tool, str) else tuple(tool)
    dotted = ".".join(key)
    lines = text.splitlines(keepends=True)
    start, end, head = 0, len(lines), None
    for part in key:
        head = _key_line(lines, part, start, end)
        if head is None:
            raise ModelError(f"{where}: {dotted} not found", fix="edit the tool versions by hand")
        # A flow mapping keeps its children on its own line(s).
        start, end = (head, _block_end(lines, head)) if "{" in lines[head] else (head + 1, _block_end(lines, head))
    assert head is not None
    span = range(head, end)
    for name, value in _flatten(fields).items():
        pattern = re.compile(rf"(\b{re.escape(name)}:\s*){_SCALAR}")
        for i in span:
            new, n = pattern.subn(lambda m: m.group(1) + json.dumps(value), lines[i], count=1)
            if n:
                lines[i] = new
                break
        else:
            raise ModelError(f"{where}: {dotted}.{name} not found", fix="edit the tool versions by hand")
    out = "".join(lines)
    before, after = yaml.safe_load(text), yaml.safe_load(out)
    expected = json.loads(json.dumps(before))
    node = expected
    for part in key:
        node = node[part]
    for name, value in fields.items():
        if isinstance(value, dict):
            node.setdefault(name, {}).update(value)
        else:
            node[name] = value
    if after != expected:
        raise ModelError(f"{where}: editing {dotted} in place changed more than {', '.join(fields)}",
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
        fields: dict[str, Any] = {"version": str(u.available)}
        if u.source == "download":
            fields.update({"url": str(u.url), "sha256": str(u.sha256)})
        if u.source == "npm":
            fields["sha256"] = u.sha256
        edits[rel] = edit_tool(text, u.key or u.tool, fields, where=rel)
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
    parts = [f"{u.label} {u.pinned} -> {u.available}" for u in updates if u.newer]
    title = "Update pinned tools: " + ", ".join(parts)
    return title if len(title) <= 200 else title[:197] + "..."


def mr_description(updates: list[ToolUpdate], changes: dict[str, str]) -> str:
    lines = ["Pinned tool versions with a newer release, found by the nightly `pipeyard updates`.", "",
             "| provider | variant | tool | source | pinned | new | seen |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {u.provider} | {u.variant or '-'} | {u.tool} | {u.source} | {u.pinned} | {u.available} | {u.seen} |"
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
