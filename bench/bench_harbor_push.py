"""Pushing through Harbor's /v2 (the loopback Harbor's registry front, which answers as Harbor's v2auth
and token service do) against the same push straight to the registry behind it.

Per-scope tokens cost one token request per scope a client meets (pull, then pull+push per
repository) and one 401 per client, for the realm: every other request goes out with the right
token on the first try. When Harbor stops taking the tokens it answers Basic, and the client sends
the credentials from then on. Measured with one client, as one publish run has: requests Harbor saw,
token requests, 401s and wall time for a first push, a re-push with nothing changed, and a change
pushed after Harbor expired every token. The baseline is the same kind of push straight to the
registry behind Harbor, with no auth at all.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _report import Report  # noqa: E402

from pipeyard.images.containers.registry_server import LocalRegistry  # noqa: E402
from pipeyard.publish import images as pub  # noqa: E402
from pipeyard.publish.archive import LayerCache
from pipeyard_kit.registry import Credentials, RegistryClient, Target  # noqa: E402
from tests.fixtures import free_port  # noqa: E402
from tests.publish.fake_harbor import FakeHarbor  # noqa: E402
from tests.publish.imagefactory import FakeDockerClient, noise  # noqa: E402
from tests.publish.registry_proxy import RegistryProxy  # noqa: E402

PROVIDERS = ("maven", "npm", "sonar")
ACCESS = {("repository", "pull"), ("repository", "push"), ("artifact", "read"), ("tag", "create")}


def images(store: FakeDockerClient, line: bytes) -> list[pub.LocalImage]:
    base = {"usr/lib/os.bin": noise("os", 400_000)}
    for name in PROVIDERS:
        store.add(pub.local_ref(name), [base, {f"opt/{name}.bin": noise(name, 200_000)},
                                        {f"usr/local/bin/{name}": b"#!/bin/sh\n" + line}])
    return [pub.LocalImage(n, pub.local_ref(n)) for n in PROVIDERS]


def push(client: RegistryClient, host: str, store: FakeDockerClient, cache: LayerCache, line: bytes) -> float:
    t0 = time.perf_counter()
    pub.publish_images(store, images(store, line), Target(host, "pipeyard", "http"), client, ["1.0.0", "latest"],
                       cache=cache, echo=lambda _: None)
    return time.perf_counter() - t0


def main() -> None:
    report = Report("pushing three images through Harbor's /v2 (per-scope tokens) vs straight to the registry")
    with tempfile.TemporaryDirectory(prefix="bench-harbor-") as tmp, \
            LocalRegistry(Path(tmp) / "registry", port=free_port()) as reg:
        root = Path(tmp)
        store = FakeDockerClient()
        direct = RegistryClient(reg.address, scheme="http")
        push(direct, reg.address, store, LayerCache(root / "warm"), b"echo warm\n")  # exports, gzips: not timed
        base_s = push(RegistryClient(reg.address, scheme="http"), reg.address, store, LayerCache(root / "warm"),
                      b"echo v1\n")

        with FakeHarbor(registry=RegistryProxy(reg.address)) as harbor:
            harbor.add_project("pipeyard")
            robot = harbor.add_robot("pipeyard", "ci-push", ACCESS)
            proxy = harbor.registry
            assert proxy is not None
            # One client, as one publish run has: tokens are reused until Harbor stops taking them.
            client = RegistryClient(harbor.address, scheme="http", credentials=Credentials(robot.name, robot.secret))
            for label, line, expire in (("first push", b"echo v2\n", False),
                                        ("re-push, nothing changed", b"echo v2\n", False),
                                        ("a change, after Harbor expired the tokens", b"echo v3\n", True)):
                if expire:
                    harbor.core.tokens.expire_all()
                seen, tokens = len(proxy.seen), len(harbor.core.tokens.requests)
                seconds = push(client, harbor.address, store, LayerCache(root / "warm"), line)
                requests = proxy.seen[seen:]
                report.add(f"{label}: wall time", seconds, baseline=base_s)
                report.add(f"{label}: requests at Harbor", len(requests), "req")
                report.add(f"{label}: token requests", len(harbor.core.tokens.requests) - tokens, "req",
                           goal="one per new scope")
                report.add(f"{label}: 401 answers", sum(1 for r in requests if r[3] == 401), "req",
                           goal="at most 1 (realm found, or Basic asked)")
        report.add("straight to the registry (baseline): wall time", base_s)
    report.print()


if __name__ == "__main__":
    main()
