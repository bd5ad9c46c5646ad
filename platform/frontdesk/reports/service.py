"""The tenant's report over a period: volume, response and resolution times,
SLA attainment, satisfaction, categories and tags, hand-offs, busiest hours.

Every figure is an aggregate in SQL over the tickets' own rows; nothing
loads tickets into Python. Times are business time: an SLA clock stores the
business seconds it ran (under the ticket's calendar, pauses while pending
on the customer left out) when it stops (``routing.sla``), and the report
aggregates those. Medians and 90th percentiles are ``percentile_cont`` on
PostgreSQL; on embedded SQLite, which has no ordered-set aggregates, the
single column of durations is read in order and interpolated the same way.

Which rows count:

- new: tickets created in the period; resolved: tickets whose ``resolved_at``
  falls in it; reopened: ``state_changed`` events from resolved or closed back
  to open in it; backlog: tickets created before the period's end and
  neither resolved nor closed by then.
- first response and resolution: clocks met in the period.
- SLA attainment: clocks started in the period that are settled, per metric
  and policy (target): met within the target, or breached (a breach fired,
  or met later than the target).
- satisfaction: surveys sent in the period (the follow-ups' ``surveys`` table,
  ``score`` 1–5 once answered).
- phone answer: inbound calls that rang in the period (the calls domain's
  ``calls`` table, ``started_at`` and ``answered_at``), answered within 15 s.
- hand-offs: requested in the period, per target team; their time is wall
  time from the request to done.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    extract,
    func,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.models import Team
from frontdesk.calls.models import Call
from frontdesk.db import session_tenant
from frontdesk.errors import InvalidInput
from frontdesk.followups.models import Survey
from frontdesk.handoffs.models import Handoff
from frontdesk.routing.models import BusinessHours, TicketSla
from frontdesk.tickets.models import Ticket, TicketEvent
from frontdesk.tickets.states import OPEN_STATES, Priority

OPEN_STATE_NAMES = sorted(s.value for s in OPEN_STATES)
MAX_DAYS = 400
TOP = 10
PHONE_ANSWER_SECONDS = 15


class ReportFilters(msgspec.Struct, frozen=True, kw_only=True):
    """A period of local days ``start``..``end`` (both included) and what to narrow to."""

    start: dt.date
    end: dt.date
    channel: str | None = None
    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    category: str | None = None
    priority: Priority | None = None

    def check(self) -> None:
        if self.end < self.start:
            raise InvalidInput("the period ends before it starts")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days")

    def query(self) -> dict[str, str]:
        """The filters as query parameters (links, exports)."""
        raw = msgspec.to_builtins(self)
        return {k: str(v) for k, v in raw.items() if v is not None}


class Volume(msgspec.Struct, frozen=True, kw_only=True):
    new: int
    resolved: int
    reopened: int
    backlog: int


class Durations(msgspec.Struct, frozen=True, kw_only=True):
    """Business seconds; ``None`` when nothing was measured."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None


class SlaTarget(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    policy: str
    target_seconds: int
    met: int
    breached: int
    # met / (met + breached), None with nothing settled
    attainment: float | None


class Satisfaction(msgspec.Struct, frozen=True, kw_only=True):
    available: bool
    # surveys sent in the period, and answered
    asked: int = 0
    responses: int = 0
    response_rate: float | None = None
    average: float | None = None
    # score (1..5) → responses
    distribution: dict[int, int] = {}


class PhoneAnswer(msgspec.Struct, frozen=True, kw_only=True):
    available: bool
    calls: int = 0
    answered: int = 0
    within_target: int = 0
    target_seconds: int = PHONE_ANSWER_SECONDS
    attainment: float | None = None


class Count(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    count: int


class TeamHandoffs(msgspec.Struct, frozen=True, kw_only=True):
    team_id: uuid.UUID
    team: str
    requested: int
    done: int
    overdue: int
    median_seconds: float | None
    p90_seconds: float | None


class Day(msgspec.Struct, frozen=True, kw_only=True):
    day: dt.date
    new: int
    resolved: int


class ReportSource(msgspec.Struct, frozen=True, kw_only=True):
    """Where the figures came from (``reports.rollups``)."""

    # Local days read from the daily roll-ups, and computed from the tickets' rows.
    rollup_days: int = 0
    live_days: int = 0
    # The roll-ups' last refresh (None: none read).
    rollups_refreshed_at: dt.datetime | None = None
    # None: medians and 90th percentiles are exact. Otherwise each is within
    # this fraction of the exact figure, plus as much of a second.
    duration_precision: float | None = None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    filters: ReportFilters
    timezone: str
    volume: Volume
    first_response: Durations
    resolution: Durations
    sla: list[SlaTarget]
    satisfaction: Satisfaction
    phone_answer: PhoneAnswer
    categories: list[Count]
    tags: list[Count]
    handoffs: list[TeamHandoffs]
    # hour of the local day (0..23) → new tickets, every hour present
    busiest_hours: list[int]
    days: list[Day]
    source: ReportSource = msgspec.field(default_factory=ReportSource)


# --- dialect-aware pieces -------------------------------------------------------------


class _Sql:
    """The few expressions PostgreSQL and SQLite spell differently."""

    def __init__(self, session: AsyncSession, zone: zoneinfo.ZoneInfo, start: dt.datetime) -> None:
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.zone = zone
        # SQLite has no time zones: local time is UTC shifted by the zone's
        # offset at the period's start (a DST change inside it shifts by an hour).
        offset = start.astimezone(zone).utcoffset() or dt.timedelta()
        self.shift = f"{int(offset.total_seconds()):+d} seconds"

    def local_date(self, when: Any) -> ColumnElement[Any]:
        if self.postgres:
            return func.to_char(func.timezone(self.zone.key, when), "YYYY-MM-DD")
        return func.date(when, self.shift)

    def local_hour_key(self, when: Any) -> ColumnElement[Any]:
        """``YYYY-MM-DD HH`` of the local hour ``when`` falls in."""
        if self.postgres:
            return func.to_char(
                func.date_trunc("hour", func.timezone(self.zone.key, when)), "YYYY-MM-DD HH24"
            )
        return func.strftime("%Y-%m-%d %H", when, self.shift)

    def seconds_between(self, later: Any, earlier: Any) -> ColumnElement[Any]:
        if self.postgres:
            return extract("epoch", later - earlier)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def tags(self) -> Any:
        if self.postgres:
            return func.json_array_elements_text(Ticket.tags).table_valued("value")
        return func.json_each(Ticket.tags).table_valued("value")


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """``percentile_cont``: linear interpolation between the closest ranks."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def _durations(
    session: AsyncSession, sql: _Sql, value: Any, where: Sequence[Any], group: Any = None
) -> dict[Any, tuple[int, float | None, float | None]]:
    """count, median and p90 of ``value`` over the rows ``where`` selects, per ``group``."""
    key = group if group is not None else literal(0)
    if sql.postgres:
        rows = await session.execute(
            select(
                key,
                func.count(),
                func.percentile_cont(0.5).within_group(value),
                func.percentile_cont(0.9).within_group(value),
            )
            .where(*where)
            .group_by(key)
        )
        return {r[0]: (int(r[1]), r[2], r[3]) for r in rows}
    values: dict[Any, list[float]] = defaultdict(list)
    for k, v in await session.execute(select(key, value).where(*where).order_by(key, value)):
        values[k].append(float(v))
    return {k: (len(vs), percentile(vs, 0.5), percentile(vs, 0.9)) for k, vs in values.items()}


def _ticket_filters(f: ReportFilters) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.channel is not None:
        out.append(Ticket.channel == f.channel)
    if f.team_id is not None:
        out.append(Ticket.team_id == f.team_id)
    if f.assignee_id is not None:
        out.append(Ticket.assignee_id == f.assignee_id)
    if f.category is not None:
        out.append(Ticket.category == f.category)
    if f.priority is not None:
        out.append(Ticket.priority == f.priority.value)
    return out


def _on_tickets(other: Any, narrow: list[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    """Rows of ``other`` (clocks, events, hand-offs) narrowed through their ticket;
    unfiltered, the ticket is not read at all."""
    if not narrow:
        return []
    return [Ticket.tenant_id == other.tenant_id, Ticket.id == other.ticket_id, *narrow]


async def report_timezone(session: AsyncSession) -> zoneinfo.ZoneInfo:
    """The tenant calendar's zone (local days and hours), else UTC."""
    name = await session.scalar(
        select(BusinessHours.timezone).where(BusinessHours.scope == "tenant")
    )
    return zoneinfo.ZoneInfo(name or "UTC")


async def build_report(session: AsyncSession, f: ReportFilters, *, rollups: bool = True) -> Report:
    """The report; over more than a month with at most one filter, from the daily
    roll-ups where they are current (``reports.rollups``) unless ``rollups`` is
    false."""
    from frontdesk.reports import rollups as daily

    f.check()
    zone = await report_timezone(session)
    start = dt.datetime.combine(f.start, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    sql = _Sql(session, zone, start)
    narrow = _ticket_filters(f)
    if rollups and (f.end - f.start).days >= daily.LIVE_UP_TO_DAYS and len(narrow) <= 1:
        plan = await daily.plan(session, zone, f.start, f.end)
        if plan is not None:
            return await _from_rollups(session, sql, f, zone, plan, narrow, end)
        # Never refreshed (or for another zone): this once from the rows, and the
        # tenant's refresh is scheduled.
        await daily.ensure_scheduled(session)
    if sql.postgres:
        # Sorts for the percentiles stay in memory (the default 4 MB spills a month).
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
        # Each report is planned for its own period and filters: asyncpg prepares
        # statements, and after five runs of one PostgreSQL may switch to a
        # generic plan that sees neither (a year with two filters then read
        # 3.5 s instead of 1 s on the bench database).
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    created = [Ticket.created_at >= start, Ticket.created_at < end, *narrow]

    # One pass over the period's new tickets gives their count, categories,
    # hours and days (grouped by local hour, "YYYY-MM-DD HH"); one over the
    # resolved ones their count and days.
    local_hour = sql.local_hour_key(Ticket.created_at)
    categories: Counter[str] = Counter()
    hours = [0] * 24
    new_per_day: Counter[str] = Counter()
    for category, key, n in await session.execute(
        select(Ticket.category, local_hour, func.count())
        .where(*created)
        .group_by(Ticket.category, local_hour)
    ):
        if category is not None:
            categories[category] += n
        hours[int(key[11:13])] += n
        new_per_day[key[:10]] += n
    resolved_day = sql.local_date(Ticket.resolved_at)
    resolved_per_day: Counter[str] = Counter(
        {
            str(d): int(n)
            for d, n in await session.execute(
                select(resolved_day, func.count())
                .where(Ticket.resolved_at >= start, Ticket.resolved_at < end, *narrow)
                .group_by(resolved_day)
            )
        }
    )
    volume = Volume(
        new=sum(new_per_day.values()),
        resolved=sum(resolved_per_day.values()),
        reopened=await _reopened(session, narrow, start, end),
        backlog=await _backlog(session, narrow, end),
    )

    if narrow and sql.postgres:
        # Narrowed, the clocks are read through their tickets: one pass over them.
        clock_times, sla = await _clocks_narrowed(session, narrow, start, end)
    else:
        clock_times = await _clock_durations(session, sql, narrow, start, end)
        sla = await _sla(session, narrow, start, end)

    days = []
    when = f.start
    while when <= f.end:
        key = when.isoformat()
        days.append(Day(day=when, new=new_per_day[key], resolved=resolved_per_day[key]))
        when += dt.timedelta(days=1)

    return Report(
        filters=f,
        timezone=zone.key,
        volume=volume,
        first_response=clock_times["first_response"],
        resolution=clock_times["resolution"],
        sla=sla,
        satisfaction=await _satisfaction(session, narrow, start, end),
        phone_answer=await _phone_answer(session, sql, narrow, start, end),
        categories=_top(categories),
        tags=await _tags(session, sql, created),
        handoffs=await _handoffs(session, sql, narrow, start, end),
        busiest_hours=hours,
        days=days,
        source=ReportSource(live_days=len(days)),
    )


def _dimension(f: ReportFilters) -> tuple[str, str]:
    """The roll-up rows of the report's one filter (or of the whole tenant)."""
    for name, value in (
        ("channel", f.channel),
        ("team_id", f.team_id),
        ("assignee_id", f.assignee_id),
        ("category", f.category),
        ("priority", f.priority.value if f.priority is not None else None),
    ):
        if value is not None:
            return name, str(value)
    return "", ""


async def _from_rollups(
    session: AsyncSession,
    sql: _Sql,
    f: ReportFilters,
    zone: zoneinfo.ZoneInfo,
    plan: Any,
    narrow: list[ColumnElement[bool]],
    end: dt.datetime,
) -> Report:
    """The same figures, from the roll-ups' days and the rows of the other days."""
    from frontdesk.reports import rollups as daily

    by_day = await daily.read(session, plan.rolled, _dimension(f))
    live = await daily.summarise(session, zone, plan.live, narrow=narrow)
    by_day.update(daily.per_day(live))
    total = daily.merge(by_day.values())

    def durations(hist: dict[int, int]) -> Durations:
        return Durations(
            count=sum(hist.values()),
            median_seconds=daily.hist_percentile(hist, 0.5),
            p90_seconds=daily.hist_percentile(hist, 0.9),
        )

    sla = []
    for key in sorted(total.sla):
        metric, policy = key.split("\t", 1)
        target, met, breached = total.sla[key]
        sla.append(
            SlaTarget(
                metric=metric,
                policy=policy,
                target_seconds=target,
                met=met,
                breached=breached,
                attainment=met / (met + breached) if met + breached else None,
            )
        )
    distribution = {s: n for s, n in total.surveys.items() if s}
    asked = sum(total.surveys.values())
    responses = sum(distribution.values())
    calls, answered, within = total.calls
    handoffs = await _team_handoffs(
        session,
        {
            uuid.UUID(team): (
                *counts,
                daily.hist_percentile(total.handoff_times.get(team, {}), 0.5),
                daily.hist_percentile(total.handoff_times.get(team, {}), 0.9),
            )
            for team, counts in total.handoffs.items()
        },
    )
    days = []
    when = f.start
    while when <= f.end:
        t = by_day.get(when)
        days.append(Day(day=when, new=t.new if t else 0, resolved=t.resolved if t else 0))
        when += dt.timedelta(days=1)
    return Report(
        filters=f,
        timezone=zone.key,
        volume=Volume(
            new=total.new,
            resolved=total.resolved,
            reopened=total.reopened,
            backlog=await _backlog(session, narrow, end),
        ),
        first_response=durations(total.first_response),
        resolution=durations(total.resolution),
        sla=sla,
        satisfaction=Satisfaction(
            available=True,
            asked=asked,
            responses=responses,
            response_rate=responses / asked if asked else None,
            average=sum(s * n for s, n in distribution.items()) / responses if responses else None,
            distribution={s: distribution.get(s, 0) for s in range(1, 6)},
        ),
        phone_answer=PhoneAnswer(
            available=True,
            calls=calls,
            answered=answered,
            within_target=within,
            attainment=within / calls if calls else None,
        ),
        categories=_top(Counter(total.categories)),
        tags=_top(Counter(total.tags)),
        handoffs=handoffs,
        busiest_hours=[total.hours.get(h, 0) for h in range(24)],
        days=days,
        source=ReportSource(
            rollup_days=len(plan.rolled),
            live_days=len(plan.live),
            rollups_refreshed_at=plan.refreshed_at,
            duration_precision=daily.DURATION_PRECISION,
        ),
    )


def _top(counts: Counter[str]) -> list[Count]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [Count(name=name, count=n) for name, n in ranked]


async def _reopened(
    session: AsyncSession, narrow: list[ColumnElement[bool]], start: dt.datetime, end: dt.datetime
) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(
            TicketEvent.kind == "state_changed",
            TicketEvent.created_at >= start,
            TicketEvent.created_at < end,
            TicketEvent.data["before"].as_string().in_(["resolved", "closed"]),
            TicketEvent.data["after"].as_string() == "open",
            *_on_tickets(TicketEvent, narrow),
        )
    )
    return int(n or 0)


async def _backlog(
    session: AsyncSession, narrow: list[ColumnElement[bool]], end: dt.datetime
) -> int:
    """Open at the period's end: open now, or resolved or closed only after it.

    Three counts, each on its own index, rather than one pass over the
    tenant's whole history.
    """
    # Scalar subqueries escape the ORM's tenant criteria: the tenant is named here.
    tenant_id = session_tenant(session.sync_session)
    before = [Ticket.tenant_id == tenant_id, Ticket.created_at < end, *narrow]
    # On PostgreSQL this reads the partial index of open tickets (migration 0014).
    open_now = select(func.count()).where(*before, Ticket.state.in_(OPEN_STATE_NAMES))
    resolved_after = select(func.count()).where(*before, Ticket.resolved_at >= end)
    closed_after = select(func.count()).where(
        *before, Ticket.closed_at >= end, Ticket.resolved_at.is_(None)
    )
    row = (
        await session.execute(
            select(
                open_now.scalar_subquery(),
                resolved_after.scalar_subquery(),
                closed_after.scalar_subquery(),
            )
        )
    ).one()
    return sum(int(n or 0) for n in row)


async def _clock_durations(
    session: AsyncSession,
    sql: _Sql,
    narrow: list[ColumnElement[bool]],
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, Durations]:
    """First response and resolution: the clocks met in the period."""
    times = await _durations(
        session,
        sql,
        TicketSla.consumed_seconds,
        [
            TicketSla.metric.in_(["first_response", "resolution"]),
            TicketSla.state == "met",
            TicketSla.met_at >= start,
            TicketSla.met_at < end,
            *_on_tickets(TicketSla, narrow),
        ],
        group=TicketSla.metric,
    )
    out = {}
    for metric in ("first_response", "resolution"):
        count, median, p90 = times.get(metric, (0, None, None))
        out[metric] = Durations(count=count, median_seconds=median, p90_seconds=p90)
    return out


def _late() -> ColumnElement[bool]:
    # Late is late even when no breach timer fired (a scheduler that was down).
    return (TicketSla.breached_at.is_not(None)) | (
        (TicketSla.state == "met") & (TicketSla.consumed_seconds > TicketSla.target_seconds)
    )


def _sla_target(metric: str, policy: str, target: Any, m: Any, b: Any) -> SlaTarget:
    m, b = int(m or 0), int(b or 0)
    return SlaTarget(
        metric=metric,
        policy=policy,
        target_seconds=int(target),
        met=m,
        breached=b,
        attainment=m / (m + b) if m + b else None,
    )


async def _clocks_narrowed(
    session: AsyncSession, narrow: list[ColumnElement[bool]], start: dt.datetime, end: dt.datetime
) -> tuple[dict[str, Durations], list[SlaTarget]]:
    """``_clock_durations`` and ``_sla`` in one pass over the matching tickets' clocks
    (PostgreSQL): the clocks of a narrowed report are found ticket by ticket
    (``ix_ticket_slas_tenant_ticket_report``, migration 0020), and finding
    them once rather than twice halves the report's largest cost."""
    was_met = and_(
        TicketSla.metric.in_(["first_response", "resolution"]),
        TicketSla.state == "met",
        TicketSla.met_at >= start,
        TicketSla.met_at < end,
    )
    started = and_(TicketSla.started_at >= start, TicketSla.started_at < end)
    late = _late()
    seconds = TicketSla.consumed_seconds
    rows = await session.execute(
        select(
            TicketSla.metric,
            TicketSla.policy,
            func.grouping(TicketSla.policy),
            func.count().filter(was_met),
            func.percentile_cont(0.5).within_group(seconds).filter(was_met),
            func.percentile_cont(0.9).within_group(seconds).filter(was_met),
            func.count().filter(started),
            func.max(TicketSla.target_seconds).filter(started),
            func.count().filter(and_(started, TicketSla.state == "met", ~late)),
            func.count().filter(and_(started, late)),
        )
        .where(was_met | started, *_on_tickets(TicketSla, narrow))
        .group_by(func.grouping_sets(TicketSla.metric, tuple_(TicketSla.metric, TicketSla.policy)))
    )
    durations = {
        m: Durations(count=0, median_seconds=None, p90_seconds=None)
        for m in ("first_response", "resolution")
    }
    sla = []
    for metric, policy, per_metric, n, median, p90, n_started, target, m, b in rows:
        if per_metric:
            if metric in durations and n:
                durations[metric] = Durations(count=int(n), median_seconds=median, p90_seconds=p90)
        elif n_started:
            sla.append(_sla_target(metric, policy, target, m, b))
    sla.sort(key=lambda t: (t.metric, t.policy))
    return durations, sla


async def _sla(
    session: AsyncSession, narrow: list[ColumnElement[bool]], start: dt.datetime, end: dt.datetime
) -> list[SlaTarget]:
    late = _late()
    met = func.sum(case((and_(TicketSla.state == "met", ~late), 1), else_=0))
    breached = func.sum(case((late, 1), else_=0))
    rows = await session.execute(
        select(
            TicketSla.metric,
            TicketSla.policy,
            func.max(TicketSla.target_seconds),
            met,
            breached,
        )
        .where(
            TicketSla.started_at >= start,
            TicketSla.started_at < end,
            *_on_tickets(TicketSla, narrow),
        )
        .group_by(TicketSla.metric, TicketSla.policy)
        .order_by(TicketSla.metric, TicketSla.policy)
    )
    return [_sla_target(metric, policy, target, m, b) for metric, policy, target, m, b in rows]


async def _satisfaction(
    session: AsyncSession, narrow: list[ColumnElement[bool]], start: dt.datetime, end: dt.datetime
) -> Satisfaction:
    """Surveys sent in the period (the follow-ups' ``surveys``: ``score`` 1–5 once answered)."""
    rows = await session.execute(
        select(Survey.score, func.count())
        .where(Survey.created_at >= start, Survey.created_at < end, *_on_tickets(Survey, narrow))
        .group_by(Survey.score)
    )
    counts = {s: int(n) for s, n in rows}
    asked = sum(counts.values())
    distribution = {int(s): n for s, n in counts.items() if s is not None}
    responses = sum(distribution.values())
    return Satisfaction(
        available=True,
        asked=asked,
        responses=responses,
        response_rate=responses / asked if asked else None,
        average=sum(s * n for s, n in distribution.items()) / responses if responses else None,
        distribution={s: distribution.get(s, 0) for s in range(1, 6)},
    )


async def _phone_answer(
    session: AsyncSession,
    sql: _Sql,
    narrow: list[ColumnElement[bool]],
    start: dt.datetime,
    end: dt.datetime,
) -> PhoneAnswer:
    """Inbound calls that rang in the period, answered within 15 s (the phone channel's
    ``calls``: ``started_at`` when it rang, ``answered_at`` unless missed)."""
    # To the millisecond: SQLite's julianday arithmetic makes 15 s 15.000000xxx.
    waited = func.round(sql.seconds_between(Call.answered_at, Call.started_at), 3)
    row = (
        await session.execute(
            select(
                func.count(),
                func.count(Call.answered_at),
                func.sum(case((waited <= PHONE_ANSWER_SECONDS, 1), else_=0)),
            ).where(
                Call.direction == "inbound",
                Call.started_at >= start,
                Call.started_at < end,
                *_on_tickets(Call, narrow),
            )
        )
    ).one()
    total, answered, within = int(row[0]), int(row[1]), int(row[2] or 0)
    return PhoneAnswer(
        available=True,
        calls=total,
        answered=answered,
        within_target=within,
        attainment=within / total if total else None,
    )


async def _tags(
    session: AsyncSession, sql: _Sql, created: list[ColumnElement[bool]]
) -> list[Count]:
    tag = sql.tags()
    n = func.count().label("n")
    rows = await session.execute(
        select(tag.c.value, n)
        .select_from(Ticket)
        .join(tag, literal(True))
        .where(*created)
        .group_by(tag.c.value)
        .order_by(n.desc(), tag.c.value)
        .limit(TOP)
    )
    return [Count(name=str(t), count=int(k)) for t, k in rows]


async def _handoffs(
    session: AsyncSession,
    sql: _Sql,
    narrow: list[ColumnElement[bool]],
    start: dt.datetime,
    end: dt.datetime,
) -> list[TeamHandoffs]:
    where = [
        Handoff.created_at >= start,
        Handoff.created_at < end,
        *_on_tickets(Handoff, narrow),
    ]
    rows = await session.execute(
        select(
            Handoff.team_id,
            func.count(),
            func.sum(case((Handoff.status == "done", 1), else_=0)),
            func.sum(case((Handoff.overdue_at.is_not(None), 1), else_=0)),
        )
        .where(*where)
        .group_by(Handoff.team_id)
    )
    counts = {team: (int(n), int(d or 0), int(o or 0)) for team, n, d, o in rows}
    if not counts:
        return []
    times = await _durations(
        session,
        sql,
        sql.seconds_between(Handoff.resolved_at, Handoff.created_at),
        [*where, Handoff.status == "done", Handoff.resolved_at.is_not(None)],
        group=Handoff.team_id,
    )
    return await _team_handoffs(
        session,
        {
            team: (n, done, overdue, *times.get(team, (0, None, None))[1:])
            for team, (n, done, overdue) in counts.items()
        },
    )


async def _team_handoffs(
    session: AsyncSession,
    by_team: dict[uuid.UUID, tuple[Any, ...]],
) -> list[TeamHandoffs]:
    """Each team's hand-off figures (requested, done, overdue, median, p90), named,
    busiest first: the same for the rows and the roll-ups."""
    if not by_team:
        return []
    names = dict(
        (await session.execute(select(Team.id, Team.name).where(Team.id.in_(by_team)))).all()
    )
    out = [
        TeamHandoffs(
            team_id=team,
            team=names.get(team, "?"),
            requested=requested,
            done=done,
            overdue=overdue,
            median_seconds=median,
            p90_seconds=p90,
        )
        for team, (requested, done, overdue, median, p90) in by_team.items()
    ]
    return sorted(out, key=lambda t: (-t.requested, t.team))
