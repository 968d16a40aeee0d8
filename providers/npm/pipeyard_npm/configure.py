"""npm's configuration from the job's CI/CD variables: .npmrc, cache folder, CA bundle.

Everything is validated first and reported once. The result is written under the
state folder (see pipeyard_kit.toolwrap.wrapstate) for the npm wrapper, which then runs
/usr/bin/npm with

    NPM_CONFIG_USERCONFIG=<generated .npmrc>   npm's user layer: a project .npmrc still wins
    NPM_CONFIG_CACHE=$CI_PROJECT_DIR/.npm      so GitLab's cache keeps it
    NODE_EXTRA_CA_CERTS=<custom CAs>           with CUSTOM_CA_CERTS (pipeyard_kit.trust; Node keeps its own)

npm already honours the standard proxy variables, so they need nothing here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeyard_kit import settings as settings_mod
from pipeyard_kit.toolwrap import resolve, trust, wrapstate
from pipeyard_kit.trust import CaBundle
from pipeyard_npm import npmrc, scopes

PROVIDER = "npm"
CONFIGURE = "npm-configure"
TOKEN = "NPM_TOKEN"
REGISTRY = "NPM_REGISTRY_URL"
CACHE = "NPM_CONFIG_CACHE"


@dataclass
class Plan:
    values: settings_mod.Settings
    base: Path
    project_dir: Path | None
    registry: str | None
    scopes: dict[str, str]
    cas: CaBundle | None
    ca_sources: list[Path]

    @property
    def token(self) -> bool:
        return bool(self.values.get(TOKEN))

    @property
    def cache(self) -> str | None:
        value = self.values.get(CACHE)
        if not value:
            return None
        path = Path(value)
        return str(path if path.is_absolute() else self.base / path)

    def registries(self) -> list[str]:
        """Every registry URL npm may use with the token, default first."""
        found = [self.registry] if self.registry else []
        return list(dict.fromkeys([*found, *self.scopes.values()]))


def plan(env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Plan:
    values, resolved, problems = resolve.load(PROVIDER, env, overrides)
    if values is None:
        raise resolve.failure(problems)

    def valid(name: str) -> Any:
        value = values.get(name)
        return None if value is resolve.INVALID else value

    scoped = scopes.parse(valid(scopes.NAME), problems)
    base, project_dir = wrapstate.base_dir(env)
    if values.get(TOKEN) and not (values.get(REGISTRY) or values.get(scopes.NAME)):
        problems.append(f"{TOKEN} is set but no registry is: set {REGISTRY} (or {scopes.NAME}) "
                        "to the registry the token belongs to")
    cas = trust.load(valid(trust.NAME), base, env, problems)
    if problems or resolved is None:
        raise resolve.failure(problems)
    registry = resolved.get(REGISTRY)
    return Plan(values=resolved, base=base, project_dir=project_dir,
                registry=registry.rstrip("/") + "/" if registry else None, scopes=scoped, cas=cas,
                ca_sources=trust.sources(valid(trust.NAME), base))


@dataclass(frozen=True)
class Result:
    npmrc: Path
    state_file: Path
    summary: str


def summarize(p: Plan) -> str:
    parts = [f"registry {p.registry}" if p.registry else "registry npm's default"]
    parts.extend(f"{scope} from {url}" for scope, url in sorted(p.scopes.items()))
    parts.append(f"token from {p.values.origin(TOKEN)}" if p.token else f"no token ({TOKEN} unset)")
    if p.cache:
        parts.append(f"cache {p.cache}")
    if p.cas:
        parts.append(f"{p.cas.count} custom CA certificate(s)")
    return ", ".join(parts)


def configure(env: Mapping[str, str], overrides: Mapping[str, Any] | None = None,
              output: Path | None = None) -> Result:
    p = plan(env, overrides)
    text = npmrc.render(p.registry, p.scopes, token=p.token)
    root = wrapstate.state_root(env)
    names, secrets = wrapstate.fingerprint_names(PROVIDER, env)
    folder = wrapstate.output_dir(root, PROVIDER, env, names, secrets, overrides)
    rc_file = folder / "npmrc"
    wrapstate.write_private(rc_file, text)

    exports = {"NPM_CONFIG_USERCONFIG": str(rc_file)}
    if p.cache:
        exports[CACHE] = p.cache
    if p.cas:
        exports.update(p.cas.env)  # NODE_EXTRA_CA_CERTS, and SSL_CERT_FILE for the scripts' other tools
    files = wrapstate.watched_files(PROVIDER, env, p.ca_sources)
    state = wrapstate.WrapperState(tool=PROVIDER, configure=CONFIGURE, names=names, secrets=secrets, files=files,
                                   exports=exports, diagnose=p.token, one_shot=bool(overrides))
    state_file = wrapstate.save(root, state, env)
    if output:
        wrapstate.write_output(output, text)
    return Result(npmrc=rc_file, state_file=state_file, summary=summarize(p))


def report(result: Result, *, quiet: bool, output: Path | None = None) -> None:
    """One line on stderr (stdout belongs to the tool: `$(npm pkg get version ...)`)."""
    if not quiet:
        print(f"npm-configure: {result.summary}; .npmrc in {output or result.npmrc}", file=sys.stderr)
