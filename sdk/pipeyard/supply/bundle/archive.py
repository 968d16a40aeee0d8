"""The bundle file itself: a deterministic tar written part by part, and read back strictly.

Writing: ustar headers with fixed owner, mode and time, so the same content gives the same file.
pipeyard-bundle.json, written last, lists the sha256 and size of every other part.

Reading: every header's checksum (tarfile checks it), every part's sha256 against the list, no
part missing or extra, and every byte between and after the parts zero (tar pads with zeros and
tarfile ignores them): a byte flipped anywhere in the file is found, and named by its part.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeyard_kit.errors import ChecksumError, PipeyardError

MANIFEST = "pipeyard-bundle.json"
CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE


class BundleError(PipeyardError):
    """A bundle that is damaged or not a pipeyard bundle."""


class Writer:
    def __init__(self, path: Path):
        self.path = path
        self.tar = tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)
        self.parts: dict[str, dict[str, Any]] = {}

    def add_bytes(self, name: str, data: bytes) -> None:
        self._add(name, len(data), io.BytesIO(data), hashlib.sha256(data).hexdigest())

    def add_file(self, name: str, opener: Callable[[], IO[bytes]], size: int, sha256: str | None = None) -> None:
        if sha256 is None:
            h = hashlib.sha256()
            with opener() as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
            sha256 = h.hexdigest()
        with opener() as f:
            self._add(name, size, f, sha256)

    def has(self, name: str) -> bool:
        return name in self.parts

    def _add(self, name: str, size: int, data: IO[bytes], sha256: str) -> None:
        if name in self.parts:
            return
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime, info.uname, info.gname = size, 0o644, 0, "", ""
        self.tar.addfile(info, data)
        self.parts[name] = {"sha256": sha256, "size": size}

    def close(self, manifest: dict[str, Any]) -> bytes:
        doc = {**manifest, "parts": dict(sorted(self.parts.items()))}
        data = (json.dumps(doc, indent=1, sort_keys=False) + "\n").encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime, info.uname, info.gname = len(data), 0o644, 0, "", ""
        self.tar.addfile(info, io.BytesIO(data))
        self.tar.close()
        return data


@dataclass
class Part:
    name: str
    offset: int  # of the data in the file
    size: int


class _Slice:
    """One part of the bundle, read in place: a file object of its own length, as an upload needs."""

    def __init__(self, path: Path, offset: int, size: int):
        self.f = open(path, "rb")  # noqa: SIM115 - closed with the slice
        self.f.seek(offset)
        self.len = self.left = size

    def __len__(self) -> int:
        return self.len

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.f.read(n) if n else b""
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.f.close()

    def __enter__(self) -> _Slice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Bundle:
    path: Path
    parts: dict[str, Part] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> Bundle:
        """Read the table of parts and the manifest (cheap: headers only); check nothing else yet."""
        bundle = cls(path)
        last = "the start of the file"
        try:
            with tarfile.open(path, "r:") as tar:
                while True:
                    member = tar.next()
                    if member is None:
                        break
                    if not member.isfile():
                        raise BundleError(f"{path}: part {member.name} is not a file",
                                          fix="the bundle was not written by pipeyard bundle create")
                    bundle.parts[member.name] = Part(member.name, member.offset_data, member.size)
                    last = member.name
        except tarfile.TarError as exc:
            raise BundleError(f"{path}: the tar header after {last} is damaged ({exc})",
                              fix="copy the bundle again from its source; it is corrupt") from None
        except OSError as exc:
            raise BundleError(f"{path}: {exc.strerror}", fix="pass the path of a pipeyard bundle") from None
        bundle._check_end(last)
        if MANIFEST not in bundle.parts:
            raise BundleError(f"{path} has no {MANIFEST}", fix="pass a file made by `pipeyard bundle create`")
        try:
            bundle.manifest = json.loads(bundle.read(MANIFEST))
        except ValueError:
            raise BundleError(f"{path}: part {MANIFEST} is not readable JSON",
                              fix="copy the bundle again from its source; it is corrupt") from None
        return bundle

    def _check_end(self, last: str) -> None:
        """tarfile stops quietly at a header whose checksum is wrong, as if the archive ended there:
        a header that is not all zeros where the parts stop is a damaged one, named by what it says."""
        end = 0
        if self.parts:
            part = self.parts[last]
            end = part.offset + part.size + (-(part.offset + part.size)) % BLOCK
        with open(self.path, "rb") as f:
            f.seek(end)
            header = f.read(BLOCK)
        if header.strip(b"\0"):
            name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace") or "?"
            raise ChecksumBundleError(f"{self.path}: the tar header of part {name} (after {last}) is damaged")

    def read(self, name: str) -> bytes:
        with self.opener(name)() as f:
            return f.read()

    def opener(self, name: str) -> Callable[[], IO[bytes]]:
        part = self.parts[name]
        return lambda: _Slice(self.path, part.offset, part.size)  # type: ignore[return-value]

    def blob_name(self, digest: str) -> str:
        return f"blobs/{digest.replace(':', '/')}"

    def verify(self, progress: Callable[[str], None] | None = None) -> int:
        """Every part against the manifest, and every byte between the parts; returns the bytes checked."""
        listed: dict[str, dict[str, Any]] = self.manifest.get("parts") or {}
        problems = []
        extra = sorted(set(self.parts) - set(listed) - {MANIFEST})
        missing = sorted(set(listed) - set(self.parts))
        if extra:
            problems.append(f"part {extra[0]} is not in {MANIFEST}")
        if missing:
            problems.append(f"part {missing[0]} listed in {MANIFEST} is missing")
        checked = 0
        for name in sorted(set(listed) & set(self.parts), key=lambda n: self.parts[n].offset):
            want = listed[name]
            got = self._sha256(name)
            checked += self.parts[name].size
            if self.parts[name].size != int(want.get("size", -1)) or got != want.get("sha256"):
                problems.append(f"part {name} does not match its sha256 in {MANIFEST}")
            elif name.startswith("blobs/sha256/") and name.rsplit("/", 1)[-1] != got:
                problems.append(f"part {name} does not match its own digest")
        problems.extend(self._between())
        if problems:
            if len(problems) == 1:
                raise ChecksumBundleError(f"{self.path}: {problems[0]}")
            raise ChecksumBundleError(f"{self.path}: {problems[0]} (and {len(problems) - 1} more problems)")
        return checked

    def _sha256(self, name: str) -> str:
        h = hashlib.sha256()
        with self.opener(name)() as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def _between(self) -> list[str]:
        """Each part's header byte for byte (tarfile's checksum ignores the byte after the field's
        NUL), tar's zero padding after each part, and the zero blocks closing the archive."""
        order = sorted(self.parts.values(), key=lambda p: p.offset)
        problems = []
        with open(self.path, "rb") as f:
            for i, part in enumerate(order):
                f.seek(part.offset - BLOCK)
                header = f.read(BLOCK)
                expected = b"%06o\0 " % (sum(header[:148]) + 8 * 0x20 + sum(header[156:]))
                if header[148:156] != expected:
                    problems.append(f"the tar header of part {part.name} is damaged")
                end = part.offset + part.size
                stop = order[i + 1].offset - BLOCK if i + 1 < len(order) else None
                f.seek(end)
                gap = f.read((stop - end) if stop is not None else -1)
                # Between parts: only the padding up to the next header; after the last: everything.
                if stop is not None:
                    gap = gap[:(-end) % BLOCK]
                if gap.strip(b"\0"):
                    problems.append(f"the padding after part {part.name} is not zero")
        return problems

    def iter_blobs(self) -> Iterator[str]:
        return (n for n in self.parts if n.startswith("blobs/"))


class ChecksumBundleError(BundleError, ChecksumError):
    """A part whose bytes changed since the bundle was made."""

    def __init__(self, message: str):
        PipeyardError.__init__(self, message, fix="copy the bundle again from its source and run "
                                                  "`pipeyard bundle verify` before loading it")
