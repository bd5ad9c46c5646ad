"""The weekly review: turned on, it is mailed on Monday morning to the tenant's admins
through its email channel (a real SMTP server on localhost), with last week's
figures and a link, and the next Monday's is scheduled."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator

import httpx
import pytest

from channels.email_platform import SmtpServer, make_email_channel
from conftest import TenantUnderTest, drain
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.timers.service import run_due
from routing.test_sla import open_ticket, reply

UTC = dt.UTC


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


async def test_the_weekly_review_reaches_admins_on_monday_with_last_weeks_figures(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    smtp_server: SmtpServer,
    ticket_time_follows_clock: Clock,
) -> None:
    clock = ticket_time_follows_clock
    h = tenant.admin.headers
    await make_email_channel(
        client, tenant, smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none"
    )
    # Last week (Monday 23 to Sunday 29 November): three tickets, one answered;
    # one more the week before, which the review leaves out.
    for when in ("2026-11-16T10:00", "2026-11-24T10:00", "2026-11-26T15:00", "2026-11-29T20:00"):
        clock.set(dt.datetime.fromisoformat(when).replace(tzinfo=UTC))
        ticket = await open_ticket(client, tenant, channel="email", category="care")
        if when.startswith("2026-11-24"):
            clock.advance(dt.timedelta(hours=2))
            await reply(client, tenant, ticket)

    clock.set(dt.datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert (await client.get("/api/v1/reports/weekly-review", headers=h)).json() == {
        "next_at": None
    }
    r = await client.put("/api/v1/reports/weekly-review", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["next_at"] == "2026-11-30T08:00:00Z"
    # Turning it on again schedules nothing more.
    r = await client.put("/api/v1/reports/weekly-review", headers=h)
    assert r.json()["next_at"] == "2026-11-30T08:00:00Z"
    forbidden = await client.put(
        "/api/v1/reports/weekly-review", headers=tenant.users["agent"].headers
    )
    assert forbidden.status_code == 403

    clock.set(dt.datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
    await run_due(worker, tenant_ids=[tenant.id])
    await drain(worker)
    assert smtp_server.messages == []

    clock.set(dt.datetime(2026, 11, 30, 8, 1, tzinfo=UTC))
    await run_due(worker, tenant_ids=[tenant.id])
    await drain(worker)
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == [tenant.admin.email]
    mail = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert mail["Subject"] == "Weekly review: 2026-11-23 to 2026-11-29"
    assert mail["Auto-Submitted"] == "auto-replied"  # nobody should answer it automatically
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "New tickets: 3" in text
    assert "Resolved: 0" in text
    assert "First response (business hours): median 2.0 h, p90 2.0 h" in text
    assert "Top categories: care (3)" in text
    assert "/reports?start=2026-11-23&end=2026-11-29" in text

    # The next Monday's is waiting; the same Monday does not send twice.
    r = await client.get("/api/v1/reports/weekly-review", headers=h)
    assert r.json()["next_at"] == "2026-12-07T08:00:00Z"
    await run_due(worker, tenant_ids=[tenant.id])
    await drain(worker)
    assert len(smtp_server.messages) == 1
    r = await client.delete("/api/v1/reports/weekly-review", headers=h)
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/reports/weekly-review", headers=h)).json() == {
        "next_at": None
    }
