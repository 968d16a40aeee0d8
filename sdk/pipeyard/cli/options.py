"""Options and value types several commands share.

A value that can be judged on its own (a URL, a tag, a Debian release) is judged by click while it
parses the command line, so a typo is a usage error naming the flag (exit 2) before any server is
called, image built or credential asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pipeyard_kit import urls
from pipeyard_kit.refs import TAG

site_option = click.option("--site", "site_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                           help="Site file with the platform's defaults (default: $PIPEYARD_SITE or "
                                "pipeyard.site.yaml in the checkout).")


class HttpUrl(click.ParamType):
    """An http(s) URL without credentials (pipeyard_kit.urls: RFC 3986, checked whole)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        why = urls.problem(text)
        if why:
            self.fail(f"{urls.masked(text)!r} is not an http(s) URL pipeyard can use ({why}); "
                      f"give it as {urls.EXAMPLE}, credentials in their variables", param, ctx)
        return text


class Tag(click.ParamType):
    """An image tag: the OCI distribution spec's [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}."""

    name = "TAG"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not TAG.match(text):
            self.fail(f"{text!r} is not a valid image tag: up to 128 letters, digits, '_', '.' and '-', "
                      "not starting with '.' or '-'", param, ctx)
        return text


HTTP_URL = HttpUrl()
IMAGE_TAG = Tag()


class ImageReference(click.ParamType):
    """An image reference, HOST[:PORT]/PATH[:TAG][@DIGEST], as pipeyard_kit.registry reads one."""

    name = "REF"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from pipeyard_kit.errors import UsageError
        from pipeyard_kit.registry import Reference

        try:
            Reference.parse(str(value))
        except UsageError as exc:
            self.fail(exc.render(), param, ctx)
        return str(value)


IMAGE_REF = ImageReference()
