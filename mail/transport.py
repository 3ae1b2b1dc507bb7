"""Sending over SMTP with aiosmtplib (SMTP_* settings); never inside a database transaction."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib

from core.settings import Settings

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


class MailNotSent(Exception):
    """The server could not be reached or refused the message; the job retries later."""


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.host = settings.smtp_host
        self.mode = settings.smtp_tls
        self.port = settings.smtp_port or _DEFAULT_PORTS[self.mode]
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.timeout = settings.smtp_timeout

    async def send(self, message: EmailMessage) -> None:
        try:
            _, answer = await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.mode == "tls",
                start_tls=True if self.mode == "starttls" else False,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPException as error:
            # The server's answer names the problem; it never holds our credentials.
            code = getattr(error, "code", None)
            raise MailNotSent(f"SMTP {type(error).__name__}{f' {code}' if code else ''}") from error
        except OSError as error:
            raise MailNotSent(f"SMTP server unreachable: {type(error).__name__}") from error
        logger.info("mail %s accepted by %s: %s", message["Message-ID"], self.host, answer[:100])


def smtp_transport(settings: Settings) -> SmtpTransport | None:
    """SMTP when SMTP_HOST is set; None means messages are captured in the database."""
    return SmtpTransport(settings) if settings.smtp_host else None
