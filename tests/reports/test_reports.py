"""Reports over a month of tickets with known timings: every figure against the
same figure worked out in the test, with each filter, in CSV and XLSX, for
the tenant only; bad input refused."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from typing import Any

import httpx
import pytest

from conftest import TenantUnderTest
from frontdesk.clock import Clock
from reports.month import (
    END,
    START,
    Spec,
    actual,
    build,
    expected,
    month,
    same,
)

PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


async def get_report(
    client: httpx.AsyncClient, tenant: TenantUnderTest, **params: Any
) -> dict[str, Any]:
    r = await client.get(
        "/api/v1/reports", headers=tenant.admin.headers, params={**PERIOD, **params}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_month_of_tickets_every_figure_and_filter(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
    ticket_time_follows_clock: Clock,
) -> None:
    specs = month()
    await build(client, tenant, ticket_time_follows_clock, specs)

    report = await get_report(client, tenant)
    want = expected(specs)
    # The data is what the month was built to hold: each section has something in it.
    assert want["volume"]["reopened"] >= 1 and want["volume"]["backlog"] >= 1
    assert {t["breached"] > 0 for t in want["sla"]} == {True, False}
    assert want["handoffs"] and want["handoffs"][0]["done"] >= 1
    same(actual(report), want)
    assert report["timezone"] == "Asia/Shanghai"
    assert [h["team"] for h in report["handoffs"]] == ["Customer success"]
    for t in report["sla"]:
        settled = t["met"] + t["breached"]
        assert t["attainment"] == pytest.approx(t["met"] / settled)
    # No survey was sent and no call came in this month: counted as none, nothing invented.
    assert report["satisfaction"]["asked"] == 0 and report["satisfaction"]["average"] is None
    assert report["phone_answer"]["calls"] == 0 and report["phone_answer"]["attainment"] is None

    agent = tenant.users["agent"].user_id
    filters: list[tuple[dict[str, str], Any]] = [
        ({"channel": "webchat"}, lambda s: s.channel == "webchat"),
        ({"priority": "low"}, lambda s: s.priority == "low"),
        ({"category": "care"}, lambda s: s.category == "care"),
        ({"team_id": str(tenant.teams["engineering"])}, lambda s: s.team == "engineering"),
        ({"assignee_id": str(agent)}, lambda s: s.assigned),
        ({"channel": "email", "priority": "normal"}, _email_normal),
    ]
    for params, keep in filters:
        same(actual(await get_report(client, tenant, **params)), expected(specs, keep))

    # CSV and XLSX carry the same figures.
    r = await client.get("/api/v1/reports/export.csv", headers=tenant.admin.headers, params=PERIOD)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = {(s, i, m): v for s, i, m, v in list(csv.reader(io.StringIO(r.text)))[1:]}
    assert int(rows["volume", "new", "tickets"]) == report["volume"]["new"]
    assert int(rows["volume", "backlog", "tickets"]) == report["volume"]["backlog"]
    assert float(rows["first_response", "all", "median_seconds"]) == pytest.approx(
        report["first_response"]["median_seconds"], abs=0.1
    )
    assert float(rows["resolution", "all", "p90_seconds"]) == pytest.approx(
        report["resolution"]["p90_seconds"], abs=0.1
    )
    assert int(rows["satisfaction", "all", "asked"]) == 0
    r = await client.get("/api/v1/reports/export.xlsx", headers=tenant.admin.headers, params=PERIOD)
    assert r.status_code == 200, r.text
    sheet = zipfile.ZipFile(io.BytesIO(r.content)).read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == len(rows) + 1

    # Another tenant's report holds none of it, even asked with this tenant's team.
    empty = await get_report(client, other_tenant)
    assert empty["volume"] == {"new": 0, "resolved": 0, "reopened": 0, "backlog": 0}
    assert empty["first_response"]["count"] == 0 and empty["resolution"]["count"] == 0
    assert empty["sla"] == [] and empty["handoffs"] == []
    assert empty["categories"] == [] and empty["tags"] == []
    assert set(empty["busiest_hours"]) == {0}
    assert {(d["new"], d["resolved"]) for d in empty["days"]} == {(0, 0)}
    foreign = await get_report(client, other_tenant, team_id=str(tenant.teams["engineering"]))
    assert foreign["volume"]["new"] == 0 and foreign["handoffs"] == []


def _email_normal(s: Spec) -> bool:
    return s.channel == "email" and s.priority == "normal"


async def test_bad_filters_are_refused_and_reports_need_the_permission(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    h = tenant.admin.headers
    for params in (
        {"start": "2026-11-31"},
        {"start": "2026-11-10", "end": "2026-11-01"},
        {"start": "2024-01-01", "end": "2026-01-01"},
        {"priority": "whenever"},
        {"team_id": "not-a-uuid"},
    ):
        r = await client.get("/api/v1/reports", headers=h, params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/api/v1/reports", headers=tenant.users["agent"].headers)
    assert r.status_code == 403, r.text
    r = await client.get("/api/v1/reports/export.csv")
    assert r.status_code == 401, r.text
    unknown = await client.get("/api/v1/reports", headers=h, params={"team_id": str(uuid.uuid4())})
    assert unknown.status_code == 200 and unknown.json()["volume"]["new"] == 0
