"""The platform's own outbound mail (invitations), through the operator's SMTP relay.

A tenant's customers are answered through the tenant's channels; mail the
platform itself sends goes through ``FRONTDESK_SMTP_*``. smtplib in a worker
thread, as the email adapter does: one short conversation per message.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from frontdesk.config import Settings
from frontdesk.errors import ConfigurationError


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def _send(settings: Settings, message: EmailMessage) -> None:
    timeout = 30
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


async def send_mail(settings: Settings, *, to: str, subject: str, text: str) -> str:
    """Send a plain-text message; returns its Message-ID."""
    if not configured(settings):
        raise ConfigurationError("the platform's mail is not configured (FRONTDESK_SMTP_HOST)")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = message_id = make_msgid(domain=domain)
    # An invitation is automatic mail: no out-of-office answers, please.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    await asyncio.to_thread(_send, settings, message)
    return message_id
