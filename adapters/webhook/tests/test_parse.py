"""parse: the wire format into InboundMessages and ChannelEvents, and every way to get it wrong."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from frontdesk.channels import (
    ChannelEvent,
    ContactRef,
    InboundMessage,
    InboundRequest,
    MalformedPayload,
    Parsed,
    ThreadHints,
)
from frontdesk_webhook import WebhookAdapter

RequestFor = Callable[..., InboundRequest]


def message(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "msg-1001",
        "conversation_id": "order-5521",
        "sender": {"kind": "email", "value": "li.wei@example.com", "name": "Li Wei"},
        "text": "Where is my order?",
        "sent_at": "2026-03-01T09:30:00+08:00",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


async def parse(adapter: WebhookAdapter, request_for: RequestFor, body: Any) -> Parsed:
    request = request_for(body)
    await adapter.verify(request)
    return await adapter.parse(request)


async def test_a_single_message(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    parsed = await parse(adapter, request_for, message(subject="Order 5521"))
    assert parsed == Parsed(
        messages=[
            InboundMessage(
                external_id="msg-1001",
                sender=ContactRef(kind="email", value="li.wei@example.com", display_name="Li Wei"),
                text="Where is my order?",
                subject="Order 5521",
                thread=ThreadHints(conversation_id="order-5521"),
                sent_at=dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC),
            )
        ]
    )
    assert parsed.reply is None


async def test_the_smallest_message(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    body = {"id": "1", "sender": {"kind": "phone", "value": "+8613800138000"}, "text": "hi"}
    [msg] = (await parse(adapter, request_for, body)).messages
    assert msg.external_id == "1"
    assert msg.sender == ContactRef(kind="phone", value="+8613800138000")
    assert msg.thread == ThreadHints()
    assert (msg.subject, msg.html, msg.sent_at, msg.metadata) == (None, None, None, {})


async def test_a_batch_keeps_its_order(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    body = {
        "messages": [message(id=f"m-{i}", text=f"message {i}") for i in range(3)],
        "events": [
            {"id": "e-1", "kind": "typing", "conversation_id": "order-5521"},
            {
                "id": "e-2",
                "kind": "read",
                "sender": {"kind": "webchat", "value": "visitor-9"},
                "occurred_at": "2026-03-01T01:31:00Z",
                "data": {"message_id": "reply-7"},
            },
        ],
    }
    parsed = await parse(adapter, request_for, body)
    assert [m.external_id for m in parsed.messages] == ["m-0", "m-1", "m-2"]
    assert [m.text for m in parsed.messages] == ["message 0", "message 1", "message 2"]
    assert parsed.events == [
        ChannelEvent(
            external_id="e-1", kind="typing", thread=ThreadHints(conversation_id="order-5521")
        ),
        ChannelEvent(
            external_id="e-2",
            kind="read",
            sender=ContactRef(kind="webchat", value="visitor-9"),
            occurred_at=dt.datetime(2026, 3, 1, 1, 31, tzinfo=dt.UTC),
            data={"message_id": "reply-7"},
        ),
    ]


async def test_a_single_message_may_carry_events(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    body = message(events=[{"id": "e-9", "kind": "call_missed", "data": {"seconds": 12}}])
    parsed = await parse(adapter, request_for, body)
    assert [m.external_id for m in parsed.messages] == ["msg-1001"]
    assert [(e.external_id, e.kind, e.data) for e in parsed.events] == [
        ("e-9", "call_missed", {"seconds": 12})
    ]


async def test_events_only_and_empty_batches(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    only = await parse(
        adapter, request_for, {"messages": [], "events": [{"id": "t", "kind": "typing"}]}
    )
    assert (len(only.messages), len(only.events)) == (0, 1)
    assert await parse(adapter, request_for, {"messages": []}) == Parsed()


async def test_unicode_survives_whether_escaped_or_not(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    fields = {
        "text": "您好，我的订单还没到 📦 — ¿dónde está?",
        "subject": "订单 5521",
        "sender": {"kind": "im", "value": "wx_李伟", "provider": "wecom", "name": "李伟"},
    }
    raw = await parse(adapter, request_for, json.dumps(message(**fields), ensure_ascii=False))
    escaped = await parse(adapter, request_for, json.dumps(message(**fields), ensure_ascii=True))
    assert raw == escaped
    [msg] = raw.messages
    assert msg.text == fields["text"]
    assert msg.subject == "订单 5521"
    assert msg.sender == ContactRef(
        kind="im", value="wx_李伟", provider="wecom", display_name="李伟"
    )


async def test_thread_hints(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    body = message(ticket_number="CS-2026-000042", in_reply_to="reply-7")
    [msg] = (await parse(adapter, request_for, body)).messages
    assert msg.thread == ThreadHints(
        conversation_id="order-5521", ticket_number="CS-2026-000042", in_reply_to=["reply-7"]
    )


async def test_metadata_is_kept(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    meta = {"order": "5521", "amount": 199.5, "vip": True, "items": 3, "note": None}
    [msg] = (await parse(adapter, request_for, message(metadata=meta))).messages
    assert msg.metadata == meta


async def test_unknown_fields_are_ignored(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    plain = await parse(adapter, request_for, message())
    extra = await parse(adapter, request_for, message(channel="shop", priority={"x": [1, 2]}))
    assert plain == extra


async def test_parse_is_deterministic(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    request = request_for({"messages": [message(id="a"), message(id="b", html="<b>x</b>")]})
    assert await adapter.parse(request) == await adapter.parse(request)


# --- HTML --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello <b>there</b></p>", "<p>Hello <b>there</b></p>"),
        ("<p>hi</p><script>alert(1)</script>", "<p>hi</p>"),
        (
            '<a href="https://shop.example.com/o/1">order</a>',
            '<a href="https://shop.example.com/o/1" rel="noopener noreferrer">order</a>',
        ),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<a href="/admin">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<p onclick="steal()">x</p>', "<p>x</p>"),
        ('<img src="https://tracker.example/p.gif">seen', "seen"),
        ("<style>p{}</style><!-- note -->text", "text"),
        ("<script>only()</script>", None),
        ("   ", None),
    ],
)
async def test_html_is_sanitised(
    adapter: WebhookAdapter, request_for: RequestFor, html: str, expected: str | None
) -> None:
    [msg] = (await parse(adapter, request_for, message(html=html))).messages
    assert msg.html == expected
    assert msg.text == "Where is my order?"


# --- malformed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "not JSON"),
        (b"{not json", "not JSON"),
        (b'{"id": "1", "text": "\xff"}', "not JSON"),
        (b"[]", "Expected `object`, got `array`"),
        (b'"text"', "Expected `object`"),
        (b"null", "Expected `object`"),
        (message(id=...), "missing required field `id`"),
        (message(sender=...), "missing required field `sender`"),
        (message(text=...), "missing required field `text`"),
        (message(text=""), "$.text"),
        (message(text=" \n\t "), "$.text is blank"),
        (message(text=42), "Expected `str`, got `int` - at `$.text`"),
        (message(id=1001), "Expected `str`, got `int` - at `$.id`"),
        (message(id=""), "$.id"),
        (message(id="x" * 256), "$.id"),
        (message(sent_at="2026-03-01T09:30:00"), "timezone"),
        (message(sent_at="yesterday"), "$.sent_at"),
        (message(sent_at=1700000000), "$.sent_at"),
        (message(sender="li.wei@example.com"), "$.sender"),
        (message(sender={"kind": "fax", "value": "1"}), "$.sender.kind"),
        (message(sender={"kind": "email"}), "missing required field `value`"),
        (message(sender={"kind": "email", "value": " "}), "$.sender.value is blank"),
        (message(sender={"kind": "im", "value": "alice"}), "$.sender.provider is required"),
        (
            message(sender={"kind": "im", "value": "a", "provider": "Tele Gram"}),
            "$.sender.provider",
        ),
        (message(ticket_number=""), "$.ticket_number"),
        (message(metadata={"nested": {"no": 1}}), "$.metadata"),
        (message(metadata={f"k{i}": i for i in range(33)}), "$.metadata"),
        (message(events=[{"id": "e", "kind": "sneezed"}]), "$.events[0].kind"),
        (message(text="a\u0000b"), "$.text contains a NUL"),
        (message(sender={"kind": "email", "value": "a@b.c", "name": "\u0000"}), "$.sender.name"),
        (message(metadata={"k": "v\u0000", "a b": "\u0000"}), "$.metadata.k contains a NUL"),
        (message(metadata={"a b": "\u0000"}), "$.metadata['a b'] contains a NUL"),
        ({"messages": "m"}, "$.messages"),
        ({"messages": [message(), message(text=None)]}, "$.messages[1].text"),
        ({"messages": [message(), message(id="b", text=" ")]}, "$.messages[1].text is blank"),
        ({"messages": [message(id="a"), message(id="a")]}, "$.messages[1].id 'a' repeats"),
        ({"messages": [message(id="a")], "events": [{"id": "a", "kind": "read"}]}, "repeats"),
        ({"messages": [message(id=str(i)) for i in range(101)]}, "length <= 100"),
        (b'{"id": "1", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
async def test_malformed_payloads_are_refused_with_a_clear_message(
    adapter: WebhookAdapter, request_for: RequestFor, body: Any, says: str
) -> None:
    request = request_for(body)
    await adapter.verify(request)  # well signed: it is the payload that is wrong
    with pytest.raises(MalformedPayload) as caught:
        await adapter.parse(request)
    assert says in str(caught.value)
