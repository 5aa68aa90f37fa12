"""Sending email: SMTP to a configured server, or the embedded mode's outbox folder.

Both take a composed message and either deliver it or raise `MailError` (with
`retryable` saying whether another attempt may succeed). The folder keeps one JSON file
per message, `<root>/<tenant>/<message id>.json`, written atomically; `FolderMailbox.list`
reads them back for the admin's outbox page.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import tempfile
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Mail:
    """One email, composed."""

    message_id: str
    tenant: str
    kind: str
    sender: str
    to: str
    subject: str
    body: str
    queued_at: str


class MailError(Exception):
    """Raised when a message was not delivered; `retryable` if trying later may help."""

    def __init__(self, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.retryable = retryable


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class FolderMailbox:
    """The embedded mode's outbox: every message kept as a file, for the admin to read."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, tenant: str, message_id: str) -> Path:
        return self.root / tenant / f"{message_id}.json"

    def send(self, mail: Mail) -> None:
        path = self._path(mail.tenant, mail.message_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(mail), handle)
            Path(tmp).replace(path)
        except OSError as error:
            raise MailError(
                f"the outbox folder cannot be written: {error}", retryable=True
            ) from error

    def list(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's messages, the newest first."""
        folder = self.root / tenant
        if not folder.is_dir():
            return []
        found = [json.loads(path.read_text()) for path in folder.glob("*.json")]
        return sorted(found, key=lambda m: (m["queued_at"], m["message_id"]), reverse=True)


@dataclass(frozen=True)
class SmtpMailer:
    """Delivers through an SMTP server (STARTTLS unless told otherwise)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout_s: float = 15.0

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = mail.sender, mail.to, mail.subject
        message["Message-ID"] = f"<{mail.message_id}@hub>"  # the same on every retry
        message.set_content(mail.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            retryable = all(400 <= code < 500 for code in codes)  # 4xx: try later
            detail = f"the SMTP server refused the recipient ({', '.join(map(str, codes))})"
            raise MailError(detail, retryable=retryable) from error
        except smtplib.SMTPResponseException as error:
            retryable = 400 <= error.smtp_code < 500  # 4xx: try later; 5xx: permanent
            detail = f"the SMTP server answered {error.smtp_code}"
            raise MailError(detail, retryable=retryable) from error
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(f"SMTP failed: {type(error).__name__}", retryable=True) from error
