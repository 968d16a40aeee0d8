"""Token problems npm reports without naming the variable: a refused NPM_TOKEN, a missing one for publish.

The refused-token check runs only after npm has failed, so a passing install makes
no extra request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pipeyard_kit import settings as settings_mod
from pipeyard_kit.errors import ConfigError
from pipeyard_kit.toolwrap import probe, trust
from pipeyard_kit.toolwrap.wrapstate import base_dir
from pipeyard_npm.configure import PROVIDER, REGISTRY, TOKEN, plan
from pipeyard_npm.scopes import NAME as SCOPES

FIX_TOKEN = f"put a valid token for that registry in {TOKEN} or {TOKEN}_FILE (a masked group-level CI/CD variable)"


def problems(env: Mapping[str, str]) -> list[str]:
    try:
        p = plan(env)
    except ConfigError:
        return []  # the configurator has reported these already
    token = p.values.get(TOKEN)
    if not token:
        return []
    pems = trust.pems(p.values.get(trust.NAME), base_dir(env)[0])
    origin = "" if p.values.sources.get(TOKEN) == "environment" else f" (from {p.values.sources.get(TOKEN)})"
    refused = []
    urls = p.registries()
    answers = probe.get_all([url + "-/whoami" for url in urls], {"Authorization": f"Bearer {token}"}, ca_pems=pems)
    for url, answer in zip(urls, answers, strict=True):
        if answer.status in (401, 403):
            refused.append(f"{url} (HTTP {answer.status})")
        elif answer.status == 200 and not _username(answer.body):
            # verdaccio and some proxies answer an unknown token as an anonymous user.
            refused.append(f"{url} (it answers as an anonymous user)")
    if not refused:
        return []
    return [f"{TOKEN}{origin} was refused by {', '.join(refused)}: {FIX_TOKEN}"]


def _username(body: bytes) -> str | None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return "unknown"  # not a registry's JSON: no sign of a refused token
    return data.get("username") if isinstance(data, dict) else None


def check_publish(env: Mapping[str, str], npm_args: Sequence[str]) -> None:
    """Refuse `npm publish` without a token before npm asks for a login it cannot get in CI."""
    if "--dry-run" in npm_args:
        return
    values = settings_mod.load(PROVIDER, env=env)
    if values.get(TOKEN):
        return
    where = values.get(REGISTRY) or (f"the registries in {SCOPES}" if values.get(SCOPES) else "the registry")
    raise ConfigError(f"{TOKEN} is not set: npm publish needs a token for {where}",
                      fix=f"set {TOKEN} or {TOKEN}_FILE in the project's CI/CD variables")
