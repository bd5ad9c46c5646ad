"""The owner's follow-up after a resolution, and auto-closing tickets left pending.

With the clock stopped and moved by hand: the follow-up reminder fires once
for the owner and not for a ticket reopened meanwhile; a ticket pending on
the customer gets a last notice on its channel, then closes, unless the
customer writes first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from channels.test_pipeline import make_channel
from conftest import TenantUnderTest
from followups.support import arrive, ok, tick
from frontdesk.channels import ContactRef, InboundMessage, ThreadHints
from frontdesk.clock import Clock
from frontdesk.realtime.events import tenant_channel
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer
from frontdesk.timers.models import Timer


async def events(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, kind: str
) -> list[dict[str, Any]]:
    found = await ok(
        await client.get(
            f"/api/v1/tickets/{ticket_id}/events",
            headers=tenant.admin.headers,
            params={"limit": 200},
        )
    )
    return [e for e in found["items"] if e["kind"] == kind]


async def set_state(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, state: str
) -> dict[str, Any]:
    found: dict[str, Any] = await ok(
        await client.post(
            f"/api/v1/tickets/{ticket_id}/state",
            headers=tenant.users["agent"].headers,
            json={"state": state},
        )
    )
    return found


async def test_the_owner_is_reminded_once_to_follow_up_and_not_after_a_reopening(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    h = tenant.admin.headers
    # Settings: checked as a whole, replaced as a whole.
    for bad in (
        {"auto_close_hours": 24, "auto_close_notice_hours": 24},
        {"survey_delay_minutes": -1},
        {"follow_up_hours": 0},
        {"reminder": True},
    ):
        r = await client.put("/api/v1/followup-settings", headers=h, json=bad)
        assert r.status_code == 400, (bad, r.text)
    assert (await ok(await client.get("/api/v1/followup-settings", headers=h)))[
        "follow_up_hours"
    ] == 24
    r = await client.put(
        "/api/v1/followup-settings", headers=tenant.users["agent"].headers, json={}
    )
    assert r.status_code == 403
    put = await ok(
        await client.put(
            "/api/v1/followup-settings",
            headers=h,
            json={"follow_up_hours": 2, "survey_enabled": False},
        )
    )
    assert put["follow_up_hours"] == 2 and put["survey_enabled"] is False
    assert put["auto_close_hours"] == 168

    customer = await ok(
        await client.post("/api/v1/customers", headers=h, json={"display_name": "Zhao Lei"}), 201
    )
    agent = tenant.users["agent"]
    ids = []
    for subject in ("Refund came through?", "Router replaced"):
        ticket = await ok(
            await client.post(
                "/api/v1/tickets",
                headers=h,
                json={
                    "customer_id": customer["id"],
                    "subject": subject,
                    "assignee_id": str(agent.user_id),
                },
            ),
            201,
        )
        ids.append(ticket["id"])
        await set_state(client, tenant, ticket["id"], "resolved")
    kept, reopened = ids
    clock.advance(dt.timedelta(minutes=30))
    await set_state(client, tenant, reopened, "open")

    clock.advance(dt.timedelta(hours=1, minutes=29))
    await tick(worker, tenant)
    assert await events(client, tenant, kept, "follow_up_due") == []

    # Due: on the timeline, and to the owner's inbox socket.
    async with worker.pubsub.subscribe(tenant_channel(tenant.id)) as frames:
        clock.advance(dt.timedelta(minutes=1))
        await tick(worker, tenant)

        async def reminder_frame() -> dict[str, Any]:
            async for raw in frames:
                event: dict[str, Any] = json.loads(raw)
                if event["type"] == "ticket.reminder":
                    return event
            raise AssertionError("the subscription ended")

        live = await asyncio.wait_for(reminder_frame(), timeout=60)
    assert live["ticket_id"] == kept and live["assignee_id"] == str(agent.user_id)
    assert live["data"]["kind"] == "follow_up_due"
    clock.advance(dt.timedelta(hours=5))
    await tick(worker, tenant)
    [reminder] = await events(client, tenant, kept, "follow_up_due")
    assert reminder["data"]["owner_id"] == str(agent.user_id)
    assert await events(client, tenant, reopened, "follow_up_due") == []
    # Surveys are off: none was sent for either.
    for ticket_id in ids:
        assert await ok(await client.get(f"/api/v1/tickets/{ticket_id}/surveys", headers=h)) == []


async def test_a_quiet_pending_ticket_gets_a_last_notice_then_closes_and_a_reply_cancels_both(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    with ProviderServer() as provider:
        provider.accept()
        channel = await make_channel(client, tenant, callback_url=f"{provider.url}/callback")
        for name in ("quiet", "answers"):
            await arrive(
                worker,
                tenant.id,
                channel.id,
                InboundMessage(
                    external_id=f"{name}-1",
                    sender=ContactRef(kind="email", value=f"{name}@example.com"),
                    text=f"A question from {name}",
                    thread=ThreadHints(conversation_id=f"conversation-{name}"),
                ),
            )
        await tick(worker, tenant)
        listed = await ok(await client.get("/api/v1/tickets", headers=tenant.admin.headers))
        by_text = {t["subject"].split()[-1]: t["id"] for t in listed["items"]}
        quiet, answers = by_text["quiet"], by_text["answers"]
        for ticket_id in (quiet, answers):
            await set_state(client, tenant, ticket_id, "pending")

        # Default settings: closes after a week, the last notice a day before.
        clock.advance(dt.timedelta(hours=143, minutes=59))
        await tick(worker, tenant)
        assert provider.received == 0
        clock.advance(dt.timedelta(minutes=1))
        await tick(worker, tenant)
        notices = [r.json() for r in provider.requests]
        assert len(notices) == 2
        assert all("will close this request" in str(n) for n in notices)
        for ticket_id in (quiet, answers):
            sent = await events(client, tenant, ticket_id, "auto_close_notice_sent")
            assert len(sent) == 1 and sent[0]["data"]["close_at"]
            ticket = await ok(
                await client.get(f"/api/v1/tickets/{ticket_id}", headers=tenant.admin.headers)
            )
            assert ticket["state"] == "pending"

        await arrive(
            worker,
            tenant.id,
            channel.id,
            InboundMessage(
                external_id="answers-2",
                sender=ContactRef(kind="email", value="answers@example.com"),
                text="Still broken, sorry for the delay",
                thread=ThreadHints(conversation_id="conversation-answers"),
            ),
        )
        await tick(worker, tenant)
        clock.advance(dt.timedelta(hours=24))
        await tick(worker, tenant)
        clock.advance(dt.timedelta(hours=200))
        await tick(worker, tenant)

        states = {}
        for ticket_id in (quiet, answers):
            found = await ok(
                await client.get(f"/api/v1/tickets/{ticket_id}", headers=tenant.admin.headers)
            )
            states[ticket_id] = found["state"]
        assert states == {quiet: "closed", answers: "open"}
        closing = await events(client, tenant, quiet, "state_changed")
        assert [(e["data"]["before"], e["data"]["after"]) for e in closing][-2:] == [
            ("pending", "resolved"),
            ("resolved", "closed"),
        ]
        assert "no reply" in closing[-1]["data"]["reason"]
        # One notice each, nothing more: no survey for a ticket nobody solved.
        assert provider.received == 2
        assert (
            await ok(
                await client.get(f"/api/v1/tickets/{quiet}/surveys", headers=tenant.admin.headers)
            )
            == []
        )
        async with worker.db.session(tenant.id) as session:
            left = (
                await session.scalars(
                    select(Timer.kind).where(
                        Timer.ticket_id.in_([uuid.UUID(quiet), uuid.UUID(answers)]),
                        Timer.state == "pending",
                        Timer.kind.in_(["survey", "follow_up", "auto_close", "auto_close_notice"]),
                    )
                )
            ).all()
        assert left == []
