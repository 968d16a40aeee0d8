"""`pipeyard build`: every provider image through the engine API's build endpoint.

Per image, one per provider and variant: assemble a context (provider folder + wheels + site +
kit and provider wheels + the variant's verified downloads), build it from the variant's
Dockerfile with BASE_REGISTRY and the OCI labels, tag it localhost/pipeyard/<image>:<version>
(-<variant> for a provider with variants, and the plain tag too for the site's default variant)
plus any --tag, and report progress per layer. Every result lists the refs it tagged, per variant.
Only non-secret values ever enter a build: the build arguments are BASE_REGISTRY and
the commit's labels, nothing from the environment, and the site's defaults are
filtered to this provider's non-secret settings.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
import docker.utils.build
from rich.console import Console

from pipeyard.images import context as build_context
from pipeyard.images import downloads
from pipeyard.images.base import LOCAL_BASE_REGISTRY
from pipeyard.images.build_stream import StreamState, count_steps, parse_chunk
from pipeyard.images.containers import Engine
from pipeyard.images.containers.leftovers import remove_leftovers, working_containers
from pipeyard.images.progress import BuildBoard, ImageProgress
from pipeyard.images.python_deps import pins_for, wheelhouse
from pipeyard.images.source_info import SourceInfo, source_info
from pipeyard.images.wheels import WheelSource, build_wheel
from pipeyard.model.provider import Provider, Variant
from pipeyard.model.site import Site
from pipeyard_kit import __version__
from pipeyard_kit.errors import BuildError, UsageError

DEFAULT_PREFIX = "localhost/pipeyard"
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


@dataclass(frozen=True)
class BuildRequest:
    root: Path
    providers: list[Provider]
    site: Site
    tags: tuple[str, ...] = ()
    no_cache: bool = False
    prefix: str = DEFAULT_PREFIX
    target: str | None = None
    # A kit wheel built earlier, to rebuild exactly the same inputs (benchmarks, tests).
    wheel: Path | None = None
    # --variant names (jdk17 or, for one provider, 17) and --all-variants; neither: the site's defaults.
    variants: tuple[str, ...] = ()
    all_variants: bool = False

    def ref(self, provider: Provider, tag: str = __version__, variant: Variant | None = None) -> str:
        suffix = variant.suffix if variant is not None else ""
        return f"{self.prefix}/{self.site.image_of(provider)}:{tag}{suffix}"

    def images(self) -> list[tuple[Provider, Variant]]:
        return select_variants(self.providers, self.site, self.variants, self.all_variants)

    def tags_of(self, provider: Provider, variant: Variant) -> list[str]:
        """Every ref one image gets: version and --tag values with the variant's suffix, and plain for the
        site's default variant (maven:1.0.0-jdk21 and maven:1.0.0)."""
        plain = not variant.name or variant == self.site.default_variant(provider)
        refs = []
        for tag in (__version__, *self.tags):
            refs.append(self.ref(provider, tag, variant))
            if variant.name and plain:
                refs.append(self.ref(provider, tag))
        return list(dict.fromkeys(refs))


def select_variants(providers: list[Provider], site: Site, names: tuple[str, ...] = (),
                    all_variants: bool = False) -> list[tuple[Provider, Variant]]:
    """Which images to build: every variant the site builds (--all-variants); the named ones instead of
    their provider's default (--variant, repeatable); else each provider's site default."""
    if names and all_variants:
        raise UsageError("--variant and --all-variants exclude each other", fix="pass one of them")
    chosen: dict[str, list[Variant]] = {}
    for name in names:
        owners = [p for p in providers if any(name in (v.name, v.value) and v.name for v in p.variants)]
        if not owners:
            known = ", ".join(v.name for p in providers for v in p.variants if v.name) or "none"
            raise UsageError(f"--variant {name}: no variant of the providers built here is called so",
                             fix=f"use one of: {known}")
        if len(owners) > 1:
            raise UsageError(f"--variant {name} names a variant of {', '.join(p.name for p in owners)}",
                             fix="use the variant's full name (jdk17, node22), or build one provider")
        variant = owners[0].variant(name)
        if variant not in site.variants_of(owners[0]):
            raise UsageError(f"--variant {variant.name}: the site file leaves it out of variants.{owners[0].name}.only",
                             fix="add it there, or build another variant")
        chosen.setdefault(owners[0].name, []).append(variant)
    images = []
    for provider in providers:
        if all_variants:
            selected = site.variants_of(provider)
        else:
            selected = chosen.get(provider.name) or [site.default_variant(provider)]
        images += [(provider, v) for v in dict.fromkeys(selected)]
    return images


@dataclass
class BuildResult:
    """One image: a provider's variant ("" without variants), the ref it is known by, and every ref it was
    tagged with (the per-image hook of SBOMs and signatures takes these)."""

    provider: str
    ref: str
    image_id: str
    tags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    cached_steps: int = 0
    wheel: Path | None = None
    variant: str = ""


def base_release(provider: Provider) -> str:
    return provider.base.split(":", 1)[1]


def check_tags(tags: tuple[str, ...]) -> None:
    for tag in tags:
        if not TAG.match(tag):
            raise UsageError(f"--tag {tag!r} is not a valid image tag",
                             fix="use letters, digits, '_', '.' and '-' (at most 128, not starting with . or -)")


def _image_id(eng: Engine, ref: str) -> str | None:
    try:
        return eng.client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None


def build_args(request: BuildRequest, source: SourceInfo) -> dict[str, str]:
    """Every build argument there is: the base registry and the commit's OCI labels, nothing secret."""
    return {
        "BASE_REGISTRY": request.site.base_registry or LOCAL_BASE_REGISTRY,
        "PIPEYARD_SOURCE": source.source,
        "PIPEYARD_REVISION": source.revision,
        "PIPEYARD_VERSION": source.version,
        "PIPEYARD_CREATED": source.created,
    }


def run_build(eng: Engine, ctx: Path, ref: str, args: dict[str, str], progress: ImageProgress, *,
              target: str | None = None, no_cache: bool = False) -> StreamState:
    """Stream one build through the engine API; errors land in the returned state, never raise."""
    state = StreamState()
    total = count_steps(ctx / "Dockerfile")
    kwargs = {}
    if eng.is_podman:
        # No bridge network on these hosts (containers.conf netns = host); Docker keeps its default.
        kwargs["network_mode"] = "host"
    try:
        if eng.is_podman and _libpod_params():
            stream = _libpod_build(eng, ctx, ref, args, target=target, no_cache=no_cache)
        else:
            stream = eng.client.api.build(
                path=str(ctx), tag=ref, decode=True, rm=True, forcerm=True, nocache=no_cache, pull=False,
                buildargs=args, target=target,
                # docker-py would otherwise copy proxy settings (and any credentials in them) into build args.
                use_config_proxy=False, **kwargs,
            )
        for chunk in stream:
            for kind, value in parse_chunk(chunk, state):
                if kind == "step":
                    progress.step(state.step, max(total, state.step), str(value))
                elif kind == "cached":
                    progress.cached()
                elif kind in ("line", "error"):
                    progress.output(str(value))
    except docker.errors.APIError as exc:
        state.error = str(exc.explanation or exc)
    except docker.errors.DockerException as exc:
        state.error = f"{type(exc).__name__}: {exc}"
    return state


def _libpod_params() -> dict[str, str]:
    """BUILDAH_ISOLATION / BUILDAH_LAYERS, as an unprivileged Kubernetes pod needs them.

    Podman's Docker-compatible build endpoint ignores both (it always isolates RUN
    steps with runc, which such a pod forbids), so they go to its native endpoint.
    """
    params = {}
    if os.environ.get("BUILDAH_ISOLATION"):
        params["isolation"] = os.environ["BUILDAH_ISOLATION"]
    if os.environ.get("BUILDAH_LAYERS"):
        params["layers"] = "0" if os.environ["BUILDAH_LAYERS"].lower() in ("0", "false", "no") else "1"
    return params


def _libpod_build(eng: Engine, ctx: Path, ref: str, args: dict[str, str], *, target: str | None,
                  no_cache: bool) -> Iterator[dict]:
    """The same build through Podman's /libpod/build, on the docker SDK's session; same stream format."""
    api = eng.client.api
    params = {"t": ref, "rm": "1", "forcerm": "1", "nocache": "1" if no_cache else "0", "pull": "0",
              "networkmode": "host", "buildargs": json.dumps(args), **_libpod_params()}
    if target:
        params["target"] = target
    response = api._post(api._url("/libpod/build"), params=params, data=docker.utils.build.tar(str(ctx), gzip=False),
                         headers={"Content-Type": "application/x-tar"}, stream=True, timeout=None)
    api._raise_for_status(response)
    return api._stream_helper(response, decode=True)


def build_failure(dockerfile: str, ref: str, state: StreamState, progress: ImageProgress,
                  console: Console) -> BuildError:
    console.print(f"[red]{progress.name}: build failed[/]; its last lines:")
    for line in progress.tail:
        console.print(f"  {line}", markup=False, soft_wrap=True)
    first_line = (state.error or "no image was produced").splitlines()[0]
    return BuildError(f"building {ref} failed at {state.where}: {first_line[:400]}",
                      fix=f"fix {dockerfile} or its inputs; rerun with --verbose for the full log")


def _require_base(eng: Engine, request: BuildRequest, provider: Provider) -> None:
    """The local base has no registry to come from: say how to make it instead of a pull error."""
    base_registry = request.site.base_registry or LOCAL_BASE_REGISTRY
    if base_registry != LOCAL_BASE_REGISTRY:
        return
    release = base_release(provider)
    if _image_id(eng, f"{LOCAL_BASE_REGISTRY}/debian:{release}") is None:
        raise BuildError(f"{provider.name} builds FROM {LOCAL_BASE_REGISTRY}/debian:{release}, which the engine "
                         f"at {eng.url} does not have",
                         fix=f"run `pipeyard base bootstrap --release {release}`, or set base_registry in the "
                             f"site file to a registry that serves debian:{release}")


def build_images(eng: Engine, request: BuildRequest, *, console: Console, verbose: bool = False) -> list[BuildResult]:
    check_tags(request.tags)
    images = request.images()
    for provider in request.providers:
        _require_base(eng, request, provider)
    cache = eng.config.root / "cache"
    eng.config.tmp_dir.mkdir(parents=True, exist_ok=True)
    source = source_info(request.root, fallback_source=f"https://{request.site.component_project}")
    arch = str(eng.client.version().get("Arch", "amd64"))
    results = []
    with tempfile.TemporaryDirectory(prefix="pipeyard-build-", dir=eng.config.tmp_dir) as tmp:
        wheel = request.wheel or build_wheel(WheelSource.kit(request.root), cache / "pipeyard-wheel",
                                             epoch=source.epoch)
        with BuildBoard(console, verbose=verbose) as board:
            prepared: dict[str, tuple[Path, Path]] = {}
            for provider, variant in images:
                if provider.name not in prepared:
                    wheels = Path(tmp) / f"{provider.name}-wheels"
                    wheelhouse(pins_for(request.root, provider), wheels, cache / "wheels", release=base_release(provider),
                               arch=arch)
                    own = build_wheel(WheelSource.provider(provider), cache / "pipeyard-wheel", epoch=source.epoch)
                    prepared[provider.name] = (wheels, own)
                wheels, own = prepared[provider.name]
                name = f"{provider.name}{variant.suffix}"
                progress = board.image(name)
                ctx = build_context.assemble(provider, Path(tmp) / name, site=request.site, own_wheels=[wheel, own],
                                             wheels=wheels, epoch=source.epoch, dockerfile=variant.dockerfile,
                                             stage_downloads=lambda dest, p=provider, v=variant: downloads.stage(
                                                 p, v, dest, arch=arch,
                                                 registry=downloads.npm_registry(request.site.npm_registry)))
                ref = request.ref(provider, variant=variant)
                previous = _image_id(eng, ref)
                before = working_containers(eng)
                state = run_build(eng, ctx, ref, build_args(request, source), progress, target=request.target,
                                  no_cache=request.no_cache)
                image_id = _image_id(eng, ref) if state.error is None else None
                if state.error is not None or image_id is None:
                    remove_leftovers(eng, before, state.owns)
                    raise build_failure(f"providers/{provider.name}/{variant.dockerfile}", ref, state, progress,
                                        console)
                tags = request.tags_of(provider, variant)
                for extra in tags[1:]:
                    repo, tag = extra.rsplit(":", 1)
                    eng.client.images.get(image_id).tag(repo, tag)
                if previous and previous != image_id:
                    _drop_replaced(eng, previous)
                progress.finish(f"{ref} {image_id.removeprefix('sha256:')[:12]}")
                results.append(BuildResult(provider.name, ref, image_id, tags,
                                           seconds=time.monotonic() - progress.started, steps=state.step,
                                           cached_steps=progress.cached_steps, wheel=wheel, variant=variant.name))
    return results


def _drop_replaced(eng: Engine, image_id: str) -> None:
    """Forget the image this build replaced, unless something else still uses it: another tag (a
    release, a comparison) or a container. Podman's API removes a tagged image by id, tags and all."""
    try:
        if eng.client.images.get(image_id).tags:
            return
        eng.client.images.remove(image_id, noprune=True)
    except docker.errors.APIError:
        pass
