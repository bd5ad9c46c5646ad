"""SLA escalation with the clock stopped: warning and breach notify the assignee
and the team's leads and run the policy's escalation steps, each exactly once;
overdue hand-offs notify the target team's leads; the default rules escalate
complaints and outages to the admins with the success manager following."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

import httpx

from conftest import Actor, TenantUnderTest, drain
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.timers.service import run_due
from routing.test_assignment import opened, timeline
from routing.test_rules import customer


async def tick(runtime: Runtime, tenant: TenantUnderTest) -> None:
    """A scheduler tick for this tenant only (the session's database holds many), then
    every job it started."""
    await run_due(runtime, tenant_ids=[tenant.id])
    await drain(runtime)


async def notifications(client: httpx.AsyncClient, actor: Actor) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notifications", headers=actor.headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def kinds(client: httpx.AsyncClient, actor: Actor) -> collections.Counter[str]:
    return collections.Counter(n["kind"] for n in await notifications(client, actor))


async def test_warning_and_breach_notify_and_escalate_exactly_once(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    h = tenant.admin.headers
    agent, manager = tenant.users["agent"], tenant.users["success_manager"]
    policy = {
        "name": "Everything: reply within 1 h",
        "first_response": {"seconds": 3600},
        "escalation": [
            {"on": "warning", "priority": "high"},
            {
                "on": "breach",
                "escalate": True,
                "team": "engineering",
                "notify": ["admins", "success_manager"],
            },
        ],
    }
    r = await client.put("/api/v1/sla-policies", headers=h, json={"policies": [policy]})
    assert r.status_code == 200, r.text
    assert r.json()["policies"][0]["escalation"][1]["team"] == "engineering"
    # The success team's lead hears of its overdue hand-offs.
    r = await client.put(
        f"/api/v1/teams/{tenant.teams['success']}/members/{manager.user_id}",
        headers=h,
        json={"is_lead": True},
    )
    assert r.status_code == 200, r.text
    owned = await customer(client, tenant, success_manager_id=str(manager.user_id))
    ticket = await opened(client, tenant, owned, channel="email", assignee_id=str(agent.user_id))
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/handoffs",
        headers=h,
        json={
            "team_id": str(tenant.teams["success"]),
            "description": "Call them",
            "due_minutes": 30,
        },
    )
    assert r.status_code == 201, r.text

    clock.advance(dt.timedelta(minutes=47))
    await tick(worker, tenant)
    # Only the hand-off is late so far: its team's lead is told, once.
    assert await kinds(client, manager) == {"handoff_overdue": 1}
    assert await kinds(client, agent) == {}

    clock.advance(dt.timedelta(minutes=1))  # 48 min: 80 % of the hour
    await tick(worker, tenant)
    await tick(worker, tenant)
    # The assignee and the front line's lead (the admin); the step raised the priority.
    assert await kinds(client, agent) == {"sla_warning": 1}
    assert await kinds(client, tenant.admin) == {"sla_warning": 1}
    [warning] = await notifications(client, agent)
    assert warning["ticket_id"] == ticket["id"]
    assert warning["payload"]["metric"] == "first_response"
    assert warning["payload"]["number"] == ticket["number"]
    r = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=h)
    assert r.json()["priority"] == "high"
    assert r.json()["state"] == "new"

    clock.advance(dt.timedelta(minutes=12))
    await tick(worker, tenant)
    clock.advance(dt.timedelta(hours=2))
    await tick(worker, tenant)
    await tick(worker, tenant)
    r = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=h)
    assert r.json()["state"] == "escalated"
    assert r.json()["team_id"] == str(tenant.teams["engineering"])
    assert await kinds(client, agent) == {"sla_warning": 1, "sla_breached": 1}
    assert await kinds(client, tenant.admin) == {"sla_warning": 1, "sla_breached": 1}
    assert await kinds(client, manager) == {"handoff_overdue": 1, "sla_breached": 1}
    steps = await timeline(
        client, tenant, ticket["id"], "sla_escalated", "sla_warning", "sla_breached"
    )
    assert [s["kind"] for s in steps] == [
        "sla_warning",
        "sla_escalated",
        "sla_breached",
        "sla_escalated",
    ]
    assert steps[1]["on"] == "warning"
    assert steps[1]["priority"] == "high"
    assert steps[3]["on"] == "breach"
    assert steps[3]["escalated"] is True
    assert steps[3]["team"] == "engineering"
    assert set(steps[3]["notified"]) == {
        str(agent.user_id),
        str(tenant.admin.user_id),
        str(manager.user_id),
    }


async def test_default_rules_escalate_to_admins_and_conditions_on_language_and_hours(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    h = tenant.admin.headers
    manager = tenant.users["success_manager"]
    # A new tenant starts with the rules.
    r = await client.get("/api/v1/routing-rules", headers=h)
    assert r.json()["source"] == "default"
    assert [rule["name"] for rule in r.json()["rules"]] == [
        "Technical faults go to engineering",
        "Complaints are urgent and escalated",
        "Outages are urgent and escalated",
        "High-value customers go to their success manager",
    ]
    owned = await customer(client, tenant, success_manager_id=str(manager.user_id))
    complaint = await opened(client, tenant, owned, category="complaint")
    outage = await opened(client, tenant, owned, subject="Outage since this morning")
    for ticket in (complaint, outage):
        assert (ticket["priority"], ticket["state"]) == ("urgent", "escalated")
        [matched] = await timeline(client, tenant, ticket["id"], "routing_rule_matched")
        assert set(matched["actions"]["notified"]) == {
            str(tenant.admin.user_id),
            str(manager.user_id),
        }
    for actor in (tenant.admin, manager):
        found = await notifications(client, actor)
        assert sorted(n["ticket_id"] for n in found if n["kind"] == "ticket_escalated") == sorted(
            [complaint["id"], outage["id"]]
        )
    # The default urgent policy: past its hour, the admins are told (the ticket
    # is escalated already), and the success manager follows the escalation.
    clock.advance(dt.timedelta(hours=1))
    await tick(worker, tenant)
    await tick(worker, tenant)
    breached = collections.Counter(
        n["ticket_id"] for n in await notifications(client, manager) if n["kind"] == "sla_breached"
    )
    assert breached == {complaint["id"]: 1, outage["id"]: 1}

    # Language and business hours as conditions.
    r = await client.put(
        "/api/v1/business-hours",
        headers=h,
        json={"timezone": "UTC", "hours": {"fri": [["09:00", "18:00"]]}},
    )
    assert r.status_code == 200, r.text
    rules = [
        {
            "name": "Chinese to after-sales",
            "conditions": {"languages": ["zh"]},
            "actions": {"team": "after-sales"},
        },
        {
            "name": "Night shift",
            "conditions": {"business_hours": "outside"},
            "actions": {"tags": ["after-hours"]},
        },
    ]
    r = await client.put("/api/v1/routing-rules", headers=h, json={"rules": rules})
    assert r.status_code == 200, r.text
    plain = await customer(client, tenant)
    chinese = await opened(client, tenant, plain, subject="我的订单还没有到")
    assert chinese["team_id"] == str(tenant.teams["after-sales"])
    [why] = await timeline(client, tenant, chinese["id"], "routing_rule_matched")
    assert why["why"] == ["language is zh"]
    given = await opened(client, tenant, plain, subject="Order 42", language="zh")
    assert given["team_id"] == str(tenant.teams["after-sales"])
    day = await opened(client, tenant, plain, subject="Where is my order?")
    assert day["tags"] == []
    clock.advance(dt.timedelta(hours=8, minutes=30))  # Friday 18:30 UTC
    night = await opened(client, tenant, plain, subject="Where is my order?")
    assert night["tags"] == ["after-hours"]
    [why] = await timeline(client, tenant, night["id"], "routing_rule_matched")
    assert why["why"] == ["outside business hours"]
