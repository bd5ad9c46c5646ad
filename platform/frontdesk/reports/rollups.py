"""Daily roll-ups: a report over more than a month reads one row per local day.

A roll-up row holds one local day's figures (a ``Tally``) for the whole
tenant and for each value of each single filter (channel, team, agent,
category, priority): counts and sums exactly, durations as histograms of
logarithmic buckets (each 2 % wide), so a median or 90th percentile read from
them is within ``DURATION_PRECISION`` (under 1 %) of the exact figure, plus
as much of a second.

What a report of more than ``LIVE_UP_TO_DAYS`` days, with at most one filter,
reads from them: the days up to the last refresh's ``through`` day that have
a roll-up and on which nothing changed since the refresh. Every other day
(today, the days since the refresh, a day whose tickets changed since: a
late resolution, a reopening, a survey answered on an old ticket) is
computed from the tickets' rows, the same way the refresh computes it; so a
report never reads a stale roll-up, and says how many days came from each
(``Report.source``). A shorter report, or one with two filters or more, is
computed from the rows alone, exactly (``service.build_report``).

What changed is found through the ticket events: every change a report
counts (a ticket created, replied to, resolved, reopened, moved to another
team or agent, its priority or category changed, a breach, a survey sent or
answered, a hand-off, a call) appends one to the ticket's timeline. A
touched ticket's days are those of all its events and all its facts.

The refresh (``refresh``) runs as the ``refresh_report_rollups`` job from a
per-tenant timer every ``REFRESH_EVERY``; the first report of more than a
month schedules that timer. It recomputes the touched days, the days added
since, and any day without a roll-up, idempotently (each day's rows are
replaced). Roll-ups work on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, case, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.calls.models import Call
from frontdesk.clock import now as clock_now
from frontdesk.db import session_tenant
from frontdesk.followups.models import Survey
from frontdesk.handoffs.models import Handoff
from frontdesk.jobs import enqueue, job
from frontdesk.reports.models import ReportRollup, ReportRollupState
from frontdesk.routing.models import TicketSla
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import Ticket, TicketEvent
from frontdesk.timers import service as timers
from frontdesk.timers.models import Timer

# Reports of up to this many days are always computed from the rows, exactly.
LIVE_UP_TO_DAYS = 31
# A duration ``s`` falls in bucket ``floor(ln(1 + s) / ln(RATIO))``; it is read
# back as the bucket's geometric middle, within DURATION_PRECISION × (s + 1 s).
RATIO = 1.02
LOG_RATIO = math.log(RATIO)
DURATION_PRECISION = math.sqrt(RATIO) - 1
# Changes are looked for from this long before the refresh started: a
# transaction that wrote an event earlier but committed later is still seen.
MARGIN = dt.timedelta(minutes=5)
REFRESH_EVERY = dt.timedelta(minutes=15)
ROLLUP_TIMER = "report_rollups"
# At most this many days per summary: on SQLite a local day is UTC shifted by the
# zone's offset on the first day; on PostgreSQL, fewer and larger queries.
CHUNK_DAYS = {"sqlite": 31, "postgresql": 92}

# The filters a roll-up row can stand for: (dimension, the ticket's column).
DIMENSIONS: tuple[tuple[str, Any], ...] = (
    ("channel", Ticket.channel),
    ("team_id", Ticket.team_id),
    ("assignee_id", Ticket.assignee_id),
    ("category", Ticket.category),
    ("priority", Ticket.priority),
)
WHOLE = ("", "")


class Tally(msgspec.Struct, omit_defaults=True):
    """One local day's figures; additive (``add``)."""

    new: int = 0
    resolved: int = 0
    reopened: int = 0
    # local hour → new tickets
    hours: dict[int, int] = {}
    categories: dict[str, int] = {}
    tags: dict[str, int] = {}
    # duration bucket → clocks met
    first_response: dict[int, int] = {}
    resolution: dict[int, int] = {}
    # "metric\tpolicy" → [target seconds, met, breached]
    sla: dict[str, list[int]] = {}
    # score (0: not answered) → surveys sent
    surveys: dict[int, int] = {}
    # inbound calls, answered, answered within the target
    calls: list[int] = msgspec.field(default_factory=lambda: [0, 0, 0])
    # team id → [requested, done, overdue]
    handoffs: dict[str, list[int]] = {}
    # team id → duration bucket → hand-offs done
    handoff_times: dict[str, dict[int, int]] = {}

    def add(self, other: Tally) -> None:
        self.new += other.new
        self.resolved += other.resolved
        self.reopened += other.reopened
        for mine, theirs in (
            (self.hours, other.hours),
            (self.categories, other.categories),
            (self.tags, other.tags),
            (self.first_response, other.first_response),
            (self.resolution, other.resolution),
            (self.surveys, other.surveys),
        ):
            _add_counts(mine, theirs)
        for key, (target, met, breached) in other.sla.items():
            have = self.sla.setdefault(key, [0, 0, 0])
            have[0] = max(have[0], target)
            have[1] += met
            have[2] += breached
        self.calls = [a + b for a, b in zip(self.calls, other.calls, strict=True)]
        for team, counts in other.handoffs.items():
            have = self.handoffs.setdefault(team, [0, 0, 0])
            for i, n in enumerate(counts):
                have[i] += n
        for team, hist in other.handoff_times.items():
            _add_counts(self.handoff_times.setdefault(team, {}), hist)


def _add_counts(mine: dict[Any, int], theirs: dict[Any, int]) -> None:
    for key, n in theirs.items():
        mine[key] = mine.get(key, 0) + n


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Tally).decode


def bucket(seconds: float) -> int:
    return math.floor(math.log1p(max(seconds, 0.0)) / LOG_RATIO)


def bucket_value(b: int) -> float:
    return float(RATIO ** (b + 0.5) - 1)


def hist_percentile(hist: dict[int, int], fraction: float) -> float | None:
    """``percentile_cont`` over the histogram's bucket values (the service's ``percentile``)."""
    n = sum(hist.values())
    if not n:
        return None
    position = (n - 1) * fraction
    low, high = math.floor(position), math.ceil(position)

    def at(rank: int) -> float:
        seen = 0
        for b in sorted(hist):
            seen += hist[b]
            if seen > rank:
                return bucket_value(b)
        raise AssertionError("rank beyond the histogram")

    a = at(low)
    return a + (at(high) - a) * (position - low)


# --- computing tallies from the rows ----------------------------------------------------


class _Summary:
    """Tallies per (local day, dimension, value) for the days [start, end) (UTC bounds).

    ``split``: also per value of every single filter (a refresh); otherwise
    only the whole (narrowed by ``narrow``: a report's own filters)."""

    def __init__(
        self,
        session: AsyncSession,
        sql: Any,
        start: dt.datetime,
        end: dt.datetime,
        *,
        narrow: Sequence[ColumnElement[bool]] = (),
        split: bool = False,
    ) -> None:
        self.session = session
        self.sql = sql
        self.start, self.end = start, end
        self.narrow = list(narrow)
        self.split = split
        self.out: dict[tuple[str, str, str], Tally] = defaultdict(Tally)

    def _keys(self, day: str, dims: Sequence[Any]) -> Iterable[Tally]:
        yield self.out[(day, *WHOLE)]
        for (name, _), value in zip(DIMENSIONS, dims, strict=False):
            if value is not None:
                yield self.out[(day, name, str(value))]

    def _select(self, keys: Sequence[Any], counts: Sequence[Any], fact: Any = None) -> Any:
        """``keys``, then ``counts`` (aggregates), then the ticket's filter columns
        when split; grouped by the keys (and those columns)."""
        dims = [c for _, c in DIMENSIONS] if self.split else []
        query = select(*keys, *counts, *dims)
        if fact is not None and self.split:
            # Calls may have no ticket: they count for the whole tenant.
            query = query.select_from(fact).outerjoin(
                Ticket, and_(Ticket.tenant_id == fact.tenant_id, Ticket.id == fact.ticket_id)
            )
        elif fact is not None and self.narrow:
            query = query.select_from(fact).join(
                Ticket, and_(Ticket.tenant_id == fact.tenant_id, Ticket.id == fact.ticket_id)
            )
        return query.where(*self.narrow).group_by(*keys, *dims)

    def _bucketed(self, seconds: Any) -> Any:
        if self.sql.postgres:
            return func.floor(func.ln(1 + func.greatest(seconds, 0)) / LOG_RATIO)
        return seconds

    def _buckets(self, value: Any, n: int) -> tuple[int, int]:
        """(bucket, count) of a row from ``_bucketed``: grouped in SQL on PostgreSQL,
        one row per distinct value on SQLite."""
        if self.sql.postgres:
            return int(value), int(n)
        return bucket(float(value)), int(n)

    async def run(self) -> dict[tuple[str, str, str], Tally]:
        s, sql, start, end = self.session, self.sql, self.start, self.end
        n = func.count()
        hour = sql.local_hour_key(Ticket.created_at)
        for row in await s.execute(
            self._select([hour, Ticket.category], [n]).where(
                Ticket.created_at >= start, Ticket.created_at < end
            )
        ):
            key, category, count = row[0], row[1], int(row[2])
            for t in self._keys(key[:10], row[3:]):
                t.new += count
                t.hours[int(key[11:13])] = t.hours.get(int(key[11:13]), 0) + count
                if category is not None:
                    t.categories[category] = t.categories.get(category, 0) + count
        day = sql.local_date(Ticket.resolved_at)
        for row in await s.execute(
            self._select([day], [n]).where(Ticket.resolved_at >= start, Ticket.resolved_at < end)
        ):
            for t in self._keys(str(row[0]), row[2:]):
                t.resolved += int(row[1])
        tag = sql.tags()
        day = sql.local_date(Ticket.created_at)
        for row in await s.execute(
            self._select([day, tag.c.value], [n])
            .select_from(Ticket)
            .join(tag, literal(True))
            .where(Ticket.created_at >= start, Ticket.created_at < end)
        ):
            for t in self._keys(str(row[0]), row[3:]):
                t.tags[str(row[1])] = t.tags.get(str(row[1]), 0) + int(row[2])
        day = sql.local_date(TicketEvent.created_at)
        for row in await s.execute(
            self._select([day], [n], fact=TicketEvent).where(
                TicketEvent.kind == "state_changed",
                TicketEvent.created_at >= start,
                TicketEvent.created_at < end,
                TicketEvent.data["before"].as_string().in_(["resolved", "closed"]),
                TicketEvent.data["after"].as_string() == "open",
            )
        ):
            for t in self._keys(str(row[0]), row[2:]):
                t.reopened += int(row[1])
        await self._clocks()
        await self._surveys_and_calls()
        await self._handoffs()
        return self.out

    async def _clocks(self) -> None:
        s, sql, start, end = self.session, self.sql, self.start, self.end
        day = sql.local_date(TicketSla.met_at)
        value = self._bucketed(TicketSla.consumed_seconds)
        for row in await s.execute(
            self._select([day, TicketSla.metric, value], [func.count()], fact=TicketSla).where(
                TicketSla.metric.in_(["first_response", "resolution"]),
                TicketSla.state == "met",
                TicketSla.met_at >= start,
                TicketSla.met_at < end,
            )
        ):
            b, count = self._buckets(row[2], row[3])
            for t in self._keys(str(row[0]), row[4:]):
                hist = t.first_response if row[1] == "first_response" else t.resolution
                hist[b] = hist.get(b, 0) + count
        late = (TicketSla.breached_at.is_not(None)) | (
            (TicketSla.state == "met") & (TicketSla.consumed_seconds > TicketSla.target_seconds)
        )
        day = sql.local_date(TicketSla.started_at)
        for row in await s.execute(
            self._select(
                [day, TicketSla.metric, TicketSla.policy],
                [
                    func.max(TicketSla.target_seconds),
                    func.sum(case((and_(TicketSla.state == "met", ~late), 1), else_=0)),
                    func.sum(case((late, 1), else_=0)),
                ],
                fact=TicketSla,
            ).where(TicketSla.started_at >= start, TicketSla.started_at < end)
        ):
            for t in self._keys(str(row[0]), row[6:]):
                have = t.sla.setdefault(f"{row[1]}\t{row[2]}", [0, 0, 0])
                have[0] = max(have[0], int(row[3]))
                have[1] += int(row[4] or 0)
                have[2] += int(row[5] or 0)

    async def _surveys_and_calls(self) -> None:
        s, sql, start, end = self.session, self.sql, self.start, self.end
        day = sql.local_date(Survey.created_at)
        for row in await s.execute(
            self._select([day, Survey.score], [func.count()], fact=Survey).where(
                Survey.created_at >= start, Survey.created_at < end
            )
        ):
            score = int(row[1] or 0)
            for t in self._keys(str(row[0]), row[3:]):
                t.surveys[score] = t.surveys.get(score, 0) + int(row[2])
        from frontdesk.reports.service import PHONE_ANSWER_SECONDS

        waited = func.round(sql.seconds_between(Call.answered_at, Call.started_at), 3)
        day = sql.local_date(Call.started_at)
        for row in await s.execute(
            self._select(
                [day],
                [
                    func.count(),
                    func.count(Call.answered_at),
                    func.sum(case((waited <= PHONE_ANSWER_SECONDS, 1), else_=0)),
                ],
                fact=Call,
            ).where(Call.direction == "inbound", Call.started_at >= start, Call.started_at < end)
        ):
            add = [int(row[1]), int(row[2]), int(row[3] or 0)]
            for t in self._keys(str(row[0]), row[4:]):
                t.calls = [a + b for a, b in zip(t.calls, add, strict=True)]

    async def _handoffs(self) -> None:
        s, sql, start, end = self.session, self.sql, self.start, self.end
        day = sql.local_date(Handoff.created_at)
        period = [Handoff.created_at >= start, Handoff.created_at < end]
        for row in await s.execute(
            self._select(
                [day, Handoff.team_id],
                [
                    func.count(),
                    func.sum(case((Handoff.status == "done", 1), else_=0)),
                    func.sum(case((Handoff.overdue_at.is_not(None), 1), else_=0)),
                ],
                fact=Handoff,
            ).where(*period)
        ):
            add = [int(row[2]), int(row[3] or 0), int(row[4] or 0)]
            for t in self._keys(str(row[0]), row[5:]):
                have = t.handoffs.setdefault(str(row[1]), [0, 0, 0])
                for i, k in enumerate(add):
                    have[i] += k
        value = self._bucketed(sql.seconds_between(Handoff.resolved_at, Handoff.created_at))
        for row in await s.execute(
            self._select([day, Handoff.team_id, value], [func.count()], fact=Handoff).where(
                *period, Handoff.status == "done", Handoff.resolved_at.is_not(None)
            )
        ):
            b, count = self._buckets(row[2], row[3])
            for t in self._keys(str(row[0]), row[4:]):
                hist = t.handoff_times.setdefault(str(row[1]), {})
                hist[b] = hist.get(b, 0) + count


def _bounds(
    zone: zoneinfo.ZoneInfo, first: dt.date, last: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


def _runs(days: Iterable[dt.date], longest: int) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) runs of at most ``longest`` days."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if out and day - out[-1][1] == dt.timedelta(days=1) and (day - out[-1][0]).days < longest:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


async def summarise(
    session: AsyncSession,
    zone: zoneinfo.ZoneInfo,
    days: Iterable[dt.date],
    *,
    narrow: Sequence[ColumnElement[bool]] = (),
    split: bool = False,
) -> dict[tuple[str, str, str], Tally]:
    """The tallies of these local days, computed from the rows."""
    from frontdesk.reports.service import _Sql

    out: dict[tuple[str, str, str], Tally] = {}
    for first, last in _runs(days, CHUNK_DAYS[session.get_bind().dialect.name]):
        start, end = _bounds(zone, first, last)
        summary = _Summary(
            session, _Sql(session, zone, start), start, end, narrow=narrow, split=split
        )
        out.update(await summary.run())
    return out


# --- what changed ------------------------------------------------------------------------


async def touched_days(
    session: AsyncSession, zone: zoneinfo.ZoneInfo, since: dt.datetime
) -> set[dt.date]:
    """Local days whose figures may have changed since ``since``: every day of every
    event and fact of each ticket with an event since then (and the day either
    side, for SQLite's fixed-offset local days)."""
    changed = select(TicketEvent.ticket_id).where(TicketEvent.created_at >= since).distinct()
    ids = list((await session.scalars(changed)).all())
    times: set[dt.datetime] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for query in (
            select(TicketEvent.created_at).where(TicketEvent.ticket_id.in_(chunk)),
            select(Ticket.created_at).where(Ticket.id.in_(chunk)),
            select(Ticket.resolved_at).where(Ticket.id.in_(chunk)),
            select(TicketSla.started_at).where(TicketSla.ticket_id.in_(chunk)),
            select(TicketSla.met_at).where(TicketSla.ticket_id.in_(chunk)),
            select(Survey.created_at).where(Survey.ticket_id.in_(chunk)),
            select(Handoff.created_at).where(Handoff.ticket_id.in_(chunk)),
            select(Call.started_at).where(Call.ticket_id.in_(chunk)),
        ):
            times.update(t for t in (await session.scalars(query.distinct())).all() if t)
    days: set[dt.date] = set()
    for when in times:
        local = when.astimezone(zone).date()
        days.update(local + dt.timedelta(days=d) for d in (-1, 0, 1))
    return days


# --- the refresh ------------------------------------------------------------------------


class Refreshed(msgspec.Struct, frozen=True, kw_only=True):
    days: int
    rows: int
    through: dt.date | None


async def refresh(session: AsyncSession, *, rebuild: bool = False) -> Refreshed:
    """Bring the tenant's roll-ups up to date (idempotent; in the caller's transaction)."""
    from frontdesk.reports.service import report_timezone

    tenant_id = session_tenant(session.sync_session)
    zone = await report_timezone(session)
    now = clock_now()
    watermark = now - MARGIN
    last = watermark.astimezone(zone).date() - dt.timedelta(days=1)
    state = await session.scalar(
        select(ReportRollupState).with_for_update()
        if session.get_bind().dialect.name == "postgresql"
        else select(ReportRollupState)
    )
    if state is None or state.timezone != zone.key or rebuild:
        await session.execute(delete(ReportRollup))
        touched: set[dt.date] = set()
    else:
        touched = await touched_days(session, zone, state.watermark)
    first_ticket = await session.scalar(select(func.min(Ticket.created_at)))
    days: set[dt.date] = set()
    if first_ticket is not None:
        first = first_ticket.astimezone(zone).date() - dt.timedelta(days=1)
        have = set(
            (
                await session.scalars(
                    select(ReportRollup.day).where(
                        ReportRollup.dimension == "", ReportRollup.day <= last
                    )
                )
            ).all()
        )
        span = (last - first).days + 1
        days = {first + dt.timedelta(days=d) for d in range(max(span, 0))} - have
        days |= {d for d in touched if first <= d <= last}
    rows = 0
    for run_first, run_last in _runs(days, CHUNK_DAYS[session.get_bind().dialect.name]):
        run = [run_first + dt.timedelta(days=d) for d in range((run_last - run_first).days + 1)]
        tallies = await summarise(session, zone, run, split=True)
        await session.execute(
            delete(ReportRollup).where(ReportRollup.day >= run_first, ReportRollup.day <= run_last)
        )
        values = [
            {
                "tenant_id": tenant_id,
                "day": dt.date.fromisoformat(day),
                "dimension": dimension,
                "value": value,
                "data": _encode(tally),
            }
            for (day, dimension, value), tally in tallies.items()
            if run_first.isoformat() <= day <= run_last.isoformat()
        ]
        # Every day gets its whole-tenant row, empty or not: it marks the day rolled up.
        marked = {v["day"] for v in values if v["dimension"] == ""}
        values += [
            {
                "tenant_id": tenant_id,
                "day": day,
                "dimension": "",
                "value": "",
                "data": _encode(Tally()),
            }
            for day in run
            if day not in marked
        ]
        for i in range(0, len(values), 1000):
            await session.execute(insert(ReportRollup), values[i : i + 1000])
        rows += len(values)
    if state is None:
        state = ReportRollupState(timezone=zone.key, watermark=watermark)
        session.add(state)
    state.timezone = zone.key
    state.watermark = watermark
    state.through = last
    state.refreshed_at = now
    await session.flush()
    return Refreshed(days=len(days), rows=rows, through=last)


async def forget(session: AsyncSession) -> None:
    """Drop the tenant's roll-ups (the next refresh rebuilds them)."""
    await session.execute(delete(ReportRollup))
    await session.execute(delete(ReportRollupState))


# --- reading them ------------------------------------------------------------------------


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    rolled: list[dt.date]
    live: list[dt.date]
    refreshed_at: dt.datetime | None


async def plan(
    session: AsyncSession, zone: zoneinfo.ZoneInfo, first: dt.date, last: dt.date
) -> Plan | None:
    """Which days of the period the roll-ups answer; None when they cannot
    (never refreshed, or refreshed for another zone)."""
    state = await session.scalar(select(ReportRollupState))
    if state is None or state.timezone != zone.key or state.through is None:
        return None
    have = set(
        (
            await session.scalars(
                select(ReportRollup.day).where(
                    ReportRollup.dimension == "",
                    ReportRollup.day >= first,
                    ReportRollup.day <= min(last, state.through),
                )
            )
        ).all()
    )
    have -= await touched_days(session, zone, state.watermark)
    period = [first + dt.timedelta(days=d) for d in range((last - first).days + 1)]
    return Plan(
        rolled=[d for d in period if d in have],
        live=[d for d in period if d not in have],
        refreshed_at=state.refreshed_at,
    )


async def read(
    session: AsyncSession, days: Sequence[dt.date], dimension: tuple[str, str]
) -> dict[dt.date, Tally]:
    if not days:
        return {}
    wanted = set(days)
    rows = await session.execute(
        select(ReportRollup.day, ReportRollup.data).where(
            ReportRollup.dimension == dimension[0],
            ReportRollup.value == dimension[1],
            ReportRollup.day >= min(days),
            ReportRollup.day <= max(days),
        )
    )
    return {day: _decode(data) for day, data in rows if day in wanted}


def merge(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        total.add(t)
    return total


def per_day(tallies: dict[tuple[str, str, str], Tally]) -> dict[dt.date, Tally]:
    return {dt.date.fromisoformat(day): t for (day, _, _), t in tallies.items()}


def top(counts: dict[str, int], n: int) -> list[tuple[str, int]]:
    return sorted(Counter(counts).items(), key=lambda kv: (-kv[1], kv[0]))[:n]


# --- keeping them current: a timer per tenant, a job --------------------------------------


async def ensure_scheduled(session: AsyncSession, *, due: dt.datetime | None = None) -> None:
    """Schedule the tenant's next refresh unless one is pending (idempotent)."""
    pending = await session.scalar(
        select(Timer.id).where(Timer.kind == ROLLUP_TIMER, Timer.state == timers.PENDING).limit(1)
    )
    if pending is None:
        timers.schedule(session, kind=ROLLUP_TIMER, due_at=due or clock_now())


@timers.handler(ROLLUP_TIMER)
async def _fire(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    tenant_id = session_tenant(session.sync_session)
    enqueue(session, "refresh_report_rollups", tenant_id=str(tenant_id))
    await session.flush()
    await ensure_scheduled(session, due=clock_now() + REFRESH_EVERY)


@job("refresh_report_rollups", queue="default", time_limit=1_800_000)
async def refresh_report_rollups(runtime: Runtime, *, tenant_id: str) -> None:
    async with runtime.db.session(uuid.UUID(tenant_id)) as session:
        await refresh(session)
