"""deliver: replies POSTed, signed, to a real HTTP server standing in for the customer's system.

The server is the contract kit's ``ProviderServer`` on 127.0.0.1; httpx is not mocked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import socket
import time
from collections.abc import Callable

import pytest

from frontdesk.channels import ContactRef, DeliveryReceipt, OutboundMessage, ThreadHints
from frontdesk.testing import ProviderResponse, ProviderServer
from frontdesk_webhook import WebhookAdapter, verify_signature
from frontdesk_webhook.adapter import retry_after

AdapterFor = Callable[..., WebhookAdapter]

REPLY = OutboundMessage(
    id="out-7f3a",
    recipient=ContactRef(kind="im", value="wx_李伟", provider="wecom", display_name="李伟"),
    text="您好，您的订单已发出。",
    subject="Re: Order 5521",
    html="<p>您好，您的订单已发出。</p>",
    ticket_number="CS-2026-000042",
    thread=ThreadHints(conversation_id="order-5521", in_reply_to=["msg-1001"]),
    attempt=2,
)


PATH = "/frontdesk/replies"


def answer(
    status: int = 200,
    body: bytes = b'{"id": "crm-1"}',
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
) -> ProviderResponse:
    return ProviderResponse(
        status=status,
        body=body,
        headers={"content-type": "application/json"} if headers is None else headers,
        delay=delay,
    )


def wired(adapter_for: AdapterFor, server: ProviderServer, **config: object) -> WebhookAdapter:
    return adapter_for(callback_url=f"{server.url}{PATH}", **config)


async def test_a_reply_is_posted_signed_with_an_idempotency_key(
    adapter_for: AdapterFor, provider: ProviderServer, secret: str
) -> None:
    provider.queue(answer(status=200, body=b'{"id": "crm-88", "ok": true}'))
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert receipt == DeliveryReceipt(status="sent", external_id="crm-88")

    [got] = provider.requests
    assert (got.method, got.path) == ("POST", PATH)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["idempotency-key"] == "out-7f3a"
    assert got.headers["user-agent"].startswith("frontdesk-webhook/")
    # The customer's own check passes.
    verify_signature(secret, got.body, got.headers["x-frontdesk-signature"])
    assert json.loads(got.body) == {
        "id": "out-7f3a",
        "ticket_number": "CS-2026-000042",
        "conversation_id": "order-5521",
        "in_reply_to": ["msg-1001"],
        "recipient": {"kind": "im", "value": "wx_李伟", "provider": "wecom", "name": "李伟"},
        "subject": "Re: Order 5521",
        "text": "您好，您的订单已发出。",
        "html": "<p>您好，您的订单已发出。</p>",
        "attempt": 2,
    }


async def test_a_redelivery_carries_the_same_idempotency_key(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    adapter = wired(adapter_for, provider)
    await adapter.deliver(REPLY)
    await adapter.deliver(REPLY)
    assert [r.headers["idempotency-key"] for r in provider.requests] == ["out-7f3a", "out-7f3a"]


@pytest.mark.parametrize(
    ("scripted", "external_id"),
    [
        (answer(status=201, body=b'{"id": 42}'), "42"),
        (answer(status=202, body=b""), None),
        (answer(status=204, body=b"", headers={}), None),
        (answer(status=200, body=b"OK", headers={"Content-Type": "text/plain"}), None),
        (answer(status=200, body=b'{"id": {"deep": 1}}'), None),
        (answer(status=200, body=b"[" * 50_000 + b"]" * 50_000), None),
        (answer(status=200, body=b'{"id": "x"' + b" " * 70_000 + b"}"), None),
    ],
)
async def test_any_2xx_is_sent_and_an_id_is_read_when_there_is_one(
    adapter_for: AdapterFor,
    provider: ProviderServer,
    scripted: ProviderResponse,
    external_id: str | None,
) -> None:
    provider.queue(scripted)
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert receipt == DeliveryReceipt(status="sent", external_id=external_id)


async def test_a_500_is_retryable(adapter_for: AdapterFor, provider: ProviderServer) -> None:
    provider.queue(answer(status=500, body=b"boom"))
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert receipt.status == "failed"
    assert receipt.retryable
    assert receipt.retry_after is None
    assert receipt.error is not None and "500" in receipt.error


async def test_a_429_says_when_to_retry(adapter_for: AdapterFor, provider: ProviderServer) -> None:
    provider.queue(answer(status=429, headers={"Retry-After": "7"}))
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert (receipt.status, receipt.retryable, receipt.retry_after) == ("failed", True, 7.0)
    assert receipt.error is not None and "429" in receipt.error


async def test_a_503_with_a_date_in_retry_after(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    provider.queue(answer(status=503, headers={"Retry-After": later}))
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert receipt.retryable
    assert receipt.retry_after is not None and 110 <= receipt.retry_after <= 121


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 422])
async def test_other_4xx_are_final(
    adapter_for: AdapterFor, provider: ProviderServer, status: int
) -> None:
    provider.queue(answer(status=status, body=b'{"error": "internal detail 9f2e"}'))
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and str(status) in receipt.error
    # What the callback answered is never echoed: callback_url is tenant-chosen.
    assert "9f2e" not in receipt.error


@pytest.mark.parametrize("status", [408, 425])
async def test_4xx_that_mean_not_now_are_retryable(
    adapter_for: AdapterFor, provider: ProviderServer, status: int
) -> None:
    provider.queue(answer(status=status))
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)


async def test_redirects_are_not_followed(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    provider.queue(answer(status=301, headers={"Location": "https://elsewhere.example/"}))
    receipt = await wired(adapter_for, provider).deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "redirects are not followed" in receipt.error
    assert provider.received == 1


async def test_a_callback_that_does_not_answer_in_time_is_retryable(
    adapter_for: AdapterFor, provider: ProviderServer
) -> None:
    provider.queue(answer(delay=5))
    started = time.monotonic()
    receipt = await wired(adapter_for, provider, timeout_seconds=0.3).deliver(REPLY)
    assert time.monotonic() - started < 2
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and "within 0.3 s" in receipt.error


async def test_the_timeout_bounds_the_whole_request_not_each_read(
    adapter_for: AdapterFor,
) -> None:
    # A callback that answers at once and then trickles its body, a byte every
    # 0.1 s: each read is well within the timeout, the whole answer is not.
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"id": "slow-one"}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            for i in range(len(body)):
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.write(body[i : i + 1])
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        adapter = adapter_for(callback_url=f"http://127.0.0.1:{port}/", timeout_seconds=0.5)
        started = time.monotonic()
        receipt = await adapter.deliver(REPLY)
        assert time.monotonic() - started < 1.5
    finally:
        server.close()
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and "within 0.5 s" in receipt.error


async def test_a_closed_port_is_retryable(adapter_for: AdapterFor) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    receipt = await adapter_for(callback_url=f"http://127.0.0.1:{port}/x").deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and "could not reach" in receipt.error


async def test_without_a_callback_url_nothing_is_sent(adapter: WebhookAdapter) -> None:
    receipt = await adapter.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "callback_url" in receipt.error


async def test_an_unusable_callback_url_is_final(adapter_for: AdapterFor) -> None:
    # Decoding a config refuses such a URL; one built in code skips that check.
    receipt = await adapter_for(callback_url="ftp://x.example/").deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)


def test_retry_after_values() -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert retry_after(None) is None
    assert retry_after("0") == 0.0
    assert retry_after(" 120 ") == 120.0
    assert retry_after("Sun, 01 Mar 2026 12:01:30 GMT", now=now) == 90.0
    assert retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0
    for junk in ("soon", "-5", "1.5", "", "٣"):
        assert retry_after(junk, now=now) is None


# --- check (SDK 1.3): the console's connection test ---------------------------------


async def test_check_pings_the_callback_signed_and_reports_its_answer(
    adapter_for: AdapterFor, provider: ProviderServer, secret: str
) -> None:
    assert WebhookAdapter.supports("check")
    provider.queue(answer(status=204, body=b""), answer(status=404, body=b"secret internals"))
    adapter = wired(adapter_for, provider)
    good = await adapter.check()
    assert good.ok and good.steps[0].what == f"{provider.url}{PATH}"
    bad = await adapter.check()
    assert not bad.ok and "404" in bad.steps[0].detail
    assert "internals" not in bad.steps[0].detail
    first = provider.requests[0]
    assert first.headers["x-frontdesk-event"] == "ping"
    verify_signature(secret, first.body, first.headers["x-frontdesk-signature"])
    assert json.loads(first.body)["type"] == "ping"
    # Inbound only: nothing to check, and nothing is sent.
    assert (await adapter_for().check()).steps == []
    assert provider.received == 2
