"""`pipeyard bundle create|verify|load`: the whole platform in one file, for an offline site."""

from __future__ import annotations

from pathlib import Path

import click

from pipeyard.cli.options import HTTP_URL, site_option
from pipeyard.cli.publish import CREDENTIALS_HELP
from pipeyard_kit import __version__
from pipeyard_kit.console import debug_option


@click.group()
def bundle() -> None:
    """The air-gap kit: images (by digest, with SBOMs and signatures), templates, chart skeleton and B2I agents."""


@bundle.command("create")
@click.argument("providers", nargs=-1)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help=f"The bundle [default: pipeyard-{__version__}.tar].")
@click.option("--version", "version", default=__version__, show_default=True,
              help="Version of the images; the local images are localhost/pipeyard/NAME:VERSION.")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="B2I base variants to include (repeatable) [default: every variant in the local store].")
@click.option("--no-b2i", is_flag=True, help="Leave out the B2I base images and their agents.")
@click.option("--no-agents", is_flag=True, help="Leave out the B2I agents.")
@click.option("--mirror", envvar="B2I_MIRROR_URL", type=HTTP_URL,
              help="The agent mirror [default: $B2I_MIRROR_URL, else b2i.yaml's mirror].")
@click.option("--sign", is_flag=True, help="Sign every image (cosign format) and attest its SBOM, with "
                                           "PIPEYARD_SIGNING_KEY (or _FILE) or --key.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="With --sign: the signing key (PEM ECDSA P-256 PKCS#8, or cosign.key with COSIGN_PASSWORD).")
@site_option
@debug_option
def create(providers: tuple[str, ...], output: Path | None, version: str, variants: tuple[str, ...], no_b2i: bool,
           no_agents: bool, mirror: str | None, sign: bool, key_path: Path | None, site_file: Path | None) -> None:
    """Write one OCI image layout tar with PROVIDERS' images (all by default) and everything an offline site needs."""
    from pipeyard.b2i.spec import default_path
    from pipeyard.b2i.spec import load as load_spec
    from pipeyard.cli.publish import docker_client
    from pipeyard.model.provider import load_providers, repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.publish import images as pub
    from pipeyard.supply.bundle import templates
    from pipeyard.supply.bundle.create import BundleImage, BundleRequest
    from pipeyard.supply.bundle.create import create as make
    from pipeyard.supply.keys import load_signing_key
    from pipeyard_kit.errors import UsageError

    root = repo_root()
    selected = load_providers(root, list(providers) or None)
    if key_path is not None and not sign:
        raise UsageError("--key is the signing key of --sign", fix="add --sign, or drop --key")
    if no_b2i and variants:
        raise UsageError("--variant picks B2I variants, and --no-b2i leaves them all out", fix="drop one of them")
    key = load_signing_key(key_path) if sign else None
    site = load_site(site_file or find_site(root))
    tags = tuple(pub.plan_tags(version, sha=None, latest=False))
    spec = None if no_b2i else load_spec(default_path(root))
    template_dir = root / "pipeline-templates"
    found = [v for c in (template_dir / "templates").glob("*.yml") for v in templates.registry_values(c.read_text())]
    registry = found[0] if found else site.registry
    output = output or Path(f"pipeyard-{version}.tar")
    chart = Path(__file__).resolve().parents[1] / "charts" / "skeleton" / "chart"

    with docker_client() as store:
        # Each provider's default variant (required) under its variant and plain tags, as publish tags it,
        # so the templates' <version>-jdk<jdk> resolves after a load; its other variants when built here.
        images = []
        for p in selected:
            for v in p.variants:
                ref = pub.local_ref(p.image_name, version, v.name)
                if v.default or _exists(store, ref):
                    images.append(BundleImage(p.image_name, ref, tuple(pub.variant_tags(list(tags), v.name,
                                                                                       plain=v.default))))
        if spec is not None:
            chosen = [spec.variant(v) for v in variants] if variants else list(spec.variants.values())
            for variant in chosen:
                ref = spec.local_ref(variant)
                if not _exists(store, ref):
                    if variants:
                        raise UsageError(f"--variant {variant.name}: {ref} is not in the local store",
                                         fix=f"build it first: pipeyard b2i base --variant {variant.name}")
                    continue
                images.append(BundleImage(spec.image.rsplit("/", 1)[-1], ref, (variant.name,), "b2i-base"))
        agents = [] if spec is None or no_agents else [(a, spec.with_mirror(mirror)) for _, a in sorted(spec.agents.items())]
        request = BundleRequest(output=output, images=images, registry=registry,
                                component_project=site.component_project, templates=template_dir, chart=chart,
                                agents=agents, key=key, version=version)
        made = make(store, request, echo=click.echo)
    click.echo(f"{made.path}: {made.images} images, {made.parts} parts, {made.size / 1e6:.1f} MB "
               f"(the images alone weigh {made.images_size / 1e6:.1f} MB; {made.shared} shared blobs stored once)"
               f"{'; signed' if made.signed else '; not signed (add --sign)'}")


def _exists(store: object, ref: str) -> bool:
    import docker.errors

    try:
        store.images.get(ref)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        return False
    return True


@bundle.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PUBLIC.pem",
              help="Also check every image's signature and SBOM attestation against this public key.")
@debug_option
def verify(file: Path, key_path: Path | None) -> None:
    """Check every part's sha256 (and with --key every signature) of a bundle."""
    from pipeyard.supply.bundle import trust
    from pipeyard.supply.bundle.archive import Bundle
    from pipeyard.supply.bundle.load import check_format
    from pipeyard.supply.keys import load_public_key

    public = load_public_key(key_path) if key_path else None
    b = Bundle.open(file)
    check_format(b)
    checked = b.verify()
    click.echo(f"{file}: {len(b.parts)} parts match their sha256 ({checked / 1e6:.1f} MB); "
               f"{len(b.manifest.get('images') or [])} images of pipeyard {b.manifest.get('version')}")
    if public is not None:
        for line in trust.check(b, public):
            click.echo(line)


@bundle.command("load", epilog=CREDENTIALS_HELP)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--registry", required=True, metavar="HOST[:PORT]/PROJECT",
              help="The site's registry project the images go to; the templates' registry default becomes it.")
@click.option("--harbor", "harbor_url", type=HTTP_URL,
              help="Set the Harbor project up first (project, robots, retention, immutable tags, the site's "
                   "scan, vulnerability, signature and SBOM settings).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Where the templates, the chart skeleton and the agents are written [default: pipeyard-VERSION].")
@click.option("--robot-secrets", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="With --harbor: write new robot secrets here (mode 0600) [default: ~/.config/pipeyard/harbor/HOST].")
@click.option("--no-gc", is_flag=True, help="With --harbor: leave the GC schedule alone.")
@site_option
@debug_option
def load(file: Path, registry: str, harbor_url: str | None, out: Path | None, robot_secrets: Path | None,
         no_gc: bool, site_file: Path | None) -> None:
    """Push everything in the bundle to the offline site's registry, then write its templates and files."""
    from pipeyard.cli.publish import _secrets_dir
    from pipeyard.model.provider import repo_root
    from pipeyard.model.site import find_site, load_site
    from pipeyard.publish.harbor import HarborClient, SecretSink, provision, validate_project_name
    from pipeyard.publish.harbor.security import SecurityPolicy
    from pipeyard.supply.bundle.archive import Bundle
    from pipeyard.supply.bundle.load import check_format, needs
    from pipeyard.supply.bundle.load import load as push
    from pipeyard_kit.errors import UsageError
    from pipeyard_kit.registry import RegistryClient, Target
    from pipeyard_kit.registry.credentials import env_hint, from_env

    target = Target.parse(registry)
    if (robot_secrets or no_gc) and not harbor_url:
        raise UsageError("--robot-secrets and --no-gc need --harbor", fix="add --harbor URL")
    b = Bundle.open(file)
    check_format(b)
    out = out or Path(f"pipeyard-{b.manifest.get('version')}")
    if harbor_url:
        validate_project_name(target.project)
        try:
            root = repo_root()
        except UsageError:  # an offline site may run pipeyard outside a checkout
            root = None
        site = load_site(site_file or (find_site(root) if root else None))
        policy = SecurityPolicy.from_site(site.harbor, str(site.path or "the embedded site"))
        if policy.require_signatures and not b.manifest.get("signed"):
            raise UsageError(f"{file} is not signed, and harbor.require_signatures makes Harbor refuse unsigned "
                             "images", fix="create the bundle with --sign, or set harbor.require_signatures: false")
        harbor = HarborClient(harbor_url, from_env("HARBOR", required=True))  # type: ignore[arg-type]
        sink = SecretSink(robot_secrets or _secrets_dir(harbor.host))
        for line in provision(harbor, target.project, sink, gc=not no_gc, security=policy).lines():
            click.echo(line)
        credentials, hint = from_env("HARBOR"), env_hint("HARBOR")
    else:
        credentials, hint = from_env("PIPEYARD_REGISTRY"), env_hint("PIPEYARD_REGISTRY")
    client = RegistryClient(target.host, scheme=target.scheme, credentials=credentials, credential_hint=hint)
    client.ping()
    loaded = push(b, target, client, out, echo=click.echo)
    s = loaded.stats
    if s.uploaded == 0 and s.mounted == 0 and s.manifests == 0:
        click.echo(f"nothing uploaded: {target} already has all {len(loaded.images)} images, their SBOMs and "
                   "signatures")
    else:
        click.echo(f"loaded {len(loaded.images)} images into {target}: {s.uploaded} blobs uploaded "
                   f"({s.uploaded_bytes / 1e6:.1f} MB), {s.skipped} already there, {s.mounted} mounted")
    click.echo(f"templates written to {out / 'pipeline-templates'}, their registry default now {target}")
    for line in needs(b, target, loaded):
        click.echo(line)
