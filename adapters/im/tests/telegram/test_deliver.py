"""deliver: ``sendMessage`` against a real HTTP server on 127.0.0.1 standing in for
api.telegram.org; httpx is not mocked."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from frontdesk.channels import ContactRef, DeliveryReceipt, OutboundMessage, ThreadHints
from frontdesk.testing import ProviderResponse, ProviderServer
from frontdesk_im.telegram import TelegramAdapter

AdapterFor = Callable[..., TelegramAdapter]
BOT_PATH = "/bot7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0/sendMessage"
CUSTOMER = ContactRef(kind="im", provider="telegram", value="123456789", display_name="Wei Li")
REPLY = OutboundMessage(
    id="out-1",
    recipient=CUSTOMER,
    text="Your order left the warehouse this morning.",
    thread=ThreadHints(conversation_id="123456789", in_reply_to=["871234501"]),
)


def ok(message_id: int = 4242) -> ProviderResponse:
    return ProviderResponse(
        body=json.dumps({"ok": True, "result": {"message_id": message_id}}).encode()
    )


def error(
    status: int, description: str, retry_after: int | None = None, **headers: str
) -> ProviderResponse:
    body: dict[str, object] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return ProviderResponse(
        status=status,
        body=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
    )


@pytest.fixture
def wired(adapter_for: AdapterFor, provider: ProviderServer) -> TelegramAdapter:
    return adapter_for(api_base_url=provider.url)


async def test_a_reply_is_sent_with_send_message(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    provider.queue(ok(555))
    assert await wired.deliver(REPLY) == DeliveryReceipt(status="sent", external_id="555")
    [got] = provider.requests
    assert (got.method, got.path) == ("POST", BOT_PATH)
    assert got.headers["content-type"] == "application/json"
    assert got.json() == {
        "chat_id": 123456789,
        "text": "Your order left the warehouse this morning.",
    }


async def test_a_topic_and_a_business_connection_are_sent_along(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    topic = OutboundMessage(
        id="o", recipient=CUSTOMER, text="hi", thread=ThreadHints(conversation_id="-100777/12")
    )
    business = OutboundMessage(
        id="o", recipient=CUSTOMER, text="hi", thread=ThreadHints(conversation_id="123@BCx9")
    )
    await wired.deliver(topic)
    await wired.deliver(business)
    assert [r.json() for r in provider.requests] == [
        {"chat_id": -100777, "text": "hi", "message_thread_id": 12},
        {"chat_id": 123, "text": "hi", "business_connection_id": "BCx9"},
    ]


async def test_without_a_conversation_the_recipient_is_the_chat(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text="hi"))
    await wired.deliver(
        OutboundMessage(id="o", recipient=ContactRef(kind="im", value="@acme_news"), text="hi")
    )
    assert [r.json()["chat_id"] for r in provider.requests] == [123456789, "@acme_news"]


async def test_a_429_waits_as_long_as_the_body_says(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    provider.queue(error(429, "Too Many Requests: retry after 17", retry_after=17))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, 17.0)
    assert receipt.error == "Telegram answered 429: Too Many Requests: retry after 17"


async def test_a_429_with_only_a_retry_after_header(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    provider.queue(ProviderResponse(status=429, body=b"", headers={"Retry-After": "9"}))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, 9.0)


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_server_error_is_retryable(
    wired: TelegramAdapter, provider: ProviderServer, status: int
) -> None:
    provider.queue(ProviderResponse(status=status, body=b"Bad Gateway"))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error == f"Telegram answered {status}"


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (400, "Bad Request: chat not found"),
        (403, "Forbidden: bot was blocked by the user"),
        (401, "Unauthorized"),
        (400, "Bad Request: message is too long"),
    ],
)
async def test_4xx_are_final_and_say_what_telegram_said(
    wired: TelegramAdapter, provider: ProviderServer, status: int, description: str
) -> None:
    provider.queue(error(status, description))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error == f"Telegram answered {status}: {description}"


async def test_a_bot_api_that_does_not_answer_is_retryable(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    provider.stall(5)
    started = time.monotonic()
    receipt = await adapter_for(api_base_url=provider.url, timeout_seconds=0.3).deliver(REPLY)
    assert time.monotonic() - started < 2
    assert (receipt.status, receipt.retryable, receipt.error) == (
        "failed",
        True,
        "Telegram did not answer within 0.3 s",
    )


async def test_the_bot_token_never_appears_in_an_error(
    adapter_for: AdapterFor, closed_port: int, provider: ProviderServer
) -> None:
    refused = await adapter_for(api_base_url=f"http://127.0.0.1:{closed_port}").deliver(REPLY)
    provider.queue(error(404, "Not Found: /bot7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"))
    not_found = await adapter_for(api_base_url=provider.url).deliver(REPLY)
    for receipt in (refused, not_found):
        assert receipt.status == "failed"
        assert (
            receipt.error is not None
            and "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0" not in receipt.error.replace("********", "")
        )


async def test_long_text_is_split_at_4096_utf16_units(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    # Each emoji is two UTF-16 units: 3,000 of them need two messages.
    paragraph = "Please check the parcel 📦 " * 120
    text = "\n\n".join([paragraph] * 3)
    provider.queue(ok(1), ok(2), ok(3))
    receipt = await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text=text))
    assert receipt == DeliveryReceipt(status="sent", external_id="1")
    parts = [r.json()["text"] for r in provider.requests]
    assert len(parts) >= 2
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )


async def test_a_failure_after_some_parts_says_so(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    provider.queue(ok(1), error(429, "Too Many Requests: retry after 3", retry_after=3))
    receipt = await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text="word " * 1000))
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, 3.0)
    assert receipt.error is not None and "after 1 of 2 parts" in receipt.error


async def test_too_long_or_empty_replies_are_refused_unsent(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    for text, why in [("x" * 41_000, "too long for Telegram"), ("\n \t", "empty")]:
        receipt = await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text=text))
        assert (receipt.status, receipt.retryable) == ("failed", False)
        assert receipt.error is not None and why in receipt.error
    assert provider.received == 0


# --- check (SDK 1.3): the console's connection test ---------------------------------


async def test_check_asks_get_me_and_names_the_bot(
    wired: TelegramAdapter, provider: ProviderServer
) -> None:
    assert TelegramAdapter.supports("check")
    me = {"ok": True, "result": {"id": 7012345678, "is_bot": True, "username": "acme_bot"}}
    provider.queue(ProviderResponse(body=json.dumps(me).encode()), error(401, "Unauthorized"))
    good = await wired.check()
    assert good.ok and good.steps[0].detail == "signed in as @acme_bot"
    bad = await wired.check()
    assert not bad.ok and bad.steps[0].detail == "Telegram answered 401: Unauthorized"
    assert [(r.method, r.path.rsplit("/", 1)[1]) for r in provider.requests] == [
        ("GET", "getMe"),
        ("GET", "getMe"),
    ]
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0" not in str(bad)
