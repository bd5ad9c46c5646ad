"""Routing rules: the defaults from the source documents, a tenant's own list,
explainable matches on the timeline, and bad lists refused whole."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conftest import TenantUnderTest, drain
from frontdesk.runtime import Runtime


async def customer(client: httpx.AsyncClient, tenant: TenantUnderTest, **fields: Any) -> str:
    r = await client.post(
        "/api/v1/customers",
        headers=tenant.admin.headers,
        json={"display_name": f"Customer {uuid.uuid4().hex[:6]}", **fields},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, customer_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"customer_id": customer_id, "subject": "Help", **fields}
    r = await client.post("/api/v1/tickets", headers=tenant.admin.headers, json=body)
    assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/tickets/{r.json()['id']}", headers=tenant.admin.headers)
    found: dict[str, Any] = r.json()
    return found


async def matched(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=tenant.admin.headers)
    return [e["data"] for e in r.json()["items"] if e["kind"] == "routing_rule_matched"]


async def test_the_default_rules(client: httpx.AsyncClient, tenant: TenantUnderTest) -> None:
    teams = {slug: str(team_id) for slug, team_id in tenant.teams.items()}
    plain = await customer(client, tenant)

    fault = await ticket(client, tenant, plain, category="fault")
    assert fault["team_id"] == teams["engineering"]
    [why] = await matched(client, tenant, fault["id"])
    assert why["rule"] == "Technical faults go to engineering"
    assert why["why"] == ["category is fault"]
    assert why["actions"] == {"team": "engineering"}

    complaint = await ticket(client, tenant, plain, category="complaint")
    assert complaint["priority"] == "urgent"
    assert complaint["state"] == "escalated"
    assert complaint["tags"] == ["complaint"]

    outage = await ticket(client, tenant, plain, subject="Total OUTAGE in Shanghai")
    assert outage["priority"] == "urgent"
    assert outage["tags"] == ["outage"]
    [why] = await matched(client, tenant, outage["id"])
    assert why["why"] == ["subject mentions 'outage'"]

    manager = tenant.users["success_manager"]
    vip = await customer(client, tenant, tier="vip", success_manager_id=str(manager.user_id))
    owned = await ticket(client, tenant, vip)
    assert owned["team_id"] == teams["success"]
    assert owned["assignee_id"] == str(manager.user_id)
    [why] = await matched(client, tenant, owned["id"])
    assert why["why"] == ["customer tier is vip"]

    # Everything else stays with the default team, and no rule claims it.
    other = await ticket(client, tenant, plain)
    assert other["team_id"] == teams["front-line"]
    assert await matched(client, tenant, other["id"]) == []

    # A team a person chose is kept; the rest of the rule still applies.
    chosen = await ticket(client, tenant, plain, category="fault", team_id=teams["after-sales"])
    assert chosen["team_id"] == teams["after-sales"]
    [why] = await matched(client, tenant, chosen["id"])
    assert why["actions"] == {}


async def test_a_tenants_own_rules_route_channel_tickets(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    from channels.test_pipeline import make_channel, payload, post_signed

    rules = [
        {
            "name": "Refunds on the webhook go to after-sales",
            "conditions": {"channels": ["webhook"], "keywords": ["refund", "退款"]},
            "actions": {"team": "after-sales", "priority": "high", "tags": ["refund"]},
        },
        {
            "name": "Chinese outages",
            "conditions": {"keywords": ["宕机"]},
            "actions": {"escalate": True},
        },
    ]
    r = await client.put(
        "/api/v1/routing-rules", headers=tenant.admin.headers, json={"rules": rules}
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "tenant"
    channel = await make_channel(client, tenant)
    body = payload("m-1", "I want my money back", conversation_id="c-1")
    body = body.replace(b"Router keeps dropping", b"Refund for order 42")
    assert (await post_signed(client, channel, body)).status_code == 200
    await drain(worker)
    r = await client.get("/api/v1/tickets", headers=tenant.admin.headers)
    [found] = r.json()["items"]
    assert found["team_id"] == str(tenant.teams["after-sales"])
    assert found["priority"] == "high"
    assert found["tags"] == ["refund"]
    [why] = await matched(client, tenant, found["id"])
    assert why["rule"] == "Refunds on the webhook go to after-sales"
    assert why["position"] == 0
    assert why["why"] == ["channel is webhook", "subject mentions 'refund'"]
    # A high-priority ticket's clocks started after the rule: the rule's priority counts.
    r = await client.get(f"/api/v1/tickets/{found['id']}/sla", headers=tenant.admin.headers)
    assert {c["metric"] for c in r.json()} == {"first_response", "resolution"}
    # Back to the defaults.
    r = await client.put("/api/v1/routing-rules", headers=tenant.admin.headers, json={"rules": []})
    assert r.json()["source"] == "default"


async def test_a_bad_rule_list_is_refused_whole(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    good = {"name": "Fine", "actions": {"team": "engineering"}}
    for bad in (
        {"name": "Nowhere", "actions": {"team": "no-such-team"}},
        {"name": "Idle", "actions": {}},
        {"name": "Odd", "conditions": {"moon": ["full"]}, "actions": {"escalate": True}},
        {"name": "Tier", "conditions": {"customer_tiers": ["gold"]}, "actions": {"escalate": True}},
        {"name": "", "actions": {"escalate": True}},
    ):
        r = await client.put(
            "/api/v1/routing-rules", headers=tenant.admin.headers, json={"rules": [good, bad]}
        )
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/api/v1/routing-rules", headers=tenant.admin.headers)
    assert r.json()["source"] == "default"
    for role in ("agent", "engineer", "success_manager"):
        r = await client.get("/api/v1/routing-rules", headers=tenant.users[role].headers)
        assert r.status_code == 403
