"""Replies out as SMS through each provider's REST API (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from phone_support import ACCOUNT, CALLER, CONTEXT, NUMBER, TOKEN, twilio_config, vonage_config

from frontdesk.channels import CallRequest, ContactRef, OutboundMessage
from frontdesk.testing import ProviderResponse, ProviderServer
from frontdesk_phone import PhoneAdapter


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as s:
        yield s


def reply(text: str) -> OutboundMessage:
    return OutboundMessage(id="d-1", recipient=ContactRef(kind="phone", value=CALLER), text=text)


async def test_twilio_gets_a_form_with_basic_auth_and_its_sid_is_kept(
    server: ProviderServer,
) -> None:
    server.accept(b'{"sid": "SM123", "status": "queued"}')
    adapter = PhoneAdapter(twilio_config(api_base_url=server.url), CONTEXT)
    receipt = await adapter.deliver(reply("Your parcel left today."))
    assert receipt.status == "sent" and receipt.external_id == "SM123"
    [request] = server.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert parse_qs(request.body.decode()) == {
        "To": [CALLER],
        "From": [NUMBER],
        "Body": ["Your parcel left today."],
    }
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    )


async def test_twilio_refusing_a_number_is_a_final_failure_in_its_own_words(
    server: ProviderServer,
) -> None:
    server.answer(
        ProviderResponse(
            status=400,
            body=b'{"code": 21211, "message": "The \'To\' number is not a valid phone number."}',
        )
    )
    adapter = PhoneAdapter(twilio_config(api_base_url=server.url), CONTEXT)
    receipt = await adapter.deliver(reply("hi"))
    assert receipt.status == "failed" and not receipt.retryable
    assert receipt.error is not None and "21211" in receipt.error


async def test_a_reply_longer_than_the_channel_allows_is_refused_not_cut(
    server: ProviderServer,
) -> None:
    adapter = PhoneAdapter(twilio_config(api_base_url=server.url, max_sms_parts=2), CONTEXT)
    receipt = await adapter.deliver(reply("word " * 700))  # 3,500 characters: 3 parts
    assert receipt.status == "failed" and not receipt.retryable
    assert receipt.error is not None and "max_sms_parts" in receipt.error
    assert server.requests == []


async def test_vonage_gets_the_messages_api_json(server: ProviderServer) -> None:
    server.answer(ProviderResponse(status=202, body=b'{"message_uuid": "aaaa-1"}'))
    adapter = PhoneAdapter(vonage_config(api_base_url=server.url), CONTEXT)
    receipt = await adapter.deliver(reply("x " * 600))  # 1,200 characters: two SMS
    assert receipt.status == "sent" and receipt.external_id == "aaaa-1"
    assert [r.path for r in server.requests] == ["/v1/messages"] * 2
    first = server.requests[0].json()
    assert first["channel"] == "sms" and first["message_type"] == "text"
    assert first["to"] == CALLER.lstrip("+") and first["from"] == NUMBER.lstrip("+")
    assert all(len(r.json()["text"]) <= 1000 for r in server.requests)


async def test_a_call_is_placed_only_for_an_agent_the_provider_knows(
    server: ProviderServer,
) -> None:

    customer = ContactRef(kind="phone", value=CALLER)
    twilio = PhoneAdapter(twilio_config(api_base_url=server.url), CONTEXT)
    unknown = await twilio.place_call(CallRequest(id="c1", recipient=customer, agent="x@y.z"))
    assert unknown.status == "failed" and unknown.error is not None
    assert "agents" in unknown.error
    vonage = PhoneAdapter(vonage_config(api_base_url=server.url), CONTEXT)
    refused = await vonage.place_call(
        CallRequest(id="c2", recipient=customer, agent="ada@example.com")
    )
    assert refused.status == "failed" and refused.error is not None and "Vonage" in refused.error
    assert server.requests == []
