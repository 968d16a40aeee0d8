"""Registry credentials from the environment, `*_FILE` variants included, never printed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pipeyard_kit import secrets
from pipeyard_kit.errors import ConfigError


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    # The variables they came from, so a 401 can name what to fix.
    hint: str = ""


def env_hint(prefix: str) -> str:
    return f"{prefix}_USERNAME and {prefix}_PASSWORD (or {prefix}_PASSWORD_FILE)"


def from_env(prefix: str, *, required: bool = False, env: dict[str, str] | None = None) -> Credentials | None:
    """<PREFIX>_USERNAME with <PREFIX>_PASSWORD or <PREFIX>_PASSWORD_FILE; None when neither is set."""
    env = os.environ if env is None else env
    user = env.get(f"{prefix}_USERNAME", "")
    problems = []
    try:
        password = secrets.read(f"{prefix}_PASSWORD", env)[0] or ""
    except secrets.SecretFileError as exc:
        password = ""
        problems.append(str(exc))
    if not user and not password and not problems:
        if required:
            raise ConfigError(f"{prefix}_USERNAME and {prefix}_PASSWORD are not set",
                              fix=f"set {env_hint(prefix)} in the job's CI/CD variables")
        return None
    if not user:
        problems.append(f"{prefix}_USERNAME is not set")
    if not password and not problems:
        problems.append(f"{prefix}_PASSWORD is not set")
    if problems:
        raise ConfigError(problems, fix=f"set {env_hint(prefix)}")
    return Credentials(user, password, env_hint(prefix))
