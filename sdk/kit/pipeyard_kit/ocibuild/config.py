"""The new image's config: the base's, plus the new layers, environment, labels and ports.

The bytes are a pure function of their inputs: keys sorted, no whitespace, and `created` taken from
the commit (SOURCE_DATE_EPOCH, as reproducible-builds.org defines it; else GitLab's
CI_COMMIT_TIMESTAMP), never from the clock. So the same inputs give the same config digest, and the
same manifest digest, on any machine.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipeyard_kit.errors import ConfigError

# Labels that name the build rather than what the image holds: they change with every commit.
VOLATILE_LABELS = ("org.opencontainers.image.created", "org.opencontainers.image.revision")


def commit_time(env: Mapping[str, str]) -> tuple[int, str] | None:
    """(seconds since the epoch, the variable it came from), or None when neither is set."""
    raw = (env.get("SOURCE_DATE_EPOCH") or "").strip()
    if raw:
        if not raw.isdigit():
            raise ConfigError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970",
                              fix="set it to the commit time: SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)")
        return int(raw), "SOURCE_DATE_EPOCH"
    raw = (env.get("CI_COMMIT_TIMESTAMP") or "").strip()
    if raw:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"CI_COMMIT_TIMESTAMP={raw!r} is not an ISO 8601 time",
                              fix="leave GitLab's predefined variable as it is, or set SOURCE_DATE_EPOCH") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp()), "CI_COMMIT_TIMESTAMP"
    return None


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merged_env(base: list[str], env: Mapping[str, str]) -> list[str]:
    """The base's Env with ours set: a variable the base has keeps its place, new ones follow in order."""
    out, seen = [], set()
    for item in base:
        key = item.split("=", 1)[0]
        if key in env:
            out.append(f"{key}={env[key]}")
            seen.add(key)
        else:
            out.append(item)
    out += [f"{k}={v}" for k, v in env.items() if k not in seen]
    return out


def derive(base: Mapping[str, Any], *, diff_ids: list[str], history: list[dict[str, Any]], env: Mapping[str, str],
           labels: Mapping[str, str], ports: list[str], created: str) -> dict[str, Any]:
    """The config of base + the new layers (their diff_ids, in order, with one history entry each)."""
    config = copy.deepcopy(dict(base))
    run = dict(config.get("config") or {})
    run["Env"] = _merged_env(list(run.get("Env") or []), env)
    run["Labels"] = {**(run.get("Labels") or {}), **labels}
    if ports:
        run["ExposedPorts"] = {**(run.get("ExposedPorts") or {}), **{p: {} for p in ports}}
    config["config"] = run
    config["created"] = created
    rootfs = dict(config.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = [*(rootfs.get("diff_ids") or []), *diff_ids]
    config["rootfs"] = rootfs
    config["history"] = [*(config.get("history") or []), *history]
    # A docker-archive export carries the build container's own config; it says nothing about this image.
    for stale in ("container", "container_config", "docker_version"):
        config.pop(stale, None)
    return config


def to_bytes(config: Mapping[str, Any]) -> bytes:
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_key(config: Mapping[str, Any]) -> str:
    """The sha256 of what the image is, its build time and commit left out: the same jar, switches and base
    give the same key on any commit (the content tag)."""
    data = copy.deepcopy(dict(config))
    data.pop("created", None)
    for entry in data.get("history") or []:
        entry.pop("created", None)
    labels = (data.get("config") or {}).get("Labels") or {}
    for name in VOLATILE_LABELS:
        labels.pop(name, None)
    return hashlib.sha256(to_bytes(data)).hexdigest()
