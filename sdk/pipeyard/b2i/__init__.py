"""B2I: a developer hands over a jar and gets a running image with diagnostics and observability.

`spec` reads b2i/b2i.yaml; `agents` fetches and verifies the pinned agents; `base` builds the base
image per variant; `jar` inspects and splits a jar into layers; `app` builds and pushes app images;
`prune` applies the retention policy. The image's command is the `b2i-launch` script next to this
file (sh, not Python: it runs on every app start).
"""

from importlib import resources

LAUNCHER = "b2i-launch"


def launcher_text() -> str:
    return resources.files(__name__).joinpath(LAUNCHER).read_text(encoding="utf-8")
