"""The email channel: raw MIME in three ways (webhook, SMTP/LMTP listener, IMAP), SMTP out."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import msgspec

from frontdesk.channels import (
    Capabilities,
    ChannelAdapter,
    ChannelContext,
    ChannelError,
    CheckResult,
    CheckStep,
    ContactKindName,
    DeliveryReceipt,
    InboundRequest,
    OutboundMessage,
    Parsed,
    PollResult,
    Submit,
)
from frontdesk_email import check, hints, imap, inbound, listener, outbound
from frontdesk_email._version import __version__
from frontdesk_email.config import EmailConfig
from frontdesk_email.parsing import Settings, parse_mime

# Parsing a large message (a 20 MB attachment) takes long enough to stall the
# event loop; past this size it runs in a worker thread.
_THREAD_PARSE_BYTES = 256 * 1024


class EmailAdapter(ChannelAdapter[EmailConfig]):
    """Email: customers write to the channel's addresses; agents' replies go out by SMTP."""

    kind: ClassVar[str] = "email"
    display_name: ClassVar[str] = "Email"
    version: ClassVar[str] = __version__
    config_type: ClassVar[type[msgspec.Struct]] = EmailConfig
    contact_kind: ClassVar[ContactKindName] = "email"
    capabilities: ClassVar[Capabilities] = Capabilities(
        threads=True, attachments=True, rich_text=True, automatic_senders=True
    )
    #: Raw MIME posted to the webhook: a 20 MB attachment is about 27 MB in
    #: base64, and ``max_message_bytes`` allows up to 50 MiB by default.
    max_body_bytes: ClassVar[int | None] = 64 * 1024 * 1024
    #: 1.3: ``check`` (the console's connection test) and the ``TARGET`` mark.
    sdk_versions: ClassVar[str] = ">=1.3,<2"

    def __init__(self, config: EmailConfig, context: ChannelContext) -> None:
        super().__init__(config, context)
        self._settings = Settings(
            own_addresses=config.own_addresses,
            id_domain=config.id_domain,
            ticket_pattern=hints.ticket_pattern(config.ticket_prefixes),
            max_attachment_bytes=config.max_attachment_bytes,
            max_attachments=config.max_attachments,
            max_message_bytes=config.max_message_bytes,
        )
        #: Where the listener listens, once ``listen`` has bound its socket.
        self.listen_address: tuple[str, int] | None = None

    async def verify(self, request: InboundRequest) -> None:
        inbound.verify(
            request, channel_id=self.context.channel_id, secret=self.config.webhook_secret
        )

    async def parse(self, request: InboundRequest) -> Parsed:
        raw, envelope = inbound.extract(request)
        if len(raw) > _THREAD_PARSE_BYTES:
            return await asyncio.to_thread(parse_mime, raw, self._settings, envelope)
        return parse_mime(raw, self._settings, envelope)

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        config = self.config
        if config.smtp_host is None:
            return DeliveryReceipt(
                status="failed",
                error="this email channel has no smtp_host, so it cannot send replies",
            )
        try:
            built = outbound.build(config, message)
        except outbound.Unsendable as exc:
            return DeliveryReceipt(status="failed", error=str(exc))
        except Exception as exc:  # deliver reports, never raises
            return DeliveryReceipt(
                status="failed",
                error=f"could not build the email: {type(exc).__name__}: {str(exc)[:200]}",
            )
        timeout = config.smtp_timeout_seconds
        abort = outbound.Abort()
        try:
            async with asyncio.timeout(timeout * 4):
                await asyncio.to_thread(outbound.submit, config, built, abort)
        except TimeoutError as exc:
            abort.fire()
            return outbound.receipt_for(exc, timeout)
        except Exception as exc:  # every failure becomes a receipt
            return outbound.receipt_for(exc, timeout)
        return DeliveryReceipt(status="sent", external_id=built.message_id)

    async def check(self) -> CheckResult:
        """Log in to the SMTP server and to the IMAP mailbox, as configured (SDK 1.3).

        Sends nothing and reads no mail. A channel with neither server (webhook
        or listener intake only) has nothing to check.
        """
        config = self.config
        steps: list[CheckStep] = []
        for configured, run, timeout in (
            (config.smtp_host, check.smtp, config.smtp_timeout_seconds),
            (config.imap_host, check.imap, config.imap_timeout_seconds),
        ):
            if configured is None:
                continue
            abort = outbound.Abort()
            try:
                async with asyncio.timeout(timeout * 2):
                    steps.append(await asyncio.to_thread(run, config, abort))
            except TimeoutError:
                abort.fire()
                steps.append(
                    CheckStep(
                        what=f"{configured}",
                        ok=False,
                        detail=f"no answer within {timeout * 2:g} s",
                    )
                )
        return CheckResult(steps=steps)

    async def poll(self, cursor: str | None) -> PollResult:
        """New mail in the IMAP mailbox since ``cursor`` (see ``frontdesk_email.imap``).

        Without ``imap_host`` it returns at once with nothing. Failures raise
        ``ChannelError`` (``ConfigInvalid`` for a refused login or a missing
        mailbox) and leave the cursor where it was.
        """
        config = self.config
        if config.imap_host is None:
            return PollResult(cursor=cursor)
        abort = outbound.Abort()
        try:
            async with asyncio.timeout(config.imap_timeout_seconds * 4):
                return await asyncio.to_thread(
                    imap.poll,
                    config,
                    cursor,
                    channel_id=self.context.channel_id,
                    url=self.context.webhook_url,
                    abort=abort,
                )
        except TimeoutError:
            abort.fire()
            raise ChannelError(
                f"the IMAP poll did not finish within {config.imap_timeout_seconds * 4:g} s"
            ) from None

    async def listen(self, submit: Submit) -> None:
        """Run the SMTP/LMTP listener until cancelled (see ``frontdesk_email.listener``).

        Without ``listen_port`` it returns at once: the channel runs no listener.
        """
        if self.config.listen_port is None:
            return

        def bound(address: tuple[str, int]) -> None:
            self.listen_address = address

        await listener.serve(
            self.config,
            channel_id=self.context.channel_id,
            url=self.context.webhook_url,
            submit=submit,
            bound=bound,
        )
