"""The job's dotenv report: what GitLab hands to the jobs that need this one.

GitLab's parser (app/services/ci/parse_dotenv_artifact_service.rb; docs/ci/variables/dotenv_variables.md)
is stricter than dotenv's own: one KEY=VALUE a line, no empty line, no comment, no multi-line value,
quotes kept as they are, names of ASCII letters, digits and _, at most 5 kB. So the values are written
bare, and one that breaks a rule is refused here rather than by the artifact upload after the push.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pipeyard_kit.errors import BuildError

_NAME = re.compile(r"^[A-Za-z0-9_]+\Z")
LIMIT = 5 * 1024


def render(values: Mapping[str, str]) -> str:
    lines = []
    for name, value in values.items():
        if not _NAME.match(name) or any(c in value for c in "\r\n\"'") or value != value.strip() or not value:
            raise BuildError(f"the dotenv report cannot carry {name}={value!r}",
                             fix="report this as a pipeyard bug: GitLab would refuse the artifact")
        lines.append(f"{name}={value}\n")
    text = "".join(lines)
    if len(text.encode()) > LIMIT:
        raise BuildError("the dotenv report is larger than GitLab's 5 kB", fix="report this as a pipeyard bug")
    return text


def write_dotenv(path: Path, values: Mapping[str, str]) -> Path:
    """Write the report whole or not at all: a job cut off mid-write leaves no half report behind."""
    text = render(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
