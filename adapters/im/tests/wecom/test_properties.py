"""Properties: whatever WeCom (or anyone) sends, verify and parse end in a result or
in the SDK's errors, never in anything else (which the intake would answer 500)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels import InboundMessage, MalformedPayload, SignatureInvalid
from frontdesk_im.wecom import WeComAdapter, flatxml

Sim = Any  # conftest.WeComSim
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

tags = st.sampled_from(
    [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Content",
        "MsgId",
        "AgentID",
        "PicUrl",
        "MediaId",
        "Format",
        "Location_X",
        "Label",
        "Event",
        "Title",
        "Url",
    ]
)
values = (
    st.text(max_size=30)
    | st.sampled_from(["text", "image", "voice", "video", "location", "link", "event", "x"])
    | st.integers(-(2**40), 2**40).map(str)
    | st.floats(allow_nan=False).map(str)
)
callbacks = st.dictionaries(tags, values, max_size=10)
# Text XML 1.0 can carry (no control characters but tab and line ends).
xml_text = st.text(
    # U+FFFE and U+FFFF are not XML characters either (noncharacters, category Cn).
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="]\ufffe\uffff")
    | st.sampled_from("\t\n"),
    max_size=40,
)


def as_xml(fields: dict[str, str]) -> str:
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


@SETTINGS
@given(fields=callbacks)
async def test_any_encrypted_callback_parses_or_is_malformed(
    wecom_adapter: WeComAdapter, wecom: Sim, fields: dict[str, str]
) -> None:
    fields = {k: v.replace("]]>", "") for k, v in fields.items()}
    request = wecom.callback(as_xml(fields))
    await wecom_adapter.verify(request)
    try:
        parsed = await wecom_adapter.parse(request)
    except MalformedPayload as exc:
        assert str(exc)
        return
    assert await wecom_adapter.parse(request) == parsed
    for message in parsed.messages:
        assert isinstance(message, InboundMessage)
        assert message.text.strip()
        assert message.sender.value.strip() and message.sender.provider == "wecom"
        assert len(message.external_id) <= 255


@SETTINGS
@given(
    fields=st.fixed_dictionaries(
        {
            "FromUserName": st.from_regex(r"[A-Za-z0-9_@.-]{1,64}", fullmatch=True),
            "CreateTime": st.integers(0, 2**33).map(str),
            "MsgType": st.just("text"),
            "Content": xml_text,
            "MsgId": st.from_regex(r"[0-9]{1,20}", fullmatch=True),
        }
    )
)
async def test_any_well_formed_text_message_parses_to_its_content(
    wecom_adapter: WeComAdapter, wecom: Sim, fields: dict[str, str]
) -> None:
    request = wecom.callback(as_xml(fields))
    await wecom_adapter.verify(request)
    [message] = (await wecom_adapter.parse(request)).messages
    content = fields["Content"].replace("\r\n", "\n").strip()
    assert message.text == (content or "[an empty message]")
    assert (message.external_id, message.sender.value) == (fields["MsgId"], fields["FromUserName"])


@SETTINGS
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
async def test_any_signed_body_is_verified_or_refused_with_sdk_errors(
    wecom_adapter: WeComAdapter, wecom: Sim, body: bytes
) -> None:
    request = wecom.sign_request(
        wecom.callback("<xml/>").__class__(
            method="POST", url="https://desk.example.com/h", headers={}, query={}, body=body
        )
    )
    try:
        await wecom_adapter.verify(request)
    except MalformedPayload:
        return
    with contextlib.suppress(MalformedPayload):
        await wecom_adapter.parse(request)


@SETTINGS
@given(
    query=st.dictionaries(
        st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr"]),
        st.lists(st.text(max_size=50), max_size=2),
    )
)
async def test_any_query_is_refused_with_sdk_errors(
    wecom_adapter: WeComAdapter, wecom: Sim, query: dict[str, list[str]]
) -> None:
    request = wecom.url_verification().__class__(
        method="GET", url="https://desk.example.com/h", headers={}, query=query, body=b""
    )
    try:
        await wecom_adapter.verify(request)
    except (SignatureInvalid, MalformedPayload):
        return
    raise AssertionError("an unsigned query was verified")


@given(document=st.binary(max_size=300))
def test_the_flat_xml_reader_reads_or_raises_not_flat_xml(document: bytes) -> None:
    try:
        fields = flatxml.read(document)
    except flatxml.NotFlatXml:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())


@given(
    fields=st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), xml_text, max_size=8
    )
)
def test_the_flat_xml_reader_reads_what_wecom_writes(fields: dict[str, str]) -> None:
    read: Callable[[bytes], dict[str, str]] = flatxml.read
    got = read(as_xml(fields).encode())
    assert got == {k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in fields.items()}
