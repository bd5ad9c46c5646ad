"""deliver: ``/{phone-number-id}/messages`` against a real HTTP server on 127.0.0.1
standing in for graph.facebook.com, including the 24-hour window's template fallback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from frontdesk.channels import ContactRef, DeliveryReceipt, OutboundMessage, ThreadHints
from frontdesk.testing import ProviderResponse, ProviderServer
from frontdesk_im.whatsapp import WhatsAppAdapter

AdapterFor = Callable[..., WhatsAppAdapter]
WA_ID = "8613800138000"
PATH = "/106540352242922/messages"
CUSTOMER = ContactRef(kind="im", provider="whatsapp", value=WA_ID, display_name="Li Wei")
REPLY = OutboundMessage(
    id="out-1",
    recipient=CUSTOMER,
    text="您好，退货标签已发送到您的邮箱。",
    ticket_number="CS-2026-000042",
    thread=ThreadHints(conversation_id=WA_ID),
)


def accepted(wamid: str = "wamid.OUT1") -> ProviderResponse:
    body = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
        "messages": [{"id": wamid}],
    }
    return ProviderResponse(body=json.dumps(body).encode())


def graph_error(
    code: int, message: str, status: int = 400, headers: dict[str, str] | None = None
) -> ProviderResponse:
    body = {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message},
            "fbtrace_id": "AbCdEf",
        }
    }
    return ProviderResponse(
        status=status,
        body=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


OUTSIDE_WINDOW = graph_error(
    131047,
    "Re-engagement message: more than 24 hours have passed since the recipient last replied",
)


@pytest.fixture
def wired(adapter_for: AdapterFor, provider: ProviderServer) -> WhatsAppAdapter:
    return adapter_for(api_base_url=provider.url)


@pytest.fixture
def with_template(adapter_for: AdapterFor, provider: ProviderServer) -> WhatsAppAdapter:
    return adapter_for(
        api_base_url=provider.url, template_name="reply_waiting", template_language="zh_CN"
    )


async def test_a_reply_is_sent_as_a_text_message(
    wired: WhatsAppAdapter, provider: ProviderServer
) -> None:
    provider.queue(accepted("wamid.OUT77"))
    assert await wired.deliver(REPLY) == DeliveryReceipt(status="sent", external_id="wamid.OUT77")
    [got] = provider.requests
    assert (got.method, got.path) == ("POST", PATH)
    assert got.headers["authorization"] == "Bearer EAAJB3xyzAccessTokenForTests0123456789"
    assert got.json() == {
        "messaging_product": "whatsapp",
        "to": WA_ID,
        "recipient_type": "individual",
        "type": "text",
        "text": {"preview_url": False, "body": "您好，退货标签已发送到您的邮箱。"},
    }


async def test_outside_the_window_the_reply_is_refused_and_the_template_sent(
    with_template: WhatsAppAdapter, provider: ProviderServer
) -> None:
    provider.queue(OUTSIDE_WINDOW, accepted("wamid.TEMPLATE1"))
    receipt = await with_template.deliver(REPLY)
    # Failed for good, with the reason shown on the ticket, and the template's id kept.
    assert (receipt.status, receipt.retryable, receipt.external_id) == (
        "failed",
        False,
        "wamid.TEMPLATE1",
    )
    assert receipt.error is not None
    assert "more than 24 hours ago" in receipt.error and "131047" in receipt.error
    assert "The template 'reply_waiting' was sent instead" in receipt.error
    _, template = provider.requests
    assert template.json() == {
        "messaging_product": "whatsapp",
        "to": WA_ID,
        "type": "template",
        "template": {"name": "reply_waiting", "language": {"code": "zh_CN"}},
    }


async def test_the_template_can_carry_the_ticket_number(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    adapter = adapter_for(
        api_base_url=provider.url, template_name="reply_waiting", template_ticket_parameter=True
    )
    provider.queue(OUTSIDE_WINDOW, accepted())
    await adapter.deliver(REPLY)
    assert provider.requests[1].json()["template"] == {
        "name": "reply_waiting",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "CS-2026-000042"}]}
        ],
    }


async def test_outside_the_window_without_a_template_the_reason_is_clear(
    wired: WhatsAppAdapter, provider: ProviderServer
) -> None:
    provider.queue(OUTSIDE_WINDOW)
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.external_id) == ("failed", False, None)
    assert receipt.error is not None and "Set template_name" in receipt.error
    assert provider.received == 1


async def test_a_template_that_fails_for_now_makes_the_reply_retryable(
    with_template: WhatsAppAdapter, provider: ProviderServer
) -> None:
    provider.queue(OUTSIDE_WINDOW, ProviderResponse(status=503, body=b""))
    receipt = await with_template.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and "instead failed too" in receipt.error


async def test_a_template_that_is_refused_makes_the_reply_fail(
    with_template: WhatsAppAdapter, provider: ProviderServer
) -> None:
    provider.queue(
        OUTSIDE_WINDOW, graph_error(132001, "Template name does not exist in the translation")
    )
    receipt = await with_template.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "132001" in receipt.error


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        (graph_error(130429, "Rate limit hit", status=400), None),
        (graph_error(131056, "(Business Account, Consumer Account) pair rate limit hit"), None),
        (graph_error(80007, "Rate limit issues", status=429, headers={"Retry-After": "20"}), 20.0),
        (ProviderResponse(status=429, body=b"", headers={"Retry-After": "8"}), 8.0),
    ],
)
async def test_rate_limits_are_retried_later(
    wired: WhatsAppAdapter, provider: ProviderServer, response: ProviderResponse, wait: float | None
) -> None:
    provider.queue(response)
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, wait)


@pytest.mark.parametrize(
    "response",
    [
        ProviderResponse(status=500, body=b""),
        graph_error(131000, "Something went wrong", status=500),
        graph_error(131016, "Service unavailable", status=503),
        graph_error(2, "Temporary error", status=400),
    ],
)
async def test_temporary_failures_are_retryable(
    wired: WhatsAppAdapter, provider: ProviderServer, response: ProviderResponse
) -> None:
    provider.queue(response)
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)


@pytest.mark.parametrize(
    ("code", "status"),
    [(131026, 400), (190, 401), (100, 400), (131009, 400)],
)
async def test_other_errors_are_final_and_say_what_whatsapp_said(
    wired: WhatsAppAdapter, provider: ProviderServer, code: int, status: int
) -> None:
    provider.queue(graph_error(code, "Message undeliverable", status=status))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error == f"WhatsApp refused the reply (error {code}: Message undeliverable)"


async def test_whatsapp_not_answering_is_retryable(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    provider.stall(5)
    started = time.monotonic()
    receipt = await adapter_for(api_base_url=provider.url, timeout_seconds=0.3).deliver(REPLY)
    assert time.monotonic() - started < 2
    assert (receipt.status, receipt.retryable, receipt.error) == (
        "failed",
        True,
        "WhatsApp did not answer within 0.3 s",
    )


async def test_the_access_token_never_appears_in_an_error(
    wired: WhatsAppAdapter, provider: ProviderServer
) -> None:
    provider.queue(
        graph_error(190, "Invalid token EAAJB3xyzAccessTokenForTests0123456789", status=401)
    )
    receipt = await wired.deliver(REPLY)
    assert receipt.error is not None and "EAAJB3xyz" not in receipt.error


async def test_long_text_is_split_at_4096(wired: WhatsAppAdapter, provider: ProviderServer) -> None:
    text = "\n".join(f"Line {i}: 退货流程说明。" for i in range(400))
    provider.queue(accepted("wamid.A"), accepted("wamid.B"), accepted("wamid.C"))
    receipt = await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text=text))
    assert receipt == DeliveryReceipt(status="sent", external_id="wamid.A")
    parts = [r.json()["text"]["body"] for r in provider.requests]
    assert len(parts) == 2
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # cut at a line end, nothing lost
