"""Blob uploads: one PUT for a small blob, chunks for a large one, resumed where the registry's copy
ends after a dropped connection or a 5xx.

A chunked upload follows the OCI distribution spec (v1.1, "Pushing a blob in chunks"): POST for a
session; PATCH each chunk with `Content-Range: <start>-<end>` (inclusive) to the Location the last
answer gave, which answers 202 with `Range: 0-<end>`; a closing PUT with `?digest=`. After a failure
(a dropped connection, a 5xx, a 416 for a chunk out of order) a GET on the last Location answers 204
with the Range the registry holds, and the upload continues from the byte after it. A registry that
lost the session, or refuses the stale Location (distribution cancels an upload whose size differs
from the offset packed in the Location's `_state`, registry/handlers/blobupload.go
blobUploadDispatcher, and answers 404 in 2.8, 400 in other versions), gets a fresh session from
byte 0. Nothing is tagged until every blob is complete (push.py), so a failure leaves no tag on a
partial image.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import IO

RANGE = re.compile(r"^(?:bytes=)?0-(\d+)$")
BLOCK = 1 << 16

Progress = Callable[[int], None]


class Reader:
    """Bytes [start, start + length) of a blob, streamed from the file the opener gives, with a
    length requests can send as Content-Length, reporting the blob's position as they go."""

    def __init__(self, opener: Callable[[], IO[bytes]], start: int, length: int, progress: Progress | None = None):
        self._file = opener()
        self.start = start
        self.length = length
        self._progress = progress
        if start:
            try:
                self._file.seek(start)
            except (AttributeError, OSError, io.UnsupportedOperation):
                left = start  # a stream without seek: skip what the registry already has
                while left > 0:
                    skipped = self._file.read(min(BLOCK, left))
                    if not skipped:
                        break
                    left -= len(skipped)

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        left, position = self.length, self.start
        while left > 0:
            block = self._file.read(min(BLOCK, left))
            if not block:
                raise OSError(f"the blob ended {left} bytes early at byte {position}")
            left -= len(block)
            position += len(block)
            if self._progress:
                self._progress(position)
            yield block

    def close(self) -> None:
        self._file.close()


def end_of(range_header: str | None) -> int | None:
    """The first byte not yet held, from a `Range: 0-<end>` answer; None when the header is absent."""
    if not range_header:
        return None
    m = RANGE.match(range_header.strip())
    return int(m.group(1)) + 1 if m else None
