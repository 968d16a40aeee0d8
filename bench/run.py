"""`make bench`: run every bench/bench_*.py in turn; each prints its own table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
only = sys.argv[1:]
failed = []
for script in sorted(here.glob("bench_*.py")):
    if only and not any(o in script.stem for o in only):
        continue
    print(f"\n### {script.stem}", flush=True)
    rc = subprocess.call([sys.executable, str(script)], cwd=here.parent)
    if rc:
        failed.append(script.stem)
if failed:
    print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    sys.exit(1)
