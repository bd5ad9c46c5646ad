"""The admin's SLA policies and business hours over the API: defaults, replace,
bad input refused whole (RFC 9457), only with ``sla.manage``."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import TenantUnderTest
from frontdesk.clock import Clock
from routing.test_sla import clocks, open_ticket

WEEK = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


async def policies(client: httpx.AsyncClient, tenant: TenantUnderTest) -> dict[str, Any]:
    r = await client.get("/api/v1/sla-policies", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_policies_default_then_replaced_then_default_again(
    client: httpx.AsyncClient, tenant: TenantUnderTest, clock: Clock
) -> None:
    body = await policies(client, tenant)
    assert body["source"] == "default"
    assert body["policies"][0]["priorities"] == ["urgent"]
    mine = [
        {
            "name": "VIP chat",
            "channels": ["email"],
            "priorities": ["high"],
            "first_response": {"seconds": 600},
        },
        {
            "name": "Everything",
            "first_response": {"seconds": 7200},
            "resolution": {"business_days": 2},
        },
    ]
    r = await client.put(
        "/api/v1/sla-policies", headers=tenant.admin.headers, json={"policies": mine}
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "tenant"
    assert [p["name"] for p in (await policies(client, tenant))["policies"]] == [
        "VIP chat",
        "Everything",
    ]
    high = await open_ticket(client, tenant, channel="email", priority="high")
    found = await clocks(client, tenant, high)
    assert found["first_response"]["target_seconds"] == 600
    assert found["first_response"]["policy"] == "VIP chat"
    assert found["resolution"]["target_seconds"] == 2 * 86_400
    normal = await open_ticket(client, tenant, channel="email")
    assert (await clocks(client, tenant, normal))["first_response"]["target_seconds"] == 7200
    r = await client.put(
        "/api/v1/sla-policies", headers=tenant.admin.headers, json={"policies": []}
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "default"


async def test_a_bad_policy_list_is_refused_whole(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    good = {"name": "Fine", "first_response": {"seconds": 60}}
    for bad in (
        {"name": "Both", "first_response": {"seconds": 60, "business_days": 1}},
        {"name": "Neither", "first_response": {}},
        {"name": "No target"},
        {"name": "Zero", "resolution": {"seconds": 0}},
        {"name": "Bad priority", "priorities": ["whenever"], "first_response": {"seconds": 1}},
        {"name": "Stray", "first_response": {"seconds": 60}, "tenant_id": "x"},
    ):
        r = await client.put(
            "/api/v1/sla-policies",
            headers=tenant.admin.headers,
            json={"policies": [good, bad]},
        )
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await policies(client, tenant))["source"] == "default"


async def test_business_hours_set_read_and_removed(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    h = tenant.admin.headers
    assert (await client.get("/api/v1/business-hours", headers=h)).json() == {"calendar": None}
    cal = {"timezone": "Asia/Shanghai", "hours": WEEK, "holidays": ["2026-10-01"]}
    r = await client.put("/api/v1/business-hours", headers=h, json=cal)
    assert r.status_code == 200, r.text
    got = (await client.get("/api/v1/business-hours", headers=h)).json()["calendar"]
    assert got["timezone"] == "Asia/Shanghai"
    assert got["hours"]["mon"] == [["09:00", "18:00"]]
    assert got["holidays"] == ["2026-10-01"]
    r = await client.delete("/api/v1/business-hours", headers=h)
    assert r.status_code == 204, r.text
    assert (await client.get("/api/v1/business-hours", headers=h)).json() == {"calendar": None}


async def test_a_bad_calendar_is_refused_and_nothing_written(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    h = tenant.admin.headers
    team = tenant.teams["engineering"]
    for bad in (
        {"timezone": "Mars/Olympus", "hours": WEEK},
        {"timezone": "UTC", "hours": {"mon": [["18:00", "09:00"]]}},
        {"timezone": "UTC", "hours": {"mon": [["09:00", "25:00"]]}},
        {"timezone": "UTC", "hours": {"someday": [["09:00", "18:00"]]}},
        {"timezone": "UTC", "hours": {}},
        {"timezone": "UTC", "hours": WEEK, "holidays": ["not a date"]},
    ):
        for path in ("/api/v1/business-hours", f"/api/v1/teams/{team}/business-hours"):
            r = await client.put(path, headers=h, json=bad)
            assert r.status_code == 400, (path, bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert (await client.get(path, headers=h)).json() == {"calendar": None}


async def test_only_sla_managers_see_or_change_policies_and_hours(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    for role in ("agent", "engineer", "success_manager"):
        actor = tenant.users[role]
        for method, path, body in (
            ("GET", "/api/v1/sla-policies", None),
            ("PUT", "/api/v1/sla-policies", {"policies": []}),
            ("GET", "/api/v1/business-hours", None),
            ("PUT", "/api/v1/business-hours", {"timezone": "UTC", "hours": WEEK}),
        ):
            r = await client.request(method, path, headers=actor.headers, json=body)
            assert r.status_code == 403, (role, method, path, r.text)


async def test_the_openapi_schema_documents_the_routing_and_sla_routes(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    for path in (
        "/api/v1/routing-rules",
        "/api/v1/sla-policies",
        "/api/v1/business-hours",
        "/api/v1/teams/{team_id}/business-hours",
        "/api/v1/tickets/{ticket_id}/sla",
    ):
        assert path in paths, path
