"""The real cosign, for tests only: Debian unstable's package, in a throwaway image.

cosign is in no Debian release these machines use, and its own downloads are out of reach, but
Debian's unstable archive carries it. The image is the local Debian base with a second, sid-only
sources list (the host's apt sources are never touched, and no provider image ever gets it;
the mirror may serve an archived unstable whose Release date has passed, hence Check-Valid-Until);
it is built once per image store and reused by every later run. Commands run with the host
network, so cosign reaches the tests' loopback registries, and a scratch folder mounted at /work.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from pipeyard.images.containers import Engine, run_container
from pipeyard.images.debian_mirror import debian_mirror

IMAGE = "localhost/pipeyard-test/cosign:sid"
BASE = "localhost/pipeyard/debian:trixie"


class CosignUnavailable(RuntimeError):
    pass


def dockerfile(mirror: str) -> str:
    return f"""\
FROM {BASE}
RUN echo "deb {mirror} sid main" > /etc/apt/sources.list.d/sid-cosign.list \\
 && apt-get -o Acquire::Check-Valid-Until=false update \\
 && apt-get -o Acquire::Check-Valid-Until=false install -y --no-install-recommends -t sid cosign ca-certificates \\
 && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/sid-cosign.list \\
 && cosign version
"""


def ensure_image(eng: Engine) -> str:
    try:
        eng.client.images.get(IMAGE)
        return IMAGE
    except docker.errors.ImageNotFound:
        pass
    try:
        eng.client.images.get(BASE)
    except docker.errors.ImageNotFound:
        raise CosignUnavailable(f"{BASE} is missing: run `pipeyard base bootstrap --release trixie`") from None
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile(debian_mirror()).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    kwargs = {"network_mode": "host"} if eng.is_podman else {}
    try:
        eng.client.images.build(fileobj=context, custom_context=True, tag=IMAGE, rm=True, forcerm=True,
                                pull=False, **kwargs)
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise CosignUnavailable(f"building the cosign image failed: {exc}") from None
    return IMAGE


@dataclass
class Cosign:
    eng: Engine
    work: Path  # mounted at /work

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        result = run_container(self.eng, IMAGE, ["cosign", *args], working_dir="/work",
                               environment={"HOME": "/work", "COSIGN_YES": "true", **(env or {})},
                               volumes={str(self.work): {"bind": "/work", "mode": "rw"}}, timeout=300)
        return result.exit_code, result.output

    def version(self) -> str:
        return self("version")[1]
