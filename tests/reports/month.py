"""A month of tickets with known timings, built through the API on the test clock,
and every report figure worked out again from those timings in plain Python.

The tenant works Monday to Friday, 09:00–18:00 in Shanghai; the month is
November 2026 there. Business time here is counted by ``business_seconds``
below, not by ``routing.calendar``.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import TenantUnderTest
from frontdesk.clock import Clock
from frontdesk.tickets import service as tickets_service

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
WEEK = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
START = dt.date(2026, 11, 1)
END = dt.date(2026, 11, 30)
H = 3600

FIRST_RESPONSE = {
    "email": ("Email and messages: reply within 4 h; inquiries resolved within 24 h", 4 * H),
    "webchat": ("Chat and IM: reply within 2 min", 120),
    "phone": ("Phone: answer within 15 s", 15),
}
RESOLUTION = {
    "normal": ("Email and messages: reply within 4 h; inquiries resolved within 24 h", 24 * H),
    # Three business days of nine hours.
    "low": ("Low priority: resolve within 3 business days", 3 * 9 * H),
}


def business_seconds(a: dt.datetime, b: dt.datetime) -> float:
    total = 0.0
    day = a.astimezone(SHANGHAI).date()
    while day <= b.astimezone(SHANGHAI).date():
        if day.weekday() < 5:
            opens = dt.datetime.combine(day, dt.time(9), SHANGHAI)
            closes = dt.datetime.combine(day, dt.time(18), SHANGHAI)
            lo, hi = max(a, opens), min(b, closes)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += dt.timedelta(days=1)
    return total


@dataclass
class Spec:
    """One ticket's life: every step at a known time."""

    created: dt.datetime
    channel: str
    priority: str
    category: str
    tags: list[str]
    team: str
    assigned: bool
    reply: dt.datetime | None = None
    pending: tuple[dt.datetime, dt.datetime] | None = None
    resolved: list[dt.datetime] = field(default_factory=list)
    reopened: list[dt.datetime] = field(default_factory=list)
    handoff: tuple[dt.datetime, dt.datetime | None] | None = None
    id: uuid.UUID | None = None

    @property
    def resolved_at(self) -> dt.datetime | None:
        """Resolved now (the last resolve not followed by a reopen)."""
        if self.resolved and len(self.resolved) > len(self.reopened):
            return self.resolved[-1]
        return None


def month(seed: int = 11, count: int = 16) -> list[Spec]:
    """``count`` tickets: the last two just before and just after the month."""
    rng = random.Random(seed)
    specs = []
    days = [START + dt.timedelta(days=d) for d in range(28)]
    before, after = count - 2, count - 1
    for i in range(count):
        created = dt.datetime.combine(
            days[i * 28 // count], dt.time(7 + (i * 5) % 14, (i * 7) % 60), SHANGHAI
        )
        if i == before:  # resolved in the period
            created = dt.datetime(2026, 10, 30, 16, 0, tzinfo=SHANGHAI)
        if i == after:
            created = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
        s = Spec(
            created=created,
            channel=("email", "webchat", "email", "phone")[i % 4],
            priority="low" if i % 5 == 0 else "normal",
            category=("pre_sales", "care", "return_exchange", "care", "collaboration")[i % 5],
            tags=[t for t, on in (("vip", i % 3 == 0), ("billing", i % 4 == 1)) if on],
            team="engineering" if i % 6 == 0 else "front-line",
            assigned=i % 2 == 0,
        )
        if (i % 7 != 6 or i == before) and i != after:
            s.reply = created + dt.timedelta(minutes=rng.randint(1, 30 * 60))
            t = s.reply
            if i % 4 == 2:
                start = t + dt.timedelta(minutes=30)
                s.pending = (start, start + dt.timedelta(hours=rng.randint(1, 20)))
                t = s.pending[1]
            if i % 5 != 3:
                s.resolved.append(t + dt.timedelta(hours=rng.randint(1, 60)))
                if i % 6 == 1:
                    s.reopened.append(s.resolved[-1] + dt.timedelta(hours=2))
                    s.resolved.append(s.reopened[-1] + dt.timedelta(hours=3))
        if i % 5 == 1 and i < before:
            asked = created + dt.timedelta(hours=1)
            done = asked + dt.timedelta(minutes=rng.randint(30, 30 * 60)) if i % 10 == 1 else None
            s.handoff = (asked, done)
        specs.append(s)
    return specs


@pytest.fixture
def ticket_time_follows_clock(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Clock:
    """Ticket rows (created, resolved, their events) stamped by the test clock too,
    so a month can be laid out in minutes; SLA clocks and hand-offs read it already."""
    monkeypatch.setattr(tickets_service, "utcnow", clock.now)
    original = tickets_service._event

    def stamped(*args: Any, **kwargs: Any) -> Any:
        event = original(*args, **kwargs)
        event.created_at = clock.now()
        return event

    monkeypatch.setattr(tickets_service, "_event", stamped)
    return clock


async def build(
    client: httpx.AsyncClient, tenant: TenantUnderTest, clock: Clock, specs: list[Spec]
) -> None:
    h = tenant.admin.headers
    r = await client.put(
        "/api/v1/business-hours", headers=h, json={"timezone": "Asia/Shanghai", "hours": WEEK}
    )
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/customers", headers=h, json={"display_name": "Li Lei"})
    assert r.status_code == 201, r.text
    customer = r.json()["id"]
    agent = tenant.users["agent"].user_id
    for s in specs:
        clock.set(s.created)
        r = await client.post(
            "/api/v1/tickets",
            headers=h,
            json={
                "customer_id": customer,
                "subject": "Order question",
                "channel": s.channel,
                "priority": s.priority,
                "category": s.category,
                "tags": s.tags,
                "team_id": str(tenant.teams[s.team]),
                "assignee_id": str(agent) if s.assigned else None,
            },
        )
        assert r.status_code == 201, r.text
        s.id = uuid.UUID(r.json()["id"])
        steps: list[tuple[dt.datetime, str, Any]] = []
        if s.reply:
            steps.append((s.reply, "messages", {"kind": "reply", "body": "On it."}))
        if s.pending:
            steps.append((s.pending[0], "state", {"state": "pending"}))
            steps.append((s.pending[1], "state", {"state": "open"}))
        for when in s.resolved:
            steps.append((when, "state", {"state": "resolved"}))
        for when in s.reopened:
            steps.append((when, "state", {"state": "open"}))
        for when, path, body in sorted(steps, key=lambda x: x[0]):
            clock.set(when)
            r = await client.post(f"/api/v1/tickets/{s.id}/{path}", headers=h, json=body)
            assert r.status_code in (200, 201), r.text
        if s.handoff:
            clock.set(s.handoff[0])
            r = await client.post(
                f"/api/v1/tickets/{s.id}/handoffs",
                headers=h,
                json={
                    "team_id": str(tenant.teams["success"]),
                    "description": "Please check the logs",
                    "due_minutes": 48 * 60,
                },
            )
            assert r.status_code == 201, r.text
            if s.handoff[1]:
                clock.set(s.handoff[1])
                r = await client.post(f"/api/v1/handoffs/{r.json()['id']}/done", headers=h)
                assert r.status_code == 200, r.text


# --- the figures, worked out again ------------------------------------------------------


def percentiles(values: list[float]) -> tuple[int, float | None, float | None]:
    if not values:
        return 0, None, None
    if len(values) == 1:
        return 1, values[0], values[0]
    return (
        len(values),
        statistics.median(values),
        statistics.quantiles(values, n=10, method="inclusive")[8],
    )


def first_response_seconds(s: Spec) -> float:
    assert s.reply is not None
    return business_seconds(s.created, s.reply)


def resolution_seconds(s: Spec) -> float:
    """Business time the resolution clock ran: not while pending, not while resolved."""
    running: list[tuple[dt.datetime, dt.datetime]] = []
    start = s.created
    marks = sorted(
        [(t, "stop") for t in s.resolved]
        + [(t, "start") for t in s.reopened]
        + ([(s.pending[0], "stop"), (s.pending[1], "start")] if s.pending else [])
    )
    for when, what in marks:
        if what == "stop":
            running.append((start, when))
        else:
            start = when
    return sum(business_seconds(a, b) for a, b in running)


def expected(
    specs: list[Spec],
    keep: Callable[[Spec], bool] = lambda s: True,
    start: dt.date = START,
    end: dt.date = END,
) -> dict[str, Any]:
    """The report of the local days ``start``..``end`` (November by default)."""
    period_start = dt.datetime.combine(start, dt.time(), SHANGHAI)
    period_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), SHANGHAI)

    def in_period(when: dt.datetime | None) -> bool:
        return when is not None and period_start <= when < period_end

    mine = [s for s in specs if keep(s)]
    frt = sorted(first_response_seconds(s) for s in mine if s.reply and in_period(s.reply))
    res = sorted(resolution_seconds(s) for s in mine if in_period(s.resolved_at))
    sla: Counter[tuple[str, str, int, str]] = Counter()
    started: set[tuple[str, str, int]] = set()
    for s in mine:
        if not in_period(s.created):
            continue
        # Both clocks start with the ticket; a clock not yet settled still
        # names its policy in the report.
        policy, target = FIRST_RESPONSE[s.channel]
        started.add(("first_response", policy, target))
        if s.reply:
            late = first_response_seconds(s) > target
            sla["first_response", policy, target, "breached" if late else "met"] += 1
        policy, target = RESOLUTION[s.priority]
        started.add(("resolution", policy, target))
        if s.resolved_at:
            late = resolution_seconds(s) > target
            sla["resolution", policy, target, "breached" if late else "met"] += 1
    targets = sorted(started)
    created = [s for s in mine if in_period(s.created)]
    hours = [0] * 24
    for s in created:
        hours[s.created.astimezone(SHANGHAI).hour] += 1
    handoffs = [s.handoff for s in mine if s.handoff and in_period(s.handoff[0])]
    done = sorted((b - a).total_seconds() for a, b in handoffs if b)
    n, median, p90 = percentiles(done)
    return {
        "volume": {
            "new": len(created),
            "resolved": sum(1 for s in mine if in_period(s.resolved_at)),
            "reopened": sum(1 for s in mine for t in s.reopened if in_period(t)),
            "backlog": sum(
                1
                for s in mine
                if s.created < period_end and not (s.resolved_at and s.resolved_at < period_end)
            ),
        },
        "first_response": dict(
            zip(("count", "median_seconds", "p90_seconds"), percentiles(frt), strict=True)
        ),
        "resolution": dict(
            zip(("count", "median_seconds", "p90_seconds"), percentiles(res), strict=True)
        ),
        "sla": [
            {
                "metric": m,
                "policy": p,
                "target_seconds": t,
                "met": sla[m, p, t, "met"],
                "breached": sla[m, p, t, "breached"],
            }
            for m, p, t in targets
        ],
        "categories": _top(Counter(s.category for s in created)),
        "tags": _top(Counter(t for s in created for t in s.tags)),
        "busiest_hours": hours,
        "days": list(_days(mine, start, end)),
        "handoffs": (
            [{"requested": len(handoffs), "done": n, "median_seconds": median, "p90": p90}]
            if handoffs
            else []
        ),
    }


def _top(counts: Counter[str]) -> list[dict[str, Any]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return [{"name": k, "count": v} for k, v in ranked]


def _days(specs: list[Spec], start: dt.date, end: dt.date) -> Iterator[dict[str, Any]]:
    day = start
    while day <= end:
        yield {
            "day": day.isoformat(),
            "new": sum(1 for s in specs if s.created.astimezone(SHANGHAI).date() == day),
            "resolved": sum(
                1
                for s in specs
                if s.resolved_at and s.resolved_at.astimezone(SHANGHAI).date() == day
            ),
        }
        day += dt.timedelta(days=1)


def actual(report: dict[str, Any]) -> dict[str, Any]:
    """The report's JSON in the shape ``expected`` gives."""
    return {
        "volume": report["volume"],
        "first_response": report["first_response"],
        "resolution": report["resolution"],
        "sla": [
            {k: t[k] for k in ("metric", "policy", "target_seconds", "met", "breached")}
            for t in report["sla"]
        ],
        "categories": report["categories"],
        "tags": report["tags"],
        "busiest_hours": report["busiest_hours"],
        "days": report["days"],
        "handoffs": [
            {
                "requested": h["requested"],
                "done": h["done"],
                "median_seconds": h["median_seconds"],
                "p90": h["p90_seconds"],
            }
            for h in report["handoffs"]
        ],
    }


def same(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Equal, with durations compared to a millisecond (float sums in SQL)."""
    assert got.keys() == want.keys()
    for key in want:
        assert _rounded(got[key]) == _rounded(want[key]), (key, got[key], want[key])


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
