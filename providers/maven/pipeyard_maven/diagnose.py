"""After a failed mvn: was it a refused MAVEN_REPO_PASSWORD, a missing one, or an unreachable Nexus?

Maven's own message ("status code: 401, reason phrase: Unauthorized") names no
variable; this names the one to fix. It runs only after a failure, so a passing
build makes no extra request.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from pipeyard_kit import settings as settings_mod
from pipeyard_kit.errors import ConfigError
from pipeyard_kit.toolwrap import probe, trust
from pipeyard_kit.toolwrap.wrapstate import base_dir
from pipeyard_maven.configure import PASSWORD, PROVIDER, REPOSITORIES, USER

FIX_PASSWORD = (f"put the right password or token for {USER} in {PASSWORD} or {PASSWORD}_FILE "
                "(a masked group-level CI/CD variable)")


def problems(env: Mapping[str, str]) -> list[str]:
    try:
        values = settings_mod.load(PROVIDER, env=env)
    except ConfigError:
        return []  # the configurator has reported these already
    user, password = values.get(USER), values.get(PASSWORD)
    headers = {}
    if user and password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    pems = trust.pems(values.get(trust.NAME), base_dir(env)[0])
    targets: dict[str, str] = {}
    for name, _server_id in REPOSITORIES:
        if values.get(name):
            targets.setdefault(values[name], name)
    answers = probe.get_all([url.rstrip("/") + "/" for url in targets], headers, ca_pems=pems)
    refused: list[str] = []
    anonymous: list[str] = []
    forbidden: list[str] = []
    found: list[str] = []
    for (url, name), answer in zip(targets.items(), answers, strict=True):
        where = f"{url} ({name})"
        if answer.status == 401:
            (refused if headers else anonymous).append(where)
        elif answer.status == 403:
            forbidden.append(where)
        elif answer.status is None:
            found.append(f"{where} is unreachable ({answer.error}): check {name}, the proxy variables "
                         "and CUSTOM_CA_CERTS")
    # One message per cause, naming every repository that showed it.
    if refused:
        origin = "" if values.sources.get(PASSWORD) == "environment" else f" (from {values.sources.get(PASSWORD)})"
        found.insert(0, f"{PASSWORD}{origin} was refused for {USER}={user}: HTTP 401 from "
                        f"{', '.join(refused)}: {FIX_PASSWORD}")
    if anonymous:
        found.insert(0, f"{', '.join(anonymous)} needs credentials (HTTP 401): set {USER} and {PASSWORD} "
                        f"(or {PASSWORD}_FILE) in the group's CI/CD variables")
    if forbidden:
        found.append(f"{USER}={user or '(none)'} may not use {', '.join(forbidden)} (HTTP 403): grant the account "
                     f"access in the repository manager, or use another {USER}")
    return found
