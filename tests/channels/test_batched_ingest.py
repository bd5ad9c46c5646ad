"""Batched ingestion decides exactly what one-at-a-time ingestion decides.

Events wait in the intake (no worker runs here) and are then ingested either
as one batch or one event per transaction; customers, tickets, threading and
message order must come out the same. Also: a burst of webhooks queues one
job, an event that cannot be ingested is set aside without holding up the
rest, and the intake's cache of channels never serves a change late.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest
from sqlalchemy import select

from conftest import sign_up
from frontdesk.app import create_app
from frontdesk.channels import Capabilities, hookimpl
from frontdesk.channels.ingest import MAX_ATTEMPTS, ingest_event, ingest_pending
from frontdesk.channels.models import InboundEvent
from frontdesk.channels.registry import registry_with
from frontdesk.config import Settings
from frontdesk.identity.models import Customer
from frontdesk.ids import new_id
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import Message, Ticket
from frontdesk_webhook import SIGNATURE_HEADER, sign
from frontdesk_webhook.adapter import WebhookAdapter

SECRET = "a-shared-secret-of-some-length"


class ChatLikeAdapter(WebhookAdapter):
    """The webhook channel without threads: one running conversation per customer."""

    kind: ClassVar[str] = "chatlike"
    capabilities: ClassVar[Capabilities] = Capabilities()


class Plugin:
    @hookimpl
    def frontdesk_channel_adapters(self) -> list[type[Any]]:
        return [WebhookAdapter, ChatLikeAdapter]


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, pool_size=4, registry=registry_with(Plugin()))
    await runtime.start(worker=False)  # jobs wait in the in-process broker
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def api(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=rt)
    app.state.runtime = rt
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def channel(api: httpx.AsyncClient, headers: dict[str, str], kind: str) -> tuple[str, str]:
    r = await api.post(
        "/api/v1/channels",
        headers=headers,
        json={"kind": kind, "name": kind, "config": {"secret": SECRET}},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], httpx.URL(r.json()["webhook_url"]).path


async def post(
    api: httpx.AsyncClient,
    hook: str,
    message_id: str,
    sender: str,
    text: str,
    conversation: str | None = None,
    *,
    secret: str = SECRET,
) -> httpx.Response:
    kind = "phone" if sender.startswith("+") or sender.isdigit() else "email"
    body: dict[str, Any] = {
        "id": message_id,
        "sender": {"kind": kind, "value": sender, "name": sender.split("@")[0]},
        "subject": f"About {conversation or sender}",
        "text": text,
    }
    if conversation:
        body["conversation_id"] = conversation
    raw = json.dumps(body).encode()
    return await api.post(
        hook,
        content=raw,
        headers={
            SIGNATURE_HEADER: sign(secret, raw, int(time.time())),
            "content-type": "application/json",
        },
    )


# Arrival order matters: later messages must find what earlier ones opened,
# whether they are in the same batch or not.
TRAFFIC: list[tuple[str, str, str, str | None]] = [
    ("webhook", "ann@example.com", "ann 1 in c1", "c1"),
    ("chatlike", "bob@example.com", "bob 1", None),
    ("webhook", "ann@example.com", "ann 2 in c1", "c1"),
    ("chatlike", "bob@example.com", "bob 2", None),
    ("webhook", "12345", "not a phone number", None),
    ("webhook", "ann@example.com", "ann 3 in c2", "c2"),
    ("chatlike", "ann@example.com", "ann 4 on chat", None),
    ("webhook", "cid@example.com", "cid 1 in c1", "c1"),
]


async def outcome(rt: Runtime, tenant_id: uuid.UUID) -> dict[str, Any]:
    """What an agent would see: each ticket's customer, channel and messages in order."""
    async with rt.db.session(tenant_id) as session:
        names = {c.id: c.display_name for c in await session.scalars(select(Customer))}
        tickets = (await session.scalars(select(Ticket).order_by(Ticket.number))).all()
        shown = []
        for ticket in tickets:
            texts = (
                await session.scalars(
                    select(Message.body_text)
                    .where(Message.ticket_id == ticket.id)
                    .order_by(Message.id)
                )
            ).all()
            shown.append((names[ticket.customer_id], ticket.channel, ticket.state, list(texts)))
        events = (await session.execute(select(InboundEvent.status, InboundEvent.error))).all()
    return {
        "customers": sorted(names.values()),
        "tickets": shown,
        "events": sorted((status, bool(error)) for status, error in events),
    }


async def test_a_batch_threads_exactly_as_one_event_at_a_time(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    results = []
    for batched in (True, False):
        tenant = await sign_up(api)
        hooks = {kind: (await channel(api, tenant.admin.headers, kind))[1] for kind in
                 ("webhook", "chatlike")}  # fmt: skip
        for i, (kind, sender, text, conversation) in enumerate(TRAFFIC):
            r = await post(api, hooks[kind], f"m-{i}", sender, text, conversation)
            assert r.status_code == 200, r.text
        if batched:
            assert await ingest_pending(rt, tenant.id) == len(TRAFFIC)
        else:
            async with rt.db.session(tenant.id) as session:
                ids = (
                    await session.scalars(select(InboundEvent.id).order_by(InboundEvent.id))
                ).all()
            for event_id in ids:
                await ingest_event(rt, tenant.id, event_id)
        results.append(await outcome(rt, tenant.id))

    batch, single = results
    assert batch == single
    assert batch["customers"] == ["ann", "bob", "cid"]
    assert batch["tickets"] == [
        ("ann", "webhook", "new", ["ann 1 in c1", "ann 2 in c1", "cid 1 in c1"]),
        ("bob", "chatlike", "new", ["bob 1", "bob 2"]),
        ("ann", "webhook", "new", ["ann 3 in c2"]),
        ("ann", "chatlike", "new", ["ann 4 on chat"]),
    ]
    # The malformed phone number is set aside with its reason; the rest went through.
    assert batch["events"] == [("failed", True)] + [("processed", False)] * 7


async def test_a_batch_reopens_resolved_tickets_and_follows_up_closed_ones(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    tenant = await sign_up(api)
    _, hook = await channel(api, tenant.admin.headers, "webhook")
    await post(api, hook, "m-1", "ann@example.com", "first", "resolved-one")
    await post(api, hook, "m-2", "bob@example.com", "first", "closed-one")
    await ingest_pending(rt, tenant.id)
    r = await api.get("/api/v1/tickets", headers=tenant.admin.headers)
    by_subject = {t["subject"]: t for t in r.json()["items"]}
    resolved, closed = by_subject["About resolved-one"], by_subject["About closed-one"]
    for ticket, states in (
        (resolved, ["open", "resolved"]),
        (closed, ["open", "resolved", "closed"]),
    ):
        for state in states:
            r = await api.post(
                f"/api/v1/tickets/{ticket['id']}/state",
                headers=tenant.admin.headers,
                json={"state": state},
            )
            assert r.status_code == 200, r.text

    await post(api, hook, "m-3", "ann@example.com", "again", "resolved-one")
    await post(api, hook, "m-4", "bob@example.com", "again", "closed-one")
    await post(api, hook, "m-5", "bob@example.com", "and again", "closed-one")
    assert await ingest_pending(rt, tenant.id) == 3

    r = await api.get(f"/api/v1/tickets/{resolved['id']}", headers=tenant.admin.headers)
    assert r.json()["state"] == "open"
    r = await api.get(f"/api/v1/tickets/{resolved['id']}/messages", headers=tenant.admin.headers)
    reasons = [m["thread_reason"] for m in r.json()["items"]]
    assert reasons == ["new conversation", "same conversation, reopened"]

    r = await api.get("/api/v1/tickets", headers=tenant.admin.headers)
    follow_ups = [t for t in r.json()["items"] if t["id"] not in (resolved["id"], closed["id"])]
    assert len(follow_ups) == 1
    r = await api.get(
        f"/api/v1/tickets/{follow_ups[0]['id']}/messages", headers=tenant.admin.headers
    )
    assert [(m["body_text"], m["thread_reason"]) for m in r.json()["items"]] == [
        ("again", f"follow-up of closed {closed['number']}"),
        # The second message finds the follow-up its batch neighbour opened.
        ("and again", "same conversation"),
    ]


async def test_an_event_that_cannot_be_ingested_is_set_aside_and_the_rest_go_on(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    tenant = await sign_up(api)
    channel_id, hook = await channel(api, tenant.admin.headers, "webhook")
    await post(api, hook, "m-1", "ann@example.com", "before")
    # A stored event no code can read (its ciphertext damaged on disk, say).
    async with rt.db.session(tenant.id) as session:
        session.add(
            InboundEvent(
                id=new_id(),
                channel_id=uuid.UUID(channel_id),
                external_id="damaged",
                kind="message",
                payload_encrypted="v1:not-a-ciphertext",
                status="received",
                attempts=0,
            )
        )
    await post(api, hook, "m-2", "bob@example.com", "after")

    await ingest_pending(rt, tenant.id)
    async with rt.db.session(tenant.id) as session:
        rows = {e.external_id: e for e in (await session.scalars(select(InboundEvent))).all()}
    assert rows["m-1"].status == rows["m-2"].status == "processed"
    damaged = rows["damaged"]
    assert (damaged.status, damaged.attempts) == ("received", 1)
    assert damaged.error

    # It is tried again with later batches, then given up on, for an operator.
    for _ in range(MAX_ATTEMPTS - 1):
        await ingest_pending(rt, tenant.id)
    async with rt.db.session(tenant.id) as session:
        damaged_now = await session.scalar(
            select(InboundEvent).where(InboundEvent.external_id == "damaged")
        )
    assert damaged_now is not None
    assert (damaged_now.status, damaged_now.attempts) == ("failed", MAX_ATTEMPTS)
    assert await ingest_pending(rt, tenant.id) == 0


async def test_a_burst_of_webhooks_is_stored_in_full_and_queues_one_job(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    tenant = await sign_up(api)
    _, hook = await channel(api, tenant.admin.headers, "webhook")
    sends = [
        post(api, hook, f"m-{i % 30}", f"c{i % 30}@example.com", f"text {i % 30}")
        for i in range(40)  # ten of them redeliveries, some at the same moment
    ]
    assert {r.status_code for r in await asyncio.gather(*sends)} == {200}
    async with rt.db.session(tenant.id) as session:
        stored = (await session.scalars(select(InboundEvent.external_id))).all()
    assert sorted(stored) == sorted(f"m-{i}" for i in range(30))
    # One job takes them all; the rest of the burst only added to its work.
    assert rt.jobs.waiting("ingest_pending") == 1
    assert await ingest_pending(rt, tenant.id) == 30


async def test_a_channel_change_applies_to_the_very_next_webhook(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    tenant = await sign_up(api)
    channel_id, hook = await channel(api, tenant.admin.headers, "webhook")
    assert (await post(api, hook, "m-1", "ann@example.com", "hi")).status_code == 200

    new_secret = "another-shared-secret-now"
    r = await api.patch(
        f"/api/v1/channels/{channel_id}",
        headers=tenant.admin.headers,
        json={"config": {"secret": new_secret}},
    )
    assert r.status_code == 200, r.text
    assert (await post(api, hook, "m-2", "ann@example.com", "hi")).status_code == 401
    assert (
        await post(api, hook, "m-3", "ann@example.com", "hi", secret=new_secret)
    ).status_code == 200

    r = await api.patch(
        f"/api/v1/channels/{channel_id}", headers=tenant.admin.headers, json={"is_active": False}
    )
    assert r.status_code == 200, r.text
    r = await post(api, hook, "m-4", "ann@example.com", "hi", secret=new_secret)
    assert r.status_code == 404
