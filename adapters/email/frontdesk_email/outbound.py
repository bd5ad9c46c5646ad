"""Agents' replies as email: the MIME message, and its SMTP submission in a worker thread.

smtplib rather than an async client: it is the standard library's, it speaks
STARTTLS, implicit TLS, AUTH and SMTPUTF8, and a reply is one short
conversation, so a thread per delivery costs little. Every socket operation
is bounded by ``smtp_timeout_seconds`` and the whole conversation by four
times that; past it the socket is shut down so the thread ends too.
"""

from __future__ import annotations

import contextlib
import email.utils
import html
import re
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

from frontdesk.channels import DeliveryReceipt, OutboundMessage
from frontdesk_email import hints
from frontdesk_email.config import EmailConfig
from frontdesk_email.decoding import clean_line, sanitise_filename

# 998 is SMTP's line limit. The default 78 would fold long References values,
# and Python's folder may then turn a Message-ID into an RFC 2047 word, which
# breaks threading in every mail program; our header values stay below 998.
_POLICY = policy.SMTP.clone(max_line_length=998, cte_type="7bit")
_MAX_REFERENCES = 900
#: Asks Exchange and Outlook not to send out-of-office or auto-replies to our mail
#: (delivery reports, which we want, are not suppressed).
SUPPRESS = "OOF, AutoReply"
_RECIPIENT = re.compile(r"^[^\s@<>()\[\],;:\"\\]{1,64}@[^\s@<>()\[\],;:\"\\]{1,253}$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


class Unsendable(Exception):
    """The reply itself cannot become an email; trying again will not help."""


@dataclass(frozen=True)
class Built:
    message: EmailMessage
    message_id: str
    recipient: str


def is_automatic(message: OutboundMessage) -> bool:
    """Whether the core marked this as an automatic message (not an agent's reply).

    ``OutboundMessage.automatic`` came with SDK 1.1; read defensively so that
    on an SDK 1.0 platform every message is an agent's.
    """
    return bool(getattr(message, "automatic", False))


def _references(message: OutboundMessage) -> tuple[str | None, list[str]]:
    ids: list[str] = []
    for value in [*message.thread.references, *message.thread.in_reply_to]:
        for found in hints.message_ids(value, limit=1):
            if found in ids:
                ids.remove(found)
            ids.append(found)
    parent = ids[-1] if ids else None
    # References keeps the newest; the oldest go first when the header grows too long.
    while ids and len(" ".join(ids)) > _MAX_REFERENCES:
        ids.pop(0)
    return parent, ids


def build(config: EmailConfig, message: OutboundMessage) -> Built:
    """The email for ``message``; ``Unsendable`` when it cannot be one."""
    if message.recipient.kind != "email":
        raise Unsendable(
            f"the recipient is a {message.recipient.kind} contact, not an email address"
        )
    recipient = message.recipient.value.strip()
    if not _RECIPIENT.match(recipient):
        raise Unsendable("the recipient is not a usable email address")
    token = message.reply_token
    if token is not None and not hints.REPLY_TOKEN.fullmatch(token):
        raise Unsendable(
            "the reply token cannot go into an email address: use 1-64 letters, digits, _ or -"
        )
    message_id = hints.make_message_id(
        delivery_id=message.id, reply_token=token, domain=config.id_domain
    )
    out = EmailMessage(policy=_POLICY)
    out["Message-ID"] = message_id
    out["Date"] = email.utils.formatdate(usegmt=True)
    out["From"] = Address(
        display_name=clean_line(config.from_name or ""), addr_spec=config.from_address
    )
    out["To"] = Address(
        display_name=clean_line(message.recipient.display_name or ""), addr_spec=recipient
    )
    if token is not None:
        out["Reply-To"] = Address(
            display_name=clean_line(config.from_name or ""),
            addr_spec=hints.plus_address(config.from_address, token),
        )
    subject = clean_line(message.subject or "")
    number = message.ticket_number
    if number and f"[{number}]" not in subject:
        subject = f"{subject} [{number}]".strip()
    out["Subject"] = subject or "(no subject)"
    parent, references = _references(message)
    if parent is not None:
        out["In-Reply-To"] = parent
        out["References"] = " ".join(references)
    if is_automatic(message):
        out["Auto-Submitted"] = "auto-replied"
    out["X-Auto-Response-Suppress"] = SUPPRESS

    text = message.text
    if config.signature:
        text += "\n\n-- \n" + config.signature
    out.set_content(text, subtype="plain", charset="utf-8")
    if message.html:
        markup = message.html
        if config.signature:
            signature = html.escape(config.signature).replace("\n", "<br>\n")
            markup += f"\n<br><br>-- <br>\n{signature}"
        out.add_alternative(markup, subtype="html", charset="utf-8")
    for index, attachment in enumerate(message.attachments):
        if attachment.content is None:
            raise Unsendable(
                f"attachment {attachment.filename!r} has no content: the email channel sends "
                "attachments' bytes, it does not fetch URLs"
            )
        media_type = attachment.content_type.lower()
        if not _MEDIA_TYPE.match(media_type):
            media_type = "application/octet-stream"
        maintype, _, subtype = media_type.partition("/")
        out.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=sanitise_filename(attachment.filename, media_type, index),
            disposition="inline" if attachment.inline else "attachment",
        )
    return Built(message=out, message_id=message_id, recipient=recipient)


class Abort:
    """Lets the event loop end a submission whose thread is stuck on a socket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self.fired = False

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._socket = sock
            if self.fired:
                self._shutdown()

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """Verifying TLS: against the system's CAs, or only against ``ca_pem`` when given."""
    return ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()


def open_smtp(config: EmailConfig, abort: Abort) -> smtplib.SMTP:
    """Connect, TLS or STARTTLS as configured, and log in when a username is set.

    Blocking. Used by delivery and by the connection check, so both speak to
    the server the same way; the caller quits the returned client."""
    assert config.smtp_host is not None
    timeout = config.smtp_timeout_seconds
    context = tls_context(config.smtp_ca_pem) if config.smtp_security != "none" else None
    client: smtplib.SMTP
    if config.smtp_security == "tls":
        client = smtplib.SMTP_SSL(
            config.smtp_host, config.smtp_port, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout)
    try:
        abort.attach(client.sock)
        client.ehlo()
        if config.smtp_security == "starttls":
            client.starttls(context=context)
            abort.attach(client.sock)
            client.ehlo()
        if config.smtp_username is not None and config.smtp_password is not None:
            client.login(config.smtp_username, config.smtp_password)
    except BaseException:
        client.close()
        raise
    return client


def quit_smtp(client: smtplib.SMTP) -> None:
    """QUIT politely; a server that already hung up is just closed."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def submit(config: EmailConfig, built: Built, abort: Abort) -> None:
    """Hand ``built`` to the SMTP server (blocking: run it in a thread). Raises on failure."""
    client = open_smtp(config, abort)
    try:
        client.send_message(
            built.message,
            from_addr=config.envelope_from or config.from_address,
            to_addrs=[built.recipient],
        )
    except BaseException:
        client.close()
        raise
    quit_smtp(client)


def _reply_text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return clean_line(text)[:200]


def _by_code(code: int, reply: bytes | str, what: str) -> DeliveryReceipt:
    error = f"{what}: {code} {_reply_text(reply)}".rstrip()
    if 400 <= code < 500:
        return DeliveryReceipt(status="failed", error=error, retryable=True)
    if 500 <= code < 600:
        return DeliveryReceipt(status="failed", error=error, retryable=False)
    # Not an SMTP reply at all: what answered may not be a mail server. Its words
    # are left out, since smtp_host is chosen by a tenant.
    return DeliveryReceipt(
        status="failed", error="the SMTP server's answer was not SMTP", retryable=True
    )


def receipt_for(exc: BaseException, timeout: float) -> DeliveryReceipt:
    """The failed receipt for what ``submit`` raised: 4xx and network trouble are retryable."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (-1, b""))
        return _by_code(code, reply, "the SMTP server refused the recipient")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _by_code(exc.smtp_code, exc.smtp_error, "SMTP login failed")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc.smtp_code, exc.smtp_error, "the SMTP server refused the sender")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error, "the SMTP server refused the message")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryReceipt(
            status="failed",
            error=f"the SMTP server lacks a needed extension ({exc}); check smtp_security",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryReceipt(
            status="failed",
            error=f"the SMTP server's TLS certificate is not trusted: {exc.verify_message}",
        )
    # smtplib reports a read that timed out as a disconnection; the cause tells.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return DeliveryReceipt(
            status="failed",
            error=f"the SMTP server did not answer within {timeout:g} s",
            retryable=True,
        )
    if isinstance(exc, smtplib.SMTPException | OSError):
        return DeliveryReceipt(
            status="failed",
            error=f"could not talk to the SMTP server: {type(exc).__name__}: {str(exc)[:200]}",
            retryable=True,
        )
    return DeliveryReceipt(
        status="failed", error=f"could not send the email: {type(exc).__name__}: {str(exc)[:200]}"
    )
