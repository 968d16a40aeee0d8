"""What a relay refuses, said as it is: each refusal names its own setting and fix, long recipient
lists fold as RFC 5322 requires, internationalised addresses travel with SMTPUTF8, and a server
that never greets is given up on, not retried for minutes. Against aiosmtpd, a real SMTP server."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from sendmail_support import mail_env

from tests.fixtures import free_port, run_cli


def text_mail(smtp_env: dict[str, str], *flags: str, **extra: str):
    env = mail_env(**{**smtp_env, "EMAIL_FROM": "ci@example.com", "EMAIL_TO_LIST": "team@example.com", **extra})
    return run_cli("send-mail", "text", "--subject", "Nightly", "--body", "all good", *flags, env=env)


def one_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_relay_that_wants_starttls_says_so(smtp_server):
    smtp = smtp_server("starttls")
    line = one_error(text_mail({**smtp.env(), "SMTP_SECURITY": "none"}))
    assert "takes mail only over TLS (530 Must issue a STARTTLS command first)" in line
    assert "set SMTP_SECURITY=starttls" in line and "EMAIL_FROM" not in line


# aiosmtpd warns that AUTH without TLS is unsafe: that relay is what this test plays.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_relay_that_wants_a_login_says_so(smtp_server):
    smtp = smtp_server("none", auth_required=True, auth_require_tls=False)
    line = one_error(text_mail(smtp.env()))
    assert "takes mail only from a logged-in user (530 5.7.0 Authentication required)" in line
    assert "set SMTP_USER and SMTP_PASSWORD" in line and "EMAIL_FROM" not in line


def test_a_mail_too_large_for_the_relay_says_so(smtp_server, tmp_path):
    smtp = smtp_server("none", data_size_limit=4096)
    attachment = tmp_path / "big.log"
    attachment.write_bytes(b"x" * 20_000)
    line = one_error(text_mail(smtp.env(), "--attach", str(attachment)))
    assert "refused the mail as too large (552" in line and "--attach" in line


def test_sixty_recipients_fold_and_all_receive_it(smtp_server):
    smtp = smtp_server()
    recipients = [f"developer-number-{i:02d}@example.com" for i in range(60)]
    done = text_mail(smtp.env(), EMAIL_TO_LIST=",".join(recipients))
    assert done.returncode == 0, done.stderr
    [mail] = smtp.messages
    assert sorted(mail.rcpt_tos) == recipients
    assert max(len(line) for line in mail.data.splitlines()) <= 998
    assert len(mail.message["To"].addresses) == 60


def test_an_internationalised_address_travels_with_smtputf8(smtp_server):
    smtp = smtp_server(enable_SMTPUTF8=True)
    done = text_mail(smtp.env(), EMAIL_TO_LIST="josé@exämple.com")
    assert done.returncode == 0, done.stderr
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["josé@exämple.com"] and "josé@exämple.com" in mail.message["To"]


def test_an_internationalised_address_without_smtputf8_is_one_clear_error(smtp_server):
    smtp = smtp_server(enable_SMTPUTF8=False)
    line = one_error(text_mail(smtp.env(), EMAIL_TO_LIST="josé@exämple.com"))
    assert "does not offer SMTPUTF8, so it cannot deliver to or from josé@exämple.com" in line
    assert smtp.messages == []


def test_a_server_that_never_greets_is_given_up_on_in_one_timeout():
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    started = time.monotonic()
    try:
        line = one_error(text_mail({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
                                    "SMTP_TIMEOUT": "2", "SMTP_RETRIES": "3"}))
    finally:
        listener.close()
    assert "accepted the connection but sent no greeting within 2 s" in line and "SMTP_PORT" in line
    assert time.monotonic() - started < 15  # one timeout, not four attempts and their backoff


def test_a_preview_folder_it_cannot_write_is_a_usage_error(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    env = mail_env(EMAIL_FROM="ci@example.com", EMAIL_TO_LIST="team@example.com")
    done = run_cli("send-mail", "text", "--subject", "s", "--body", "b", "--preview", str(blocked / "sub"), env=env)
    assert done.returncode == 2, done.stderr
    assert f"--preview {blocked / 'sub'}: cannot write the preview there" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
