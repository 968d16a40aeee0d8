"""Maven's configuration from the job's CI/CD variables: settings.xml, truststore, mvn arguments.

Everything is validated first and reported once. The result is written under the
state folder (see wrapstate) for the mvn wrapper, which then runs

    /usr/bin/mvn -gs <settings.xml> -B --no-transfer-progress -Dmaven.repo.local=<repo> $MAVEN_CLI_OPTS "$@"

The generated file is Maven's *global* settings, so a project's own `-s file` or
~/.m2/settings.xml still applies on top of the company defaults.
"""

from __future__ import annotations

import shlex
import sys
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path

from pipeyard_kit import settings as settings_mod
from pipeyard_kit.toolwrap import resolve, trust, wrapstate
from pipeyard_kit.trust import CaBundle
from pipeyard_maven import proxies, settings_xml
from pipeyard_maven.proxies import Proxy
from pipeyard_maven.settings_xml import Credentials, Mirror

# Neither typing nor dataclasses at run time: this module runs on the first mvn of every job, which
# would wait for their imports (dataclasses imports inspect).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import xml.etree.ElementTree as ET
    from typing import Any

PROVIDER = "maven"
CONFIGURE = "maven-configure"
PASSWORD = "MAVEN_REPO_PASSWORD"
USER = "MAVEN_REPO_USER"
MIRROR_ID = "pipeyard-mirror"
SECOND_MIRROR_ID = "pipeyard-second-mirror"
RELEASES_ID = "pipeyard-releases"
SNAPSHOTS_ID = "pipeyard-snapshots"
# Settings that are URLs of a repository, with the server id Maven knows them by.
REPOSITORIES = (("MAVEN_MIRROR_URL", MIRROR_ID), ("MAVEN_SECOND_MIRROR_URL", SECOND_MIRROR_ID),
                ("MAVEN_RELEASES_URL", RELEASES_ID), ("MAVEN_SNAPSHOTS_URL", SNAPSHOTS_ID))
DEFAULT_ARGS = ("-B", "--no-transfer-progress")


class Plan:
    """The validated settings and what follows from them: where relative paths start, the options of
    MAVEN_CLI_OPTS, proxies, the extra settings' tree, the custom CAs and the files they came from."""

    def __init__(self, values: settings_mod.Settings, base: Path, project_dir: Path | None, cli_opts: list[str],
                 proxies: list[Proxy], extra: ET.Element | None, cas: CaBundle | None, files: list[Path]):
        self.values, self.base, self.project_dir, self.cli_opts = values, base, project_dir, cli_opts
        self.proxies, self.extra, self.cas, self.files = proxies, extra, cas, files

    def get(self, name: str) -> Any:
        return self.values.get(name)

    @property
    def credentials(self) -> Credentials | None:
        user = self.get(USER)
        return Credentials(user, f"${{env.{PASSWORD}}}") if user else None

    @property
    def local_repository(self) -> str | None:
        value = self.get("MAVEN_LOCAL_REPOSITORY")
        if not value:
            return None
        path = Path(value)
        if path.is_absolute():
            return str(path)
        # Outside CI a relative path stays relative to where mvn runs, as Maven reads it.
        return str(self.project_dir / path) if self.project_dir else value


def plan(env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Plan:
    values, resolved, problems = resolve.load(PROVIDER, env, overrides)
    base, project_dir = wrapstate.base_dir(env)
    found_proxies = proxies.from_env(env, problems)
    if values is None:
        raise resolve.failure(problems)

    def valid(name: str) -> Any:
        value = values.get(name)
        return None if value is resolve.INVALID else value

    if values.get(USER) and not values.get(PASSWORD):
        problems.append(f"{USER} is set but {PASSWORD} is not: set {PASSWORD} or {PASSWORD}_FILE "
                        "in the group's CI/CD variables")
    if values.get(PASSWORD) and not values.get(USER):
        problems.append(f"{PASSWORD} is set but {USER} is not: set {USER} to the account the password belongs to")
    if values.get("MAVEN_SECOND_MIRROR_URL") and not values.get("MAVEN_SECOND_MIRROR_OF"):
        problems.append("MAVEN_SECOND_MIRROR_URL is set but MAVEN_SECOND_MIRROR_OF is empty: set it to the "
                        "repository ids the second group serves, e.g. vendor,!central")
    if values.get("MAVEN_SECOND_MIRROR_OF") and not values.get("MAVEN_SECOND_MIRROR_URL"):
        problems.append("MAVEN_SECOND_MIRROR_OF is set but MAVEN_SECOND_MIRROR_URL is not: set the second group's URL "
                        "or unset MAVEN_SECOND_MIRROR_OF")
    try:
        cli_opts = shlex.split(valid("MAVEN_CLI_OPTS") or "")
    except ValueError as exc:
        problems.append(f"MAVEN_CLI_OPTS cannot be split into options ({exc}): balance its quotes")
        cli_opts = []

    files: list[Path] = []
    extra_root = None
    extra_file = valid(settings_xml.EXTRA_SETTINGS)
    if extra_file:
        from pipeyard_maven import extra  # ElementTree's import: only for a job that merges its own file

        path = Path(extra_file)
        path = path if path.is_absolute() else base / path
        extra_root = extra.load(path, problems)
        files.append(path)
    cas = trust.load(valid(trust.NAME), base, env, problems)
    files.extend(trust.sources(valid(trust.NAME), base))
    if problems or resolved is None:
        raise resolve.failure(problems)
    return Plan(values=resolved, base=base, project_dir=project_dir, cli_opts=cli_opts, proxies=found_proxies,
                extra=extra_root, cas=cas, files=files)


def render(p: Plan) -> str:
    mirrors = []
    if p.get("MAVEN_SECOND_MIRROR_URL"):
        # Listed first: Maven takes the first mirror whose pattern matches, and `*` matches everything.
        mirrors.append(Mirror(SECOND_MIRROR_ID, p.get("MAVEN_SECOND_MIRROR_URL"), p.get("MAVEN_SECOND_MIRROR_OF"),
                              "Second group (MAVEN_SECOND_MIRROR_URL)"))
    if p.get("MAVEN_MIRROR_URL"):
        mirrors.append(Mirror(MIRROR_ID, p.get("MAVEN_MIRROR_URL"), "*", "Company group (MAVEN_MIRROR_URL)"))
    text = settings_xml.render(
        mirrors=mirrors,
        server_ids=[sid for name, sid in REPOSITORIES if p.get(name)],
        credentials=p.credentials,
        releases=(RELEASES_ID, p.get("MAVEN_RELEASES_URL")) if p.get("MAVEN_RELEASES_URL") else None,
        snapshots=(SNAPSHOTS_ID, p.get("MAVEN_SNAPSHOTS_URL")) if p.get("MAVEN_SNAPSHOTS_URL") else None,
        proxies=p.proxies,
        keep_empty=p.extra is not None,
    )
    if p.extra is None:
        return text
    from pipeyard_maven import extra

    return extra.merged(text, p.extra)


Result = namedtuple("Result", "settings_file state_file summary")


def summarize(p: Plan) -> str:
    parts = [f"mirror {p.get('MAVEN_MIRROR_URL')}" if p.get("MAVEN_MIRROR_URL") else "no mirror (Maven Central)"]
    if p.get("MAVEN_SECOND_MIRROR_URL"):
        parts.append(f"second group {p.get('MAVEN_SECOND_MIRROR_URL')} for {p.get('MAVEN_SECOND_MIRROR_OF')}")
    deploy = [p.get(n) for n in ("MAVEN_RELEASES_URL", "MAVEN_SNAPSHOTS_URL") if p.get(n)]
    if deploy:
        parts.append("deploy to " + " and ".join(deploy))
    if p.credentials:
        parts.append(f"as {USER}={p.get(USER)} (password from {p.values.origin(PASSWORD)})")
    if p.proxies:
        parts.append("proxy " + ", ".join(f"{x.host}:{x.port}" for x in p.proxies))
    if p.cas:
        parts.append(f"{p.cas.count} custom CA certificate(s)")
    return ", ".join(parts)


def configure(env: Mapping[str, str], overrides: Mapping[str, Any] | None = None,
              output: Path | None = None) -> Result:
    p = plan(env, overrides)
    text = render(p)
    root = wrapstate.state_root(env)
    names, secrets = wrapstate.fingerprint_names(PROVIDER, env, extra=proxies.NAMES)
    folder = wrapstate.output_dir(root, PROVIDER, env, names, secrets, overrides)
    settings_file = folder / "settings.xml"
    wrapstate.write_private(settings_file, text)

    args = ["-gs", str(settings_file), *DEFAULT_ARGS]
    if p.local_repository:
        args.append(f"-Dmaven.repo.local={p.local_repository}")
    args.extend(p.cli_opts)
    files = wrapstate.watched_files(PROVIDER, env, p.files)
    state = wrapstate.WrapperState(
        tool=PROVIDER, configure=CONFIGURE, names=names, secrets=secrets, files=files, args=args,
        exports=dict(p.cas.env) if p.cas else {},
        prepends={"MAVEN_OPTS": trust.java_options(p.cas)} if p.cas else {},
        diagnose=any(p.get(name) for name, _ in REPOSITORIES),
        one_shot=bool(overrides))
    state_file = wrapstate.save(root, state, env)
    if output:
        wrapstate.write_output(output, text)
    return Result(settings_file=settings_file, state_file=state_file, summary=summarize(p))


def report(result: Result, *, quiet: bool, output: Path | None = None) -> None:
    """One line on stderr (stdout belongs to the tool: `$(mvn help:evaluate ...)`)."""
    if not quiet:
        print(f"maven-configure: {result.summary}; settings in {output or result.settings_file}", file=sys.stderr)
