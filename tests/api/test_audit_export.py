"""Exporting the audit log: JSON lines or CSV, the tenant's own entries only, permission-checked."""

from __future__ import annotations

import csv
import io
import json

import httpx

from conftest import TenantUnderTest, add_user, sign_up


async def test_the_audit_log_exports_as_json_lines_and_csv_for_its_tenant_only(
    client: httpx.AsyncClient,
) -> None:
    tenant: TenantUnderTest = await sign_up(client)
    other = await sign_up(client)
    agent = await add_user(client, tenant, "agent")
    role = await client.post(
        "/api/v1/roles",
        headers=tenant.admin.headers,
        json={"name": "auditor", "permissions": ["audit.read"]},
    )
    assert role.status_code == 201, role.text

    r = await client.get("/api/v1/audit-log/export", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    entries = [json.loads(line) for line in r.text.splitlines()]
    actions = [e["action"] for e in entries]
    # Oldest first: the sign-up, then the sign-ins and changes that followed.
    assert actions[0] == "user.created"
    assert {"user.signed_in", "role.created", "team.created"} <= set(actions)
    assert [e["created_at"] for e in entries] == sorted(e["created_at"] for e in entries)
    listed = await client.get("/api/v1/audit-log?limit=200", headers=tenant.admin.headers)
    assert {e["id"] for e in entries} == {e["id"] for e in listed.json()["items"]}
    theirs = await client.get("/api/v1/audit-log?limit=200", headers=other.admin.headers)
    assert not {e["id"] for e in entries} & {e["id"] for e in theirs.json()["items"]}

    signed_in = await client.get(
        "/api/v1/audit-log/export?format=csv&action=user.signed_in", headers=tenant.admin.headers
    )
    assert signed_in.status_code == 200
    assert signed_in.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(signed_in.text)))
    assert {row["action"] for row in rows} == {"user.signed_in"}
    assert str(agent.user_id) in {row["subject_id"] for row in rows}
    assert all(json.loads(row["data"]) == {} for row in rows)

    forbidden = await client.get("/api/v1/audit-log/export", headers=agent.headers)
    assert forbidden.status_code == 403
    bad = await client.get("/api/v1/audit-log/export?format=xml", headers=tenant.admin.headers)
    assert bad.status_code == 400
    naive = await client.get(
        "/api/v1/audit-log/export?since=2026-01-01T00:00:00", headers=tenant.admin.headers
    )
    assert naive.status_code == 400
    assert naive.headers["content-type"].startswith("application/problem+json")
