"""deliver: ``chat.postMessage`` against a real HTTP server on 127.0.0.1 standing in
for slack.com/api; httpx is not mocked."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from frontdesk.channels import ContactRef, DeliveryReceipt, OutboundMessage, ThreadHints
from frontdesk.testing import ProviderResponse, ProviderServer
from frontdesk_im.slack import SlackAdapter

AdapterFor = Callable[..., SlackAdapter]
CUSTOMER = ContactRef(kind="im", provider="slack", value="U2147483697")
REPLY = OutboundMessage(
    id="out-1",
    recipient=CUSTOMER,
    text="We re-issued invoice 5521 <corrected> & sent it.",
    thread=ThreadHints(conversation_id="D024BE91L"),
)


def ok(ts: str = "1767225601.000200") -> ProviderResponse:
    return ProviderResponse(
        body=json.dumps({"ok": True, "channel": "D024BE91L", "ts": ts}).encode()
    )


def slack_error(error: str) -> ProviderResponse:
    return ProviderResponse(body=json.dumps({"ok": False, "error": error}).encode())


@pytest.fixture
def wired(adapter_for: AdapterFor, provider: ProviderServer) -> SlackAdapter:
    return adapter_for(api_base_url=provider.url)


async def test_a_reply_is_posted_escaped_with_the_bot_token(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    provider.queue(ok("1767225601.000200"))
    receipt = await wired.deliver(REPLY)
    assert receipt == DeliveryReceipt(status="sent", external_id="1767225601.000200")
    [got] = provider.requests
    assert (got.method, got.path) == ("POST", "/chat.postMessage")
    assert (
        got.headers["authorization"]
        == "Bearer xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
    )
    assert got.json() == {
        "channel": "D024BE91L",
        "text": "We re-issued invoice 5521 &lt;corrected&gt; &amp; sent it.",
        "unfurl_links": False,
    }


async def test_a_reply_in_a_shared_channel_goes_to_the_customers_thread(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    message = OutboundMessage(
        id="o",
        recipient=CUSTOMER,
        text="On it.",
        thread=ThreadHints(conversation_id="C0SHARED1:1767225600.000100"),
    )
    await wired.deliver(message)
    assert provider.requests[0].json() == {
        "channel": "C0SHARED1",
        "text": "On it.",
        "unfurl_links": False,
        "thread_ts": "1767225600.000100",
    }


async def test_without_a_conversation_the_app_writes_to_the_user_directly(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text="Hi"))
    assert provider.requests[0].json()["channel"] == "U2147483697"


async def test_a_429_says_when_to_retry(wired: SlackAdapter, provider: ProviderServer) -> None:
    provider.queue(ProviderResponse(status=429, body=b"", headers={"Retry-After": "30"}))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, 30.0)
    assert receipt.error == "Slack answered 429"


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "service_unavailable"])
async def test_temporary_errors_are_retryable(
    wired: SlackAdapter, provider: ProviderServer, error: str
) -> None:
    provider.queue(slack_error(error))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and error in receipt.error


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "token_revoked"]
)
async def test_other_errors_are_final(
    wired: SlackAdapter, provider: ProviderServer, error: str
) -> None:
    provider.queue(slack_error(error))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.error) == (
        "failed",
        False,
        f"Slack refused the reply: {error}",
    )


async def test_a_500_is_retryable_and_a_404_final(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    provider.queue(ProviderResponse(status=500), ProviderResponse(status=404))
    first, second = await wired.deliver(REPLY), await wired.deliver(REPLY)
    assert (first.retryable, second.retryable) == (True, False)


async def test_an_unreadable_2xx_is_retryable(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    provider.queue(ProviderResponse(body=b"<html>ok?</html>"))
    receipt = await wired.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)


async def test_slack_not_answering_is_retryable(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    provider.stall(5)
    started = time.monotonic()
    receipt = await adapter_for(api_base_url=provider.url, timeout_seconds=0.3).deliver(REPLY)
    assert time.monotonic() - started < 2
    assert (receipt.status, receipt.retryable, receipt.error) == (
        "failed",
        True,
        "Slack did not answer within 0.3 s",
    )


async def test_long_text_is_split_at_4000_characters_after_escaping(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    # Each "&" becomes five characters once escaped: the limit counts those.
    text = "Q&A " * 1500
    provider.queue(ok("1.1"), ok("1.2"), ok("1.3"))
    receipt = await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text=text))
    assert receipt == DeliveryReceipt(status="sent", external_id="1.1")
    parts = [r.json()["text"] for r in provider.requests]
    assert len(parts) == 3
    assert all(len(p) <= 4000 for p in parts)
    assert " ".join(parts).replace("&amp;", "&").split() == text.split()


async def test_too_long_and_empty_replies_are_refused_unsent(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    for text, why in [("y" * 40_001, "too long for Slack"), ("", "empty")]:
        receipt = await wired.deliver(OutboundMessage(id="o", recipient=CUSTOMER, text=text))
        assert (receipt.status, receipt.retryable) == ("failed", False)
        assert receipt.error is not None and why in receipt.error
    assert provider.received == 0


# --- check (SDK 1.3): the console's connection test ---------------------------------


async def test_check_calls_auth_test_with_the_bot_token(
    wired: SlackAdapter, provider: ProviderServer
) -> None:
    assert SlackAdapter.supports("check")
    me = {"ok": True, "user": "acme_support", "team": "Acme", "bot_id": "B01"}
    provider.queue(ProviderResponse(body=json.dumps(me).encode()), slack_error("invalid_auth"))
    good = await wired.check()
    assert good.ok and good.steps[0].detail == "signed in as acme_support in Acme"
    bad = await wired.check()
    assert not bad.ok and bad.steps[0].detail == "Slack answered 200: invalid_auth"
    got = provider.requests[0]
    assert (got.method, got.path) == ("POST", "/auth.test")
    assert got.headers["authorization"].startswith("Bearer xox")
    assert len(provider.requests) == 2
