"""The package managers' configuration from the job's CI/CD variables: registry, scopes, token, caches, CAs.

Everything is validated first and reported once. The result is written under the state
folder (see pipeyard_kit.toolwrap.wrapstate), one per tool, for the wrapper in front of it
(/usr/local/bin/npm, and yarn and pnpm, which are the same script), which then runs the tool with

    npm    NPM_CONFIG_USERCONFIG=<generated .npmrc>   npm's user layer: a project .npmrc still wins
           NPM_CONFIG_CACHE=$CI_PROJECT_DIR/.npm      so GitLab's cache keeps it
    pnpm   NPM_CONFIG_USERCONFIG=<its .npmrc>          the same, plus store-dir=<cache>/pnpm-store
    yarn1  NPM_CONFIG_USERCONFIG=<its .npmrc>          yarn 1 reads npm's config; always-auth=true
           YARN_CACHE_FOLDER=<cache>/yarn
    yarn4  ~/.yarnrc.yml                               yarn 4 reads no .npmrc (see yarnrc.py)
    all    NODE_EXTRA_CA_CERTS=<custom CAs>           with CUSTOM_CA_CERTS (pipeyard_kit.trust)

The token is a reference in every file (${NPM_TOKEN}), every file is mode 0600. The tools
already honour the standard proxy variables, so they need nothing here.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path

from pipeyard_kit import settings as settings_mod
from pipeyard_kit.errors import ConfigError, UsageError
from pipeyard_kit.toolwrap import resolve, trust, wrapstate
from pipeyard_kit.trust import CaBundle
from pipeyard_npm import npmrc, scopes, yarnrc

# Neither typing nor dataclasses at run time: this module runs on the first npm, yarn or pnpm of every
# job, which would wait for their imports (dataclasses imports inspect).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROVIDER = "npm"
# The tools the wrapper configures; yarn is yarn1 or yarn4, as the project asks (the wrapper decides).
TOOLS = ("npm", "pnpm", "yarn1", "yarn4")
YARNRC = ".yarnrc.yml"
CONFIGURE = "npm-configure"
TOKEN = "NPM_TOKEN"
REGISTRY = "NPM_REGISTRY_URL"
CACHE = "NPM_CONFIG_CACHE"


class Plan:
    """The validated settings and what follows from them: where relative paths start, the registry
    (ending in /), the scoped registries, the custom CAs and the files they came from."""

    def __init__(self, values: settings_mod.Settings, base: Path, project_dir: Path | None, registry: str | None,
                 scopes: dict[str, str], cas: CaBundle | None, ca_sources: list[Path]):
        self.values, self.base, self.project_dir, self.registry = values, base, project_dir, registry
        self.scopes, self.cas, self.ca_sources = scopes, cas, ca_sources

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

    def cache_for(self, tool: str) -> str | None:
        """Where the tool keeps its cache: npm's is the folder itself, the others' sit inside it."""
        if not self.cache:
            return None
        sub = {"npm": "", "pnpm": "pnpm-store", "yarn1": "yarn", "yarn4": "yarn-berry"}[tool]
        return str(Path(self.cache) / sub) if sub else self.cache

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


# npmrc: the tool's config file, an .npmrc or yarn 4's ~/.yarnrc.yml.
Result = namedtuple("Result", "npmrc state_file summary")


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
              output: Path | None = None, tool: str = "npm") -> Result:
    if tool not in TOOLS:
        raise UsageError(f"--tool {tool!r} is not a tool npm-configure configures", fix=f"use one of {', '.join(TOOLS)}")
    p = plan(env, overrides)
    root = wrapstate.state_root(env)
    names, secrets = wrapstate.fingerprint_names(PROVIDER, env)
    if tool == "yarn4":
        names.append("HOME")  # the file lives there
    folder = wrapstate.output_dir(root, tool, env, names, secrets, overrides)
    exports: dict[str, str] = {}
    if tool == "yarn4":
        text = yarnrc.render(p.registry, p.scopes, token=p.token, global_folder=p.cache_for(tool))
        config_file = _home_yarnrc(env)
    else:
        extra = {}
        if tool == "pnpm" and p.cache:
            extra["store-dir"] = p.cache_for(tool) or ""
        if tool == "yarn1" and p.token:
            # Yarn 1 sends the token with scoped packages only, unless told to always (npm 9 and
            # later dropped the key, and warn about it, so npm's own file goes without).
            extra["always-auth"] = "true"
        text = npmrc.render(p.registry, p.scopes, token=p.token, extra=extra)
        config_file = folder / "npmrc"
        exports["NPM_CONFIG_USERCONFIG"] = str(config_file)
    wrapstate.write_private(config_file, text)
    if p.cache and tool == "npm":
        exports[CACHE] = p.cache
    if p.cache and tool == "yarn1":
        exports["YARN_CACHE_FOLDER"] = p.cache_for(tool) or ""
    if p.cas:
        exports.update(p.cas.env)  # NODE_EXTRA_CA_CERTS, and SSL_CERT_FILE for the scripts' other tools
    files = wrapstate.watched_files(PROVIDER, env, p.ca_sources)
    if tool == "yarn4":
        files.append(config_file)  # deleted or edited by hand: written again
    state = wrapstate.WrapperState(tool=tool, configure=CONFIGURE, names=names, secrets=secrets, files=files,
                                   exports=exports, diagnose=p.token, one_shot=bool(overrides))
    state_file = wrapstate.save(root, state, env)
    if output:
        wrapstate.write_output(output, text)
    return Result(npmrc=config_file, state_file=state_file, summary=summarize(p))


def _home_yarnrc(env: Mapping[str, str]) -> Path:
    """~/.yarnrc.yml, yarn 4's user-level settings, unless someone else's file is there."""
    home = env.get("HOME", "")
    if not home or not Path(home).is_dir():
        raise ConfigError(f"HOME={home!r} is no folder, and yarn 4 reads its registry settings from ~/{YARNRC}",
                          fix="run the job with a HOME the job user can write (the image's is /home/pipeyard)")
    path = Path(home) / YARNRC
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror})", fix=f"remove {path} or make it readable") from None
    if current is not None and not yarnrc.is_ours(current):
        raise ConfigError(f"{path} exists and npm-configure did not write it, so it would lose it",
                          fix=f"move its settings into the project's {YARNRC}, or remove {path}; npm-configure "
                              "writes it from NPM_REGISTRY_URL, NPM_SCOPED_REGISTRIES and NPM_TOKEN")
    return path


def report(result: Result, *, quiet: bool, output: Path | None = None) -> None:
    """One line on stderr (stdout belongs to the tool: `$(npm pkg get version ...)`)."""
    if not quiet:
        name = YARNRC if result.npmrc.name == YARNRC else ".npmrc"
        print(f"npm-configure: {result.summary}; {name} in {output or result.npmrc}", file=sys.stderr)
