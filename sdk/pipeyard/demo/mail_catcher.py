"""The company SMTP relay, played for `pipeyard demo`: a real SMTP server (aiosmtpd) on loopback that
writes every message it receives as preview files instead of delivering it.

The sendmail job sends through SMTP exactly as it does against the real relay; what arrives is
written to <folder>/mail.eml (the message as sent), mail.html and mail.txt (its two bodies), so the
report mail can be opened in a browser.
"""

from __future__ import annotations

import email
import logging
import socket
from email import policy
from pathlib import Path
from typing import Self

from pipeyard_kit.errors import UsageError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailCatcher:
    """`with MailCatcher(folder) as smtp:` then point SMTP_HOST/SMTP_PORT at smtp.host/smtp.port."""

    host = "127.0.0.1"

    def __init__(self, folder: Path, port: int | None = None):
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            raise UsageError("the demo's SMTP server needs aiosmtpd", fix="run `make setup`") from None
        self.folder = Path(folder)
        self.port = port or _free_port()
        self.received: list[Path] = []
        self._controller = Controller(self, hostname=self.host, port=self.port)
        # aiosmtpd logs every SMTP command at INFO; the demo shows the job's log instead.
        logging.getLogger("mail.log").setLevel(logging.WARNING)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        raw = envelope.original_content
        (self.folder / "mail.eml").write_bytes(raw)
        message = email.message_from_bytes(raw, policy=policy.default)
        for kind, name in (("html", "mail.html"), ("plain", "mail.txt")):
            body = message.get_body((kind,))
            if body is not None:
                (self.folder / name).write_text(body.get_content(), encoding="utf-8")
        self.received.append(self.folder / "mail.html")
        return "250 Message accepted for delivery"

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._controller.stop()
