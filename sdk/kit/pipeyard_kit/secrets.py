"""`NAME` or `NAME_FILE`: the one rule for reading a secret from the environment.

A secret comes as a masked CI/CD variable or as a file (a GitLab "File" variable, a mounted
Kubernetes secret). The file's content is stripped of surrounding white space, as people
paste tokens with a trailing newline. The rule, everywhere:
- NAME wins when only it is set; NAME_FILE is read when only it is set;
- both set to different values is an error, never a silent choice (the same value is fine: the
  tool wrappers hand NAME_FILE's content on as NAME);
- a NAME_FILE that is missing, a folder, unreadable or empty is an error naming the file.
Errors name the variable and the file, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class SecretFileError(Exception):
    """NAME / NAME_FILE cannot give a secret; str() is the one-line problem with its fix."""


def file_variable(name: str) -> str:
    return f"{name}_FILE"


def _read_file(name: str, path_text: str) -> str:
    var = file_variable(name)
    path = Path(path_text)
    fix = f"point {var} at a readable file holding the secret, or unset it and set {name}"
    if path.is_dir():
        raise SecretFileError(f"{var}={path_text} cannot be read (it is a folder): {fix}")
    try:
        value = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise SecretFileError(f"{var}={path_text} cannot be read (not UTF-8 text): {fix}") from None
    except OSError as exc:
        raise SecretFileError(f"{var}={path_text} cannot be read ({exc.strerror}): {fix}") from None
    if not value:
        raise SecretFileError(f"{var}={path_text} cannot be used (the file is empty): {fix}")
    return value


def read(name: str, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(value, where it came from: NAME or NAME_FILE); (None, None) when neither is set.

    Raises SecretFileError for the cases the module docstring lists.
    """
    env = os.environ if env is None else env
    direct = env.get(name, "")
    path = env.get(file_variable(name), "")
    if path == "":
        return (direct, name) if direct != "" else (None, None)
    from_file = _read_file(name, path)
    if direct != "" and direct.strip() != from_file:
        raise SecretFileError(f"{name} and {file_variable(name)} are both set, to different values: "
                              f"unset one of them")
    return from_file, file_variable(name)
