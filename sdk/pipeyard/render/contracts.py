""".importlinter: the floors of the house as import-linter contracts, one list of providers.

`make check` runs lint-imports against it:
- the kit imports nothing of pipeyard, neither the platform nor a provider;
- a provider imports the kit only, never the platform;
- no provider imports another;
- the platform imports the kit, never a provider's package (a provider's code runs in its image).
Generated, so a new provider is held to the same rules without anyone editing the file.
"""

from __future__ import annotations

from pipeyard.model.provider import Provider
from pipeyard.render import stamps

CONTRACTS_FILE = ".importlinter"


def _lines(names: list[str]) -> str:
    return "".join(f"\n    {n}" for n in names)


def import_contracts(providers: list[Provider]) -> str:
    packages = sorted(p.package for p in providers)
    return f"""\
# {stamps.ALL_PROVIDERS}
# The three floors of pipeyard, checked by `make check` (lint-imports {CONTRACTS_FILE}).
[importlinter]
root_packages =
    pipeyard
    pipeyard_kit{_lines(packages)}

[importlinter:contract:kit-stands-alone]
name = The kit imports nothing of pipeyard
type = forbidden
source_modules =
    pipeyard_kit
forbidden_modules =
    pipeyard{_lines(packages)}

[importlinter:contract:providers-use-only-the-kit]
name = A provider imports the kit, never the platform
type = forbidden
source_modules ={_lines(packages)}
forbidden_modules =
    pipeyard

[importlinter:contract:providers-stand-apart]
name = No provider imports another
type = independence
modules ={_lines(packages)}

[importlinter:contract:platform-leaves-providers-alone]
name = The platform imports the kit, never a provider's package
type = forbidden
source_modules =
    pipeyard
forbidden_modules ={_lines(packages)}
"""
