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
import re
from collections.abc import Iterable, Mapping
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


MASK = "********"
# Option and property names whose value is a credential: --token, -Dsonar.login, --proxy-password...
_SECRET_NAME = re.compile(r"(?i)(token|passw(or)?d|passphrase|secret|login|credential|api[-_.]?key)")


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.lstrip("-").removeprefix("D")))


def masked_arguments(args: Iterable[str], *, values: Iterable[str] = (),
                     secret_flags: Iterable[str] = ()) -> list[str]:
    """A command line as a log or a dry run may show it: the value of every option or -D property named
    like a credential masked (`--token X`, `--token=X`, `-Dsonar.login=X`), as is any of `values` (the
    secrets this run holds) wherever it appears. `secret_flags` adds short options that take a secret
    (pysonar's -t)."""
    known = [v for v in values if v]
    short = set(secret_flags)
    out: list[str] = []
    mask_next = False
    for arg in args:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        if arg.startswith("-") and "=" in arg:
            name, _, _value = arg.partition("=")
            if _secret_name(name) or name in short:
                out.append(f"{name}={MASK}")
                continue
        elif arg.startswith("--") and _secret_name(arg) or arg in short:
            mask_next = True
        for value in known:
            arg = arg.replace(value, MASK)
        out.append(arg)
    return out
