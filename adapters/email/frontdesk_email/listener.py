"""The SMTP/LMTP listener: mail for the channel's addresses, handed to the intake as it arrives.

aiosmtpd speaks the protocol; this module decides what to accept. Recipients
that are not the channel's addresses (or their plus-addresses) are refused
at ``RCPT`` with 550, so the listener is never a relay and never accepts
mail it would drop. A message is answered ``250`` only once ``submit`` has
stored it, so a crash before that makes the sending server try again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import tempfile
from collections.abc import Callable
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from frontdesk.channels import MalformedPayload, Submit
from frontdesk_email.config import EmailConfig
from frontdesk_email.inbound import (
    ENVELOPE_FROM_HEADER,
    ENVELOPE_TO_HEADER,
    SOURCE_HEADER,
    local_request,
)

log = logging.getLogger("frontdesk_email.listener")


def accepts(address: str, own: frozenset[str]) -> bool:
    """Whether ``address`` (maybe a plus-address) is one of the channel's."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    return bool(at) and f"{local.partition('+')[0]}@{domain}".lower() in own


def _smtp_text(value: str) -> str:
    return "".join(c if " " <= c < "\x7f" else "?" for c in value)[:200]


class Handler:
    """aiosmtpd's handler: the hooks it calls by name."""

    def __init__(
        self, *, config: EmailConfig, channel_id: str, url: str, submit: Submit, lmtp: bool
    ) -> None:
        self._own = config.own_addresses
        self._channel_id = channel_id
        self._url = url
        self._submit = submit
        self._lmtp = lmtp

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not accepts(address, self._own):
            return "550 5.1.1 Recipient not accepted here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        status = await self._deliver(envelope)
        # LMTP answers once per recipient; it is one message, stored once.
        return "\r\n".join([status] * len(envelope.rcpt_tos)) if self._lmtp else status

    async def _deliver(self, envelope: Envelope) -> str:
        body = envelope.original_content or b""
        request = local_request(
            channel_id=self._channel_id,
            url=self._url,
            body=body,
            headers={
                SOURCE_HEADER: "lmtp" if self._lmtp else "smtp",
                # "" for the null reverse-path of bounces and auto-replies (MAIL FROM:<>).
                ENVELOPE_FROM_HEADER: (envelope.mail_from or "").strip().strip("<>"),
                ENVELOPE_TO_HEADER: ",".join(envelope.rcpt_tos),
            },
        )
        try:
            await self._submit(request)
        except MalformedPayload as exc:
            return f"554 5.6.0 Message refused: {_smtp_text(str(exc))}"
        except Exception:
            log.exception("could not hand a received message to the intake")
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 OK: queued"


def _tls(config: EmailConfig) -> ssl.SSLContext | None:
    if config.listen_tls_cert_pem is None or config.listen_tls_key_pem is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # load_cert_chain reads files only; the key lives on disk for a moment, 0600.
    with tempfile.TemporaryDirectory() as folder:
        cert = os.path.join(folder, "cert.pem")
        key = os.path.join(folder, "key.pem")
        for path, pem in ((cert, config.listen_tls_cert_pem), (key, config.listen_tls_key_pem)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(pem)
        context.load_cert_chain(cert, key)
    return context


async def serve(
    config: EmailConfig,
    *,
    channel_id: str,
    url: str,
    submit: Submit,
    bound: Callable[[tuple[str, int]], None],
) -> None:
    """Run the listener until cancelled; ``bound`` is told the address it listens on."""
    assert config.listen_port is not None
    handler = Handler(
        config=config, channel_id=channel_id, url=url, submit=submit, lmtp=config.listen_lmtp
    )
    protocol = LMTP if config.listen_lmtp else SMTP
    tls = _tls(config)
    sessions: list[SMTP] = []

    def factory() -> SMTP:
        kwargs: dict[str, Any] = {
            "data_size_limit": config.max_message_bytes,
            "enable_SMTPUTF8": True,
            "decode_data": False,
            "ident": "Frontdesk",
            "tls_context": tls,
            "timeout": 300,
        }
        if config.listen_hostname:
            kwargs["hostname"] = config.listen_hostname
        session = protocol(handler, **kwargs)
        sessions[:] = [
            s for s in sessions if s.transport is not None and not s.transport.is_closing()
        ]
        sessions.append(session)
        return session

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, config.listen_host, config.listen_port)
    try:
        bound(server.sockets[0].getsockname()[:2])
        await server.serve_forever()
    finally:
        server.close()
        for session in sessions:
            if session.transport is not None:
                session.transport.close()
        await server.wait_closed()
