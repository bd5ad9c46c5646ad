"""verify: WeCom's msg_signature, the timestamp window and the corp id; the URL verification.

Requests are made by ``WeComSim`` (conftest.py): encrypted and signed as WeCom
documents it, independently of the adapter.
"""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from frontdesk.channels import MalformedPayload, Parsed, SignatureInvalid, WebhookReply
from frontdesk_im.wecom import WeComAdapter

Sim = Any  # conftest.WeComSim
AdapterFor = Callable[..., WeComAdapter]
Xml = Callable[..., str]  # conftest.message_xml

SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLj"
    "vd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMn"
    "vw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k"
    "22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yoy"
    "yH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


@pytest.fixture
def sample_adapter(adapter_for: AdapterFor) -> WeComAdapter:
    return adapter_for(
        corp_id="wx5823bf96d3bd56c7",
        token="QDG6eK",
        encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        agent_id=218,
    )


async def test_the_published_url_verification_is_answered_with_the_echostr(
    sample_adapter: WeComAdapter, sample: Sim
) -> None:
    request = sample.url_verification("unused", timestamp=1409659589)
    request = msgspec.structs.replace(
        request,
        query={
            "msg_signature": ["5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"],
            "timestamp": ["1409659589"],
            "nonce": ["263014780"],
            "echostr": [
                "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
            ],
        },
    )
    sample_adapter.verify_at(request, now=1409659589)
    assert await sample_adapter.parse(request) == Parsed(
        reply=WebhookReply(status=200, body=b"1616140317555161061", content_type="text/plain")
    )
    # The same request today is a replay, refused by the timestamp window.
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        await sample_adapter.verify(request)


async def test_the_published_message_is_verified_and_read(
    sample_adapter: WeComAdapter, sample: Sim
) -> None:
    request = sample.callback("unused", timestamp=1409659813)
    body = (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
        f"<Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt>"
        "<AgentID><![CDATA[218]]></AgentID></xml>"
    )
    request = msgspec.structs.replace(
        request,
        body=body.encode(),
        query={
            "msg_signature": ["477715d11cdb4164915debcba66cb864d751f3e6"],
            "timestamp": ["1409659813"],
            "nonce": ["1372623149"],
        },
    )
    sample_adapter.verify_at(request, now=1409659813 + 5)
    [message] = (await sample_adapter.parse(request)).messages
    assert (message.external_id, message.sender.value, message.text) == (
        "4561255354251345929",
        "mycreate",
        "hello",
    )
    # One byte of the ciphertext changed: the signature no longer matches.
    tampered = msgspec.structs.replace(request, body=request.body.replace(b"Ryp", b"Ryq"))
    with pytest.raises(SignatureInvalid, match="msg_signature does not match"):
        sample_adapter.verify_at(tampered, now=1409659813)


async def test_a_url_verification_now_is_accepted(wecom_adapter: WeComAdapter, wecom: Sim) -> None:
    request = wecom.url_verification("8849275193740592")
    await wecom_adapter.verify(request)
    parsed = await wecom_adapter.parse(request)
    assert parsed.reply == WebhookReply(body=b"8849275193740592", content_type="text/plain")
    assert (parsed.messages, parsed.events) == ([], [])


async def test_a_signed_callback_is_accepted(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    await wecom_adapter.verify(wecom.callback(xml()))


async def test_a_signature_made_with_another_token_is_refused(
    wecom_adapter: WeComAdapter, sim_for: Callable[..., Sim], xml: Xml
) -> None:
    stranger = sim_for(token="SomeoneElsesToken")
    with pytest.raises(SignatureInvalid, match="does not match"):
        await wecom_adapter.verify(stranger.callback(xml()))


async def test_a_changed_ciphertext_is_refused(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    genuine = wecom.callback(xml())
    encrypted = genuine.body.split(b"<![CDATA[")[2].split(b"]]>")[0]
    other = wecom.encrypt(xml(Content="请把退款打到另一张卡").encode()).encode()
    tampered = msgspec.structs.replace(genuine, body=genuine.body.replace(encrypted, other))
    with pytest.raises(SignatureInvalid, match="msg_signature does not match"):
        await wecom_adapter.verify(tampered)


async def test_a_callback_encrypted_for_another_corp_is_refused(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    # Signed with the right token and encrypted with the right key, but the
    # receive id inside is another company's: not meant for this channel.
    request = wecom.callback(xml(), receive_id="ww_another_company")
    with pytest.raises(SignatureInvalid, match="another corp id"):
        await wecom_adapter.verify(request)


async def test_the_wrong_encoding_aes_key_is_a_clear_error(
    adapter_for: AdapterFor, sim_for: Callable[..., Sim], xml: Xml
) -> None:
    # The Token matches but the key does not: the admin mistyped the key.
    other_key = "A" * 42 + "E"
    request = sim_for(encoding_aes_key=other_key).callback(xml() * 3)
    with pytest.raises(MalformedPayload, match=r"EncodingAESKey|length|too short"):
        await adapter_for().verify(request)


@pytest.mark.parametrize("age", [301, 3600, -301])
async def test_a_timestamp_outside_the_window_is_refused(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml, age: int
) -> None:
    request = wecom.callback(xml(), timestamp=int(time.time()) - age)
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        await wecom_adapter.verify(request)


async def test_a_little_clock_skew_is_tolerated_and_the_window_is_configurable(
    adapter_for: AdapterFor, wecom: Sim, xml: Xml
) -> None:
    await adapter_for().verify(wecom.callback(xml(), timestamp=int(time.time()) - 290))
    await adapter_for().verify(wecom.callback(xml(), timestamp=int(time.time()) + 290))
    with pytest.raises(SignatureInvalid):
        await adapter_for(tolerance_seconds=10).verify(
            wecom.callback(xml(), timestamp=int(time.time()) - 60)
        )
    await adapter_for(tolerance_seconds=None).verify(wecom.callback(xml(), timestamp=1409659813))


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ({"msg_signature": None}, "missing msg_signature"),
        ({"msg_signature": ["a" * 39]}, "malformed msg_signature"),
        ({"msg_signature": ["a" * 40, "b" * 40]}, "missing msg_signature"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": ["-5"]}, "timestamp"),
        ({"timestamp": ["１２３"]}, "timestamp"),
        ({"timestamp": ["1" * 13]}, "timestamp"),
        ({"nonce": None}, "nonce"),
        ({"nonce": ["with space"]}, "nonce"),
    ],
)
async def test_missing_or_malformed_signature_parameters_are_refused(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml, query: dict[str, Any], why: str
) -> None:
    genuine = wecom.callback(xml())
    changed = {**genuine.query, **{k: v for k, v in query.items() if v is not None}}
    for key in [k for k, v in query.items() if v is None]:
        del changed[key]
    with pytest.raises(SignatureInvalid, match=why):
        await wecom_adapter.verify(msgspec.structs.replace(genuine, query=changed))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<xml><ToUserName>x</ToUserName></xml>",
        b"<xml><Encrypt></Encrypt></xml>",
        b"<other><Encrypt>abc</Encrypt></other>",
        b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
        # A billion laughs: refused at the declaration, never expanded.
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>',
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml><Encrypt>x</Encrypt></xml>',
    ],
)
async def test_an_unreadable_envelope_is_malformed(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml, body: bytes
) -> None:
    request = wecom.sign_request(msgspec.structs.replace(wecom.callback(xml()), body=body))
    with pytest.raises(MalformedPayload):
        await wecom_adapter.verify(request)


async def test_a_url_verification_without_one_echostr_is_malformed(
    wecom_adapter: WeComAdapter, wecom: Sim
) -> None:
    genuine = wecom.url_verification()
    for echostr in ([], ["a", "b"], [""]):
        request = wecom.sign_request(
            msgspec.structs.replace(genuine, query={**genuine.query, "echostr": echostr})
        )
        with pytest.raises(MalformedPayload, match="echostr"):
            await wecom_adapter.verify(request)


async def test_other_methods_are_malformed(
    wecom_adapter: WeComAdapter, wecom: Sim, xml: Xml
) -> None:
    request = wecom.sign_request(msgspec.structs.replace(wecom.callback(xml()), method="PUT"))
    with pytest.raises(MalformedPayload, match="GET and POST"):
        await wecom_adapter.verify(request)
