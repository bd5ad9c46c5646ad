"""Reports over more than a month from the daily roll-ups: the same figures as the
tickets' rows give (durations within the stated precision), for each filter,
after late changes, for the tenant only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select, text

from conftest import TenantUnderTest
from frontdesk.clock import Clock
from frontdesk.reports import rollups
from frontdesk.reports.models import ReportRollup
from frontdesk.reports.service import ReportFilters, build_report
from frontdesk.runtime import Runtime
from frontdesk.tickets.states import Priority
from reports.month import SHANGHAI, Spec, actual, build, expected, month, same

# The month's tickets (November 2026 in Shanghai) and more than a month around them.
PERIOD = ReportFilters(start=dt.date(2026, 10, 1), end=dt.date(2026, 12, 10))
AFTER = dt.datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI)
# The first ticket is of 30 October: the days from the 29th to the 9th of December.
ROLLED = (dt.date(2026, 12, 9) - dt.date(2026, 10, 29)).days + 1


async def refresh(runtime: Runtime, tenant: TenantUnderTest) -> rollups.Refreshed:
    async with runtime.db.session(tenant.id) as session:
        return await rollups.refresh(session)


async def both(
    runtime: Runtime, tenant: TenantUnderTest, f: ReportFilters
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report as answered (roll-ups where they apply) and computed from the rows."""
    async with runtime.db.session(tenant.id) as session:
        answered = msgspec.to_builtins(await build_report(session, f))
        live = msgspec.to_builtins(await build_report(session, f, rollups=False))
    return answered, live


def same_within_precision(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every count equal; each median and p90 within the stated precision."""
    precision = got["source"]["duration_precision"]
    assert precision is not None and precision < 0.01
    for key in want:
        if key == "source":
            continue
        _close(got[key], want[key], precision, key)


def _close(got: Any, want: Any, precision: float, where: str) -> None:
    if isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for k in want:
            if k in ("median_seconds", "p90_seconds") and want[k] is not None:
                assert got[k] == pytest.approx(want[k], abs=precision * (want[k] + 1)), where
            else:
                _close(got[k], want[k], precision, f"{where}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, precision, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want), where
    else:
        assert got == want, where


async def test_a_long_report_from_roll_ups_equals_the_rows_and_follows_late_changes(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
    ticket_time_follows_clock: Clock,
) -> None:
    clock = ticket_time_follows_clock
    specs = month(count=12)
    await build(client, tenant, clock, specs)

    # Never refreshed: from the rows, and the tenant's refresh is now scheduled.
    clock.set(AFTER)
    answered, live = await both(runtime, tenant, PERIOD)
    assert answered["source"]["rollup_days"] == 0 and answered["source"]["live_days"] == 71
    assert answered == live

    done = await refresh(runtime, tenant)
    assert done.through == dt.date(2026, 12, 9) and done.rows > 0
    agent = tenant.users["agent"].user_id
    for narrow in (
        {},
        {"channel": "webchat"},
        {"priority": Priority.LOW},
        {"category": "care"},
        {"team_id": tenant.teams["engineering"]},
        {"assignee_id": agent},
    ):
        f = ReportFilters(start=PERIOD.start, end=PERIOD.end, **narrow)
        answered, live = await both(runtime, tenant, f)
        # From the day before the first ticket to yesterday from the roll-ups.
        assert answered["source"]["rollup_days"] == ROLLED, narrow
        assert answered["source"]["live_days"] == 71 - ROLLED, narrow
        same_within_precision(answered, live)
    assert live["volume"]["new"] > 0 and live["resolution"]["count"] > 0
    # Two filters at once: from the rows, every figure as worked out in the test.
    for narrow, keep in (
        ({"channel": "email", "category": "care"}, _email_care),
        ({"channel": "email", "priority": Priority.NORMAL}, _email_normal),
    ):
        f = ReportFilters(start=PERIOD.start, end=PERIOD.end, **narrow)
        answered, live = await both(runtime, tenant, f)
        assert answered["source"]["rollup_days"] == 0 and answered == live
        want = expected(specs, keep, PERIOD.start, PERIOD.end)
        assert want["volume"]["new"] > 0 and want["sla"], narrow
        same(actual(answered), want)

    # Late changes to November's tickets after the refresh: one resolved, one
    # reopened. Their days are answered from the rows until the next refresh.
    h = tenant.admin.headers
    still_open = next(s for s in specs if s.reply and not s.resolved and s.created.month == 11)
    resolved = next(s for s in specs if s.resolved_at and s.created.month == 11)
    clock.set(AFTER + dt.timedelta(minutes=30))
    for spec, state in ((still_open, "resolved"), (resolved, "open")):
        r = await client.post(f"/api/v1/tickets/{spec.id}/state", headers=h, json={"state": state})
        assert r.status_code == 200, r.text
    answered, live = await both(runtime, tenant, PERIOD)
    assert 1 < answered["source"]["live_days"] < 71
    same_within_precision(answered, live)

    # The next refresh takes them in; the report reads the roll-ups again.
    clock.set(AFTER + dt.timedelta(hours=1))
    await refresh(runtime, tenant)
    answered, live = await both(runtime, tenant, PERIOD)
    assert answered["source"]["rollup_days"] == ROLLED
    same_within_precision(answered, live)
    r = await client.get(
        "/api/v1/reports",
        headers=h,
        params={"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()},
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"]["rollup_days"] == ROLLED
    assert r.json()["volume"] == answered["volume"]

    # Another tenant, refreshed too, reads none of it.
    await refresh(runtime, other_tenant)
    async with runtime.db.session(other_tenant.id) as session:
        theirs = await build_report(session, PERIOD)
        assert (await session.scalars(select(ReportRollup.tenant_id).distinct())).all() == []
    assert theirs.volume.new == 0 and theirs.volume.resolved == 0
    assert theirs.resolution.count == 0 and theirs.sla == [] and theirs.handoffs == []


def _email_care(s: Spec) -> bool:
    return s.channel == "email" and s.category == "care"


def _email_normal(s: Spec) -> bool:
    return s.channel == "email" and s.priority == "normal"


@pytest.mark.postgres_only
async def test_row_level_security_keeps_each_tenants_roll_ups(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
) -> None:
    for t in (tenant, other_tenant):
        r = await client.post(
            "/api/v1/customers", headers=t.admin.headers, json={"display_name": "Li Lei"}
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            "/api/v1/tickets",
            headers=t.admin.headers,
            json={"customer_id": r.json()["id"], "subject": "Hello"},
        )
        assert r.status_code == 201, r.text
        await refresh(runtime, t)
    async with runtime.db.session(tenant.id) as session:
        seen = (await session.execute(text("SELECT DISTINCT tenant_id FROM report_rollups"))).all()
        state = (await session.execute(text("SELECT tenant_id FROM report_rollup_state"))).all()
    assert {r[0] for r in seen} == {tenant.id}
    assert {r[0] for r in state} == {tenant.id}
    # The other tenant's are there, seen from its own session.
    async with runtime.db.session(other_tenant.id) as session:
        theirs = (await session.execute(text("SELECT count(*) FROM report_rollups"))).scalar()
    assert theirs


async def test_a_survey_answered_on_an_old_ticket_reaches_the_roll_ups(
    client: httpx.AsyncClient,
    worker: Runtime,
    tenant: TenantUnderTest,
    ticket_time_follows_clock: Clock,
) -> None:
    from followups.support import tick
    from frontdesk.db import utcnow
    from reports.test_satisfaction_and_calls import SURVEY_URL

    clock = ticket_time_follows_clock
    # Survey rows are stamped with real time: the test clock starts there.
    clock.set(utcnow())
    h = tenant.admin.headers
    r = await client.post("/api/v1/customers", headers=h, json={"display_name": "Wang Fang"})
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/tickets", headers=h, json={"customer_id": r.json()["id"], "subject": "Hi"}
    )
    assert r.status_code == 201, r.text
    ticket = r.json()["id"]
    r = await client.post(f"/api/v1/tickets/{ticket}/state", headers=h, json={"state": "resolved"})
    assert r.status_code == 200, r.text
    await tick(worker, tenant)
    r = await client.get(f"/api/v1/tickets/{ticket}/messages", headers=h)
    [token] = [m.group(1) for i in r.json()["items"] if (m := SURVEY_URL.search(i["body_text"]))]

    # Two days on, the survey's day is rolled up: asked, not answered.
    clock.set(clock.now() + dt.timedelta(days=2))
    await refresh(worker, tenant)
    today = clock.now().date()
    period = ReportFilters(start=today - dt.timedelta(days=40), end=today)
    answered, live = await both(worker, tenant, period)
    rolled = answered["source"]["rollup_days"]
    assert rolled >= 2 and answered["satisfaction"]["asked"] == 1
    assert answered["satisfaction"]["responses"] == 0
    same_within_precision(answered, live)

    # Answered now: the report counts it at once (that day from the rows)...
    r = await client.post(f"/surveys/{token}", json={"score": 4})
    assert r.status_code == 201, r.text
    answered, live = await both(worker, tenant, period)
    assert answered["source"]["rollup_days"] < rolled
    assert answered["satisfaction"]["responses"] == 1 and answered["satisfaction"]["average"] == 4
    same_within_precision(answered, live)
    # ...and from the roll-ups once they are refreshed.
    clock.set(clock.now() + dt.timedelta(hours=1))
    await refresh(worker, tenant)
    answered, live = await both(worker, tenant, period)
    assert answered["source"]["rollup_days"] == rolled
    assert answered["satisfaction"]["distribution"][4] == 1
    same_within_precision(answered, live)


async def test_the_first_long_report_starts_the_refresh_timer_which_keeps_going(
    client: httpx.AsyncClient,
    worker: Runtime,
    tenant: TenantUnderTest,
    ticket_time_follows_clock: Clock,
) -> None:
    from followups.support import tick
    from frontdesk.reports.models import ReportRollupState
    from frontdesk.timers.models import Timer

    clock = ticket_time_follows_clock
    h = tenant.admin.headers
    r = await client.post("/api/v1/customers", headers=h, json={"display_name": "Li Lei"})
    r = await client.post(
        "/api/v1/tickets", headers=h, json={"customer_id": r.json()["id"], "subject": "Hi"}
    )
    assert r.status_code == 201, r.text
    today = clock.now().date()
    params = {"start": (today - dt.timedelta(days=40)).isoformat(), "end": today.isoformat()}
    r = await client.get("/api/v1/reports", headers=h, params=params)
    assert r.status_code == 200, r.text
    assert r.json()["source"]["rollup_days"] == 0 and r.json()["volume"]["new"] == 1

    # The timer is due at once; its job refreshes, and it is set again for later.
    await tick(worker, tenant)
    async with worker.db.session(tenant.id) as session:
        state = await session.scalar(select(ReportRollupState))
        due = (
            await session.scalars(
                select(Timer.due_at).where(
                    Timer.kind == rollups.ROLLUP_TIMER, Timer.state == "pending"
                )
            )
        ).all()
    assert state is not None and state.refreshed_at == clock.now()
    assert due == [clock.now() + rollups.REFRESH_EVERY]

    # A day later, the next one has rolled the ticket's day up (for the whole
    # tenant and per filter value).
    clock.set(clock.now() + dt.timedelta(days=1))
    await tick(worker, tenant)
    async with worker.db.session(tenant.id) as session:
        state = await session.scalar(select(ReportRollupState))
        rows = (
            await session.execute(select(ReportRollup.dimension).where(ReportRollup.day == today))
        ).all()
    assert state is not None and state.through == today
    assert {"", "channel", "priority", "team_id"} <= {r[0] for r in rows}
