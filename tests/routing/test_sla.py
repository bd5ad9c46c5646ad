"""SLA clocks on tickets, with the clock stopped: defaults, warning and breach
firing once, the first reply, pending pauses, next-response cycles, business hours.
"""

from __future__ import annotations

import collections
import datetime as dt
import uuid
import zoneinfo
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conftest import TenantUnderTest, drain
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.tickets import service as tickets
from frontdesk.tickets.models import Ticket, TicketEvent
from frontdesk.timers.service import run_due

H = 3600
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


async def open_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, **fields: Any
) -> uuid.UUID:
    h = tenant.admin.headers
    r = await client.post("/api/v1/customers", headers=h, json={"display_name": "Li Lei"})
    assert r.status_code == 201, r.text
    body = {"customer_id": r.json()["id"], "subject": "It is broken", **fields}
    r = await client.post("/api/v1/tickets", headers=h, json=body)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def clocks(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: uuid.UUID
) -> dict[str, dict[str, Any]]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    return {c["metric"]: c for c in r.json()}


async def sla_events(
    runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID
) -> collections.Counter[tuple[str, str]]:
    async with runtime.db.session(tenant_id) as session:
        rows = await session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket_id,
                TicketEvent.kind.in_(["sla_warning", "sla_breached"]),
            )
        )
        return collections.Counter((e.kind, e.data["metric"]) for e in rows)


async def tick(runtime: Runtime) -> None:
    """What the scheduler does each tick, then wait for the fired timers' jobs."""
    await run_due(runtime)
    await drain(runtime)


async def customer_writes(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> None:
    async with runtime.db.session(tenant_id) as session:
        ticket = await session.get(Ticket, (tenant_id, ticket_id))
        assert ticket is not None
        await tickets.add_inbound_message(
            session,
            ticket,
            customer_id=ticket.customer_id,
            channel="email",
            channel_id=uuid.uuid4(),
            external_id=uuid.uuid4().hex,
            subject=None,
            text="Any news?",
            html=None,
            meta={},
        )


async def reply(client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: uuid.UUID) -> None:
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=tenant.admin.headers,
        json={"kind": "reply", "body": "We are on it."},
    )
    assert r.status_code == 201, r.text


async def set_state(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: uuid.UUID, state: str
) -> None:
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/state", headers=tenant.admin.headers, json={"state": state}
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("fields", "first_response", "resolution"),
    [
        ({"channel": "email"}, 4 * H, 24 * H),
        ({"channel": "phone"}, 15, 24 * H),
        ({"channel": "webchat"}, 120, 24 * H),
        ({"channel": "im"}, 120, 24 * H),
        ({"channel": "email", "priority": "urgent"}, 1 * H, 24 * H),
        ({"channel": "email", "category": "pre_sales"}, 4 * H, 24 * H),
        ({"channel": "email", "category": "fault"}, 4 * H, 48 * H),
        # A complaint is made urgent by the default routing rule, before the clocks start.
        ({"channel": "email", "category": "complaint"}, 1 * H, 72 * H),
        # Always open (no calendar): a business day is 24 h.
        ({"channel": "email", "priority": "low"}, 4 * H, 3 * 24 * H),
    ],
)
async def test_default_targets(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    clock: Clock,
    fields: dict[str, Any],
    first_response: int,
    resolution: int,
) -> None:
    ticket_id = await open_ticket(client, tenant, **fields)
    found = await clocks(client, tenant, ticket_id)
    assert set(found) == {"first_response", "resolution"}
    assert found["first_response"]["target_seconds"] == first_response
    assert found["resolution"]["target_seconds"] == resolution
    assert found["first_response"]["state"] == "running"
    due = dt.datetime.fromisoformat(found["first_response"]["due_at"])
    assert due == clock.now() + dt.timedelta(seconds=first_response)


async def test_warning_at_80_percent_and_breach_at_100_each_fire_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await open_ticket(client, tenant, channel="email")
    clock.advance(dt.timedelta(hours=3, minutes=11))
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {}
    clock.advance(dt.timedelta(minutes=1))  # 3 h 12 min: 80 % of 4 h
    await tick(worker)
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {("sla_warning", "first_response"): 1}
    clock.advance(dt.timedelta(minutes=48))
    await tick(worker)
    clock.advance(dt.timedelta(minutes=30))
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {
        ("sla_warning", "first_response"): 1,
        ("sla_breached", "first_response"): 1,
    }
    found = await clocks(client, tenant, ticket_id)
    assert found["first_response"]["warned_at"] is not None
    assert found["first_response"]["breached_at"] is not None
    # A late reply still meets it (late: the breach stays on record).
    await reply(client, tenant, ticket_id)
    found = await clocks(client, tenant, ticket_id)
    assert found["first_response"]["state"] == "met"
    assert found["first_response"]["breached_at"] is not None
    # The events reach the timeline like any other.
    r = await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=tenant.admin.headers)
    kinds = [e["kind"] for e in r.json()["items"]]
    assert kinds.count("sla_warning") == 1
    assert kinds.count("sla_breached") == 1


async def test_the_first_agent_reply_stops_the_first_response_clock(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await open_ticket(client, tenant, channel="email")
    clock.advance(dt.timedelta(hours=1))
    await reply(client, tenant, ticket_id)
    found = await clocks(client, tenant, ticket_id)
    assert found["first_response"]["state"] == "met"
    assert found["first_response"]["elapsed_seconds"] == H
    assert found["resolution"]["state"] == "running"
    clock.advance(dt.timedelta(hours=5))
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {}


async def test_pending_on_the_customer_pauses_and_resumes(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await open_ticket(client, tenant, channel="email")
    clock.advance(dt.timedelta(hours=1))
    await set_state(client, tenant, ticket_id, "pending")
    found = await clocks(client, tenant, ticket_id)
    assert found["first_response"]["state"] == "paused"
    assert found["first_response"]["elapsed_seconds"] == H
    # Days pass while the customer is away: nothing fires, nothing is used.
    clock.advance(dt.timedelta(days=3))
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {}
    assert (await clocks(client, tenant, ticket_id))["resolution"]["elapsed_seconds"] == H
    # The customer writes: the ticket reopens, the clocks run on with what was left.
    await customer_writes(worker, tenant.id, ticket_id)
    found = await clocks(client, tenant, ticket_id)
    assert found["first_response"]["state"] == "running"
    due = dt.datetime.fromisoformat(found["first_response"]["due_at"])
    assert due == clock.now() + dt.timedelta(hours=3)
    clock.advance(dt.timedelta(hours=2, minutes=12))  # 1 h + 2 h 12 min = 80 %
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {("sla_warning", "first_response"): 1}
    clock.advance(dt.timedelta(minutes=48))
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {
        ("sla_warning", "first_response"): 1,
        ("sla_breached", "first_response"): 1,
    }


async def test_each_customer_message_after_a_reply_starts_a_next_response_cycle(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await open_ticket(client, tenant, channel="email")
    await reply(client, tenant, ticket_id)
    assert "next_response" not in await clocks(client, tenant, ticket_id)
    await customer_writes(worker, tenant.id, ticket_id)
    first_due = (await clocks(client, tenant, ticket_id))["next_response"]["due_at"]
    # Writing again does not push the customer's own target back.
    clock.advance(dt.timedelta(hours=1))
    await customer_writes(worker, tenant.id, ticket_id)
    assert (await clocks(client, tenant, ticket_id))["next_response"]["due_at"] == first_due
    clock.advance(dt.timedelta(hours=2, minutes=12))
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {("sla_warning", "next_response"): 1}
    await reply(client, tenant, ticket_id)
    assert (await clocks(client, tenant, ticket_id))["next_response"]["state"] == "met"
    # The next message restarts it: a new cycle with its own warning and breach.
    clock.advance(dt.timedelta(hours=1))
    await customer_writes(worker, tenant.id, ticket_id)
    found = (await clocks(client, tenant, ticket_id))["next_response"]
    assert found["state"] == "running"
    assert found["warned_at"] is None
    assert dt.datetime.fromisoformat(found["due_at"]) == clock.now() + dt.timedelta(hours=4)
    clock.advance(dt.timedelta(hours=4))
    await tick(worker)
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {
        ("sla_warning", "next_response"): 2,
        ("sla_breached", "next_response"): 1,
    }


async def test_resolving_meets_the_resolution_clock_and_closing_stops_the_rest(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await open_ticket(client, tenant, channel="email")
    clock.advance(dt.timedelta(hours=2))
    await set_state(client, tenant, ticket_id, "resolved")
    found = await clocks(client, tenant, ticket_id)
    assert found["resolution"]["state"] == "met"
    assert found["first_response"]["state"] == "cancelled"
    clock.advance(dt.timedelta(days=3))
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {}


async def test_business_hours_count_friday_1759_plus_4_hours_as_monday_1259(
    client: httpx.AsyncClient, tenant: TenantUnderTest, clock: Clock
) -> None:
    r = await client.put(
        "/api/v1/business-hours",
        headers=tenant.admin.headers,
        json={
            "timezone": "Asia/Shanghai",
            "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-25"],
        },
    )
    assert r.status_code == 200, r.text
    clock.set(dt.datetime(2026, 11, 27, 17, 59, tzinfo=SHANGHAI))
    ticket_id = await open_ticket(client, tenant, channel="email")
    found = await clocks(client, tenant, ticket_id)
    due = dt.datetime.fromisoformat(found["first_response"]["due_at"])
    assert due == dt.datetime(2026, 11, 30, 12, 59, tzinfo=SHANGHAI)
    # Resolution, 24 h of business time: 1 min Friday, then 9 h a day.
    due = dt.datetime.fromisoformat(found["resolution"]["due_at"])
    assert due == dt.datetime(2026, 12, 2, 14, 59, tzinfo=SHANGHAI)


async def test_a_teams_calendar_counts_its_tickets(
    client: httpx.AsyncClient, tenant: TenantUnderTest, clock: Clock
) -> None:
    team = tenant.teams["engineering"]
    r = await client.put(
        f"/api/v1/teams/{team}/business-hours",
        headers=tenant.admin.headers,
        json={"timezone": "UTC", "hours": {"fri": [["09:00", "10:00"]]}},
    )
    assert r.status_code == 200, r.text
    ticket_id = await open_ticket(client, tenant, channel="email", team_id=str(team))
    found = await clocks(client, tenant, ticket_id)
    # One hour on each Friday: 4 h is the fourth Friday at 10:00.
    assert found["first_response"]["due_at"].startswith("2026-12-18T10:00:00")
    front_line = await open_ticket(client, tenant, channel="email")
    found = await clocks(client, tenant, front_line)
    assert found["first_response"]["due_at"].startswith("2026-11-27T13:00:00")


async def test_tickets_from_a_channel_get_their_clocks_at_the_routing_hand_off(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    from channels.test_pipeline import make_channel, payload, post_signed

    channel = await make_channel(client, tenant)
    for i in range(5):
        r = await post_signed(client, channel, payload(f"m-{i}", "help", conversation_id=f"c-{i}"))
        assert r.status_code == 200, r.text
    await drain(worker)
    r = await client.get("/api/v1/tickets", headers=tenant.admin.headers)
    ids = [uuid.UUID(t["id"]) for t in r.json()["items"]]
    assert len(ids) == 5
    for ticket_id in ids:
        found = await clocks(client, tenant, ticket_id)
        assert found["first_response"]["state"] == "running"
        assert found["first_response"]["target_seconds"] == 4 * H
        assert found["resolution"]["state"] == "running"
    # Waiting on the customer pauses; their next message (through the pipeline) resumes.
    [*_, oldest] = ids
    await set_state(client, tenant, oldest, "pending")
    clock.advance(dt.timedelta(hours=10))
    r = await post_signed(
        client, channel, payload("m-again", "still broken", conversation_id="c-0")
    )
    assert r.status_code == 200, r.text
    await drain(worker)
    found = await clocks(client, tenant, oldest)
    assert found["first_response"]["state"] == "running"
    assert found["first_response"]["elapsed_seconds"] == 0
    due = dt.datetime.fromisoformat(found["first_response"]["due_at"])
    assert due == clock.now() + dt.timedelta(hours=4)


async def test_a_new_priority_retargets_the_running_clocks(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    ticket_id = await open_ticket(client, tenant, channel="email")
    start = clock.now()
    clock.advance(dt.timedelta(minutes=30))
    r = await client.patch(
        f"/api/v1/tickets/{ticket_id}", headers=tenant.admin.headers, json={"priority": "urgent"}
    )
    assert r.status_code == 200, r.text
    found = (await clocks(client, tenant, ticket_id))["first_response"]
    assert found["target_seconds"] == H
    assert found["policy"] == "Urgent: reply within 1 h"
    assert dt.datetime.fromisoformat(found["due_at"]) == start + dt.timedelta(hours=1)
    clock.advance(dt.timedelta(minutes=18))  # 48 min: 80 % of the new hour
    await tick(worker)
    assert await sla_events(worker, tenant.id, ticket_id) == {("sla_warning", "first_response"): 1}


async def test_a_transfer_counts_by_the_new_teams_calendar(
    client: httpx.AsyncClient, tenant: TenantUnderTest, clock: Clock
) -> None:
    team = tenant.teams["engineering"]
    r = await client.put(
        f"/api/v1/teams/{team}/business-hours",
        headers=tenant.admin.headers,
        json={"timezone": "UTC", "hours": {"fri": [["09:00", "10:00"]]}},
    )
    assert r.status_code == 200, r.text
    ticket_id = await open_ticket(client, tenant, channel="email")
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/assign",
        headers=tenant.admin.headers,
        json={"team_id": str(team)},
    )
    assert r.status_code == 200, r.text
    found = (await clocks(client, tenant, ticket_id))["first_response"]
    assert found["due_at"].startswith("2026-12-18T10:00:00")


async def test_a_warning_reaches_agents_sockets_as_a_ticket_event(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    import asyncio
    import json

    from frontdesk.realtime.events import tenant_channel

    ticket_id = await open_ticket(client, tenant, channel="email")
    async with worker.pubsub.subscribe(tenant_channel(tenant.id)) as messages:
        clock.advance(dt.timedelta(hours=3, minutes=12))
        await tick(worker)

        async def first_warning() -> dict[str, Any]:
            async for raw in messages:
                event = json.loads(raw)
                if event["data"].get("kind") == "sla_warning":
                    found: dict[str, Any] = event
                    return found
            raise AssertionError("the subscription ended")

        event = await asyncio.wait_for(first_warning(), timeout=60)
    assert event["type"] == "ticket.event"
    assert event["ticket_id"] == str(ticket_id)
    assert event["team_id"] == str(tenant.teams["front-line"])
    assert event["data"]["number"].startswith("CS-")


async def test_a_target_beyond_the_calendars_horizon_leaves_the_clock_without_a_due_time(
    client: httpx.AsyncClient, tenant: TenantUnderTest, clock: Clock
) -> None:
    h = tenant.admin.headers
    r = await client.put(
        "/api/v1/business-hours",
        headers=h,
        json={"timezone": "UTC", "hours": {"fri": [["09:00", "09:01"]]}},
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        "/api/v1/sla-policies",
        headers=h,
        json={"policies": [{"name": "Slow", "resolution": {"seconds": 300 * 86_400}}]},
    )
    assert r.status_code == 200, r.text
    ticket_id = await open_ticket(client, tenant, channel="email")  # routing does not fail
    found = (await clocks(client, tenant, ticket_id))["resolution"]
    assert found["state"] == "running"
    assert found["due_at"] is None
