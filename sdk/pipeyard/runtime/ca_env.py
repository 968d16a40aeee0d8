"""`eval "$(/opt/pipeyard/bin/python3 -m pipeyard.runtime.ca_env)"`: CUSTOM_CA_CERTS for shell wrappers.

Prints `export NAME=value` lines for the bundle install_custom_ca() writes (nothing
when CUSTOM_CA_CERTS is unset); a bad value is one `error:` line on stderr and exit 1.
"""

from __future__ import annotations

import shlex
import sys

from ..errors import PipeyardError
from .ca_certs import CaBundle, install_custom_ca


def shell_exports(bundle: CaBundle | None) -> str:
    if bundle is None:
        return ""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in bundle.env.items())


def main() -> int:
    try:
        sys.stdout.write(shell_exports(install_custom_ca(export=False)))
    except PipeyardError as exc:
        sys.stderr.write(f"error: {exc.render()}\n")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
