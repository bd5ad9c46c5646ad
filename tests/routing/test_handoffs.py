"""Hand-offs (协作需求): a request to another team on a ticket, with its own clock.

With the clock stopped: the hand-off's due time passing escalates it to the
target team's leads while the ticket's SLA clocks stay exactly as they were.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from conftest import Actor, TenantUnderTest, add_user, drain
from frontdesk.clock import Clock
from frontdesk.handoffs.models import Handoff
from frontdesk.routing.models import TicketSla
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import TicketEvent
from frontdesk.timers.models import Timer
from frontdesk.timers.service import run_due


async def open_ticket(client: httpx.AsyncClient, tenant: TenantUnderTest) -> uuid.UUID:
    h = tenant.admin.headers
    r = await client.post("/api/v1/customers", headers=h, json={"display_name": "Han Meimei"})
    assert r.status_code == 201, r.text
    body = {
        "customer_id": r.json()["id"],
        "subject": "The invoice is wrong",
        "channel": "email",
        "team_id": str(tenant.teams["front-line"]),
    }
    r = await client.post("/api/v1/tickets", headers=h, json=body)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def make_lead(client: httpx.AsyncClient, tenant: TenantUnderTest, actor: Actor) -> None:
    r = await client.put(
        f"/api/v1/teams/{tenant.teams['engineering']}/members/{actor.user_id}",
        headers=tenant.admin.headers,
        json={"is_lead": True},
    )
    assert r.status_code == 200, r.text


async def hand_off(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: uuid.UUID, **fields: Any
) -> dict[str, Any]:
    body = {
        "team_id": str(tenant.teams["engineering"]),
        "description": "Please check the billing run for this order.",
        "due_minutes": 30,
        **fields,
    }
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/handoffs", headers=tenant.users["agent"].headers, json=body
    )
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def tick(runtime: Runtime) -> None:
    await run_due(runtime)
    await drain(runtime)


async def events(runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> list[TicketEvent]:
    async with runtime.db.session(tenant_id) as session:
        rows = await session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind.like("handoff_%"))
            .order_by(TicketEvent.id)
        )
        return list(rows)


async def sla_snapshot(
    runtime: Runtime, tenant_id: uuid.UUID, ticket_id: uuid.UUID
) -> dict[str, tuple[Any, ...]]:
    """The ticket's SLA clock rows and their pending timers, as stored."""
    async with runtime.db.session(tenant_id) as session:
        clocks = (
            await session.scalars(select(TicketSla).where(TicketSla.ticket_id == ticket_id))
        ).all()
        timers = (
            await session.scalars(
                select(Timer).where(Timer.ticket_id == ticket_id, Timer.kind.like("sla_%"))
            )
        ).all()
        out: dict[str, tuple[Any, ...]] = {
            c.metric: (
                c.state,
                c.due_at,
                c.target_seconds,
                c.consumed_seconds,
                c.running_since,
                c.warned_at,
                c.breached_at,
                c.generation,
                c.warning_timer_id,
                c.breach_timer_id,
            )
            for c in clocks
        }
        for t in timers:
            out[f"timer {t.id}"] = (t.kind, t.state, t.due_at)
        return out


async def test_an_overdue_hand_off_escalates_to_the_team_lead_and_leaves_the_sla_alone(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    lead = tenant.users["engineer"]
    await make_lead(client, tenant, lead)
    # Another engineer, not a lead: not escalated to.
    await add_user(client, tenant, "engineer", teams=["engineering"])
    ticket_id = await open_ticket(client, tenant)
    before = await sla_snapshot(worker, tenant.id, ticket_id)
    assert {"first_response", "resolution"} <= set(before)

    handoff = await hand_off(client, tenant, ticket_id, due_minutes=30)
    assert handoff["status"] == "requested"
    assert handoff["from_team_id"] == str(tenant.teams["front-line"])
    assert dt.datetime.fromisoformat(handoff["due_at"]) == clock.now() + dt.timedelta(minutes=30)

    clock.advance(dt.timedelta(minutes=29))
    await tick(worker)
    assert not [
        e for e in await events(worker, tenant.id, ticket_id) if e.kind == "handoff_overdue"
    ]

    clock.advance(dt.timedelta(minutes=2))
    await tick(worker)
    await tick(worker)
    r = await client.get(f"/api/v1/handoffs/{handoff['id']}", headers=lead.headers)
    assert r.status_code == 200, r.text
    late = r.json()
    assert late["overdue"] is True
    assert late["status"] == "requested"
    assert late["escalated_to"] == [str(lead.user_id)]
    overdue = [e for e in await events(worker, tenant.id, ticket_id) if e.kind == "handoff_overdue"]
    assert len(overdue) == 1
    assert overdue[0].actor_user_id is None
    assert overdue[0].data["handoff_id"] == handoff["id"]
    assert overdue[0].data["escalated_to"] == [str(lead.user_id)]
    assert overdue[0].data["team_id"] == str(tenant.teams["engineering"])

    # The customer-facing SLA: the same clocks, due times, states and timers.
    assert await sla_snapshot(worker, tenant.id, ticket_id) == before
    r = await client.get(f"/api/v1/tickets/{ticket_id}/sla", headers=tenant.admin.headers)
    assert {c["metric"]: c["state"] for c in r.json()} == {
        "first_response": "running",
        "resolution": "running",
    }

    # Overdue, it can still be worked and finished.
    r = await client.post(f"/api/v1/handoffs/{handoff['id']}/done", headers=lead.headers, json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done"
    assert r.json()["overdue"] is True


async def test_accept_and_done_on_the_timeline_and_both_queues_and_no_escalation(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    engineer = tenant.users["engineer"]
    agent = tenant.users["agent"]
    ticket_id = await open_ticket(client, tenant)
    handoff = await hand_off(client, tenant, ticket_id, due_minutes=60)
    hid = handoff["id"]

    for actor, team in ((engineer, "engineering"), (agent, "front-line")):
        r = await client.get(
            "/api/v1/handoffs", headers=actor.headers, params={"team": str(tenant.teams[team])}
        )
        assert r.status_code == 200, r.text
        assert [h["id"] for h in r.json()] == [hid]
        # Without a team: the caller's own teams.
        r = await client.get("/api/v1/handoffs", headers=actor.headers)
        assert hid in [h["id"] for h in r.json()]
    r = await client.get(
        "/api/v1/handoffs",
        headers=tenant.admin.headers,
        params={"team": str(tenant.teams["success"])},
    )
    assert r.json() == []
    r = await client.get(
        "/api/v1/handoffs",
        headers=engineer.headers,
        params={"team": str(tenant.teams["front-line"])},
    )
    assert r.status_code == 403
    # The engineer cannot read the front-line ticket, but sees the hand-off.
    r = await client.get(f"/api/v1/handoffs/{hid}", headers=engineer.headers)
    assert r.status_code == 200, r.text

    # Only the requested team acts on it.
    r = await client.post(f"/api/v1/handoffs/{hid}/accept", headers=agent.headers, json={})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(f"/api/v1/handoffs/{hid}/accept", headers=engineer.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    r = await client.post(f"/api/v1/handoffs/{hid}/accept", headers=engineer.headers, json={})
    assert r.status_code == 409
    r = await client.post(
        f"/api/v1/handoffs/{hid}/done", headers=engineer.headers, json={"note": "Refund issued."}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done"
    assert r.json()["note"] == "Refund issued."
    r = await client.post(f"/api/v1/handoffs/{hid}/decline", headers=engineer.headers, json={})
    assert r.status_code == 409

    # Done before its due time: nothing fires later.
    clock.advance(dt.timedelta(hours=2))
    await tick(worker)
    found = await events(worker, tenant.id, ticket_id)
    assert [e.kind for e in found] == ["handoff_requested", "handoff_accepted", "handoff_done"]
    assert [e.actor_user_id for e in found] == [agent.user_id, engineer.user_id, engineer.user_id]
    r = await client.get(f"/api/v1/tickets/{ticket_id}/handoffs", headers=agent.headers)
    assert r.status_code == 200, r.text
    [listed] = r.json()
    assert listed["status"] == "done" and listed["overdue"] is False
    assert listed["escalated_to"] == []


async def test_a_declined_hand_off_does_not_escalate(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    await make_lead(client, tenant, tenant.users["engineer"])
    ticket_id = await open_ticket(client, tenant)
    handoff = await hand_off(client, tenant, ticket_id, due_minutes=10)
    r = await client.post(
        f"/api/v1/handoffs/{handoff['id']}/decline",
        headers=tenant.users["engineer"].headers,
        json={"note": "Not ours: ask finance."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "declined"
    clock.advance(dt.timedelta(hours=1))
    await tick(worker)
    kinds = [e.kind for e in await events(worker, tenant.id, ticket_id)]
    assert kinds == ["handoff_requested", "handoff_declined"]


async def test_bad_input_is_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantUnderTest, runtime: Runtime, clock: Clock
) -> None:
    ticket_id = await open_ticket(client, tenant)
    engineering = str(tenant.teams["engineering"])
    good = {"team_id": engineering, "description": "Look at it"}
    past = (clock.now() - dt.timedelta(minutes=1)).isoformat()
    future = (clock.now() + dt.timedelta(hours=1)).isoformat()
    for bad in [
        good,
        {**good, "due_minutes": 10, "due_at": future},
        {**good, "due_at": past},
        {**good, "due_at": (clock.now() + dt.timedelta(days=400)).isoformat()},
        {**good, "due_minutes": 0},
        {**good, "due_minutes": 10, "description": ""},
        {**good, "due_minutes": 10, "team_id": str(uuid.uuid4())},
        {**good, "due_minutes": 10, "team_id": str(tenant.teams["front-line"])},
        {**good, "due_minutes": 10, "status": "done"},
        {"description": "x", "due_minutes": 10},
    ]:
        r = await client.post(
            f"/api/v1/tickets/{ticket_id}/handoffs", headers=tenant.admin.headers, json=bad
        )
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(
        f"/api/v1/tickets/{uuid.uuid4()}/handoffs",
        headers=tenant.admin.headers,
        json={**good, "due_minutes": 10},
    )
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/handoffs/{uuid.uuid4()}/accept", headers=tenant.admin.headers, json={}
    )
    assert r.status_code == 404
    async with runtime.db.session(tenant.id) as session:
        assert await session.scalar(select(func.count()).select_from(Handoff)) == 0
        assert (
            await session.scalar(
                select(func.count()).select_from(Timer).where(Timer.kind == "handoff_overdue")
            )
            == 0
        )
    assert await events(runtime, tenant.id, ticket_id) == []
