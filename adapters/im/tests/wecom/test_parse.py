"""parse: WeCom's decrypted callbacks into messages, in the formats WeCom documents (接收消息)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from frontdesk.channels import (
    Attachment,
    ContactRef,
    InboundMessage,
    MalformedPayload,
    Parsed,
    ThreadHints,
    WebhookReply,
)
from frontdesk_im.wecom import WeComAdapter

Sim = Any  # conftest.WeComSim
Xml = Callable[..., str]


async def parse(adapter: WeComAdapter, wecom: Sim, inner: str | bytes) -> Parsed:
    request = wecom.callback(inner)
    await adapter.verify(request)
    return await adapter.parse(request)


async def test_a_text_message(wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml) -> None:
    parsed = await parse(wecom_adapter, wecom, xml())
    assert parsed == Parsed(
        messages=[
            InboundMessage(
                external_id="7341234567890123456",
                sender=ContactRef(kind="im", provider="wecom", value="LiWei"),
                text="你好，我的订单还没到",
                thread=ThreadHints(conversation_id="LiWei"),
                sent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                metadata={"msg_type": "text", "agent_id": 1000002},
            )
        ],
        # WeCom takes anything else as a passive reply to show the member.
        reply=WebhookReply(status=200, body=b"", content_type="text/plain"),
    )


async def test_a_redelivery_has_the_same_external_id(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    # WeCom retries a callback not answered in 5 s: encrypted afresh, same MsgId.
    first = await parse(wecom_adapter, wecom, xml())
    again = await parse(wecom_adapter, wecom, xml())
    assert [m.external_id for m in first.messages] == [m.external_id for m in again.messages]
    assert first == again


async def test_an_image(wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml) -> None:
    inner = xml(
        MsgType="image", Content=..., PicUrl="https://wework.qpic.cn/x.jpg", MediaId="MEDIA_1"
    )
    [message] = (await parse(wecom_adapter, wecom, inner)).messages
    assert message.text == "[image]"
    assert message.attachments == [
        Attachment(
            filename="image-7341234567890123456.jpg",
            content_type="image/jpeg",
            size=0,
            url="https://wework.qpic.cn/x.jpg",
        )
    ]
    assert message.metadata["media_id"] == "MEDIA_1"


@pytest.mark.parametrize(
    ("fields", "text", "attachment"),
    [
        (
            {"MsgType": "voice", "MediaId": "V1", "Format": "amr"},
            "[voice message]",
            ("voice-7341234567890123456.amr", "audio/amr"),
        ),
        (
            {"MsgType": "voice", "MediaId": "V1", "Format": "../../x"},
            "[voice message]",
            ("voice-7341234567890123456.amr", "audio/amr"),
        ),
        (
            {"MsgType": "video", "MediaId": "V2", "ThumbMediaId": "T2"},
            "[video]",
            ("video-7341234567890123456.mp4", "video/mp4"),
        ),
        (
            {
                "MsgType": "location",
                "Location_X": 31.2304,
                "Location_Y": 121.4737,
                "Scale": 15,
                "Label": "上海市黄浦区",
            },
            "[location] 上海市黄浦区 (31.2304, 121.4737)",
            None,
        ),
        (
            {
                "MsgType": "link",
                "Title": "订单 5521",
                "Description": "物流信息",
                "Url": "https://shop.example.com/o/5521",
            },
            "[link] 订单 5521\n物流信息\nhttps://shop.example.com/o/5521",
            None,
        ),
        (
            {"MsgType": "miniprogram"},
            "[a message of type miniprogram, which this channel cannot show]",
            None,
        ),
    ],
)
async def test_other_message_types(
    wecom_adapter: WeComAdapter,
    wecom: Sim,
    xml: Xml,
    fields: dict[str, Any],
    text: str,
    attachment: tuple[str, str] | None,
) -> None:
    [message] = (await parse(wecom_adapter, wecom, xml(Content=..., **fields))).messages
    assert message.text == text
    if attachment is None:
        assert message.attachments == []
    else:
        [got] = message.attachments
        assert (got.filename, got.content_type) == attachment


async def test_events_are_acknowledged_and_nothing_else(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    inner = xml(MsgType="event", Event="enter_agent", EventKey="", Content=..., MsgId=...)
    parsed = await parse(wecom_adapter, wecom, inner)
    assert (parsed.messages, parsed.events) == ([], [])
    assert parsed.reply == WebhookReply(status=200, body=b"", content_type="text/plain")


async def test_nested_event_details_are_skipped(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    inner = xml(MsgType="event", Event="scancode_push", Content=..., MsgId=...).replace(
        "</xml>", "<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>"
    )
    assert (await parse(wecom_adapter, wecom, inner)).messages == []


async def test_nul_characters_are_dropped_and_blank_text_is_marked(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    # XML cannot carry NUL, but a character reference to it is refused by the
    # parser; what can arrive is blank content.
    [message] = (await parse(wecom_adapter, wecom, xml(Content="   "))).messages
    assert message.text == "[an empty message]"


@pytest.mark.parametrize(
    "inner",
    [
        "not xml",
        "<html/>",
        "<xml><FromUserName>a</FromUserName></xml>",
        "<xml><MsgType>text</MsgType>",
        "<xml><a>1</a><a>2</a></xml>",
        "<xml>&#0;</xml>",
    ],
)
async def test_an_unreadable_callback_is_malformed(
    wecom_adapter: WeComAdapter, wecom: Sim, inner: str
) -> None:
    with pytest.raises(MalformedPayload):
        await parse(wecom_adapter, wecom, inner)


@pytest.mark.parametrize(
    "fields",
    [
        {"FromUserName": ...},
        {"FromUserName": ""},
        {"FromUserName": "a b"},
        {"FromUserName": "x" * 65},
        {"CreateTime": "yesterday"},
        {"CreateTime": -1},
        {"CreateTime": 10**13},
        {"MsgId": ...},
        {"MsgId": "id with spaces"},
        {"MsgType": ...},
        {"AgentID": "abc"},
        {"MsgType": "location", "Location_X": "north"},
    ],
)
async def test_a_callback_missing_or_mistyping_a_field_is_malformed(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml, fields: dict[str, Any]
) -> None:
    with pytest.raises(MalformedPayload, match=r"invalid WeCom callback|without MsgId"):
        await parse(wecom_adapter, wecom, xml(**fields))
