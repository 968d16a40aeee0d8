"""`NAME` or `NAME_FILE`: the one rule for reading a secret from the environment.

A secret comes as a masked CI/CD variable or as a file (a GitLab "File" variable, a mounted
Kubernetes secret). The file's content is stripped of surrounding white space, as people
paste tokens with a trailing newline. Errors name the variable, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class SecretFileError(Exception):
    """NAME_FILE points at something that cannot be read; str() is the one-line problem."""


def file_variable(name: str) -> str:
    return f"{name}_FILE"


def read(name: str, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(value, where it came from): NAME, else the file NAME_FILE names; (None, None) when neither is set.

    Raises SecretFileError when NAME_FILE is set but cannot be read.
    """
    env = os.environ if env is None else env
    if env.get(name, "") != "":
        return env[name], name
    path = env.get(file_variable(name), "")
    if path == "":
        return None, None
    try:
        return Path(path).read_text(encoding="utf-8").strip(), file_variable(name)
    except OSError as exc:
        raise SecretFileError(f"{file_variable(name)}={path} cannot be read ({exc.strerror}): "
                              f"point {file_variable(name)} at a readable file") from None
