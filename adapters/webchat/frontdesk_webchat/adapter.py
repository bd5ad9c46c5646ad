"""The web chat channel: visitors' messages in through the intake, agents' replies
out through the platform's pub/sub to whichever process holds the visitor's socket."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec

from frontdesk.channels import (
    Capabilities,
    ChannelAdapter,
    ChannelEvent,
    ContactRef,
    DeliveryReceipt,
    InboundMessage,
    InboundRequest,
    MalformedPayload,
    OutboundMessage,
    Parsed,
    SignatureInvalid,
    ThreadHints,
)
from frontdesk_webchat._version import __version__
from frontdesk_webchat.config import WebchatConfig
from frontdesk_webchat.signing import SIGNATURE_HEADER, body_signature_valid
from frontdesk_webchat.wire import Entry, EntryFrame, IntakeActivity, IntakeBody

_frame_encoder = msgspec.json.Encoder()


def topic_of(conversation: str) -> str:
    """The pub/sub topic every socket of a conversation listens on."""
    return "c." + conversation


def is_conversation(value: str | None) -> bool:
    return bool(value) and value is not None and value[:2] in ("v.", "u.") and len(value) <= 66


async def record_and_publish(adapter: WebchatAdapter, conversation: str, entry: Entry) -> int:
    """Keep the entry in the transcript, then send it to the conversation's sockets."""
    services = adapter.context.services
    if services is None:
        raise ConnectionError("no platform services: this adapter was not built by Frontdesk")
    seq = await services.record(conversation, entry.id, msgspec.json.encode(entry))
    await services.publish(
        topic_of(conversation), _frame_encoder.encode(EntryFrame(seq=seq, entry=entry))
    )
    return seq


class WebchatAdapter(ChannelAdapter[WebchatConfig]):
    kind = "webchat"
    display_name = "Web chat"
    version = __version__
    sdk_versions = ">=1.3,<2"  # 1.3: Capabilities.conversation_only
    config_type = WebchatConfig
    contact_kind = "webchat"
    # A verified visitor (or one who gave an email in the pre-chat form) is
    # found by email, so their chats join that customer's history.
    contact_kinds = frozenset({"webchat", "email"})
    capabilities = Capabilities(
        threads=True, typing=True, read_receipts=True, max_length=20_000, conversation_only=True
    )

    async def verify(self, request: InboundRequest) -> None:
        """Only the widget server signs: a browser cannot post to the webhook URL."""
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not header or not body_signature_valid(self.config.secret, request.body, header):
            raise SignatureInvalid(f"bad or missing {SIGNATURE_HEADER}")

    async def parse(self, request: InboundRequest) -> Parsed:
        try:
            body = msgspec.json.decode(request.body, type=IntakeBody)
        except msgspec.DecodeError as exc:
            raise MalformedPayload(f"not a web chat message: {exc}") from None
        sender = ContactRef(
            kind=body.sender.kind, value=body.sender.value, display_name=body.sender.name
        )
        if isinstance(body, IntakeActivity):
            return Parsed(
                events=[
                    ChannelEvent(
                        external_id=f"{body.conversation}:{body.kind}:{body.id}",
                        kind=body.kind,
                        sender=sender,
                        thread=ThreadHints(conversation_id=body.conversation),
                        occurred_at=body.sent_at,
                        data={"seq": body.seq} if body.seq is not None else {},
                    )
                ]
            )
        if not body.text.strip():
            raise MalformedPayload("an empty message")
        return Parsed(
            messages=[
                InboundMessage(
                    external_id=f"{body.conversation}:{body.id}",
                    sender=sender,
                    text=body.text,
                    subject=body.topic
                    or ("Message left outside opening hours" if body.offline else None),
                    thread=ThreadHints(conversation_id=body.conversation),
                    sent_at=body.sent_at,
                    metadata={"offline": True} if body.offline else {},
                )
            ]
        )

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        conversation = message.thread.conversation_id
        if conversation is None or not is_conversation(conversation):
            return DeliveryReceipt(
                status="failed",
                error="this ticket has no web chat conversation to answer in",
                retryable=False,
            )
        entry = Entry(
            id=f"a-{message.id}"[:255],
            author="agent",
            text=message.text,
            at=dt.datetime.now(dt.UTC),
            name=self.config.title,
        )
        try:
            async with asyncio.timeout(self.config.deliver_timeout):
                seq = await record_and_publish(self, conversation, entry)
        except TimeoutError:
            return DeliveryReceipt(
                status="failed",
                error=f"not delivered within {self.config.deliver_timeout:g} s",
                retryable=True,
            )
        except (OSError, ConnectionError) as exc:
            return DeliveryReceipt(
                status="failed", error=f"pub/sub unavailable: {exc}", retryable=True
            )
        # Sent: in the transcript, and to every socket of the conversation. A
        # visitor who is away is sent it when they come back.
        return DeliveryReceipt(status="sent", external_id=f"{conversation}#{seq}")

    @classmethod
    def routes(cls) -> Sequence[Any]:
        from frontdesk_webchat.routes import ROUTES

        return ROUTES
