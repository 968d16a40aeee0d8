"""Fixtures for send-mail: a real SMTP server (aiosmtpd), the GitLab and SonarQube stand-ins."""

from __future__ import annotations

import email
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.fixtures import free_port
from tests.servers.sonarqube import sonar  # noqa: F401 - the SonarQube stand-in fixture, shared

SMTP_USER = "ci-mailer@example.com"
SMTP_PASSWORD = "s3cret-smtp-pass"
SENDMAIL_SETTINGS = (
    "EMAIL_TO_LIST", "EMAIL_CC_LIST", "PROJECT_NAME", "SONAR_INTERNAL_ADDR", "SONAR_EXTERNAL_ADDR", "SONAR_TOKEN",
    "SONAR_TOKEN_FILE", "SONAR_TIMEOUT", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD",
    "SMTP_PASSWORD_FILE", "SMTP_RETRIES", "SMTP_TIMEOUT", "EMAIL_FROM", "SENDMAIL_TOP_ISSUES",
    "SENDMAIL_ONLY_ON_FAILURE", "SENDMAIL_TEMPLATE_DIR", "GITLAB_TOKEN", "GITLAB_TOKEN_FILE", "CUSTOM_CA_CERTS",
    "CI_SERVER_URL", "CI_PROJECT_ID", "CI_PIPELINE_ID", "CI_JOB_ID", "CI_JOB_TOKEN", "CI_PIPELINE_URL", "CI_JOB_URL",
    "CI_COMMIT_TITLE", "CI_COMMIT_SHA",
)


def mail_env(**values: str) -> dict[str, str]:
    """A job environment that inherits nothing from the machine running the tests (empty = unset)."""
    env = {name: "" for name in SENDMAIL_SETTINGS}
    env["PIPEYARD_SITE_FILE"] = "/nonexistent/site.json"
    env.update(values)
    return env


# -- SMTP ---------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    def part(self, ctype: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == ctype and part.get_content_disposition() != "attachment":
                return part.get_content().replace("\r\n", "\n")  # SMTP turned the lines into CRLF
        raise AssertionError(f"no {ctype} part")

    @property
    def html(self) -> str:
        return self.part("text/html")

    @property
    def text(self) -> str:
        return self.part("text/plain")

    def decoded(self) -> str:
        """The raw message and every decoded part, for 'appears nowhere' checks."""
        parts = [self.data.decode(errors="replace")]
        for part in self.message.walk():
            if part.get_content_maintype() == "text":
                parts.append(part.get_content())
        return "\n".join(parts)


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)   # popped per DATA; "250" accepts
    refuse: dict[str, str] = field(default_factory=dict)     # recipient -> reply
    data_calls: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        reply = self.data_replies.pop(0) if self.data_replies else "250 Message accepted for delivery"
        if not reply.startswith("250"):
            return reply
        login = session.auth_data.login.decode() if getattr(session.auth_data, "login", None) else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                      tls=session.ssl is not None
                                      or server.transport.get_extra_info("ssl_object") is not None, login=login))
        return reply


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@dataclass
class SmtpServer:
    controller: Controller
    handler: Handler
    port: int
    mode: str

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def env(self) -> dict[str, str]:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_SECURITY": self.mode}


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made fresh for this run."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def smtp_server(tls_cert) -> Iterator[Callable[..., SmtpServer]]:
    """smtp_server(mode="none"|"starttls"|"ssl", auth=False) starts aiosmtpd on 127.0.0.1."""
    import ssl

    started: list[Controller] = []

    def start(mode: str = "none", auth: bool = False, handler: Handler | None = None, **extra: Any) -> SmtpServer:
        handler = handler or Handler()
        port = free_port()
        kwargs: dict[str, Any] = {}
        if mode != "none":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls_cert)
            if mode == "ssl":
                kwargs.update(ssl_context=context, server_hostname="localhost")
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if auth:
            # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; implicit TLS is TLS too.
            kwargs.update(authenticator=authenticator, auth_require_tls=mode != "ssl")
        # extra: aiosmtpd's own switches (auth_required, data_size_limit, enable_SMTPUTF8...).
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs, **extra)
        controller.start()
        started.append(controller)
        return SmtpServer(controller, handler, port, mode)

    yield start
    for c in started:
        c.stop()


# -- GitLab ---------------------------------------------------------------------

GITLAB_TOKEN = "glpat-goodtoken-0123"


def make_jobs(n: int = 6, failed: tuple[int, ...] = (3,), allowed: tuple[int, ...] = (),
              running: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    stages = ("build", "test", "quality", "report")
    jobs = []
    for i in range(n):
        status = "failed" if i in failed else "running" if i in running else "success"
        jobs.append({"id": 5000 + i, "name": f"job-{i}" if i else "maven-build", "stage": stages[min(i * 4 // n, 3)],
                     "status": status, "duration": 42.5 + i, "allow_failure": i in allowed,
                     "failure_reason": "script_failure" if status == "failed" else None,
                     "web_url": f"https://gitlab.example.com/acme/billing/-/jobs/{5000 + i}"})
    return jobs


def make_bridge(status: str = "failed", downstream: str = "failed") -> dict[str, Any]:
    """A trigger job as GET /pipelines/:id/bridges lists it (doc/api/jobs.md, List pipeline trigger jobs)."""
    return {"id": 6001, "name": "deploy-downstream", "stage": "report", "status": status, "duration": 61.0,
            "allow_failure": False, "failure_reason": "downstream_pipeline_creation_failed" if status == "failed" else None,
            "web_url": "https://gitlab.example.com/acme/billing/-/jobs/6001",
            "downstream_pipeline": {"id": 2002, "status": downstream, "ref": "main", "sha": "b" * 40,
                                    "web_url": "https://gitlab.example.com/acme/deploy/-/pipelines/2002"}}


@dataclass
class GitLabProject:
    gl: Any
    project: Any

    @property
    def url(self) -> str:
        return self.gl.url

    def paths(self) -> list[str]:
        return [f"/api/v4{r.path}" for r in self.gl.requests]

    def job_token(self) -> str:
        return self.gl.new_job_token(self.project.path, self.project.project_id, job_id=5999)


@pytest.fixture
def gitlab_stub() -> Iterator[Callable[..., GitLabProject]]:
    """gitlab_stub(**ProjectPipelines fields): a FakeGitLab holding one project and its pipeline."""
    from tests.servers.gitlab_api import FakeGitLab, ProjectPipelines

    started: list[Any] = []

    def start(**state: Any) -> GitLabProject:
        gl = FakeGitLab(token=GITLAB_TOKEN).start()
        started.append(gl)
        return GitLabProject(gl, ProjectPipelines(gl, **state))

    yield start
    for gl in started:
        gl.stop()
