"""Assignment strategies and agents' presence: round robin, least loaded within
capacity, skills, away and offline agents skipped, urgent tickets handed on
when their agent goes offline, each choice explained on the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from channels.test_pipeline import make_channel, payload, post_signed
from conftest import Actor, TenantUnderTest, add_user, drain
from frontdesk.clock import Clock
from frontdesk.routing import assignment
from frontdesk.runtime import Runtime
from frontdesk.timers.service import run_due
from routing.test_rules import customer


async def strategy(
    client: httpx.AsyncClient, tenant: TenantUnderTest, team: str, name: str
) -> None:
    r = await client.put(
        f"/api/v1/teams/{tenant.teams[team]}/assignment",
        headers=tenant.admin.headers,
        json={"strategy": name},
    )
    assert r.status_code == 200, r.text
    assert r.json()["strategy"] == name


async def presence(client: httpx.AsyncClient, actor: Actor, status: str) -> None:
    r = await client.put("/api/v1/me/presence", headers=actor.headers, json={"status": status})
    assert r.status_code == 200, r.text


async def profile(
    client: httpx.AsyncClient, tenant: TenantUnderTest, actor: Actor, **fields: Any
) -> dict[str, Any]:
    r = await client.put(
        f"/api/v1/users/{actor.user_id}/agent-profile", headers=tenant.admin.headers, json=fields
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def opened(
    client: httpx.AsyncClient, tenant: TenantUnderTest, customer_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"customer_id": customer_id, "subject": "Help please", **fields}
    r = await client.post("/api/v1/tickets", headers=tenant.admin.headers, json=body)
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def timeline(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, *kinds: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    return [e["data"] | {"kind": e["kind"]} for e in r.json()["items"] if e["kind"] in kinds]


async def agents(client: httpx.AsyncClient, tenant: TenantUnderTest, n: int) -> list[Actor]:
    """``n`` more front-line agents, in the rota's order (by user id)."""
    made = [await add_user(client, tenant, "agent", teams=["front-line"]) for _ in range(n)]
    return sorted(made, key=lambda a: a.user_id)


async def test_round_robin_least_loaded_capacity_and_skills(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    a, b, c = await agents(client, tenant, 3)
    plain = await customer(client, tenant)
    # Manual by default: the ticket waits in the team's queue.
    waiting = await opened(client, tenant, plain)
    assert waiting["assignee_id"] is None
    assert await timeline(client, tenant, waiting["id"], "auto_assigned") == []

    # Round robin over those online: c is away, the others (the fixture's agent,
    # the admin who leads the front line) never came online.
    await strategy(client, tenant, "front-line", "round_robin")
    for actor in (a, b):
        await presence(client, actor, "online")
    await presence(client, c, "away")
    got = [(await opened(client, tenant, plain))["assignee_id"] for _ in range(4)]
    assert got == [str(a.user_id), str(b.user_id), str(a.user_id), str(b.user_id)]

    # Least loaded, within capacity: a and b hold two each; a is full, c is back.
    await strategy(client, tenant, "front-line", "least_loaded")
    await profile(client, tenant, a, capacity=2)
    await presence(client, c, "online")
    first = await opened(client, tenant, plain)
    assert first["assignee_id"] == str(c.user_id)
    [why] = await timeline(client, tenant, first["id"], "auto_assigned")
    assert why["strategy"] == "least_loaded"
    assert why["why"] == "fewest open tickets (0)"
    # b and c both hold fewer than a; a is skipped once full whatever the order.
    more = {(await opened(client, tenant, plain))["assignee_id"] for _ in range(2)}
    assert more == {str(b.user_id), str(c.user_id)}
    r = await client.get(
        f"/api/v1/teams/{tenant.teams['front-line']}/agents", headers=tenant.admin.headers
    )
    loads = {p["user_id"]: p for p in r.json()}
    assert loads[str(a.user_id)]["open_tickets"] == 2
    assert loads[str(a.user_id)]["capacity"] == 2
    assert loads[str(c.user_id)]["presence"] == "online"

    # Everyone full: the ticket waits, and the timeline says why.
    await profile(client, tenant, b, capacity=3)
    await profile(client, tenant, c, capacity=2)
    full = await opened(client, tenant, plain)
    assert full["assignee_id"] is None
    [why] = await timeline(client, tenant, full["id"], "auto_assign_waiting")
    assert why["why"] == "no member of the team is online with room for another ticket"

    # Skills: language (given, or detected from the subject) and product.
    await strategy(client, tenant, "front-line", "skills")
    await profile(client, tenant, a, capacity=2, languages=["zh"], products=["router"])
    await profile(client, tenant, b, languages=["en", "fr"], products=["router", "modem"])
    await profile(client, tenant, c, capacity=None, languages=["en"])
    chinese = await opened(client, tenant, plain, subject="路由器一直掉线")
    assert chinese["language"] == "zh"
    # a speaks Chinese but is full: nobody else does, so it waits for them.
    assert chinese["assignee_id"] is None
    await profile(client, tenant, a, capacity=None, languages=["zh"], products=["router"])
    chinese = await opened(client, tenant, plain, subject="路由器一直掉线")
    assert chinese["assignee_id"] == str(a.user_id)
    [why] = await timeline(client, tenant, chinese["id"], "auto_assigned")
    assert why["why"].startswith("has the skills (language zh)")
    modem = await opened(client, tenant, plain, language="en", product="modem")
    assert modem["assignee_id"] == str(b.user_id)
    # English without a product: b and c both match, c holds fewer.
    english = await opened(client, tenant, plain, subject="The router does not start")
    assert english["language"] == "en"
    assert english["assignee_id"] == str(c.user_id)


async def test_a_rules_strategy_and_offline_agents_urgent_tickets(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
    worker: Runtime,
) -> None:
    await refused_whole(client, tenant, other_tenant)
    a, b = await agents(client, tenant, 2)
    h = tenant.admin.headers
    plain = await customer(client, tenant)
    # The team stays manual; a rule sends outages round the rota.
    rules = [
        {
            "name": "Outages round the front line",
            "conditions": {"keywords": ["outage"]},
            "actions": {"priority": "urgent", "assign": "round_robin"},
        }
    ]
    r = await client.put(
        "/api/v1/routing-rules", headers=tenant.admin.headers, json={"rules": rules}
    )
    assert r.status_code == 200, r.text
    for actor in (a, b):
        await presence(client, actor, "online")
    urgent = await opened(client, tenant, plain, subject="Outage in Hall 3")
    assert urgent["assignee_id"] == str(a.user_id)
    normal = await opened(client, tenant, plain, assignee_id=str(a.user_id))
    assert (await opened(client, tenant, plain))["assignee_id"] is None

    # a goes offline: the urgent ticket moves to b (the normal one stays).
    await presence(client, a, "offline")
    r = await client.get(f"/api/v1/tickets/{urgent['id']}", headers=tenant.admin.headers)
    assert r.json()["assignee_id"] == str(b.user_id)
    r = await client.get(f"/api/v1/tickets/{normal['id']}", headers=tenant.admin.headers)
    assert r.json()["assignee_id"] == str(a.user_id)
    [moved] = await timeline(client, tenant, urgent["id"], "reassigned_assignee_offline")
    assert moved["from"] == str(a.user_id)
    assert moved["to"] == str(b.user_id)
    r = await client.get("/api/v1/notifications", headers=b.headers)
    assert [(n["kind"], n["ticket_id"]) for n in r.json()["items"]] == [
        ("ticket_assigned", urgent["id"])
    ]

    # b goes offline too, with nobody left: the ticket returns to the queue and
    # the front line's lead (the admin) is told.
    await presence(client, b, "offline")
    r = await client.get(f"/api/v1/tickets/{urgent['id']}", headers=tenant.admin.headers)
    assert r.json()["assignee_id"] is None
    r = await client.get("/api/v1/notifications", headers=tenant.admin.headers)
    kinds = [(n["kind"], n["ticket_id"]) for n in r.json()["items"]]
    assert ("urgent_ticket_unassigned", urgent["id"]) in kinds

    # Going offline again changes nothing; away keeps one's tickets.
    await presence(client, b, "offline")
    await presence(client, a, "away")
    r = await client.get("/api/v1/me/presence", headers=a.headers)
    assert r.json() == {"status": "away"}
    assert len(await timeline(client, tenant, urgent["id"], "reassigned_assignee_offline")) == 2

    # Channel tickets are assigned in the ingestion batch; a reopened one whose
    # agent has gone offline goes to someone online.
    await strategy(client, tenant, "front-line", "least_loaded")
    await presence(client, b, "online")
    channel = await make_channel(client, tenant)
    r = await post_signed(client, channel, payload("m-1", "It drops again", conversation_id="c"))
    assert r.status_code == 200, r.text
    await drain(worker)
    r = await client.get("/api/v1/tickets", headers=h, params={"channel": "webhook"})
    [mailed] = r.json()["items"]
    assert mailed["assignee_id"] == str(b.user_id)
    r = await client.post(
        f"/api/v1/tickets/{mailed['id']}/state", headers=h, json={"state": "resolved"}
    )
    assert r.status_code == 200, r.text
    await presence(client, b, "offline")
    await presence(client, a, "online")
    r = await post_signed(client, channel, payload("m-2", "Still broken", conversation_id="c"))
    assert r.status_code == 200, r.text
    await drain(worker)
    r = await client.get(f"/api/v1/tickets/{mailed['id']}", headers=h)
    assert (r.json()["state"], r.json()["assignee_id"]) == ("open", str(a.user_id))
    why = (await timeline(client, tenant, mailed["id"], "auto_assigned"))[-1]
    assert why["previous_assignee_id"] == str(b.user_id)


async def refused_whole(
    client: httpx.AsyncClient, tenant: TenantUnderTest, other_tenant: TenantUnderTest
) -> None:
    """Bad assignment settings and escalation steps: 400 (or 404, 403), nothing stored."""
    h = tenant.admin.headers
    agent = tenant.users["agent"]
    team = tenant.teams["front-line"]
    for url, body in (
        (f"/api/v1/teams/{team}/assignment", {"strategy": "lottery"}),
        (f"/api/v1/teams/{team}/assignment", {}),
        (f"/api/v1/users/{agent.user_id}/agent-profile", {"capacity": -1}),
        (f"/api/v1/users/{agent.user_id}/agent-profile", {"languages": ["Chinese!"]}),
        (f"/api/v1/users/{agent.user_id}/agent-profile", {"skills": ["x"]}),
    ):
        r = await client.put(url, headers=h, json=body)
        assert r.status_code == 400, (url, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.put("/api/v1/me/presence", headers=agent.headers, json={"status": "asleep"})
    assert r.status_code == 400
    # Nothing was half-written.
    r = await client.get(f"/api/v1/teams/{team}/assignment", headers=h)
    assert r.json()["strategy"] == "manual"
    r = await client.get(f"/api/v1/teams/{team}/agents", headers=h)
    mine = next(p for p in r.json() if p["user_id"] == str(agent.user_id))
    assert mine == {
        "user_id": str(agent.user_id),
        "presence": "offline",
        "capacity": None,
        "languages": [],
        "products": [],
        "open_tickets": 0,
    }
    # Another tenant's team and user do not exist here; agents cannot set others' skills.
    theirs = other_tenant.teams["front-line"]
    r = await client.put(
        f"/api/v1/teams/{theirs}/assignment", headers=h, json={"strategy": "skills"}
    )
    assert r.status_code == 404
    r = await client.put(
        f"/api/v1/users/{other_tenant.admin.user_id}/agent-profile", headers=h, json={}
    )
    assert r.status_code == 404
    r = await client.put(
        f"/api/v1/users/{agent.user_id}/agent-profile", headers=agent.headers, json={}
    )
    assert r.status_code == 403
    # An SLA policy's escalation steps are checked before anything is stored.
    for step in (
        {"on": "breach"},
        {"on": "later", "escalate": True},
        {"on": "breach", "team": "no-such-team"},
        {"on": "breach", "notify": ["everyone"]},
    ):
        policy = {"name": "P", "first_response": {"seconds": 60}, "escalation": [step]}
        r = await client.put("/api/v1/sla-policies", headers=h, json={"policies": [policy]})
        assert r.status_code == 400, (step, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/api/v1/sla-policies", headers=h)
    assert r.json()["source"] == "default"


async def test_an_agent_whose_app_process_crashed_goes_offline_when_the_socket_lease_lapses(
    client: httpx.AsyncClient, tenant: TenantUnderTest, runtime: Runtime, clock: Clock
) -> None:
    crashed, steady = await agents(client, tenant, 2)
    await strategy(client, tenant, "front-line", "least_loaded")
    plain = await customer(client, tenant)
    lease = dt.timedelta(seconds=runtime.settings.presence_lease_seconds)
    # Each opens an inbox socket; the process holding crashed's dies without
    # closing it, steady's keeps renewing its lease.
    for actor in (crashed, steady):
        async with runtime.db.session(tenant.id) as session:
            await assignment.socket_opened(session, actor.user_id, lease)
    r = await client.get("/api/v1/me/presence", headers=crashed.headers)
    assert r.json() == {"status": "online"}
    urgent = await opened(client, tenant, plain, priority="urgent")
    assert urgent["assignee_id"] == str(crashed.user_id)  # both have none: lowest id first

    clock.advance(lease * 2 / 3)
    async with runtime.db.session(tenant.id) as session:
        await assignment.socket_alive(session, steady.user_id, lease)
    clock.advance(lease / 3)
    # The lease has lapsed: crashed counts as offline at once, before any sweep.
    r = await client.get("/api/v1/me/presence", headers=crashed.headers)
    assert r.json() == {"status": "offline"}
    r = await client.get("/api/v1/me/presence", headers=steady.headers)
    assert r.json() == {"status": "online"}
    assert (await opened(client, tenant, plain))["assignee_id"] == str(steady.user_id)

    # The scheduler's tick records it: the urgent ticket is handed on.
    await run_due(runtime, tenant_ids=[tenant.id])
    r = await client.get(f"/api/v1/tickets/{urgent['id']}", headers=tenant.admin.headers)
    assert r.json()["assignee_id"] == str(steady.user_id)
    [moved] = await timeline(client, tenant, urgent["id"], "reassigned_assignee_offline")
    assert moved["from"] == str(crashed.user_id)

    # A socket that was only stalled, renewing late, brings the agent back, counted
    # afresh; closing it takes them offline.
    async with runtime.db.session(tenant.id) as session:
        await assignment.socket_alive(session, crashed.user_id, lease)
    r = await client.get("/api/v1/me/presence", headers=crashed.headers)
    assert r.json() == {"status": "online"}
    async with runtime.db.session(tenant.id) as session:
        await assignment.socket_closed(session, crashed.user_id)
    r = await client.get("/api/v1/me/presence", headers=crashed.headers)
    assert r.json() == {"status": "offline"}
