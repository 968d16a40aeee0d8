"""What an app image is built from: the jar, the app's name and its switches, checked all at once.

The environment and labels baked into the image come from here, so the daemonless builder and the
`--engine` path bake the same ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pipeyard_kit.b2i.jar import JarInfo, inspect
from pipeyard_kit.b2i.layout import AppLayout, default_dependencies, plan
from pipeyard_kit.errors import ConfigError

APP_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
ZONEINFO = Path("/usr/share/zoneinfo")
SWITCHES = ("on", "off")
LABEL_PREFIX = "io.pipeyard.b2i"
# Where app images live under a registry project: PROJECT/b2i/<app> (pipeyard b2i prune looks there).
APPS = "b2i"
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class AppRequest:
    jar: Path
    name: str
    tracing: str = "off"
    metrics: str = "on"
    tz: str | None = None
    port: int | None = None
    dependencies: Path | None = None  # None: target/dependency beside the jar, when there is one


@dataclass(frozen=True)
class Checked:
    """A request that passed: the jar read, its layout planned."""

    request: AppRequest
    info: JarInfo
    layout: AppLayout


def validate(request: AppRequest, *, names: dict[str, str] | None = None) -> Checked:
    """Every problem with the request at once, the jar's included. names maps a field to what the
    user calls it (a flag of `pipeyard b2i build`, a variable of the pipeline job)."""
    names = {"name": "--name", "tracing": "--tracing", "metrics": "--metrics", "tz": "--tz", "port": "--port",
             "jar": "--jar", **(names or {})}
    problems: list[str] = []
    if not APP_NAME.match(request.name) or len(request.name) > 63:
        problems.append(f"{names['name']} '{request.name}' is not a valid app name: use lowercase letters and digits "
                        f"with single '.', '_' or '-' between them, at most 63 characters (it names the image)")
    for field_name in ("tracing", "metrics"):
        value = getattr(request, field_name)
        if value not in SWITCHES:
            problems.append(f"{names[field_name]} '{value}' is not a switch: use on or off")
    if request.tz and ZONEINFO.is_dir() and (".." in request.tz or not (ZONEINFO / request.tz).is_file()):
        problems.append(f"{names['tz']} '{request.tz}' is not a known time zone: use a name like Asia/Shanghai or UTC")
    if request.port is not None and not 1 <= request.port <= 65535:
        problems.append(f"{names['port']} {request.port} is not a port: use a number from 1 to 65535")
    info = layout = None
    try:
        info = inspect(request.jar, option=names["jar"])
        explicit = request.dependencies is not None
        folder = request.dependencies if explicit else default_dependencies(request.jar)
        layout = plan(info, folder, explicit=explicit)
    except ConfigError as exc:
        problems.extend([exc.render()] if exc.fix else exc.problems)
    if problems:
        raise ConfigError(problems)
    assert info is not None and layout is not None
    return Checked(request, info, layout)


def launcher_env(checked: Checked, app_id: str) -> dict[str, str]:
    """The variables b2i-launch reads, baked into the image (b2i/b2i.yaml documents each)."""
    r = checked.request
    env = {"B2I_APP_NAME": r.name, "B2I_TRACING": r.tracing, "B2I_METRICS": r.metrics, **checked.layout.env}
    if r.tz:
        env["TZ"] = r.tz
    # Always baked, so a pipeline job (whose setting has a default) and a laptop build agree byte for byte.
    env["B2I_APP_PORT"] = str(r.port or DEFAULT_PORT)
    # What the image holds, for the launcher: the memory calculator's class count, and the key of the
    # class-data sharing archive (an archive written for other classes must never be reused).
    env["B2I_CLASS_COUNT"] = str(checked.layout.class_count)
    env["B2I_APP_ID"] = app_id
    return env


def app_labels(checked: Checked, *, base_name: str, base_digest: str = "", variant: str | None = None) -> dict[str, str]:
    r = checked.request
    labels = {
        "org.opencontainers.image.title": r.name,
        "org.opencontainers.image.base.name": base_name,
        f"{LABEL_PREFIX}.app": r.name,
        f"{LABEL_PREFIX}.jar-sha256": checked.info.sha256,
        f"{LABEL_PREFIX}.layout": checked.layout.kind,
        f"{LABEL_PREFIX}.tracing": r.tracing,
        f"{LABEL_PREFIX}.metrics": r.metrics,
    }
    if base_digest:
        labels["org.opencontainers.image.base.digest"] = base_digest
    if variant:
        labels[f"{LABEL_PREFIX}.variant"] = variant
    return labels


def app_id(parts: list[str]) -> str:
    """A short key of the app's files (its layers' diff_ids, or the jar and dependency digests)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def app_repository(project: str, name: str) -> str:
    return f"{project}/{APPS}/{name}" if project else f"{APPS}/{name}"
