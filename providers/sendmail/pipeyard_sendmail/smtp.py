"""Sending a rendered mail with yagmail, retrying temporary SMTP failures.

yagmail builds the envelope (headers, attachments) and opens the connection
(plain, STARTTLS or SSL). Two of its defaults do not suit a report, so we
adjust the message it builds: its text/plain part is the HTML source (we put
our text twin there), and it wraps the HTML in a <div> and appends inline
images after it (we keep our document whole and place images by Content-ID).
Its Message-ID is a hash of From/To/Subject, which would give every weekly
mail the same id, so we pass a unique one.
"""

from __future__ import annotations

import contextlib
import email.policy
import logging
import mimetypes
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path

import yagmail
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message

from pipeyard_kit import trust
from pipeyard_kit.errors import ConfigError, RemoteError, UsageError

log = logging.getLogger("pipeyard.sendmail")
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+\Z")


@dataclass(frozen=True)
class Inline:
    path: Path
    cid: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Mail:
    sender: str
    to: list[str]
    subject: str
    html: str
    text: str
    cc: list[str] = field(default_factory=list)
    attachments: list[Path] = field(default_factory=list)
    inline: list[Inline] = field(default_factory=list)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    security: str = "none"
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    retries: int = 3
    ca_pem: str | None = None

    @property
    def where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"


def sender_address(value: str) -> tuple[str, str]:
    """(display name, address) of EMAIL_FROM; accepts 'a@b.c' and 'Name <a@b.c>'."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value or ""):
        # parseaddr would keep what comes before the line break and drop the rest without a word.
        raise ConfigError("EMAIL_FROM holds a line break or another control character",
                          fix="set it to one address, e.g. sonar@example.com or \"Sonar reports <sonar@example.com>\"")
    name, addr = parseaddr(value or "")
    if not addr or not _ADDRESS.match(addr):
        raise ConfigError(f"EMAIL_FROM={value!r} is not an email address",
                          fix="use e.g. sonar@example.com or \"Sonar reports <sonar@example.com>\"")
    return name, addr


# The first bytes of the images a mail client shows inline (the formats' own signatures).
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _is_image(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def inline_images(paths: list[Path]) -> list[Inline]:
    out = []
    for i, path in enumerate(paths, 1):
        kind = mimetypes.guess_type(path.name)[0] or ""
        if not kind.startswith("image/") or not _is_image(path):
            raise UsageError(f"--inline {path} is not a PNG, JPEG, GIF or WebP image",
                             fix="give an image file (a screenshot), or use --attach for other files")
        out.append(Inline(path=path, cid=f"inline{i}.{path.stem.replace(' ', '_')}@pipeyard"))
    return out


def _utf8_qp() -> Charset:
    # Quoted-printable keeps the source readable and ~25% smaller than base64 (Gmail clips at 102 KB).
    charset = Charset("utf-8")
    charset.body_encoding = QP
    return charset


def build_message(mail: Mail) -> MIMEMultipart:
    name, addr = sender_address(mail.sender)
    addresses = resolve_addresses(addr, addr, mail.to, mail.cc or None, None)
    domain = addr.rsplit("@", 1)[1]
    msg = prepare_message(addr, addr, addresses, mail.subject, [mail.html],
                          [str(p) for p in mail.attachments] or None, None, "utf-8",
                          prettify_html=False, message_id=make_msgid(domain=domain), group_messages=False)
    msg.replace_header("From", formataddr((name, addr)) if name else addr)
    # yagmail joins the recipients with bare commas, which leaves nowhere to fold: 60 recipients made a
    # 1,900-character line, past RFC 5322's limit of 998. With ", " the header folds at 78 (2.1.1).
    msg.replace_header("To", ", ".join(mail.to))
    if mail.cc:
        msg.replace_header("Cc", ", ".join(mail.cc))
    alternative = msg.get_payload()[0]
    related = alternative.get_payload()[1]
    alternative.get_payload()[0] = MIMEText(mail.text, "plain", _utf8_qp())
    related.get_payload()[0] = MIMEText(mail.html, "html", _utf8_qp())
    for part in msg.get_payload()[1:]:
        # yagmail marks only application/* as attachments; a PNG or a log would show inline.
        if part.get("Content-Disposition") is None:
            part.add_header("Content-Disposition", "attachment", filename=part.get_filename() or "attachment")
    for image in mail.inline:
        part = MIMEImage(image.path.read_bytes(), _subtype=(mimetypes.guess_type(image.name)[0] or "image/png")[6:])
        part.add_header("Content-ID", f"<{image.cid}>")
        part.add_header("Content-Disposition", "inline", filename=image.name)
        related.attach(part)
    return msg


def needs_smtputf8(mail: Mail) -> bool:
    """An address with non-ASCII characters travels only with SMTPUTF8 (RFC 6531)."""
    return not all(a.isascii() for a in (sender_address(mail.sender)[1], *mail.recipients))


def serialize(mail: Mail) -> bytes:
    """The message as it goes on the wire: headers folded at 78 characters, and raw UTF-8 headers
    (RFC 6532) only when an address needs them."""
    message = build_message(mail)
    if needs_smtputf8(mail):
        return message.as_bytes(policy=email.policy.SMTPUTF8)
    # SMTP lines end in CRLF (RFC 5321 section 2.3.8); smtplib fixes the ends of a str, not of bytes.
    return re.sub(r"\r?\n", "\r\n", message.as_string(maxheaderlen=78)).encode("ascii")


class _Temporary(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _code_text(code: int, text: bytes | str) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}".strip()


def _policy_refusal(code: int, text: bytes | str, cfg: SmtpConfig) -> RemoteError | None:
    """What the relay's policy refused, whatever the command it answered: each gets its own fix."""
    reason = _code_text(code, text)
    low = reason.lower()
    if code == 530 and "tls" in low:
        # RFC 3207 section 4: "530 5.7.0 Must issue a STARTTLS command first".
        return RemoteError(f"{cfg.where} takes mail only over TLS ({reason})",
                           fix="set SMTP_SECURITY=starttls, or ssl with the relay's TLS port (usually 465)")
    if code == 530 or (code == 554 and "auth" in low):
        # RFC 4954 section 6: "530 5.7.0 Authentication required".
        return RemoteError(f"{cfg.where} takes mail only from a logged-in user ({reason})",
                           fix="set SMTP_USER and SMTP_PASSWORD (or SMTP_PASSWORD_FILE), with SMTP_SECURITY "
                               "starttls or ssl")
    if code == 552 or (code == 554 and "size" in low):
        # RFC 5321 section 4.5.3.1.10 and RFC 1870: "552 5.3.4 message size exceeds fixed maximum".
        return RemoteError(f"{cfg.where} refused the mail as too large ({reason})",
                           fix="attach or inline fewer or smaller files (--attach, --inline), or ask the mail "
                               "admins for a larger limit")
    return None


def _classify(exc: Exception, cfg: SmtpConfig, sender: str) -> Exception:
    """A permanent RemoteError, or _Temporary for what is worth another attempt."""
    where = cfg.where
    if isinstance(exc, smtplib.SMTPResponseException):
        refused = _policy_refusal(exc.smtp_code, exc.smtp_error, cfg)
        if refused:
            return refused
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        for code, text in exc.recipients.values():
            refused = _policy_refusal(code, text, cfg)
            if refused:
                return refused
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return RemoteError(f"{where} rejected the login of {cfg.user} ({_code_text(exc.smtp_code, exc.smtp_error)})",
                           fix="check SMTP_USER and SMTP_PASSWORD (or SMTP_PASSWORD_FILE)")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return RemoteError(f"{where} does not support this on an unencrypted connection ({str(exc).rstrip('.')})",
                           fix="set SMTP_SECURITY=starttls or ssl for a relay that needs a login, or unset SMTP_USER")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = {r: c for r, c in exc.recipients.items()}
        if all(400 <= code < 500 for code, _ in refused.values()):
            return _Temporary(f"recipients deferred: {', '.join(refused)}")
        detail = "; ".join(f"{r} ({_code_text(c, m)})" for r, (c, m) in refused.items())
        return RemoteError(f"{where} refused the recipients {detail}",
                           fix="check EMAIL_TO_LIST / EMAIL_CC_LIST (--email-to / --email-cc)")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        if 400 <= exc.smtp_code < 500:
            return _Temporary(_code_text(exc.smtp_code, exc.smtp_error))
        return RemoteError(f"{where} refused the sender {sender} ({_code_text(exc.smtp_code, exc.smtp_error)})",
                           fix="set EMAIL_FROM to an address the relay accepts")
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = _code_text(exc.smtp_code, exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            return _Temporary(reason)
        return RemoteError(f"{where} refused the mail ({reason})",
                           fix="read the server's reason; ask the mail admins if it persists")
    if isinstance(exc, ssl.SSLError):
        return RemoteError(f"TLS with {where} failed ({exc.reason or exc})",
                           fix="check SMTP_SECURITY and SMTP_PORT, and add the relay's CA to CUSTOM_CA_CERTS")
    if isinstance(exc, (smtplib.SMTPServerDisconnected, socket.timeout, TimeoutError, ConnectionError, OSError)):
        return _Temporary(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return exc


def _send_once(message: bytes, mail: Mail, cfg: SmtpConfig, context: ssl.SSLContext) -> None:
    _, addr = sender_address(mail.sender)
    kwargs: dict[str, object] = {"timeout": cfg.timeout}
    if cfg.security == "ssl":
        kwargs["context"] = context
    # smtp_skip_login: yagmail would log in as the sender; the relay's login may be another account.
    client = yagmail.SMTP(user=addr, host=cfg.host, port=cfg.port, smtp_ssl=cfg.security == "ssl",
                          smtp_starttls={"context": context} if cfg.security == "starttls" else False,
                          smtp_skip_login=True, soft_email_validation=False, **kwargs)
    try:
        try:
            try:
                client.login()
            except (socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected) as exc:
                if not isinstance(exc, (socket.timeout, TimeoutError)) and "timed out" not in str(exc):
                    raise

                # Connected, but no greeting (smtplib reports the read timeout as a disconnect): a TLS port
                # spoken to in plain text, or a tarpit. Another attempt would wait as long again.
                raise RemoteError(f"{cfg.where} accepted the connection but sent no greeting within "
                                  f"{cfg.timeout:g} s", fix="check SMTP_PORT and SMTP_SECURITY (465 is ssl, "
                                                            "587 starttls, 25 none)") from None
            if cfg.user:
                client.smtp.login(cfg.user, cfg.password or "")
            options: list[str] = []
            if needs_smtputf8(mail):
                client.smtp.ehlo_or_helo_if_needed()
                if not client.smtp.has_extn("smtputf8"):
                    unicode = [a for a in (addr, *mail.recipients) if not a.isascii()]
                    raise RemoteError(f"{cfg.where} does not offer SMTPUTF8, so it cannot deliver to or from "
                                      f"{', '.join(unicode)}", fix="use ASCII addresses, or a relay with SMTPUTF8 "
                                                                   "(RFC 6531)")
                options.append("SMTPUTF8")
            refused = client.smtp.sendmail(addr, mail.recipients, message, mail_options=options)
        except RemoteError:
            raise
        except Exception as exc:  # noqa: BLE001 - sorted into temporary and permanent below
            raise _classify(exc, cfg, addr) from None
        if refused:
            detail = "; ".join(f"{r} ({_code_text(c, m)})" for r, (c, m) in refused.items())
            # Retrying would send duplicates to the recipients who got it.
            raise RemoteError(f"{cfg.where} delivered the mail but refused {detail}",
                              fix="check those addresses in EMAIL_TO_LIST / EMAIL_CC_LIST")
    finally:
        with contextlib.suppress(OSError):  # a connection that failed mid-TLS may not quit cleanly
            client.close()


def send(mail: Mail, cfg: SmtpConfig, *, backoff: float = 2.0,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """Send, retrying temporary failures with exponential backoff; returns the attempts used."""
    message = serialize(mail)
    context = trust.ssl_context(cfg.ca_pem)
    attempts = 0
    retrying = Retrying(stop=stop_after_attempt(cfg.retries + 1), retry=retry_if_exception_type(_Temporary),
                        wait=wait_exponential(multiplier=backoff, max=60), sleep=sleep, reraise=False)

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        try:
            _send_once(message, mail, cfg, context)
        except _Temporary as exc:
            log.warning("%s: temporary failure (%s), attempt %d of %d", cfg.where, exc.reason, attempts,
                        cfg.retries + 1)
            raise

    try:
        retrying(attempt)
    except RetryError as exc:
        reason = exc.last_attempt.exception().reason  # type: ignore[union-attr]
        raise RemoteError(f"could not send the mail through {cfg.where} after {attempts} attempt"
                          f"{'s' if attempts != 1 else ''} ({reason})",
                          fix="check SMTP_HOST, SMTP_PORT and SMTP_SECURITY and that the runner may reach the "
                              "relay; raise SMTP_RETRIES for a flaky relay") from None
    log.info("mail '%s' sent to %s through %s", mail.subject, ", ".join(mail.recipients), cfg.where)
    return attempts
