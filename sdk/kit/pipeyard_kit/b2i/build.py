"""The daemonless B2I build: a jar becomes a layered, reproducible app image, pushed straight to a registry.

1. The base image's manifest and config are read from its registry by digest (nothing else is pulled).
2. Each app layer is written as a deterministic tar; a layer the local cache holds is not compressed
   again, and neither is one the app's previous image in the registry already has (the diff_ids of
   its config name its layers: a fresh CI pod with no cache still uploads nothing it need not).
3. The config (created = the commit's time) and an OCI manifest are assembled.
4. pipeyard_kit.ocibuild.push mounts or copies the base's layers, uploads the missing ones, pushes
   the manifest by digest and moves the tags last: a tag pipeline's git tag, the commit tag, the
   content tag, any extra tags, and `latest` on the default branch.

The platform's `pipeyard b2i build` and the B2I provider's `b2i-build` job command both call build().
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeyard_kit.b2i.request import DEFAULT_PORT, Checked, app_id, app_labels, launcher_env
from pipeyard_kit.errors import BuildError, PipeyardError
from pipeyard_kit.ocibuild import config as config_mod
from pipeyard_kit.ocibuild.base import BaseImage
from pipeyard_kit.ocibuild.cache import LayerCache
from pipeyard_kit.ocibuild.layer import Layer, compress, discard, write_layer
from pipeyard_kit.ocibuild.push import PushReport, push
from pipeyard_kit.refs import TAG
from pipeyard_kit.registry.client import RegistryClient
from pipeyard_kit.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Blob, OciImage, sha256_digest

log = logging.getLogger("pipeyard.b2i")
Echo = Callable[[str], None]
CONTENT_TAG_LENGTH = 12


@dataclass(frozen=True)
class Destination:
    client: RegistryClient
    host: str  # as people write it: 127.0.0.1:5000, harbor.example.com
    repository: str  # pipeyard/b2i/orders


@dataclass
class BuildResult:
    name: str
    host: str
    repository: str
    digest: str
    tags: list[str]
    content_tag: str
    layout: str
    layers: list[Layer]
    base: BaseImage
    report: PushReport
    created: str
    created_from: str
    size: int = 0
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def repo_ref(self) -> str:
        return f"{self.host}/{self.repository}"

    @property
    def reference(self) -> str:
        """repository:tag@digest: what people read (the tag) and what the cluster pulls (the digest)."""
        return f"{self.repo_ref}:{self.tags[0]}@{self.digest}"

    @property
    def pinned(self) -> str:
        return f"{self.repo_ref}@{self.digest}"


def commit_tag(env: Mapping[str, str]) -> str | None:
    """The commit's short sha, as `pipeyard publish` tags images; None outside a pipeline."""
    if env.get("CI_COMMIT_SHORT_SHA"):
        return env["CI_COMMIT_SHORT_SHA"]
    if env.get("CI_COMMIT_SHA"):
        return env["CI_COMMIT_SHA"][:8]
    return None


def release_tag(env: Mapping[str, str]) -> str | None:
    """A tag pipeline's git tag (1.4.2, v1.4.2), first of the tags: what people read in the config
    repository, and what the gitops bump orders releases by. A git tag no image tag can be is left out."""
    tag = (env.get("CI_COMMIT_TAG") or "").strip()
    return tag if tag and TAG.match(tag) else None


def moves_latest(env: Mapping[str, str]) -> bool:
    """`latest` names what the default branch built last; a laptop (no pipeline) always moves it."""
    if env.get("CI_DEFAULT_BRANCH"):
        return env.get("CI_COMMIT_BRANCH") == env["CI_DEFAULT_BRANCH"]
    return True


def build_time(env: Mapping[str, str], checked: Checked) -> tuple[int, str]:
    found = config_mod.commit_time(env)
    if found:
        return found
    # Outside a pipeline and with no SOURCE_DATE_EPOCH: the jar's own newest entry, never the clock,
    # so the same jar still gives the same image.
    return checked.info.newest, "the jar's newest entry (set SOURCE_DATE_EPOCH to the commit time)"


def _size(n: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _known_layers(client: RegistryClient, repository: str, tags: list[str]) -> dict[str, Blob]:
    """diff_id -> blob of the layers the app's previous image already has in the registry."""
    for tag in tags:
        try:
            if client.manifest_digest(repository, tag) is None:
                continue
            data, _ = client.get_manifest(repository, tag)
            manifest = json.loads(data)
            if manifest.get("manifests") or "config" not in manifest:
                continue
            cfg = json.loads(client.get_blob(repository, manifest["config"]["digest"]))
        except (PipeyardError, ValueError, KeyError) as exc:
            log.debug("no previous image at %s:%s (%s)", repository, tag, exc)
            continue
        diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
        layers = manifest.get("layers") or []
        if len(diff_ids) == len(layers):
            return {d: Blob(layer["digest"], int(layer["size"]), layer.get("mediaType") or OCI_LAYER_GZIP)
                    for d, layer in zip(diff_ids, layers, strict=True)}
    return {}


def _ensure_blobs(layers: list[Layer], known: dict[str, Blob], cache: LayerCache) -> list[str]:
    """Give every layer its blob: from the cache, from the previous image, or compressed now."""
    how = []
    for layer in layers:
        if layer.blob is not None:
            how.append("cached")
        elif layer.diff_id in known:
            layer.blob = known[layer.diff_id]
            how.append("in the registry")
        else:
            compress(layer, cache)
            how.append("written")
    return how


def build(checked: Checked, *, base: BaseImage, base_client: RegistryClient, dest: Destination,
          extra_tags: tuple[str, ...] = (), env: Mapping[str, str], cache: LayerCache | None = None,
          echo: Echo = print) -> BuildResult:
    cache = cache or LayerCache()
    request, layout = checked.request, checked.layout
    echo(f"{request.name}: {layout.describe()}; base {base.reference} ({base.digest[:19]}, "
         f"{len(base.layers)} layers)")
    seconds, created_from = build_time(env, checked)
    created = config_mod.rfc3339(seconds)
    commit = commit_tag(env)
    with tempfile.TemporaryDirectory(prefix="b2i-layers-", dir=cache.root if cache.root.is_dir() else None) as tmp:
        layers = [write_layer(spec, cache, Path(tmp)) for spec in layout.layers]
        try:
            known = {} if all(layer.blob for layer in layers) else \
                _known_layers(dest.client, dest.repository, [t for t in (commit, "latest") if t])
            how = _ensure_blobs(layers, known, cache)
        finally:
            discard(layers)
    for layer, source in zip(layers, how, strict=True):
        assert layer.blob is not None
        echo(f"  layer {layer.name}: {layer.files} file{'s' if layer.files != 1 else ''}, {_size(layer.size)} -> "
             f"{layer.blob.digest[:19]} "
             f"({_size(layer.blob.size)}, {source})")

    labels = app_labels(checked, base_name=str(base.reference), base_digest=base.digest,
                        variant=base.label("io.pipeyard.b2i.variant"))
    labels["org.opencontainers.image.created"] = created
    if env.get("CI_COMMIT_SHA"):
        labels["org.opencontainers.image.revision"] = env["CI_COMMIT_SHA"]
    if env.get("CI_PROJECT_URL"):
        labels["org.opencontainers.image.source"] = env["CI_PROJECT_URL"]
    launcher = launcher_env(checked, app_id([layer.diff_id for layer in layers]))
    history = [{"created": created, "created_by": f"pipeyard b2i: {layer.name} layer", "comment": layer.comment}
               for layer in layers]
    port = request.port or DEFAULT_PORT
    config = config_mod.derive(base.config, diff_ids=[layer.diff_id for layer in layers], history=history,
                               env=launcher, labels=labels, ports=[f"{port}/tcp"], created=created)
    config_bytes = config_mod.to_bytes(config)
    content_tag = config_mod.content_key(config)[:CONTENT_TAG_LENGTH]
    config_blob = Blob(sha256_digest(config_bytes), len(config_bytes), OCI_CONFIG, data=config_bytes)
    image = OciImage.assemble(config_blob, [*base.layers, *[layer.blob for layer in layers if layer.blob]])
    tags = list(dict.fromkeys(t for t in (release_tag(env), commit, content_tag, *extra_tags) if t))
    if moves_latest(env):
        tags.append("latest")
    names = {layer.blob.digest: layer.name for layer in layers if layer.blob}
    names[config_blob.digest] = "config"
    for layer in layers:
        assert layer.blob is not None
        if layer.blob.path is None and layer.blob.data is None and not dest.client.blob_exists(
                dest.repository, layer.blob.digest):
            raise BuildError(f"the registry lost layer {layer.name} ({layer.blob.digest[:19]}) of the previous image",
                             fix="build again: the layer is then written and uploaded")
    report = push(dest.client, dest.repository, image, base=base, base_client=base_client, names=names,
                  tags=tags, cache=cache)
    echo("  " + report.base_line(base, same_registry=base_client.host == dest.client.host))
    echo(f"  created {created} (from {created_from}); content tag {content_tag}")
    return BuildResult(name=request.name, host=dest.host, repository=dest.repository, digest=image.digest, tags=tags,
                       content_tag=content_tag, layout=layout.kind, layers=layers, base=base, report=report,
                       created=created, created_from=created_from, size=image.size, labels=labels)


def summary(result: BuildResult) -> str:
    """One line: what went up (or that nothing did), and which tags moved."""
    r = result.report
    if r.nothing_moved:
        return f"{result.pinned}: nothing changed: 0 blobs uploaded, tags {', '.join(result.tags)} in place"
    uploaded = ", ".join(r.uploaded) if r.uploaded else "no new blob"
    manifest = "the manifest" if r.manifest_pushed else "no manifest (already there)"
    moved = ", ".join(r.tags_moved) or "none"
    return (f"pushed {result.pinned}: {len(r.uploaded)} blobs uploaded ({uploaded}; {_size(r.uploaded_bytes)}), "
            f"{manifest}; tags moved: {moved}")
