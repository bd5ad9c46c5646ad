"""parse: Cloud API webhook notifications (as Meta documents them) into messages and events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from frontdesk.channels import (
    ChannelEvent,
    ContactRef,
    InboundMessage,
    MalformedPayload,
    Parsed,
    ThreadHints,
)
from frontdesk_im.whatsapp import WhatsAppAdapter

Wa = Any  # conftest builders
WA_ID = "8613800138000"


async def parse(adapter: WhatsAppAdapter, wa: Wa, body: Any) -> Parsed:
    request = wa.signed(body)
    await adapter.verify(request)
    return await adapter.parse(request)


async def test_a_text_message(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    assert await parse(whatsapp_adapter, wa, wa.notification(wa.message())) == Parsed(
        messages=[
            InboundMessage(
                external_id="wamid.HBgNODYxMzgwMDEzODAwMBUCABIYFjNFQjBDNkY0",
                sender=ContactRef(
                    kind="im", provider="whatsapp", value=WA_ID, display_name="Li Wei"
                ),
                text="你好，我想退货",
                thread=ThreadHints(conversation_id=WA_ID),
                sent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                metadata={"type": "text"},
            )
        ]
    )


async def test_a_redelivered_notification_has_the_same_ids(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa
) -> None:
    body = wa.notification(wa.message(), wa.message(id="wamid.SECOND"))
    first, again = await parse(whatsapp_adapter, wa, body), await parse(whatsapp_adapter, wa, body)
    assert first == again
    assert [m.external_id for m in first.messages] == [
        "wamid.HBgNODYxMzgwMDEzODAwMBUCABIYFjNFQjBDNkY0",
        "wamid.SECOND",
    ]


async def test_one_message_twice_in_a_notification_is_kept_once(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa
) -> None:
    body = wa.notification(wa.message(), wa.message())
    assert len((await parse(whatsapp_adapter, wa, body)).messages) == 1


async def test_a_reply_to_one_of_ours_names_it(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    body = wa.notification(wa.message(context={"from": "15550783881", "id": "wamid.OURS"}))
    [message] = (await parse(whatsapp_adapter, wa, body)).messages
    assert message.thread == ThreadHints(conversation_id=WA_ID, in_reply_to=["wamid.OURS"])


@pytest.mark.parametrize(
    ("fields", "text", "attachment", "media_id"),
    [
        (
            {
                "type": "image",
                "image": {
                    "caption": "破损的包裹",
                    "mime_type": "image/jpeg",
                    "sha256": "x",
                    "id": "1479537139650973",
                },
            },
            "破损的包裹",
            ("image-537139650973.jpeg", "image/jpeg"),
            "1479537139650973",
        ),
        (
            {
                "type": "document",
                "document": {
                    "filename": "发票.pdf",
                    "mime_type": "application/pdf",
                    "sha256": "x",
                    "id": "2001",
                },
            },
            "[file: 发票.pdf]",
            ("发票.pdf", "application/pdf"),
            "2001",
        ),
        (
            {
                "type": "audio",
                "audio": {
                    "mime_type": "audio/ogg; codecs=opus",
                    "sha256": "x",
                    "id": "3001",
                    "voice": True,
                },
            },
            "[audio]",
            ("audio-3001.ogg", "audio/ogg"),
            "3001",
        ),
        (
            {"type": "video", "video": {"id": "4001"}},
            "[video]",
            ("video-4001.mp4", "video/mp4"),
            "4001",
        ),
        (
            {
                "type": "sticker",
                "sticker": {"id": "5001", "mime_type": "image/webp", "animated": False},
            },
            "[sticker]",
            ("sticker-5001.webp", "image/webp"),
            "5001",
        ),
        (
            {
                "type": "location",
                "location": {
                    "latitude": 22.5431,
                    "longitude": 114.0579,
                    "name": "Acme Store",
                    "address": "深圳市福田区",
                },
            },
            "[location] Acme Store 深圳市福田区 (22.5431, 114.0579)",
            None,
            None,
        ),
        (
            {"type": "button", "button": {"text": "Track my order", "payload": "TRACK"}},
            "Track my order",
            None,
            None,
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "r1", "title": "Return an item"},
                },
            },
            "Return an item",
            None,
            None,
        ),
        (
            {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
            "[a message of type unsupported, which this channel cannot show]",
            None,
            None,
        ),
    ],
)
async def test_media_and_other_types(
    whatsapp_adapter: WhatsAppAdapter,
    wa: Wa,
    fields: dict[str, Any],
    text: str,
    attachment: tuple[str, str] | None,
    media_id: str | None,
) -> None:
    body = wa.notification(wa.message(text=..., **fields))
    [message] = (await parse(whatsapp_adapter, wa, body)).messages
    assert message.text == text
    got = [(a.filename, a.content_type) for a in message.attachments]
    assert got == ([] if attachment is None else [attachment])
    assert message.metadata.get("media_id") == media_id
    assert all(a.size == 0 and a.url is None for a in message.attachments)


async def test_statuses_are_events(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    statuses = [
        {
            "id": "wamid.OUT1",
            "status": "delivered",
            "timestamp": "1767225650",
            "recipient_id": WA_ID,
        },
        {"id": "wamid.OUT1", "status": "read", "timestamp": "1767225700", "recipient_id": WA_ID},
        {
            "id": "wamid.OUT2",
            "status": "failed",
            "timestamp": "1767225800",
            "recipient_id": WA_ID,
            "errors": [{"code": 131047, "title": "Re-engagement message"}],
        },
    ]
    parsed = await parse(whatsapp_adapter, wa, wa.notification(statuses=statuses))
    assert parsed.messages == []
    assert [(e.external_id, e.kind) for e in parsed.events] == [
        ("wamid.OUT1:delivered", "delivery_status"),
        ("wamid.OUT1:read", "read"),
        ("wamid.OUT2:failed", "delivery_status"),
    ]
    assert parsed.events[2] == ChannelEvent(
        external_id="wamid.OUT2:failed",
        kind="delivery_status",
        thread=ThreadHints(conversation_id=WA_ID),
        occurred_at=dt.datetime(2026, 1, 1, 0, 3, 20, tzinfo=dt.UTC),
        data={
            "status": "failed",
            "message_id": "wamid.OUT2",
            "error_code": 131047,
            "error": "Re-engagement message",
        },
    )


async def test_edits_and_revokes_are_events(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    edit = wa.message(
        id="wamid.EDIT",
        type="edit",
        text=...,
        edit={
            "original_message_id": "wamid.ORIG",
            "message": {"type": "text", "text": {"body": "new text"}},
        },
    )
    revoke = wa.message(
        id="wamid.REVOKE", type="revoke", text=..., revoke={"original_message_id": "wamid.ORIG"}
    )
    parsed = await parse(whatsapp_adapter, wa, wa.notification(edit, revoke))
    assert [(e.external_id, e.kind, e.data) for e in parsed.events] == [
        ("wamid.EDIT", "delivery_status", {"change": "message_edited", "message_id": "wamid.ORIG"}),
        (
            "wamid.REVOKE",
            "delivery_status",
            {"change": "message_deleted", "message_id": "wamid.ORIG"},
        ),
    ]
    assert all(e.sender is not None and e.sender.value == WA_ID for e in parsed.events)


async def test_what_is_not_for_this_number_or_the_inbox_is_ignored(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa
) -> None:
    other_number = wa.notification(wa.message(), phone_number_id="999999999999")
    assert await parse(whatsapp_adapter, wa, other_number) == Parsed()
    template_update = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {"event": "APPROVED", "message_template_id": 1},
                    }
                ],
            }
        ],
    }
    assert await parse(whatsapp_adapter, wa, template_update) == Parsed()
    reaction = wa.message(
        type="reaction", text=..., reaction={"message_id": "wamid.X", "emoji": "👍"}
    )
    assert await parse(whatsapp_adapter, wa, wa.notification(reaction)) == Parsed()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[1",
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": [{"changes": []}]},
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messages": []}}]}],
        },
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": "x"}]}],
        },
    ],
)
async def test_a_broken_notification_is_malformed(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa, body: Any
) -> None:
    with pytest.raises(MalformedPayload):
        await parse(whatsapp_adapter, wa, body)


@pytest.mark.parametrize(
    "fields",
    [
        {"timestamp": "soon"},
        {"timestamp": "9" * 13},
        {"from": "+8613800138000"},
        {"id": "has space"},
        {"type": "text", "text": ...},
        {"type": "image"},
        {"type": "edit"},
        {"type": ""},
    ],
)
async def test_a_broken_message_is_malformed(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa, fields: dict[str, Any]
) -> None:
    with pytest.raises(MalformedPayload):
        await parse(whatsapp_adapter, wa, wa.notification(wa.message(**fields)))
