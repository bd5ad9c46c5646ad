"""Delivery: a reply is recorded in the conversation's transcript, then published to its topic."""

from __future__ import annotations

from typing import Any

import msgspec

from frontdesk.channels import OutboundMessage, ThreadHints
from frontdesk_webchat import WebchatAdapter


async def test_a_reply_is_recorded_then_published_once_per_delivery_id(
    adapter: WebchatAdapter, provider: Any, outbound_message: OutboundMessage
) -> None:
    conversation = outbound_message.thread.conversation_id
    first = await adapter.deliver(outbound_message)
    again = await adapter.deliver(msgspec.structs.replace(outbound_message, attempt=2))
    assert first.status == again.status == "sent"
    assert first.external_id == again.external_id == f"{conversation}#1"
    [entry] = provider.transcripts[conversation]
    assert msgspec.json.decode(entry.data)["text"] == "It ships today."
    topic, frame = provider.published[0]
    assert topic == f"c.{conversation}"
    assert msgspec.json.decode(frame)["seq"] == 1


async def test_a_ticket_without_a_chat_conversation_is_a_permanent_failure(
    adapter: WebchatAdapter, provider: Any, outbound_message: OutboundMessage
) -> None:
    for conversation in (None, "order-1234"):
        message = msgspec.structs.replace(
            outbound_message, thread=ThreadHints(conversation_id=conversation)
        )
        receipt = await adapter.deliver(message)
        assert (receipt.status, receipt.retryable) == ("failed", False)
    assert provider.received == 0
