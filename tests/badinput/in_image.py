"""The provider commands' bad-input cases, run inside a provider image:
`python3 -m tests.badinput.in_image SECRET_SETTING...`.

tests/images/test_badinput_images.py mounts tests/ into the image and runs this with the image's own
Python, as the image's user: every case whose console script the image carries runs as a real process
there (the image's kit, its provider package, its tools), with the fault servers on the container's
loopback. It needs only the standard library and the kit, which is all an image has, and prints one
JSON object: the cases run, and the problems of each case that did not hold.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.badinput import harness, servers, table_providers, table_settings
from tests.badinput.planted import planted_secrets


def main() -> int:
    cases = [c for c in (*table_settings.CASES, *table_providers.CASES) if shutil.which(c.script)]
    planted = planted_secrets(sys.argv[1:])  # the secret settings of every provider, named by the host
    garbage, silent, babbler = servers.Garbage().start(), servers.Silent().start(), servers.Babbler().start()
    closed = servers.closed_port()
    found: dict[str, list[str]] = {}
    try:
        fault_servers = {
            "closed": f"http://127.0.0.1:{closed}", "closed_port": str(closed),
            "silent": f"http://127.0.0.1:{silent.port}", "silent_port": str(silent.port),
            "babbler_port": str(babbler.port), **{f"g_{f}": garbage.url(f) for f in servers.FAULTS},
        }
        for case in cases:
            with tempfile.TemporaryDirectory(prefix="badinput-") as tmp:
                work = Path(tmp) / "work"
                work.mkdir()
                ctx = harness.Context(work=work, servers={**fault_servers, "checkout": str(work)}, planted=planted)
                problems = harness.problems(case, harness.run_process(case, ctx), planted)
                if problems:
                    found[case.id] = problems
    finally:
        garbage.stop()
        silent.stop()
        babbler.stop()
    json.dump({"ran": len(cases), "problems": found}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
