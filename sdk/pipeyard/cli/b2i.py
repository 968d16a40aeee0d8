"""`pipeyard b2i`: the B2I Java base image, app images built from a jar, and their clean-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pipeyard_kit.console import debug_option

SWITCH = click.Choice(["on", "off"])
CREDENTIALS_HELP = ("Registry credentials come from PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD "
                    "(or PIPEYARD_REGISTRY_PASSWORD_FILE); with --harbor, from HARBOR_USERNAME and HARBOR_PASSWORD.")


def _spec(config: Path | None):
    from pipeyard.b2i import spec as spec_mod
    from pipeyard.model.provider import repo_root

    return spec_mod.load(config or spec_mod.default_path(repo_root()))


config_option = click.option("--config", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                             help="The b2i.yaml to use [default: b2i/b2i.yaml in the checkout]; its folder is "
                                  "the build context.")


@click.group()
def b2i() -> None:
    """B2I: hand over a jar, get a running image with Arthas, SkyWalking, the JMX exporter and report fonts."""


@b2i.command("base")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Variant from b2i.yaml, repeatable [default: the default variant].")
@click.option("--all", "all_variants", is_flag=True, help="Build every variant.")
@click.option("--mirror", metavar="URL", help="Where the agents are downloaded from [default: $B2I_MIRROR_URL, "
                                              "else b2i.yaml's mirror].")
@click.option("--base-registry", metavar="HOST/PROJECT",
              help="Where debian:<release> comes from, e.g. Harbor's proxy cache [default: localhost/pipeyard, "
                   "bootstrapped with debootstrap when missing].")
@click.option("--push", is_flag=True, help="Push PROJECT/b2i-java:<variant> to --registry after the build.")
@click.option("--registry", metavar="HOST[:PORT]/PROJECT",
              help="Where --push goes [default: the embedded registry 127.0.0.1:5000/pipeyard].")
@click.option("--licensed-fonts", "fonts", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Add the company's licensed fonts from DIR: builds the private `-licensed` image.")
@click.option("--verbose", "-v", is_flag=True, help="Print the build output of every step.")
@config_option
@debug_option
def base_cmd(variants: tuple[str, ...], all_variants: bool, mirror: str | None, base_registry: str | None,
             push: bool, registry: str | None, fonts: Path | None, verbose: bool, config: Path | None) -> None:
    """Build the B2I base image: JDK, fonts, tzdata and the sha256-verified agents."""
    from pipeyard.b2i.base import build_base
    from pipeyard.images.base import bootstrap
    from pipeyard.images.containers import engine
    from pipeyard.images.progress import BuildBoard, stderr_console
    from pipeyard.model.provider import repo_root
    from pipeyard_kit.errors import UsageError

    spec = _spec(config)
    chosen = [spec.variant(v) for v in (sorted(spec.variants) if all_variants else variants or [None])]
    if push and fonts:
        raise UsageError("--push with --licensed-fonts would publish the company's licensed fonts",
                         fix="push the -licensed image to the private project yourself, or drop --push")
    target = client = None
    if push:
        target, client = _registry(registry)
    console = stderr_console()
    with engine() as eng:
        for variant in chosen:
            if base_registry is None:
                # The Debian base is cached: a no-op when it is already there.
                bootstrap(eng, variant.release, console=console)
            with BuildBoard(console, verbose=verbose) as board:
                result = build_base(eng, spec, variant, board=board, root=repo_root(), mirror=mirror,
                                    base_registry=base_registry or "localhost/pipeyard", fonts_folder=fonts)
            from pipeyard.supply.sbom import record, summary

            path, _ = record(eng.client, result.ref)
            console.print(f"b2i-java:{variant.name}: SBOM {summary(path.read_bytes())} -> {path}", markup=False)
            if push:
                from pipeyard.publish import images as pub
                from pipeyard.publish.archive import LayerCache

                name = spec.image.rsplit("/", 1)[-1]
                from pipeyard.supply import attach

                def with_sbom(image: Any, local: Any, published: Any) -> str:
                    return attach.attach(client, target.repository(image.name), published.digest,  # type: ignore[union-attr]
                                         path.read_bytes(), None).describe()

                pub.publish_images(eng.client, [pub.LocalImage(name, result.ref)], target, client, [variant.name],
                                   cache=LayerCache(), echo=lambda m: console.print(m, markup=False), after=with_sbom)
            click.echo(result.ref)


@b2i.command("build", epilog=CREDENTIALS_HELP)
@click.option("--jar", "jar", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The app's jar.")
@click.option("--name", "name", required=True, help="The app's name: names the image and the SkyWalking service.")
@click.option("--tracing", type=SWITCH, default="off", show_default=True, help="SkyWalking tracing.")
@click.option("--metrics", type=SWITCH, default="on", show_default=True, help="The JMX exporter on port 9404.")
@click.option("--variant", metavar="NAME", help="Base variant from b2i.yaml [default: its default variant].")
@click.option("--base", "base", metavar="REF",
              help="A published base image to build FROM, e.g. harbor.example.com/pipeyard/b2i-java:21-trixie "
                   "[default: the local build of --variant].")
@click.option("--tz", metavar="ZONE", help="The app's time zone, e.g. Asia/Shanghai [default: UTC].")
@click.option("--port", type=int, metavar="PORT", help="The port the app serves on [default: 8080].")
@click.option("--push", is_flag=True, help="Push the image (content tag and latest) to --registry.")
@click.option("--registry", metavar="HOST[:PORT]/PROJECT",
              help="Where --push goes [default: the embedded registry 127.0.0.1:5000/pipeyard, started if needed].")
@click.option("--tag", "extra_tags", multiple=True, metavar="TAG", help="Extra tag to push (repeatable).")
@click.option("--verbose", "-v", is_flag=True, help="Print the build output of every step.")
@config_option
@debug_option
def build_cmd(jar: Path, name: str, tracing: str, metrics: str, variant: str | None, base: str | None,
              tz: str | None,
              port: int | None, push: bool, registry: str | None, extra_tags: tuple[str, ...], verbose: bool,
              config: Path | None) -> None:
    """Build an app image FROM the B2I base; the same jar again is a no-op."""
    from pipeyard.b2i.app import AppRequest, build_app, validate
    from pipeyard.images.containers import engine
    from pipeyard.images.progress import BuildBoard, stderr_console

    spec = _spec(config)
    request = AppRequest(jar=jar, name=name, tracing=tracing, metrics=metrics, variant=variant, tz=tz, port=port)
    validate(request)  # every mistake reported before the engine starts
    spec.variant(variant)
    target = client = None
    if push:
        target, client = _registry(registry)
    console = stderr_console()
    with engine() as eng:
        with BuildBoard(console, verbose=verbose) as board:
            result = build_app(eng, spec, request, board=board, base=base)
        if not result.built:
            console.print(f"{result.ref} is already built from this jar ({result.labels['io.pipeyard.b2i.jar-sha256'][:12]}) "
                          f"with these switches: nothing to build")
        if push:
            from pipeyard.publish import images as pub
            from pipeyard.publish.archive import LayerCache

            tags = [result.tag, *extra_tags, "latest"]
            pub.publish_images(eng.client, [pub.LocalImage(f"b2i/{name}", result.ref)], target, client, tags,
                               cache=LayerCache(), echo=lambda m: console.print(m, markup=False))
    click.echo(result.ref)


def _registry(registry: str | None):
    from pipeyard.publish import images as pub
    from pipeyard_kit.registry import RegistryClient, Target
    from pipeyard_kit.registry.credentials import env_hint, from_env

    target = Target.parse(registry or pub.EMBEDDED)
    if registry is None:
        pub.start_embedded(target, echo=lambda m: click.echo(m, err=True))
    client = RegistryClient(target.host, scheme=target.scheme, credentials=from_env("PIPEYARD_REGISTRY"),
                            credential_hint=env_hint("PIPEYARD_REGISTRY"))
    client.ping()
    return target, client


@b2i.command("prune", epilog=CREDENTIALS_HELP)
@click.option("--keep", type=int, default=5, show_default=True, help="How many of each app's newest images stay.")
@click.option("--running", "running", multiple=True, metavar="TAG",
              help="A tag that runs somewhere and must stay whatever its age (repeatable); latest always stays.")
@click.option("--app", metavar="NAME", help="Only this app [default: every app under PROJECT/b2i/].")
@click.option("--registry", metavar="HOST[:PORT]/PROJECT",
              help="The registry [default: the embedded one, 127.0.0.1:5000/pipeyard].")
@click.option("--harbor", "harbor_url", metavar="URL", envvar="HARBOR_URL",
              help="Harbor: set retention rules for PROJECT's b2i/** repositories; Harbor deletes on its schedule.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@debug_option
def prune_cmd(keep: int, running: tuple[str, ...], app: str | None, registry: str | None, harbor_url: str | None,
              dry_run: bool) -> None:
    """Keep the last N images per app, never a running tag."""
    from pipeyard.b2i import prune
    from pipeyard_kit.errors import UsageError

    if keep < 1:
        raise UsageError(f"--keep {keep} would delete every image", fix="keep at least 1")
    if harbor_url:
        from pipeyard.publish.harbor import HarborClient, validate_project_name
        from pipeyard_kit.registry import Target
        from pipeyard_kit.registry.credentials import from_env

        if dry_run:
            raise UsageError("--dry-run does not apply to --harbor", fix="Harbor's retention page has its own dry run")
        project = Target.split(registry)[2].split("/")[0] if registry else "pipeyard"
        validate_project_name(project)
        harbor = HarborClient(harbor_url if "://" in harbor_url else f"https://{harbor_url}",
                              from_env("HARBOR", required=True))  # type: ignore[arg-type]
        click.echo(prune.prune_harbor(harbor, project, keep=keep, running=set(running)))
        return
    target, client = _registry(registry)
    plans = prune.prune_registry(client, target, keep=keep, running=set(running), app=app, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for p in plans:
        gone = ", ".join(t.tag for t in p.delete) or "nothing"
        click.echo(f"{p.repository}: kept {', '.join(t.tag for t in p.keep) or 'nothing'}; {verb} {gone}")
    if not plans:
        click.echo(f"no app images under {target}/{prune.APPS}/")
    elif not dry_run and any(p.delete for p in plans):
        click.echo("the registry frees the space at its next garbage collection")
