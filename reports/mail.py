"""Mail over SMTP (smtplib): a text body with an HTML alternative and attachments, settings from `KIZUKI_SMTP_*`.

`Mailer.from_settings(settings).send(MailMessage(...))` sends one message; it retries transient failures
(connection refused or dropped, 4xx replies) a few times and raises `MailError` when it gives up or when the
server refuses for good (5xx, bad credentials). Nothing here logs addresses or message bodies.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from kizuki.core.errors import InvalidInput, ServiceUnavailable
from kizuki.core.settings import Settings


class MailError(ServiceUnavailable):
    """The message could not be sent (the reason says why; no address or body in it)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class MailMessage:
    """One message: `text` is always sent; `html`, when given, is the alternative a mail client prefers."""

    subject: str
    text: str
    html: str | None = None
    to: Sequence[str] = ()
    attachments: Sequence[Attachment] = field(default_factory=tuple)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    sender: str = ""
    to: tuple[str, ...] = ()
    starttls: bool = True
    ssl: bool = False
    ca_file: Path | None = None
    timeout_s: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        if not settings.smtp_host:
            raise ServiceUnavailable("no SMTP server is configured (set KIZUKI_SMTP_HOST)")
        sender = settings.smtp_from or settings.smtp_user or ""
        if not _valid_address(sender):
            raise InvalidInput("KIZUKI_SMTP_FROM (or KIZUKI_SMTP_USER) must be an e-mail address")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            sender=sender,
            to=tuple(settings.smtp_to),
            starttls=settings.smtp_starttls,
            ssl=settings.smtp_ssl,
            ca_file=settings.smtp_ca_file,
            timeout_s=settings.smtp_timeout_s,
        )


def _valid_address(value: str) -> bool:
    _, addr = parseaddr(value)
    return bool(addr) and "@" in addr and not any(c in addr for c in "\r\n")


def build_message(config: SmtpConfig, message: MailMessage, recipients: Sequence[str]) -> EmailMessage:
    """The MIME message: text/plain, then text/html as the alternative, then attachments (UTF-8 throughout)."""
    if any(c in message.subject for c in "\r\n"):
        raise InvalidInput("a mail subject must be one line")
    msg = EmailMessage()
    msg["Subject"] = message.subject
    msg["From"] = config.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=parseaddr(config.sender)[1].rpartition("@")[2] or None)
    msg.set_content(message.text, subtype="plain", charset="utf-8")
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html", charset="utf-8")
    for att in message.attachments:
        maintype, _, subtype = att.mime_type.partition("/")
        msg.add_attachment(att.content, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)
    return msg


def _login(server: smtplib.SMTP, user: str, password: str) -> None:
    """`server.login`, except that non-ASCII credentials (which smtplib cannot encode) go as UTF-8 AUTH PLAIN
    (RFC 4616)."""
    if user.isascii() and password.isascii():
        server.login(user, password)
        return
    server.ehlo_or_helo_if_needed()
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, resp = server.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


class Mailer:
    """Sends mail through one SMTP server."""

    def __init__(self, config: SmtpConfig, *, attempts: int = 3, backoff_s: float = 1.0) -> None:
        self.config = config
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s

    @classmethod
    def from_settings(cls, settings: Settings, *, attempts: int = 3, backoff_s: float = 1.0) -> Mailer:
        return cls(SmtpConfig.from_settings(settings), attempts=attempts, backoff_s=backoff_s)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.config.ca_file) if self.config.ca_file else None)

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.ssl:
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=self._context())
        server = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
        if c.starttls:
            server.starttls(context=self._context())
        return server

    def send(self, message: MailMessage) -> str:
        """Send `message` to its `to` (default `KIZUKI_SMTP_TO`); returns its Message-ID."""
        recipients = [r.strip() for r in (message.to or self.config.to) if r.strip()]
        if not recipients:
            raise InvalidInput("no recipients: give `to` or set KIZUKI_SMTP_TO")
        bad = [i for i, r in enumerate(recipients) if not _valid_address(r)]
        if bad:
            raise InvalidInput(f"recipient number(s) {', '.join(str(i + 1) for i in bad)} are not e-mail addresses")
        msg = build_message(self.config, message, recipients)
        last = "unknown"
        for attempt in range(1, self.attempts + 1):
            try:
                server = self._connect()
                try:
                    if self.config.user and self.config.password is not None:
                        _login(server, self.config.user, self.config.password)
                    refused = server.send_message(msg, from_addr=parseaddr(self.config.sender)[1], to_addrs=recipients)
                finally:
                    try:
                        server.quit()
                    except (smtplib.SMTPException, OSError):
                        server.close()
                if refused:
                    raise MailError(f"the server refused {len(refused)} of {len(recipients)} recipient(s)")
                return str(msg["Message-ID"])
            except smtplib.SMTPAuthenticationError as exc:
                raise MailError(f"SMTP login refused ({exc.smtp_code})") from None
            except smtplib.SMTPResponseException as exc:
                last = f"SMTP {exc.smtp_code}"
                if exc.smtp_code < 400 or exc.smtp_code >= 500:
                    raise MailError(f"the SMTP server refused the message ({exc.smtp_code})") from None
            except smtplib.SMTPRecipientsRefused as exc:
                raise MailError(f"the server refused all {len(exc.recipients)} recipient(s)") from None
            except (smtplib.SMTPException, OSError) as exc:  # connection refused, dropped, TLS failure, timeout
                last = type(exc).__name__
            if attempt < self.attempts:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise MailError(f"mail not sent after {self.attempts} attempt(s): {last}")


def send_mail(settings: Settings, message: MailMessage) -> str:
    """Send one message with the `KIZUKI_SMTP_*` settings; returns its Message-ID (raises `MailError`)."""
    return Mailer.from_settings(settings).send(message)
