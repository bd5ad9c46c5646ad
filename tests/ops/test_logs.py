"""JSON log lines carry the request's id (the caller's, echoed back) and its ticket."""

from __future__ import annotations

import io
import json
import logging

import httpx

from conftest import TenantUnderTest
from frontdesk.logs import JsonFormatter
from routing.test_sla import open_ticket


async def test_a_request_logs_one_json_line_with_its_request_and_ticket_ids(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    ticket_id = await open_ticket(client, tenant, channel="email")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("frontdesk.access")
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        r = await client.get(
            f"/api/v1/tickets/{ticket_id}",
            headers={**tenant.admin.headers, "X-Request-ID": "req-42"},
        )
        assert r.status_code == 200, r.text
        assert r.headers["x-request-id"] == "req-42"
        made = await client.get("/api/v1/tickets", headers=tenant.admin.headers)
        assert len(made.headers["x-request-id"]) == 32
    finally:
        access.removeHandler(handler)
        # Left at INFO, every later request of the session would log a line
        # for pytest to capture.
        access.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    first = lines[0]
    assert first["request_id"] == "req-42"
    assert first["ticket_id"] == str(ticket_id)
    assert (first["method"], first["path"], first["status"]) == (
        "GET",
        f"/api/v1/tickets/{ticket_id}",
        200,
    )
    assert first["level"] == "info" and first["logger"] == "frontdesk.access"
    assert lines[1]["request_id"] == made.headers["x-request-id"]
    assert "ticket_id" not in lines[1]
