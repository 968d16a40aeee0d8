"""What the first mvn, npm, yarn or pnpm of a job waits for: the modules its configurator loads.

Every CI job starts a fresh container, so the wrappers' first call runs the configurator
(maven-configure, npm-configure) before the tool. Its cost is mostly Python's imports, and
`make bench` (bench_house) measures it against the bare tool. This keeps the heavy modules
out of that path for good: a new `from typing import ...`, a dataclass or a `hashlib` in the
kit or the provider's configure path would each cost every job a few milliseconds again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Each costs the first call at least a millisecond in the images' Python (measured with -X importtime):
# dataclasses brings inspect, ast, dis and tokenize; hashlib loads OpenSSL; click, requests and
# tempfile belong to the configurators' other commands.
HEAVY = {"typing", "dataclasses", "inspect", "ast", "_hashlib", "click", "requests", "tempfile", "subprocess",
         "logging", "rich"}

# The console script's fast path imports pipeyard_kit.exits first, then the configurator.
RUN = """
import json, os, sys
before = set(sys.modules)
import pipeyard_kit.exits
{run}
print(json.dumps(sorted(set(sys.modules) - before)))
"""
CONFIGURE = {
    "maven": "from pipeyard_maven.configure import configure\nconfigure(os.environ, {{}}, None)",
    "npm": "from pipeyard_npm.configure import configure\nconfigure(os.environ, {{}}, None, tool={tool!r})",
}


@pytest.mark.parametrize(("provider", "tool"), [("maven", "mvn"), ("npm", "npm"), ("npm", "pnpm"), ("npm", "yarn4")])
def test_the_first_call_of_a_job_loads_no_heavy_module(tmp_path: Path, provider: str, tool: str) -> None:
    site = tmp_path / "site.json"
    # The site defaults every image has baked in: each URL goes through the URL checks.
    site.write_text(json.dumps({"defaults": {
        "MAVEN_MIRROR_URL": "https://nexus.example.com/repository/maven-public/",
        "MAVEN_RELEASES_URL": "https://nexus.example.com/repository/maven-releases/",
        "NPM_REGISTRY_URL": "https://nexus.example.com/repository/npm-group/"}}))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI_PROJECT_DIR": str(tmp_path),
           "PIPEYARD_SITE_FILE": str(site), "PIPEYARD_STATE_DIR": str(tmp_path / "state")}
    code = RUN.format(run=CONFIGURE[provider].format(tool=tool))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    assert any(m.startswith(f"pipeyard_{provider}") for m in loaded)
    assert sorted(loaded & HEAVY) == [], "the configurator's first call imports these again"
