"""Reading an engine's build stream: steps for the progress bars, errors for BuildError.

Podman prints `[2/4] STEP 3/5: RUN ...` (a stage prefix in multi-stage builds) and
`--> Using cache`; Docker prints `Step 3/15 : RUN ...` and ` ---> Using cache`.
Errors arrive as `{"error": ...}` chunks, never as exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

STEP = re.compile(r"^(?:\[(\d+)/(\d+)\]\s+)?STEP\s+(\d+)/(\d+)\s*:\s*(.*)$", re.IGNORECASE)
CACHED = re.compile(r"^-+>\s*Using cache", re.IGNORECASE)
COMMIT = re.compile(r"^-+>\s*([0-9a-f]{11,64})\s*$")
FROM = re.compile(r"^FROM\s+(\S+)", re.IGNORECASE)
INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)\s")


def count_steps(dockerfile: Path) -> int:
    """Instructions after the first FROM: what both engines count as steps."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    steps = 0
    seen_from = False
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = INSTRUCTION.match(line + " ")
        if not m:
            continue
        seen_from = seen_from or m.group(1).upper() == "FROM"
        steps += seen_from
    return steps


@dataclass
class StreamState:
    """What the stream has said so far about one image."""

    step: int = 0
    step_text: str = ""
    error: str | None = None
    image_id: str | None = None
    # Images the build started steps from: what its working containers are named after.
    images: set[str] = field(default_factory=set)

    def saw_image(self, ref: str) -> None:
        if re.fullmatch(r"[0-9a-f]{11,64}", ref):
            self.images.add(ref[:12])
        else:
            self.images.add(ref.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0])

    def owns(self, name: str) -> bool:
        """Whether a working container named after `name` came from one of this build's images."""
        return name in self.images or any(len(i) == 11 and name.startswith(i) for i in self.images)

    @property
    def where(self) -> str:
        return f"step {self.step} ({self.step_text[:120]})" if self.step else "the start"


def parse_chunk(chunk: dict, state: StreamState) -> list[tuple[str, object]]:
    """Events in one decoded chunk: ("step", text), ("cached", None), ("line", text), ("error", text)."""
    events: list[tuple[str, object]] = []
    if chunk.get("error") or chunk.get("errorDetail"):
        message = chunk.get("error") or chunk["errorDetail"].get("message", "")
        state.error = str(message).strip()
        events.append(("error", state.error))
    aux = chunk.get("aux")
    if isinstance(aux, dict) and aux.get("ID"):
        state.image_id = aux["ID"]
    for raw in str(chunk.get("stream", "")).splitlines():
        line = raw.rstrip()
        if not line:
            continue
        m = STEP.match(line.strip())
        if m:
            state.step += 1
            state.step_text = m.group(5).strip()
            base = FROM.match(state.step_text)
            if base:
                state.saw_image(base.group(1))
            events.append(("step", state.step_text))
            continue
        if CACHED.match(line.strip()):
            events.append(("cached", None))
            continue
        commit = COMMIT.match(line.strip())
        if commit:
            state.saw_image(commit.group(1))
        events.append(("line", line))
    return events
