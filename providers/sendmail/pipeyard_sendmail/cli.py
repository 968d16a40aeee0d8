"""`send-mail`: the SonarQube report, a pipeline's status, or a plain notice, by SMTP."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeyard_kit import options, settings, trust, urls
from pipeyard_kit.console import run_main, setup_logging
from pipeyard_kit.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from pipeyard_sendmail import smtp

log = logging.getLogger("pipeyard.sendmail")

PROVIDER = "sendmail"
LIST_FLAGS = ("--email-to", "--email-cc")


class ListFriendlyCommand(click.Command):
    """Takes address lists that the shell split apart.

    The job script passes --email-to=$EMAIL_TO_LIST unquoted, so "a@x.com, b@y.com"
    arrives as two words; the second would otherwise be an unexpected argument.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        merged: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            merged.append(arg)
            if arg.split("=", 1)[0] in LIST_FLAGS:
                if "=" not in arg and i + 1 < len(args) and not args[i + 1].startswith("-"):
                    i += 1
                    merged[-1] = f"{arg}={args[i]}"
                while i + 1 < len(args) and "@" in args[i + 1] and not args[i + 1].startswith("-"):
                    i += 1
                    merged[-1] = f"{merged[-1]},{args[i]}"
            i += 1
        return super().parse_args(ctx, merged)


def resolve(command: str, overrides: dict[str, Any], *, preview: bool = False) -> settings.Settings:
    """This command's settings: `text` needs no Sonar URL (provider.yaml `commands:`), and a preview no
    SMTP relay. Every problem (type errors and missing values) is reported in one ConfigError."""
    return settings.load(PROVIDER, overrides=overrides, command=command,
                         exempt=frozenset({"SMTP_HOST"}) if preview else frozenset())


def mail_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """What every mail takes besides its settings: attachments, inline images, a preview."""
    own = [
        click.option("--attach", "attach", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Attach a file (repeatable)."),
        click.option("--inline", "inline", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Show an image inside the mail, e.g. a screenshot (repeatable)."),
        click.option("--preview", type=click.Path(file_okay=False, path_type=Path),
                     help="Write mail.html, mail.txt and mail.eml into this folder instead of sending."),
    ]
    for option in reversed(own):
        f = option(f)
    return f


def _ci_context() -> dict[str, str]:
    return {"pipeline_url": os.environ.get("CI_PIPELINE_URL", ""), "job_url": os.environ.get("CI_JOB_URL", "")}


@contextlib.contextmanager
def _ca_bundle(resolved: settings.Settings) -> Iterator[tuple[str | None, bool | str]]:
    value = resolved.get("CUSTOM_CA_CERTS")
    yield trust.custom_pem(value), (trust.bundle_file(value) or True)


def deliver(resolved: settings.Settings, subject: str, kind: str, context: dict[str, Any],
            attach: tuple[Path, ...], images: list[smtp.Inline], preview: Path | None, ca_pem: str | None,
            scrub: tuple[str, str] | None = None) -> None:
    from pipeyard_sendmail import smtp
    from pipeyard_sendmail.render import render

    context = {"subject": subject, "images": [{"cid": i.cid, "name": i.name} for i in images],
               "attachments": [p.name for p in attach], "ci": _ci_context(),
               "now": datetime.now(UTC), **context}
    rendered = render(kind, context, resolved.get("SENDMAIL_TEMPLATE_DIR"), scrub=scrub)
    mail = smtp.Mail(sender=resolved["EMAIL_FROM"], to=resolved["EMAIL_TO_LIST"], cc=resolved.get("EMAIL_CC_LIST") or [],
                     subject=subject, html=rendered.html, text=rendered.text, attachments=list(attach), inline=images)
    if preview:
        try:
            preview.mkdir(parents=True, exist_ok=True)
            (preview / "mail.html").write_text(rendered.html, encoding="utf-8")
            (preview / "mail.txt").write_text(rendered.text, encoding="utf-8")
            (preview / "mail.eml").write_bytes(smtp.serialize(mail))
        except OSError as exc:
            raise UsageError(f"--preview {preview}: cannot write the preview there ({exc.strerror})",
                             fix="give --preview a folder this job can write, e.g. mail-preview") from None
        click.echo(f"preview of '{subject}' written to {preview}/mail.html, mail.txt and mail.eml", err=True)
        return
    cfg = smtp.SmtpConfig(host=resolved["SMTP_HOST"], port=resolved["SMTP_PORT"], security=resolved["SMTP_SECURITY"],
                          user=resolved.get("SMTP_USER"), password=resolved.get("SMTP_PASSWORD"),
                          timeout=resolved["SMTP_TIMEOUT"], retries=resolved["SMTP_RETRIES"], ca_pem=ca_pem)
    smtp.send(mail, cfg)
    click.echo(f"sent '{subject}' to {', '.join(mail.recipients)}", err=True)


def _prepare(command: str, overrides: dict[str, Any], inline: tuple[Path, ...],
             preview: Path | None) -> tuple[settings.Settings, list[smtp.Inline]]:
    """Everything that can be checked without the network, checked first."""
    from pipeyard_sendmail import smtp

    resolved = resolve(command, overrides, preview=preview is not None)
    smtp.sender_address(resolved["EMAIL_FROM"])
    if resolved.get("SMTP_PASSWORD") and not resolved.get("SMTP_USER") and preview is None:
        # The relay would be used without a login, and the password silently ignored.
        raise ConfigError(f"{resolved.given_as('SMTP_PASSWORD')} is set but SMTP_USER is not",
                          fix="set SMTP_USER to the login the password belongs to, or unset SMTP_PASSWORD for a "
                              "relay without authentication")
    return resolved, smtp.inline_images(list(inline))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@options.common_options(PROVIDER, "send-mail")
def cli() -> None:
    """Mail a SonarQube report, a pipeline's status or a plain notice from a CI job.

    SMTP and sender come from SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USER,
    SMTP_PASSWORD (or SMTP_PASSWORD_FILE) and EMAIL_FROM.
    """


@cli.command(cls=ListFriendlyCommand)
@options.setting_options(PROVIDER, "sonar")
@mail_options
def sonar(attach: tuple[Path, ...], inline: tuple[Path, ...], preview: Path | None, **setting_flags: Any) -> None:
    """Mail the SonarQube report of a project: gate, measures, new issues and hotspots."""
    from pipeyard_kit.sonarqube.client import SonarClient
    from pipeyard_sendmail import report as report_mod

    resolved, images = _prepare("sonar", options.overrides(setting_flags), inline, preview)
    internal, external = resolved["SONAR_INTERNAL_ADDR"], resolved["SONAR_EXTERNAL_ADDR"]
    with _ca_bundle(resolved) as (pem, verify):
        client = SonarClient(internal, token=resolved.get("SONAR_TOKEN"), timeout=resolved["SONAR_TIMEOUT"],
                             verify=verify, url_setting="SONAR_INTERNAL_ADDR")
        report = report_mod.collect(client, resolved["PROJECT_NAME"], external, resolved["SENDMAIL_TOP_ISSUES"])
        log.info("collected the report of %s in %d SonarQube API calls", report.project_key, report.api_calls)
        if resolved["SENDMAIL_ONLY_ON_FAILURE"] and not report.failed:
            click.echo(f"quality gate of {report.project_key} is {report.gate_status}: no mail "
                       "(only on failure)", err=True)
            return
        deliver(resolved, report.subject(), "sonar", {"r": report, "verdict": report.verdict,
                                                     "preheader": report.summary()},
                attach, images, preview, pem, scrub=(internal, external))


@cli.command(cls=ListFriendlyCommand)
@options.setting_options(PROVIDER, "pipeline")
@mail_options
@click.option("--gitlab-url", help="GitLab base URL [CI_SERVER_URL].")
@click.option("--project-id", help="Project id or path [CI_PROJECT_ID].")
@click.option("--pipeline-id", type=int, help="Pipeline id [CI_PIPELINE_ID].")
def pipeline(attach: tuple[Path, ...], inline: tuple[Path, ...], preview: Path | None, gitlab_url: str | None,
             project_id: str | None, pipeline_id: int | None, **setting_flags: Any) -> None:
    """Mail the status of a GitLab pipeline (by default the current one)."""
    from pipeyard_sendmail import pipeline as pipeline_mod

    resolved, images = _prepare("pipeline", options.overrides(setting_flags), inline, preview)
    env = os.environ
    url = (gitlab_url or env.get("CI_SERVER_URL", "")).rstrip("/")
    url_setting = "--gitlab-url" if gitlab_url else "CI_SERVER_URL"
    why = urls.problem(url) if url else None
    if why:
        shown = "" if why == urls.CREDENTIALS else f" {urls.masked(url)!r}"
        fix = ("remove the user:password@ part; the token comes from GITLAB_TOKEN or GITLAB_TOKEN_FILE"
               if why == urls.CREDENTIALS else "use GitLab's base URL, e.g. https://gitlab.example.com")
        error = UsageError if gitlab_url else ConfigError
        raise error(f"{url_setting}{shown} is not an http(s) URL ({why})", fix=fix)
    project = project_id or env.get("CI_PROJECT_ID", "")
    pid = pipeline_id or (int(env["CI_PIPELINE_ID"]) if env.get("CI_PIPELINE_ID", "").isdigit() else None)
    problems = [msg for ok, msg in (
        (url, "the GitLab URL is not set: pass --gitlab-url or run in a job (CI_SERVER_URL)"),
        (project, "the project is not set: pass --project-id or run in a job (CI_PROJECT_ID)"),
        (pid, "the pipeline is not set: pass --pipeline-id or run in a job (CI_PIPELINE_ID)"),
        (resolved.get("GITLAB_TOKEN") or env.get("CI_JOB_TOKEN"),
         "GITLAB_TOKEN is not set: set GITLAB_TOKEN or GITLAB_TOKEN_FILE to a read_api token")) if not ok]
    if not resolved.get("GITLAB_TOKEN") and env.get("CI_JOB_TOKEN"):
        log.info("GITLAB_TOKEN is not set: reading the pipeline anonymously (a job token cannot), "
                 "which works for public projects only")
    if problems:
        raise ConfigError(problems)
    with _ca_bundle(resolved) as (pem, verify):
        current = env.get("CI_JOB_ID", "")
        report = pipeline_mod.collect(url, project, int(pid), token=resolved.get("GITLAB_TOKEN"),
                                      job_token=env.get("CI_JOB_TOKEN"), timeout=resolved["SONAR_TIMEOUT"],
                                      verify=verify, current_job=int(current) if current.isdigit() else None,
                                      env=dict(env), url_setting=url_setting)
        if resolved["SENDMAIL_ONLY_ON_FAILURE"] and not report.failed:
            click.echo(f"pipeline {report.pipeline_id} is {report.verdict.lower()}: no mail (only on failure)",
                       err=True)
            return
        deliver(resolved, report.subject(), "pipeline", {"p": report, "verdict": report.verdict,
                                                        "preheader": report.summary()},
                attach, images, preview, pem)


@cli.command(cls=ListFriendlyCommand)
@options.setting_options(PROVIDER, "text")
@mail_options
@click.option("--subject", required=True, help="The subject line.")
@click.option("--body", help="The message text; without it, --body-file or standard input is read.")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the message text from a file.")
@click.option("--link", help="A URL shown as a button under the text.")
@click.option("--link-text", default="Open", show_default=True, help="The button's label.")
def text(attach: tuple[Path, ...], inline: tuple[Path, ...], preview: Path | None, subject: str, body: str | None,
         body_file: Path | None, link: str | None, link_text: str, **setting_flags: Any) -> None:
    """Send a plain notice; the text is shown as written, paragraphs kept."""
    resolved, images = _prepare("text", options.overrides(setting_flags), inline, preview)
    if body is None and body_file:
        try:
            body = body_file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"--body-file {body_file} is not UTF-8 text (byte {exc.start})",
                             fix="save the message as UTF-8") from None
        except OSError as exc:
            raise UsageError(f"--body-file {body_file} cannot be read ({exc.strerror})",
                             fix="give a readable text file") from None
    elif body is None and not sys.stdin.isatty():
        body = sys.stdin.read()
    if not body or not body.strip():
        raise UsageError("the message is empty", fix="pass --body TEXT, --body-file FILE, or pipe the text in")
    paragraphs = [p.splitlines() for p in body.strip().split("\n\n") if p.strip()]
    with _ca_bundle(resolved) as (pem, _verify):
        deliver(resolved, subject, "text", {"title": subject, "label": "Notice", "body": body.strip(),
                                            "paragraphs": paragraphs, "link": link, "link_text": link_text,
                                            "verdict": "", "preheader": paragraphs[0][0][:120]},
                attach, images, preview, pem)


def main() -> None:
    setup_logging()
    run_main(cli, "send-mail")
