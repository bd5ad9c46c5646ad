"""parse: Bot API updates, as core.telegram.org/bots/api documents them, into messages, events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from frontdesk.channels import (
    Attachment,
    ChannelEvent,
    ContactRef,
    InboundMessage,
    MalformedPayload,
    Parsed,
    ThreadHints,
)
from frontdesk_im.telegram import TelegramAdapter

Tg = Any  # conftest builders


async def parse(adapter: TelegramAdapter, tg: Tg, body: Any) -> Parsed:
    request = tg.signed(body)
    await adapter.verify(request)
    return await adapter.parse(request)


async def test_a_private_text_message(telegram_adapter: TelegramAdapter, tg: Tg) -> None:
    parsed = await parse(telegram_adapter, tg, tg.update())
    assert parsed == Parsed(
        messages=[
            InboundMessage(
                external_id="871234501",
                sender=ContactRef(
                    kind="im", provider="telegram", value="123456789", display_name="Wei Li"
                ),
                text="Hi, my order #5521 has not arrived",
                thread=ThreadHints(conversation_id="123456789"),
                sent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                metadata={"message_id": "311", "chat_type": "private", "username": "liwei"},
            )
        ]
    )


async def test_a_redelivered_update_has_the_same_external_id(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    first = await parse(telegram_adapter, tg, tg.update())
    again = await parse(telegram_adapter, tg, tg.update())
    assert first == again
    other = await parse(telegram_adapter, tg, tg.update(update_id=871234502))
    assert other.messages[0].external_id != first.messages[0].external_id


async def test_a_group_message_is_threaded_by_the_group(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    body = tg.update(chat={"id": -1001234567890, "title": "Acme support", "type": "supergroup"})
    [message] = (await parse(telegram_adapter, tg, body)).messages
    assert message.thread.conversation_id == "-1001234567890"
    assert message.sender.value == "123456789"


async def test_a_forum_topic_and_a_business_chat_are_part_of_the_conversation(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    topic = tg.update(
        chat={"id": -100777, "type": "supergroup", "is_forum": True},
        message_thread_id=12,
        is_topic_message=True,
    )
    [in_topic] = (await parse(telegram_adapter, tg, topic)).messages
    assert in_topic.thread.conversation_id == "-100777/12"
    business = tg.update(kind="business_message", business_connection_id="BCx9")
    [biz] = (await parse(telegram_adapter, tg, business)).messages
    assert biz.thread.conversation_id == "123456789@BCx9"


async def test_a_photo_keeps_its_caption_and_the_largest_size(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    body = tg.update(
        text=...,
        caption="The box arrived crushed",
        photo=[
            {
                "file_id": "small",
                "file_unique_id": "u1",
                "width": 90,
                "height": 67,
                "file_size": 1200,
            },
            {
                "file_id": "big",
                "file_unique_id": "u3",
                "width": 1280,
                "height": 960,
                "file_size": 98000,
            },
            {
                "file_id": "mid",
                "file_unique_id": "u2",
                "width": 320,
                "height": 240,
                "file_size": 9000,
            },
        ],
    )
    [message] = (await parse(telegram_adapter, tg, body)).messages
    assert message.text == "The box arrived crushed"
    assert message.attachments == [
        Attachment(filename="photo-u3.jpg", content_type="image/jpeg", size=98000)
    ]
    assert message.metadata["file_ids"] == ["big"]


@pytest.mark.parametrize(
    ("fields", "text", "attachment"),
    [
        (
            {
                "document": {
                    "file_id": "D",
                    "file_name": "invoice.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 5000,
                }
            },
            "[file: invoice.pdf]",
            ("invoice.pdf", "application/pdf", 5000),
        ),
        ({"document": {"file_id": "D"}}, "[file]", ("file", "application/octet-stream", 0)),
        (
            {"voice": {"file_id": "V", "duration": 4, "mime_type": "audio/ogg", "file_size": 9000}},
            "[voice message]",
            ("voice.ogg", "audio/ogg", 9000),
        ),
        (
            {"video": {"file_id": "V", "width": 1, "height": 1, "duration": 3}},
            "[video]",
            ("video.mp4", "video/mp4", 0),
        ),
        (
            {
                "sticker": {
                    "file_id": "S",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "😡",
                }
            },
            "[sticker 😡]",
            ("sticker.webp", "image/webp", 0),
        ),
        (
            {"location": {"latitude": 31.2304, "longitude": 121.4737}},
            "[location: 31.2304, 121.4737]",
            None,
        ),
        (
            {"contact": {"phone_number": "+8613800138000", "first_name": "Wei"}},
            "[contact: Wei +8613800138000]",
            None,
        ),
    ],
)
async def test_files_and_other_content(
    telegram_adapter: TelegramAdapter,
    tg: Tg,
    fields: dict[str, Any],
    text: str,
    attachment: tuple[str, str, int] | None,
) -> None:
    [message] = (await parse(telegram_adapter, tg, tg.update(text=..., **fields))).messages
    assert message.text == text
    got = [(a.filename, a.content_type, a.size) for a in message.attachments]
    assert got == ([] if attachment is None else [attachment])


async def test_an_edit_is_an_event_naming_the_message(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    body = tg.update(871234600, kind="edited_message", edit_date=1767225700, text="fixed typo")
    assert await parse(telegram_adapter, tg, body) == Parsed(
        events=[
            ChannelEvent(
                external_id="871234600",
                kind="delivery_status",
                sender=ContactRef(
                    kind="im", provider="telegram", value="123456789", display_name="Wei Li"
                ),
                thread=ThreadHints(conversation_id="123456789"),
                occurred_at=dt.datetime(2026, 1, 1, 0, 1, 40, tzinfo=dt.UTC),
                # Not the new text: event data is not masked for card numbers.
                data={"change": "message_edited", "message_id": "311"},
            )
        ]
    )


async def test_deleted_business_messages_are_an_event(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    body = {
        "update_id": 871234601,
        "deleted_business_messages": {
            "business_connection_id": "BCx9",
            "chat": {"id": 123456789, "type": "private"},
            "message_ids": [311, 312],
        },
    }
    [event] = (await parse(telegram_adapter, tg, body)).events
    assert (event.external_id, event.kind, event.thread.conversation_id) == (
        "871234601",
        "delivery_status",
        "123456789@BCx9",
    )
    assert event.data == {"change": "message_deleted", "message_ids": ["311", "312"]}


@pytest.mark.parametrize(
    "body",
    [
        {
            "update_id": 1,
            "channel_post": {"message_id": 1, "date": 1, "chat": {"id": -1, "type": "channel"}},
        },
        {"update_id": 1, "callback_query": {"id": "x"}},
        {"update_id": 1, "my_chat_member": {}},
        {"update_id": 1},
    ],
)
async def test_updates_with_nothing_for_the_inbox_are_acknowledged(
    telegram_adapter: TelegramAdapter, tg: Tg, body: dict[str, Any]
) -> None:
    assert await parse(telegram_adapter, tg, body) == Parsed()


async def test_bots_and_service_messages_are_ignored(
    telegram_adapter: TelegramAdapter, tg: Tg
) -> None:
    from_bot = tg.update(**{"from": tg.user(id=7012345678, is_bot=True, first_name="Acme bot")})
    assert await parse(telegram_adapter, tg, from_bot) == Parsed()
    joined = tg.update(text=..., new_chat_members=[tg.user()])
    assert await parse(telegram_adapter, tg, joined) == Parsed()
    anonymous = tg.update(**{"from": ...})
    assert await parse(telegram_adapter, tg, anonymous) == Parsed()


async def test_nul_characters_are_dropped(telegram_adapter: TelegramAdapter, tg: Tg) -> None:
    body = tg.update(text="card\u0000 please", **{"from": tg.user(first_name="W\u0000ei")})
    [message] = (await parse(telegram_adapter, tg, body)).messages
    assert message.text == "card please"
    assert message.sender.display_name == "Wei Li"


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"\xff\xfe",
        b"[]",
        b'"update"',
        {"message": {}},
        {"update_id": 1.5},
        {"update_id": True},
        {"update_id": 2**60},
        {"update_id": 1, "message": {"message_id": 1, "date": 1}},
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": "x", "type": "p"}}},
        {"update_id": 1, "message": "hello"},
        {
            "update_id": 1,
            "edited_message": {"message_id": 1, "date": "now", "chat": {"id": 1, "type": "p"}},
        },
    ],
)
async def test_a_broken_update_is_malformed(
    telegram_adapter: TelegramAdapter, tg: Tg, body: Any
) -> None:
    with pytest.raises(MalformedPayload):
        await parse(telegram_adapter, tg, body)
