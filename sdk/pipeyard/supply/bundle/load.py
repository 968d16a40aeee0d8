"""`pipeyard bundle load`: a bundle into the offline site's registry, then the files it needs.

The bundle is checked whole before anything is pushed. Then per image: the blobs the registry
lacks (a blob another repository already got is mounted), the manifest by digest, the tags last;
the SBOM as a referrer; the signature and attestation images under cosign's tags, merged with
any signatures already there. Everything is content-addressed and checked before it is written,
so a second load uploads nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

from pipeyard.supply import referrers
from pipeyard.supply import signatures as sig
from pipeyard.supply.artifacts import Artifact, image_with_layers, push_tagged
from pipeyard.supply.bundle import templates
from pipeyard.supply.bundle.archive import Bundle, BundleError
from pipeyard_kit.registry import Blob, PushStats, RegistryClient, Target

Echo = Callable[[str], None]


@dataclass
class Loaded:
    images: list[str] = field(default_factory=list)
    stats: PushStats = field(default_factory=PushStats)
    templates: list[Path] = field(default_factory=list)
    out: Path | None = None


def _artifact(bundle: Bundle, digest: str) -> Artifact:
    manifest = bundle.read(bundle.blob_name(digest))
    doc = json.loads(manifest)
    blobs: dict[str, Blob] = {}
    for d in [doc["config"], *doc.get("layers", [])]:
        blobs.setdefault(d["digest"], Blob(d["digest"], int(d["size"]), d["mediaType"],
                                           data=bundle.read(bundle.blob_name(d["digest"]))))
    return Artifact(manifest, tuple(blobs.values()), doc.get("mediaType") or "application/vnd.oci.image.manifest.v1+json")


def _push_image(bundle: Bundle, client: RegistryClient, repo: str, digest: str, tags: list[str],
                mount_from: dict[str, str]) -> list[str]:
    manifest = bundle.read(bundle.blob_name(digest))
    doc = json.loads(manifest)
    for d in [*doc.get("layers", []), doc["config"]]:
        blob = d["digest"]
        source = mount_from.get(blob)
        if client.blob_exists(repo, blob):
            client.stats.skipped += 1
        elif source is None or source == repo or not client.mount_blob(repo, blob, source):
            client.upload_blob(repo, blob, int(d["size"]), bundle.opener(bundle.blob_name(blob)))
        mount_from.setdefault(blob, repo)
    media_type = doc.get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
    if client.manifest_digest(repo, digest) is None:
        client.put_manifest(repo, digest, manifest, media_type)
    moved = []
    for tag in tags:
        if client.manifest_digest(repo, tag) != digest:
            client.put_manifest(repo, tag, manifest, media_type)
            moved.append(tag)
    return moved


def _merge_signatures(client: RegistryClient, repo: str, tag: str, art: Artifact) -> bool:
    """The bundle's signature layers added to the ones the registry already has for the digest."""
    if client.manifest_digest(repo, tag) == art.digest:
        return False
    existing = sig._existing_layers(client, repo, tag)
    ours = [(d["mediaType"], next(b.data for b in art.blobs if b.digest == d["digest"]), dict(d.get("annotations") or {}))
            for d in art.doc["layers"]]
    merged = existing + [layer for layer in ours if layer not in existing]
    if existing and len(merged) == len(existing):
        return False
    return push_tagged(client, repo, image_with_layers(merged) if existing else art, tag)


def load(bundle: Bundle, target: Target, client: RegistryClient, out: Path, *, echo: Echo = print) -> Loaded:
    checked = bundle.verify()
    echo(f"{bundle.path}: {len(bundle.parts)} parts verified ({checked / 1e6:.1f} MB)")
    result = Loaded(out=out)
    before = copy(client.stats)
    mount_from: dict[str, str] = {}
    for image in bundle.manifest.get("images") or []:
        repo = target.repository(image["name"])
        start = copy(client.stats)
        moved = _push_image(bundle, client, repo, image["digest"], list(image["tags"]), mount_from)
        notes = []
        if image.get("sbom"):
            attached = referrers.attach(client, repo, _artifact(bundle, image["sbom"]))
            notes.append("SBOM " + ("attached" if attached.uploaded else "already attached"))
        for kind, suffix in (("signature", "sig"), ("attestation", "att")):
            if image.get(kind):
                changed = _merge_signatures(client, repo, sig.tag_for(image["digest"], suffix),
                                            _artifact(bundle, image[kind]))
                notes.append(f"{kind} {'added' if changed else 'already there'}")
        s = _delta(client.stats, start)
        echo(f"{target.host}/{repo}@{image['digest'][:19]} [{', '.join(image['tags'])}]: {s.uploaded} blobs "
             f"uploaded, {s.skipped} already there, {s.mounted} mounted; "
             f"{'tags ' + ', '.join(moved) + ' moved' if moved else 'tags in place'}; {'; '.join(notes)}")
        result.images.append(f"{target.host}/{repo}")
    result.stats = _delta(client.stats, before)
    out.mkdir(parents=True, exist_ok=True)
    files = {n.removeprefix("pipeline-templates/"): bundle.read(n) for n in bundle.parts
             if n.startswith("pipeline-templates/")}
    if files:
        dest = out / "pipeline-templates"
        if dest.exists():
            shutil.rmtree(dest)
        result.templates = templates.write(files, dest, bundle.manifest["registry"], str(target))
    for prefix in ("chart/", "b2i-agents/"):
        for name in (n for n in bundle.parts if n.startswith(prefix)):
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bundle.read(name))
    return result


def _delta(after: PushStats, before: PushStats) -> PushStats:
    return PushStats(**{k: getattr(after, k) - getattr(before, k) for k in vars(after)})


def needs(bundle: Bundle, target: Target, loaded: Loaded) -> list[str]:
    """What the GitLab component project and the site need, to use what was loaded."""
    m = bundle.manifest
    version = m.get("version", "")
    out = [f"The component project ({m.get('component_project')}) needs:",
           f"  - the content of {loaded.out / 'pipeline-templates'} at its root, committed and tagged {version} "
           "(a release, for the CI/CD catalog)",
           f"  - the CI/CD variable PIPEYARD_REGISTRY={target} at group level (classic includes; components "
           "already default to it)",
           f"  - runners tagged k8s-runner that can pull from {target} (Harbor: the robot account "
           f"{target.project}+runner-pull)"]
    if m.get("signed"):
        out.append("  - the public key of the signing key, for `pipeyard verify` or `cosign verify --key` "
                   "(Harbor's cosign enforcement checks the signatures loaded beside each image)")
    if m.get("agents"):
        out.append(f"  - the B2I agents under {loaded.out / 'b2i-agents'} uploaded to the site's raw repository "
                   "at the same paths (B2I_MIRROR_URL points `pipeyard b2i base` at it):")
        out.extend(f"      {a['path']}  sha256:{a['sha256']}" for a in m["agents"])
    if any((loaded.out / "chart").iterdir() if (loaded.out / "chart").is_dir() else []):
        out.append(f"  - the chart skeleton in {loaded.out / 'chart'} (what `pipeyard chart` scaffolds from)")
    return out


def check_format(bundle: Bundle) -> None:
    if bundle.manifest.get("pipeyard_bundle") != 1:
        raise BundleError(f"{bundle.path}: pipeyard-bundle.json is of another format "
                          f"({bundle.manifest.get('pipeyard_bundle')!r})",
                          fix="load it with the pipeyard version that created it")
