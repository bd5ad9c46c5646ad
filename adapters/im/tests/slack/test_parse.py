"""parse: Events API payloads (as api.slack.com documents them) into messages and events."""

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
    WebhookReply,
)
from frontdesk_im.slack import SlackAdapter
from frontdesk_im.slack.adapter import plain

Sl = Any  # conftest builders


async def parse(adapter: SlackAdapter, sl: Sl, body: Any, **kw: Any) -> Parsed:
    request = sl.signed(body, **kw)
    await adapter.verify(request)
    return await adapter.parse(request)


async def test_the_url_verification_challenge_is_answered(
    slack_adapter: SlackAdapter, sl: Sl
) -> None:
    parsed = await parse(slack_adapter, sl, sl.URL_VERIFICATION)
    assert parsed == Parsed(
        reply=WebhookReply(
            status=200,
            body=b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            content_type="text/plain",
        )
    )


async def test_a_direct_message(slack_adapter: SlackAdapter, sl: Sl) -> None:
    body = sl.callback(user_profile={"display_name": "wei", "real_name": "Wei Li"})
    assert await parse(slack_adapter, sl, body) == Parsed(
        messages=[
            InboundMessage(
                external_id="Ev0PV52K21",
                sender=ContactRef(
                    kind="im", provider="slack", value="U2147483697", display_name="wei"
                ),
                text="Hello, my invoice is wrong",
                thread=ThreadHints(conversation_id="D024BE91L"),
                sent_at=dt.datetime(2026, 1, 1, 0, 0, 0, 100, tzinfo=dt.UTC),
                metadata={"channel": "D024BE91L", "channel_type": "im", "ts": "1767225600.000100"},
            )
        ]
    )


async def test_a_retried_event_has_the_same_external_id(
    slack_adapter: SlackAdapter, sl: Sl
) -> None:
    first = await parse(slack_adapter, sl, sl.callback())
    retried = await parse(
        slack_adapter,
        sl,
        sl.callback(),
        headers={"x-slack-retry-num": "2", "x-slack-retry-reason": "http_error"},
    )
    assert first == retried
    assert [m.external_id for m in retried.messages] == ["Ev0PV52K21"]


async def test_in_a_shared_channel_each_thread_is_a_conversation(
    slack_adapter: SlackAdapter, sl: Sl
) -> None:
    top = sl.callback(channel="C0SHARED1", channel_type="channel", ts="1767225600.000100")
    reply = sl.callback(
        "Ev0PV52K30",
        channel="C0SHARED1",
        channel_type="channel",
        ts="1767225900.000300",
        thread_ts="1767225600.000100",
    )
    other = sl.callback(
        "Ev0PV52K31", channel="C0SHARED1", channel_type="channel", ts="1767226000.000400"
    )
    conversations = [
        (await parse(slack_adapter, sl, body)).messages[0].thread.conversation_id
        for body in (top, reply, other)
    ]
    assert conversations == [
        "C0SHARED1:1767225600.000100",
        "C0SHARED1:1767225600.000100",
        "C0SHARED1:1767226000.000400",
    ]


async def test_a_shared_file(slack_adapter: SlackAdapter, sl: Sl) -> None:
    body = sl.callback(
        subtype="file_share",
        text="",
        files=[
            {
                "id": "F0S43PZDF",
                "name": "invoice.pdf",
                "title": "Invoice",
                "mimetype": "application/pdf",
                "filetype": "pdf",
                "size": 31200,
                "url_private": "https://files.slack.com/files-pri/T1-F0S43PZDF/invoice.pdf",
            },
            {"id": "F0S43Q000", "file_access": "check_file_info"},
        ],
    )
    [message] = (await parse(slack_adapter, sl, body)).messages
    assert message.text == "[file: invoice.pdf, F0S43Q000]"
    assert message.attachments == [
        Attachment(
            filename="invoice.pdf",
            content_type="application/pdf",
            size=31200,
            url="https://files.slack.com/files-pri/T1-F0S43PZDF/invoice.pdf",
        ),
        Attachment(filename="F0S43Q000", content_type="application/octet-stream", size=0),
    ]
    assert message.metadata["file_ids"] == ["F0S43PZDF", "F0S43Q000"]


async def test_an_edit_and_a_deletion_are_events(slack_adapter: SlackAdapter, sl: Sl) -> None:
    edited = sl.callback(
        "Ev0PV52K40",
        subtype="message_changed",
        hidden=True,
        user=...,
        text=...,
        ts="1767225700.000200",
        message={
            "type": "message",
            "user": "U2147483697",
            "text": "Hello, invoice 5521 is wrong",
            "ts": "1767225600.000100",
            "edited": {"user": "U2147483697", "ts": "1767225700.000000"},
        },
        previous_message={
            "type": "message",
            "user": "U2147483697",
            "text": "Hello, my invoice is wrong",
            "ts": "1767225600.000100",
        },
    )
    deleted = sl.callback(
        "Ev0PV52K41",
        subtype="message_deleted",
        hidden=True,
        user=...,
        text=...,
        ts="1767225800.000300",
        deleted_ts="1767225600.000100",
        previous_message={
            "type": "message",
            "user": "U2147483697",
            "text": "x",
            "ts": "1767225600.000100",
        },
    )
    assert (await parse(slack_adapter, sl, edited)).events == [
        ChannelEvent(
            external_id="Ev0PV52K40",
            kind="delivery_status",
            sender=ContactRef(kind="im", provider="slack", value="U2147483697"),
            thread=ThreadHints(conversation_id="D024BE91L"),
            occurred_at=dt.datetime(2026, 1, 1, 0, 1, 40, 200, tzinfo=dt.UTC),
            # Not the new text: event data is not masked for card numbers.
            data={"change": "message_edited", "message_id": "1767225600.000100"},
        )
    ]
    [event] = (await parse(slack_adapter, sl, deleted)).events
    assert event.data == {"change": "message_deleted", "message_id": "1767225600.000100"}


@pytest.mark.parametrize(
    "fields",
    [
        {"bot_id": "B0ACME", "subtype": "bot_message", "user": ...},
        {"bot_id": "B0ACME"},  # our own reply, echoed back as an event
        {"subtype": "channel_join", "text": "<@U2147483697> has joined the channel"},
        {"subtype": "message_changed", "message": {"bot_id": "B0ACME", "text": "x", "ts": "1.1"}},
        {"text": "   "},
        {"user": ...},
    ],
)
async def test_messages_that_are_not_a_customers_are_ignored(
    slack_adapter: SlackAdapter, sl: Sl, fields: dict[str, Any]
) -> None:
    assert await parse(slack_adapter, sl, sl.callback(**fields)) == Parsed()


@pytest.mark.parametrize(
    "body",
    [
        {"type": "app_rate_limited", "team_id": "T0001", "minute_rate_limited": 1518467820},
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "event": {"type": "channel_created", "channel": {"id": "C1", "name": "x"}},
        },
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "event": {
                "type": "app_mention",
                "user": "U1",
                "text": "<@U0BOT> hi",
                "ts": "1.2",
                "channel": "C1",
            },
        },
        {"type": "something_new"},
    ],
)
async def test_other_callbacks_are_acknowledged(
    slack_adapter: SlackAdapter, sl: Sl, body: Any
) -> None:
    assert await parse(slack_adapter, sl, body) == Parsed()


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        (
            "Hi <@U0BOT>, see <https://acme.example/o/5521|order 5521>",
            "Hi @U0BOT, see order 5521 (https://acme.example/o/5521)",
        ),
        (
            "<mailto:li@example.com|li@example.com> &amp; <#C0SHARED1|support>",
            "li@example.com & #support",
        ),
        ("<!here> 2 &lt; 3 &gt; 1", "@here 2 < 3 > 1"),
        ("<https://acme.example>", "https://acme.example"),
        ("&amp;lt;", "&lt;"),
    ],
)
def test_slack_markup_becomes_plain_text(markup: str, text: str) -> None:
    assert plain(markup) == text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"payload=%7B%7D",
        {"type": 1},
        {"type": "event_callback", "event": {"type": "message"}},
        {"type": "event_callback", "event_id": "Ev1"},
        {"type": "event_callback", "event_id": "Ev 1", "event": {"type": "message"}},
        {"type": "event_callback", "event_id": "Ev1", "event": None},
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "event": {"type": "message", "channel": "C1", "user": "U1", "text": "x"},
        },
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "event": {"type": "message", "channel": "C1", "user": "U1", "text": 5, "ts": "1.1"},
        },
        {"type": "url_verification"},
        {"type": "url_verification", "challenge": "a b"},
    ],
)
async def test_a_broken_callback_is_malformed(
    slack_adapter: SlackAdapter, sl: Sl, body: Any
) -> None:
    with pytest.raises(MalformedPayload):
        await parse(slack_adapter, sl, body)
