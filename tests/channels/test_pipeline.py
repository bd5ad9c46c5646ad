"""The ingestion pipeline end to end: signed webhook in → customer, ticket, message; replies out.

Every test drives the real thing: the API, the reference webhook adapter
(installed as a plugin, found through its entry point), the dramatiq jobs
on an in-process broker with worker threads, and a real HTTP server on
localhost standing in for the customer's system.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from conftest import TenantUnderTest, drain
from frontdesk.channels.intake import read_payload
from frontdesk.channels.models import InboundEvent
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderResponse, ProviderServer
from frontdesk.tickets.models import Message
from frontdesk_webhook import SIGNATURE_HEADER, sign

SECRET = "a-shared-secret-of-some-length"


class Channel(msgspec.Struct):
    id: str
    token: str
    url: str


async def make_channel(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    *,
    name: str = "shop",
    callback_url: str | None = None,
    timeout_seconds: float = 10.0,
) -> Channel:
    config: dict[str, Any] = {"secret": SECRET, "timeout_seconds": timeout_seconds}
    if callback_url:
        config["callback_url"] = callback_url
    r = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={"kind": "webhook", "name": name, "config": config},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["config"]["secret"] == "********"
    path = httpx.URL(body["webhook_url"]).path
    return Channel(id=body["id"], token=path.rsplit("/", 1)[1], url=path)


def payload(
    message_id: str,
    text: str,
    *,
    sender: dict[str, Any] | None = None,
    conversation_id: str | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "id": message_id,
        "sender": sender or {"kind": "email", "value": "Chen.Jie@Example.com", "name": "Chen Jie"},
        "text": text,
        "subject": "Router keeps dropping",
    }
    if conversation_id:
        body["conversation_id"] = conversation_id
    return json.dumps(body).encode()


async def post_signed(
    client: httpx.AsyncClient, channel: Channel, body: bytes, *, secret: str = SECRET
) -> httpx.Response:
    header = sign(secret, body, int(time.time()))
    return await client.post(
        channel.url,
        content=body,
        headers={SIGNATURE_HEADER: header, "content-type": "application/json"},
    )


async def count(runtime: Runtime, tenant_id: uuid.UUID, model: Any) -> int:
    async with runtime.db.session(tenant_id) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def tickets_of(client: httpx.AsyncClient, tenant: TenantUnderTest) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/tickets", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def messages_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_signed_message_becomes_a_ticket_for_a_new_customer(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_channel(client, tenant)
    r = await post_signed(client, channel, payload("m-1", "It drops every evening at 8."))
    assert r.status_code == 200, r.text
    await drain(worker)
    tickets = await tickets_of(client, tenant)
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket["subject"] == "Router keeps dropping"
    assert ticket["channel"] == "webhook"
    assert ticket["team_id"] == str(tenant.teams["front-line"])  # the default hand-off
    messages = await messages_of(client, tenant, ticket["id"])
    assert [m["body_text"] for m in messages] == ["It drops every evening at 8."]
    assert messages[0]["direction"] == "inbound"
    customer = await client.get(
        f"/api/v1/customers/{ticket['customer_id']}", headers=tenant.admin.headers
    )
    assert customer.json()["display_name"] == "Chen Jie"
    assert [c["value"] for c in customer.json()["contact_points"]] == ["c***@example.com"]


async def test_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_channel(client, tenant)
    body = payload("m-1", "hello")
    wrong = await post_signed(client, channel, body, secret="not-the-shared-secret-at-all")
    assert wrong.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    missing = await client.post(channel.url, content=body)
    assert missing.status_code == 401
    assert await count(worker, tenant.id, InboundEvent) == 0
    # An unknown webhook token is a 404, not a hint.
    unknown = await client.post(f"/hooks/{'x' * 43}", content=body)
    assert unknown.status_code == 404


async def test_the_same_webhook_five_times_and_concurrently_gives_one_message(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_channel(client, tenant)
    body = payload("m-dup", "only once please")
    for _ in range(5):
        assert (await post_signed(client, channel, body)).status_code == 200
    results = await asyncio.gather(*(post_signed(client, channel, body) for _ in range(5)))
    assert [r.status_code for r in results] == [200] * 5
    await drain(worker)
    assert await count(worker, tenant.id, InboundEvent) == 1
    assert await count(worker, tenant.id, Message) == 1


async def test_ingest_twice_has_one_effect(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_channel(client, tenant)
    await post_signed(client, channel, payload("m-1", "hello"))
    await drain(worker)
    async with worker.db.session(tenant.id) as session:
        event_id = await session.scalar(select(InboundEvent.id))
    # The broker redelivers the job (a worker died after doing the work).
    for _ in range(3):
        worker.jobs.send("ingest", {"tenant_id": str(tenant.id), "event_id": str(event_id)})
    await drain(worker)
    assert await count(worker, tenant.id, Message) == 1


async def test_card_and_id_numbers_never_reach_storage(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_channel(client, tenant)
    text = "Card 4111 1111 1111 1111, ID 11010519491231002X, order 2026-42"
    await post_signed(client, channel, payload("m-1", text))
    await drain(worker)
    ticket = (await tickets_of(client, tenant))[0]
    stored = (await messages_of(client, tenant, ticket["id"]))[0]["body_text"]
    assert stored == "Card [card ****1111], ID [ID ****002X], order 2026-42"
    async with worker.db.session(tenant.id) as session:
        cipher = await load_tenant_cipher(session, worker.keyring, tenant.id)
        event = await session.scalar(select(InboundEvent))
        assert event is not None
        raw = msgspec.json.encode(read_payload(cipher, event)).decode()
    assert "4111 1111" not in raw and "11010519491231002X" not in raw


async def test_messages_in_one_conversation_thread_onto_one_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_channel(client, tenant)
    await post_signed(client, channel, payload("m-1", "first", conversation_id="conv-7"))
    await drain(worker)
    await post_signed(client, channel, payload("m-2", "second", conversation_id="conv-7"))
    await post_signed(client, channel, payload("m-3", "other topic", conversation_id="conv-8"))
    await drain(worker)
    tickets = await tickets_of(client, tenant)
    assert len(tickets) == 2
    by_count = sorted([len(await messages_of(client, tenant, t["id"])) for t in tickets])
    assert by_count == [1, 2]


async def test_one_customer_across_two_channels_has_one_timeline(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    shop = await make_channel(client, tenant, name="shop")
    app = await make_channel(client, tenant, name="mobile app")
    # The customer is known by email and phone (linked contact points).
    r = await client.post(
        "/api/v1/customers",
        headers=tenant.admin.headers,
        json={
            "display_name": "Chen Jie",
            "contacts": [
                {"kind": "email", "value": "chen.jie@example.com"},
                {"kind": "phone", "value": "+8613812345678"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    customer_id = r.json()["id"]
    await post_signed(client, shop, payload("s-1", "from the shop"))
    await post_signed(
        client,
        app,
        payload("a-1", "from the app", sender={"kind": "phone", "value": "+86 138 1234 5678"}),
    )
    await drain(worker)
    tickets = await tickets_of(client, tenant)
    assert {t["customer_id"] for t in tickets} == {customer_id}
    timeline = await client.get(
        f"/api/v1/customers/{customer_id}/timeline", headers=tenant.admin.headers
    )
    assert timeline.status_code == 200, timeline.text
    texts = {m["body_text"] for item in timeline.json()["items"] for m in item["messages"]}
    assert texts == {"from the shop", "from the app"}


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


@pytest.fixture
def fast_retries(runtime: Runtime) -> Runtime:
    """Workers whose retries come after 20 ms instead of seconds."""
    settings = msgspec.structs.replace(
        runtime.settings, delivery_backoff_ms=20, delivery_timeout_ms=2_000
    )
    runtime.settings = runtime.jobs.settings = settings
    runtime.jobs.start_worker(threads=2)
    return runtime


async def _reply(client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str) -> str:
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=tenant.users["agent"].headers,
        json={"kind": "reply", "body": "We are on it."},
    )
    assert r.status_code == 201, r.text
    message_id: str = r.json()["id"]
    return message_id


async def test_a_failing_provider_gets_the_reply_once_with_attempts_on_record(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    fast_retries: Runtime,
    provider: ProviderServer,
) -> None:
    channel = await make_channel(client, tenant, callback_url=provider.url, timeout_seconds=0.5)
    await post_signed(client, channel, payload("m-1", "help"))
    await drain(fast_retries)
    ticket = (await tickets_of(client, tenant))[0]
    provider.queue(
        ProviderResponse(status=500),
        ProviderResponse(status=200, delay=1.5),  # the adapter gives up: a timeout
        ProviderResponse(status=200, body=b'{"id": "their-42"}'),
    )
    await _reply(client, tenant, ticket["id"])
    await _wait_for_delivery(client, tenant, ticket["id"], fast_retries)
    deliveries = (
        await client.get(f"/api/v1/tickets/{ticket['id']}/deliveries", headers=tenant.admin.headers)
    ).json()
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert delivery["status"] == "sent"
    assert delivery["external_id"] == "their-42"
    assert [a["status"] for a in delivery["attempts"]] == ["failed", "failed", "sent"]
    successful = [r for r in provider.requests if r.json()["text"] == "We are on it."]
    # three calls reached the provider; each carried the same idempotency key
    assert len({r.headers.get("idempotency-key") for r in successful}) == 1


async def test_a_permanently_failing_provider_leaves_the_reply_marked_failed(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    fast_retries: Runtime,
    provider: ProviderServer,
) -> None:
    channel = await make_channel(client, tenant, callback_url=provider.url)
    await post_signed(client, channel, payload("m-1", "help"))
    await drain(fast_retries)
    ticket = (await tickets_of(client, tenant))[0]
    provider.answer(ProviderResponse(status=500))
    message_id = await _reply(client, tenant, ticket["id"])
    await _wait_for_delivery(client, tenant, ticket["id"], fast_retries)
    messages = await messages_of(client, tenant, ticket["id"])
    reply = next(m for m in messages if m["id"] == message_id)
    assert reply["delivery"] == "failed"
    events = (
        await client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=tenant.admin.headers)
    ).json()["items"]
    failed = [e for e in events if e["kind"] == "delivery_failed"]
    assert len(failed) == 1
    assert failed[0]["data"]["attempts"] == fast_retries.settings.delivery_max_attempts
    assert provider.received == fast_retries.settings.delivery_max_attempts


async def _wait_for_delivery(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, runtime: Runtime
) -> None:
    # Retries are delayed messages: drain until the delivery settles.
    for _ in range(100):
        await drain(runtime)
        r = await client.get(
            f"/api/v1/tickets/{ticket_id}/deliveries", headers=tenant.admin.headers
        )
        if r.json() and all(d["status"] != "queued" for d in r.json()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery did not settle: {r.json()}")


async def test_a_failed_reply_shows_why_and_a_retry_shows_when(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    fast_retries: Runtime,
    provider: ProviderServer,
) -> None:
    channel = await make_channel(client, tenant, callback_url=provider.url)
    await post_signed(client, channel, payload("m-1", "help"))
    await drain(fast_retries)
    ticket = (await tickets_of(client, tenant))[0]
    provider.answer(ProviderResponse(status=400))  # permanent: not retried
    message_id = await _reply(client, tenant, ticket["id"])
    await _wait_for_delivery(client, tenant, ticket["id"], fast_retries)
    reply = next(
        m for m in await messages_of(client, tenant, ticket["id"]) if m["id"] == message_id
    )
    assert reply["delivery"] == "failed"
    assert reply["delivery_error"] and "400" in reply["delivery_error"]
    delivery = (
        await client.get(f"/api/v1/tickets/{ticket['id']}/deliveries", headers=tenant.admin.headers)
    ).json()[0]
    assert delivery["next_attempt_at"] is None and len(delivery["attempts"]) == 1


async def test_a_chatty_customer_is_no_autoresponder_unless_the_channel_says_so(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    """The per-sender rate limit guards against autoresponders (email's, by default);
    on a webhook or chat channel a person's 25 quick messages are a person's."""
    channel = await make_channel(client, tenant)
    for i in range(25):
        await post_signed(client, channel, payload(f"m-{i}", f"and {i}", conversation_id="c"))
    await drain(worker)
    [ticket] = await tickets_of(client, tenant)
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/state",
        headers=tenant.admin.headers,
        json={"state": "resolved"},
    )
    assert r.status_code == 200, r.text
    await post_signed(client, channel, payload("m-25", "one more thing", conversation_id="c"))
    await drain(worker)
    r = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=tenant.admin.headers)
    assert r.json()["state"] == "open"  # the customer's message woke it
    reasons = [m["thread_reason"] for m in await messages_of(client, tenant, ticket["id"])]
    assert len(reasons) == 26
    assert not [r for r in reasons if "automatic" in (r or "")]

    # An admin who wants the limit here sets it: past it, messages are automatic.
    r = await client.patch(
        f"/api/v1/channels/{channel.id}",
        headers=tenant.admin.headers,
        json={"settings": {"sender_rate_limit": 3}},
    )
    assert r.status_code == 200, r.text
    for i in range(5):
        await post_signed(client, channel, payload(f"n-{i}", f"again {i}", conversation_id="c"))
    await drain(worker)
    reasons = [m["thread_reason"] for m in await messages_of(client, tenant, ticket["id"])]
    assert ["automatic" in (r or "") for r in reasons[26:]] == [False] * 3 + [True] * 2
