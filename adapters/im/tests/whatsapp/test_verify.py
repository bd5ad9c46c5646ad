"""verify: the subscription handshake (``hub.verify_token``) and ``X-Hub-Signature-256``."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from frontdesk.channels import MalformedPayload, Parsed, SignatureInvalid, WebhookReply
from frontdesk_im.whatsapp import WhatsAppAdapter

Wa = Any  # conftest builders


async def test_the_handshake_answers_the_challenge(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa
) -> None:
    request = wa.handshake(challenge="1158201444")
    await whatsapp_adapter.verify(request)
    assert await whatsapp_adapter.parse(request) == Parsed(
        reply=WebhookReply(status=200, body=b"1158201444", content_type="text/plain")
    )


@pytest.mark.parametrize("token", ["wrong", "frontdesk-verify-token-2026 ", "", "ÿ" * 27])
async def test_a_handshake_with_another_token_is_refused(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa, token: str
) -> None:
    with pytest.raises(SignatureInvalid):
        await whatsapp_adapter.verify(wa.handshake(token=token))


async def test_a_handshake_with_two_tokens_is_refused(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa
) -> None:
    request = wa.handshake()
    twice = {**request.query, "hub.verify_token": ["frontdesk-verify-token-2026"] * 2}
    with pytest.raises(SignatureInvalid, match="missing"):
        await whatsapp_adapter.verify(msgspec.structs.replace(request, query=twice))


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": ["unsubscribe"]},
        {"hub.challenge": []},
        {"hub.challenge": ["1", "2"]},
        {"hub.challenge": ["<script>"]},
        {"hub.challenge": ["x" * 257]},
    ],
)
async def test_a_handshake_that_is_not_a_subscription_is_malformed(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa, query: dict[str, list[str]]
) -> None:
    request = wa.handshake()
    request = msgspec.structs.replace(request, query={**request.query, **query})
    await whatsapp_adapter.verify(request)
    with pytest.raises(MalformedPayload, match=r"hub\.mode=subscribe"):
        await whatsapp_adapter.parse(request)


async def test_a_signed_notification_is_accepted(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    await whatsapp_adapter.verify(wa.signed(wa.notification(wa.message())))


async def test_a_changed_body_is_refused(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    genuine = wa.signed(wa.notification(wa.message()))
    tampered = msgspec.structs.replace(
        genuine, body=genuine.body.replace(b"8613800138000", b"8613800138001")
    )
    with pytest.raises(SignatureInvalid, match="does not match"):
        await whatsapp_adapter.verify(tampered)


async def test_another_apps_secret_is_refused(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        await whatsapp_adapter.verify(
            wa.signed(wa.notification(wa.message()), secret="some-other-app-secret-0000")
        )


@pytest.mark.parametrize("header", [None, "", "sha256=abc", "sha1=" + "0" * 40, "0" * 64])
async def test_a_missing_or_malformed_signature_is_refused(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa, header: str | None
) -> None:
    request = wa.signed(wa.notification(wa.message()), secret=None)
    if header is not None:
        request = msgspec.structs.replace(
            request, headers={**request.headers, "x-hub-signature-256": header}
        )
    with pytest.raises(SignatureInvalid):
        await whatsapp_adapter.verify(request)


async def test_uppercase_hex_is_accepted(whatsapp_adapter: WhatsAppAdapter, wa: Wa) -> None:
    request = wa.signed(wa.notification(wa.message()))
    upper = "sha256=" + request.headers["x-hub-signature-256"][7:].upper()
    await whatsapp_adapter.verify(
        msgspec.structs.replace(request, headers={**request.headers, "x-hub-signature-256": upper})
    )
