"""`send-mail`: the SonarQube report, a pipeline's status, or a plain notice, by SMTP."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__, settings
from ..cli.config_option import show_config_option
from ..cli.errors import debug_option, run_main, setup_logging
from ..errors import ConfigError, UsageError
from ..sonar import tls

if TYPE_CHECKING:
    from . import smtp

log = logging.getLogger("pipeyard.sendmail")

MAIL_NEEDS = ("EMAIL_TO_LIST", "EMAIL_FROM", "SMTP_HOST")
SONAR_NEEDS = (*MAIL_NEEDS, "PROJECT_NAME", "SONAR_INTERNAL_ADDR", "SONAR_EXTERNAL_ADDR")
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


def resolve(needs: tuple[str, ...], overrides: dict[str, Any]) -> settings.Settings:
    """Settings with only this command's requirements: `text` needs no Sonar URL.

    Every problem (type errors and missing values) is reported in one ConfigError.
    """
    try:
        return _check_needs(settings.load("sendmail", overrides=overrides), needs)
    except ConfigError as exc:
        keep = [p for p in exc.problems
                if " is not set" not in p or p.split(" is not set", 1)[0] in needs]
        if keep:
            raise ConfigError(keep) from None
    return _check_needs(settings.load("sendmail", overrides=overrides, require=False), needs)


def _check_needs(resolved: settings.Settings, needs: tuple[str, ...]) -> settings.Settings:
    missing = [n for n in needs if resolved.get(n) in (None, "", [])]
    if missing:
        raise ConfigError([f"{n} is not set: set {n} in the job's variables or the project's CI/CD variables"
                           for n in missing])
    return resolved


def mail_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--email-to", help="Recipients, separated by , or ; [EMAIL_TO_LIST]."),
        click.option("--email-cc", help="Copy recipients [EMAIL_CC_LIST]. Empty counts as unset."),
        click.option("--attach", "attach", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Attach a file (repeatable)."),
        click.option("--inline", "inline", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Show an image inside the mail, e.g. a screenshot (repeatable)."),
        click.option("--template-dir", help="Folder with templates that replace the built-in ones "
                                            "[SENDMAIL_TEMPLATE_DIR]."),
        click.option("--preview", type=click.Path(file_okay=False, path_type=Path),
                     help="Write mail.html, mail.txt and mail.eml into this folder instead of sending."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _ci_context() -> dict[str, str]:
    return {"pipeline_url": os.environ.get("CI_PIPELINE_URL", ""), "job_url": os.environ.get("CI_JOB_URL", "")}


@contextlib.contextmanager
def _ca_bundle(resolved: settings.Settings) -> Iterator[tuple[str | None, bool | str]]:
    pem = tls.custom_pem(resolved.get("CUSTOM_CA_CERTS"))
    with tempfile.TemporaryDirectory(prefix="pipeyard-") as folder:
        yield pem, (tls.bundle_file(pem, Path(folder)) or True)


def deliver(resolved: settings.Settings, subject: str, kind: str, context: dict[str, Any],
            attach: tuple[Path, ...], images: list[smtp.Inline], preview: Path | None, ca_pem: str | None,
            scrub: tuple[str, str] | None = None) -> None:
    from . import smtp
    from .render import render

    context = {"subject": subject, "images": [{"cid": i.cid, "name": i.name} for i in images],
               "attachments": [p.name for p in attach], "ci": _ci_context(),
               "now": datetime.now(UTC), **context}
    rendered = render(kind, context, resolved.get("SENDMAIL_TEMPLATE_DIR"), scrub=scrub)
    mail = smtp.Mail(sender=resolved["EMAIL_FROM"], to=resolved["EMAIL_TO_LIST"], cc=resolved.get("EMAIL_CC_LIST") or [],
                     subject=subject, html=rendered.html, text=rendered.text, attachments=list(attach), inline=images)
    if preview:
        preview.mkdir(parents=True, exist_ok=True)
        (preview / "mail.html").write_text(rendered.html, encoding="utf-8")
        (preview / "mail.txt").write_text(rendered.text, encoding="utf-8")
        (preview / "mail.eml").write_text(smtp.build_message(mail).as_string(), encoding="utf-8")
        click.echo(f"preview of '{subject}' written to {preview}/mail.html, mail.txt and mail.eml", err=True)
        return
    cfg = smtp.SmtpConfig(host=resolved["SMTP_HOST"], port=resolved["SMTP_PORT"], security=resolved["SMTP_SECURITY"],
                          user=resolved.get("SMTP_USER"), password=resolved.get("SMTP_PASSWORD"),
                          timeout=resolved["SMTP_TIMEOUT"], retries=resolved["SMTP_RETRIES"], ca_pem=ca_pem)
    smtp.send(mail, cfg)
    click.echo(f"sent '{subject}' to {', '.join(mail.recipients)}", err=True)


def _prepare(needs: tuple[str, ...], overrides: dict[str, Any], inline: tuple[Path, ...],
             preview: Path | None) -> tuple[settings.Settings, list[smtp.Inline]]:
    """Everything that can be checked without the network, checked first."""
    from . import smtp

    if preview:
        needs = tuple(n for n in needs if n != "SMTP_HOST")
    resolved = resolve(needs, overrides)
    smtp.sender_address(resolved["EMAIL_FROM"])
    return resolved, smtp.inline_images(list(inline))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="send-mail")
@debug_option
@show_config_option("sendmail")
def cli() -> None:
    """Mail a SonarQube report, a pipeline's status or a plain notice from a CI job.

    SMTP and sender come from SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USER,
    SMTP_PASSWORD (or SMTP_PASSWORD_FILE) and EMAIL_FROM.
    """


@cli.command(cls=ListFriendlyCommand)
@mail_options
@click.option("--sonar-project-id", help="The SonarQube project key [PROJECT_NAME].")
@click.option("--sonar-internal-url", help="SonarQube URL for API calls, reachable from the runner "
                                           "[SONAR_INTERNAL_ADDR].")
@click.option("--sonar-external-url", help="SonarQube URL for the links in the mail, reachable by readers "
                                           "[SONAR_EXTERNAL_ADDR].")
@click.option("--top", type=click.IntRange(0, 100), help="How many new issues and hotspots to list "
                                                         "[SENDMAIL_TOP_ISSUES].")
@click.option("--only-on-failure", is_flag=True, default=None,
              help="Send only when the quality gate failed [SENDMAIL_ONLY_ON_FAILURE].")
def sonar(email_to: str | None, email_cc: str | None, attach: tuple[Path, ...], inline: tuple[Path, ...],
          template_dir: str | None, preview: Path | None, sonar_project_id: str | None,
          sonar_internal_url: str | None, sonar_external_url: str | None, top: int | None,
          only_on_failure: bool | None) -> None:
    """Mail the SonarQube report of a project: gate, measures, new issues and hotspots."""
    from ..sonar.client import SonarClient
    from . import report as report_mod

    resolved, images = _prepare(SONAR_NEEDS, {
        "EMAIL_TO_LIST": email_to, "EMAIL_CC_LIST": email_cc, "PROJECT_NAME": sonar_project_id,
        "SONAR_INTERNAL_ADDR": sonar_internal_url, "SONAR_EXTERNAL_ADDR": sonar_external_url,
        "SENDMAIL_TOP_ISSUES": top, "SENDMAIL_ONLY_ON_FAILURE": only_on_failure,
        "SENDMAIL_TEMPLATE_DIR": template_dir}, inline, preview)
    internal, external = resolved["SONAR_INTERNAL_ADDR"], resolved["SONAR_EXTERNAL_ADDR"]
    with _ca_bundle(resolved) as (pem, verify):
        client = SonarClient(internal, token=resolved.get("SONAR_TOKEN"), timeout=resolved["SONAR_TIMEOUT"],
                             verify=verify, url_setting="SONAR_INTERNAL_ADDR (--sonar-internal-url)")
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
@mail_options
@click.option("--gitlab-url", help="GitLab base URL [CI_SERVER_URL].")
@click.option("--project-id", help="Project id or path [CI_PROJECT_ID].")
@click.option("--pipeline-id", type=int, help="Pipeline id [CI_PIPELINE_ID].")
@click.option("--only-on-failure", is_flag=True, default=None,
              help="Send only when the pipeline failed [SENDMAIL_ONLY_ON_FAILURE].")
def pipeline(email_to: str | None, email_cc: str | None, attach: tuple[Path, ...], inline: tuple[Path, ...],
             template_dir: str | None, preview: Path | None, gitlab_url: str | None, project_id: str | None,
             pipeline_id: int | None, only_on_failure: bool | None) -> None:
    """Mail the status of a GitLab pipeline (by default the current one)."""
    from . import pipeline as pipeline_mod

    resolved, images = _prepare(MAIL_NEEDS, {
        "EMAIL_TO_LIST": email_to, "EMAIL_CC_LIST": email_cc, "SENDMAIL_ONLY_ON_FAILURE": only_on_failure,
        "SENDMAIL_TEMPLATE_DIR": template_dir}, inline, preview)
    env = os.environ
    url = (gitlab_url or env.get("CI_SERVER_URL", "")).rstrip("/")
    project = project_id or env.get("CI_PROJECT_ID", "")
    pid = pipeline_id or (int(env["CI_PIPELINE_ID"]) if env.get("CI_PIPELINE_ID", "").isdigit() else None)
    problems = [msg for ok, msg in (
        (url, "the GitLab URL is not set: pass --gitlab-url or run in a job (CI_SERVER_URL)"),
        (project, "the project is not set: pass --project-id or run in a job (CI_PROJECT_ID)"),
        (pid, "the pipeline is not set: pass --pipeline-id or run in a job (CI_PIPELINE_ID)"),
        (resolved.get("GITLAB_TOKEN") or env.get("CI_JOB_TOKEN"),
         "GITLAB_TOKEN is not set: set GITLAB_TOKEN or GITLAB_TOKEN_FILE to a read_api token")) if not ok]
    if problems:
        raise ConfigError(problems)
    with _ca_bundle(resolved) as (pem, verify):
        current = env.get("CI_JOB_ID", "")
        report = pipeline_mod.collect(url, project, int(pid), token=resolved.get("GITLAB_TOKEN"),
                                      job_token=env.get("CI_JOB_TOKEN"), timeout=resolved["SONAR_TIMEOUT"],
                                      verify=verify, current_job=int(current) if current.isdigit() else None)
        if resolved["SENDMAIL_ONLY_ON_FAILURE"] and not report.failed:
            click.echo(f"pipeline {report.pipeline_id} is {report.verdict.lower()}: no mail (only on failure)",
                       err=True)
            return
        deliver(resolved, report.subject(), "pipeline", {"p": report, "verdict": report.verdict,
                                                        "preheader": report.summary()},
                attach, images, preview, pem)


@cli.command(cls=ListFriendlyCommand)
@mail_options
@click.option("--subject", required=True, help="The subject line.")
@click.option("--body", help="The message text; without it, --body-file or standard input is read.")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the message text from a file.")
@click.option("--link", help="A URL shown as a button under the text.")
@click.option("--link-text", default="Open", show_default=True, help="The button's label.")
def text(email_to: str | None, email_cc: str | None, attach: tuple[Path, ...], inline: tuple[Path, ...],
         template_dir: str | None, preview: Path | None, subject: str, body: str | None, body_file: Path | None,
         link: str | None, link_text: str) -> None:
    """Send a plain notice; the text is shown as written, paragraphs kept."""
    resolved, images = _prepare(MAIL_NEEDS, {"EMAIL_TO_LIST": email_to, "EMAIL_CC_LIST": email_cc,
                                             "SENDMAIL_TEMPLATE_DIR": template_dir}, inline, preview)
    if body is None and body_file:
        body = body_file.read_text(encoding="utf-8")
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
