"""SLA policies and clocks: first response, next response, resolution.

A tenant's policies are an ordered list; for each metric the first policy
whose conditions match the ticket (priority, channel, category; empty means
any) and that sets a target for that metric gives the target. Without
stored policies the defaults below apply (the source documents' targets).

Every clock counts business time under the ticket's calendar (its team's,
else the tenant's, else always open). A clock pauses while the ticket is
pending on the customer and resumes with what it had left. A running clock
has one pending timer: the warning at 80 % of the target, whose firing
schedules the breach at 100 %; each fires once and appends ``sla_warning`` /
``sla_breached`` to the ticket's timeline (and so reaches agents' websockets).

Next response: after the first response, a customer message starts a new
cycle when none is running; the cycle ends with the next agent reply. The
clock runs from the oldest unanswered message, so writing again does not
push the customer's own target back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import metrics
from frontdesk.clock import now as clock_now
from frontdesk.errors import InvalidInput
from frontdesk.routing.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    CalendarSpec,
    compile_calendar,
)
from frontdesk.routing.models import BusinessHours, SlaPolicy, TicketSla
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.states import Priority, TicketState
from frontdesk.timers import service as timers

WARNING_AT = 0.8
MAX_POLICIES = 100


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


RUNNING = "running"
PAUSED = "paused"
MET = "met"
CANCELLED = "cancelled"

WARNING_TIMER = "sla_warning"
BREACH_TIMER = "sla_breach"


class Target(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Business seconds, or business days (a day: the calendar's average open day)."""

    seconds: Annotated[int, msgspec.Meta(ge=1, le=366 * 86_400)] | None = None
    business_days: Annotated[int, msgspec.Meta(ge=1, le=366)] | None = None

    def check(self) -> None:
        if (self.seconds is None) == (self.business_days is None):
            raise InvalidInput("a target is either seconds or business_days")

    def to_seconds(self, calendar: BusinessCalendar) -> int:
        if self.seconds is not None:
            return self.seconds
        assert self.business_days is not None
        return self.business_days * calendar.day_seconds()


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
ChannelKind = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]*$", max_length=32)]
CategorySlug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=63)]


class PolicySpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    priorities: list[Priority] = []
    channels: list[ChannelKind] = []
    categories: list[CategorySlug] = []
    first_response: Target | None = None
    next_response: Target | None = None
    resolution: Target | None = None

    def matches(self, ticket: Ticket) -> bool:
        return (
            (not self.priorities or ticket.priority in self.priorities)
            and (not self.channels or ticket.channel in self.channels)
            and (not self.categories or ticket.category in self.categories)
        )

    def target(self, metric: Metric) -> Target | None:
        target: Target | None = getattr(self, metric.value)
        return target


def _h(hours: float) -> Target:
    return Target(seconds=int(hours * 3600))


CHAT_CHANNELS = ["webchat", "chat", "im", "wechat", "whatsapp", "telegram", "line", "sms"]

# In order: the first match that sets a metric wins (see the module's docstring).
DEFAULT_POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec(
        name="Urgent: reply within 1 h",
        priorities=[Priority.URGENT],
        first_response=_h(1),
        next_response=_h(1),
    ),
    PolicySpec(
        name="Phone: answer within 15 s", channels=["phone"], first_response=Target(seconds=15)
    ),
    PolicySpec(
        name="Chat and IM: reply within 2 min",
        channels=CHAT_CHANNELS,
        first_response=Target(seconds=120),
        next_response=Target(seconds=120),
    ),
    PolicySpec(
        name="Technical fault: resolve within 48 h", categories=["fault"], resolution=_h(48)
    ),
    PolicySpec(name="Complaint: resolve within 72 h", categories=["complaint"], resolution=_h(72)),
    PolicySpec(
        name="Low priority: resolve within 3 business days",
        priorities=[Priority.LOW],
        resolution=Target(business_days=3),
    ),
    PolicySpec(
        name="Email and messages: reply within 4 h; inquiries resolved within 24 h",
        first_response=_h(4),
        next_response=_h(4),
        resolution=_h(24),
    ),
)


# --- policies and calendars (the admin's side) ------------------------------------


async def get_policies(session: AsyncSession) -> tuple[list[PolicySpec], bool]:
    """The tenant's policies in order, and whether they are the defaults."""
    rows = (await session.scalars(select(SlaPolicy).order_by(SlaPolicy.position))).all()
    if not rows:
        return list(DEFAULT_POLICIES), True
    return [
        msgspec.convert(
            {"name": row.name, **row.conditions, **row.targets}, PolicySpec, strict=False
        )
        for row in rows
    ], False


async def put_policies(
    session: AsyncSession, actor_user_id: uuid.UUID | None, policies: Sequence[PolicySpec]
) -> None:
    """Replace the tenant's policy list (an empty list returns to the defaults)."""
    from frontdesk.audit.service import record

    if len(policies) > MAX_POLICIES:
        raise InvalidInput(f"at most {MAX_POLICIES} policies")
    for policy in policies:
        targets = [policy.target(m) for m in Metric]
        if all(t is None for t in targets):
            raise InvalidInput(f"policy {policy.name!r} sets no target")
        for t in targets:
            if t is not None:
                t.check()
    await session.execute(delete(SlaPolicy).execution_options(synchronize_session=False))
    for position, policy in enumerate(policies):
        raw = msgspec.to_builtins(policy)
        session.add(
            SlaPolicy(
                position=position,
                name=policy.name,
                conditions={k: raw.get(k, []) for k in ("priorities", "channels", "categories")},
                targets={m.value: raw[m.value] for m in Metric if raw.get(m.value) is not None},
            )
        )
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="sla_policies.replaced",
        subject_type="tenant",
        subject_id=None,
        policies=[p.name for p in policies],
    )


def _scope(team_id: uuid.UUID | None) -> str:
    return "tenant" if team_id is None else str(team_id)


async def get_calendar(session: AsyncSession, team_id: uuid.UUID | None) -> CalendarSpec | None:
    row = await session.scalar(select(BusinessHours).where(BusinessHours.scope == _scope(team_id)))
    return None if row is None else _spec(row)


def _spec(row: BusinessHours) -> CalendarSpec:
    return msgspec.convert(
        {"timezone": row.timezone, "hours": row.hours, "holidays": row.holidays},
        CalendarSpec,
        strict=False,
    )


async def put_calendar(
    session: AsyncSession,
    actor_user_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    spec: CalendarSpec | None,
) -> None:
    """Set (or with ``None`` remove) the tenant's or a team's calendar."""
    from frontdesk.audit.service import record

    if spec is not None:
        compile_calendar(spec)
    row = await session.scalar(select(BusinessHours).where(BusinessHours.scope == _scope(team_id)))
    if spec is None:
        if row is not None:
            await session.delete(row)
    else:
        raw = msgspec.to_builtins(spec)
        if row is None:
            row = BusinessHours(scope=_scope(team_id), team_id=team_id)
            session.add(row)
        row.timezone = spec.timezone
        row.hours = raw.get("hours", {})
        row.holidays = raw.get("holidays", [])
        row.updated_at = clock_now()
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="business_hours.removed" if spec is None else "business_hours.set",
        subject_type="team" if team_id else "tenant",
        subject_id=team_id,
    )


class _Calendars:
    """The tenant's calendars, read once per operation."""

    def __init__(self, rows: Iterable[BusinessHours]) -> None:
        self.by_scope = {row.scope: compile_calendar(_spec(row)) for row in rows}

    def of(self, ticket: Ticket) -> BusinessCalendar:
        if ticket.team_id is not None and str(ticket.team_id) in self.by_scope:
            return self.by_scope[str(ticket.team_id)]
        return self.by_scope.get("tenant", ALWAYS_OPEN)


async def _calendars(session: AsyncSession) -> _Calendars:
    return _Calendars((await session.scalars(select(BusinessHours))).all())


# --- the clocks ----------------------------------------------------------------


def _targets(policies: Sequence[PolicySpec], ticket: Ticket) -> dict[Metric, tuple[str, Target]]:
    out: dict[Metric, tuple[str, Target]] = {}
    for metric in Metric:
        for policy in policies:
            target = policy.target(metric)
            if target is not None and policy.matches(ticket):
                out[metric] = (policy.name, target)
                break
    return out


def _arm(
    session: AsyncSession, clock: TicketSla, calendar: BusinessCalendar, now: dt.datetime
) -> None:
    """Start (or resume) a clock now: its due time and its next timer.

    One timer at a time: the warning, whose firing schedules the breach (in
    the same transaction), or the breach once warned. Half the rows a ticket
    costs at the hand-off, where channel ingestion is busiest.
    """
    clock.state = RUNNING
    clock.running_since = now
    remaining = max(0.0, clock.target_seconds - clock.consumed_seconds)
    clock.warning_timer_id = None
    clock.breach_timer_id = None
    try:
        clock.due_at = calendar.add(now, dt.timedelta(seconds=remaining))
    except InvalidInput:
        # A target the calendar cannot reach in its horizon (a long target on
        # a nearly closed calendar): the clock runs without a due time rather
        # than failing the ticket's routing, and ingestion with it.
        clock.due_at = None
        return
    payload = {"metric": clock.metric, "generation": clock.generation}
    if clock.warned_at is None and clock.breached_at is None:
        until_warning = max(0.0, WARNING_AT * clock.target_seconds - clock.consumed_seconds)
        clock.warning_timer_id = timers.schedule(
            session,
            kind=WARNING_TIMER,
            due_at=calendar.add(now, dt.timedelta(seconds=until_warning)),
            ticket_id=clock.ticket_id,
            payload=payload,
        ).id
    elif clock.breached_at is None:
        _schedule_breach(session, clock)


def _schedule_breach(session: AsyncSession, clock: TicketSla) -> None:
    assert clock.due_at is not None
    clock.breach_timer_id = timers.schedule(
        session,
        kind=BREACH_TIMER,
        due_at=clock.due_at,
        ticket_id=clock.ticket_id,
        payload={"metric": clock.metric, "generation": clock.generation},
    ).id


def _disarm(clock: TicketSla) -> list[uuid.UUID]:
    ids = [i for i in (clock.warning_timer_id, clock.breach_timer_id) if i is not None]
    clock.warning_timer_id = None
    clock.breach_timer_id = None
    return ids


def _stop(
    clock: TicketSla, calendar: BusinessCalendar, now: dt.datetime, state: str
) -> list[uuid.UUID]:
    """Stop a running or paused clock: paused, met or cancelled. Returns timers to cancel."""
    if clock.state == RUNNING and clock.running_since is not None:
        clock.consumed_seconds += calendar.between(clock.running_since, now).total_seconds()
    clock.running_since = None
    clock.state = state
    if state == MET:
        clock.met_at = now
    if state != RUNNING:
        clock.due_at = clock.due_at if state == MET else None
    return _disarm(clock)


async def _cancel_first(session: AsyncSession, clocks: Sequence[TicketSla]) -> None:
    """Cancel the clocks' timers before the clocks change: the firing job locks a
    timer, then its clock; taking them in the same order here avoids a deadlock."""
    ids = [i for c in clocks for i in (c.warning_timer_id, c.breach_timer_id) if i is not None]
    await timers.cancel(session, ids)


async def _clocks(
    session: AsyncSession, ticket_ids: Iterable[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], TicketSla]:
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    rows = (await session.scalars(select(TicketSla).where(TicketSla.ticket_id.in_(ids)))).all()
    return {(row.ticket_id, row.metric): row for row in rows}


def _new_clock(
    ticket: Ticket,
    metric: Metric,
    policy: str,
    target: Target,
    calendar: BusinessCalendar,
    now: dt.datetime,
) -> TicketSla:
    return TicketSla(
        ticket_id=ticket.id,
        metric=metric.value,
        policy=policy,
        target_seconds=target.to_seconds(calendar),
        generation=1,
        state=RUNNING,
        started_at=now,
        consumed_seconds=0.0,
    )


async def start_clocks(session: AsyncSession, routed: Sequence[tuple[Ticket, str]]) -> None:
    """The routing hand-off: a ticket without clocks gets its first-response and
    resolution clocks (a reopened one already has them; its state change resumed them).
    A ticket opened just now ("new ticket", "follow-up") has none to look up."""
    if not routed:
        return
    tickets = [ticket for ticket, _ in routed]
    older = [ticket.id for ticket, reason in routed if reason not in ("new ticket", "follow-up")]
    started = {ticket_id for ticket_id, _ in await _clocks(session, older)}
    fresh = [t for t in tickets if t.id not in started and t.state in _OPEN]
    if not fresh:
        return
    policies, _ = await get_policies(session)
    calendars = await _calendars(session)
    now = clock_now()
    for ticket in fresh:
        calendar = calendars.of(ticket)
        targets = _targets(policies, ticket)
        for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
            if metric not in targets:
                continue
            if metric is Metric.FIRST_RESPONSE and ticket.first_response_at is not None:
                continue
            policy, target = targets[metric]
            clock = _new_clock(ticket, metric, policy, target, calendar, now)
            session.add(clock)
            _arm(session, clock, calendar, now)
            metrics.SLA_CLOCKS_STARTED.labels(metric.value).inc()
            if ticket.state == TicketState.PENDING.value:
                await timers.cancel(session, _stop(clock, calendar, now, PAUSED))
    await session.flush()


_OPEN = {
    s.value for s in (TicketState.NEW, TicketState.OPEN, TicketState.PENDING, TicketState.ESCALATED)
}


async def customer_wrote(session: AsyncSession, tickets: Sequence[Ticket]) -> None:
    """Customers' messages: after the first response, a next-response cycle
    starts where none runs."""
    waiting = [t for t in tickets if t.first_response_at is not None and t.state in _OPEN]
    if not waiting:
        return
    existing = await _clocks(session, (t.id for t in waiting))
    policies: list[PolicySpec] | None = None
    calendars: _Calendars | None = None
    now = clock_now()
    for ticket in waiting:
        clock = existing.get((ticket.id, Metric.NEXT_RESPONSE.value))
        if clock is not None and clock.state in (RUNNING, PAUSED):
            continue
        if policies is None:
            policies, _ = await get_policies(session)
            calendars = await _calendars(session)
        assert calendars is not None
        found = _targets(policies, ticket).get(Metric.NEXT_RESPONSE)
        if found is None:
            continue
        calendar = calendars.of(ticket)
        policy, target = found
        if clock is None:
            clock = _new_clock(ticket, Metric.NEXT_RESPONSE, policy, target, calendar, now)
            session.add(clock)
        else:
            clock.generation += 1
            clock.policy = policy
            clock.target_seconds = target.to_seconds(calendar)
            clock.started_at = now
            clock.consumed_seconds = 0.0
            clock.warned_at = clock.breached_at = clock.met_at = None
        _arm(session, clock, calendar, now)
        metrics.SLA_CLOCKS_STARTED.labels(clock.metric).inc()
    await session.flush()


async def agent_replied(session: AsyncSession, ticket: Ticket) -> None:
    """A public reply: the first-response or next-response clock is met."""
    clocks = await _clocks(session, [ticket.id])
    now = clock_now()
    stopping = [
        clock
        for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)
        if (clock := clocks.get((ticket.id, metric.value))) is not None
        and clock.state in (RUNNING, PAUSED)
    ]
    if not stopping:
        return
    await _cancel_first(session, stopping)
    calendar = (await _calendars(session)).of(ticket)
    for clock in stopping:
        _stop(clock, calendar, now, MET)
    await session.flush()


async def state_changed(
    session: AsyncSession, ticket: Ticket, before: TicketState, after: TicketState
) -> None:
    """Pending pauses every clock; leaving pending resumes them; resolved meets the
    resolution clock (reopening resumes it); closed stops everything."""
    clocks = [c for (_, _), c in (await _clocks(session, [ticket.id])).items()]
    if not clocks:
        return
    if after in (TicketState.CLOSED, TicketState.RESOLVED, TicketState.PENDING):
        await _cancel_first(session, clocks)
    calendar = (await _calendars(session)).of(ticket)
    now = clock_now()
    for clock in clocks:
        if after is TicketState.CLOSED:
            if clock.state in (RUNNING, PAUSED):
                _stop(clock, calendar, now, CANCELLED)
        elif after is TicketState.RESOLVED:
            if clock.state in (RUNNING, PAUSED):
                metric_met = clock.metric == Metric.RESOLUTION.value
                _stop(clock, calendar, now, MET if metric_met else CANCELLED)
        elif after is TicketState.PENDING:
            if clock.state == RUNNING:
                _stop(clock, calendar, now, PAUSED)
        elif clock.state == PAUSED or (
            before is TicketState.RESOLVED
            and clock.metric == Metric.RESOLUTION.value
            and clock.state == MET
        ):
            clock.met_at = None
            _arm(session, clock, calendar, now)
    await session.flush()


async def retarget(session: AsyncSession, ticket: Ticket, *, recount: bool = False) -> None:
    """The ticket's priority, category or team changed: running and paused
    clocks take the target the policies now give, keeping the business time
    already used and a warning or breach already given. ``recount``: every
    running clock's due time is counted again (another team, another calendar)."""
    clocks = [
        c for c in (await _clocks(session, [ticket.id])).values() if c.state in (RUNNING, PAUSED)
    ]
    if not clocks:
        return
    policies, _ = await get_policies(session)
    calendar = (await _calendars(session)).of(ticket)
    targets = _targets(policies, ticket)
    changed = []
    for clock in clocks:
        found = targets.get(Metric(clock.metric))
        if found is None:
            continue
        policy, target = found
        seconds = target.to_seconds(calendar)
        if recount or seconds != clock.target_seconds or policy != clock.policy:
            changed.append((clock, policy, seconds))
    if not changed:
        return
    await _cancel_first(session, [c for c, _, _ in changed])
    now = clock_now()
    for clock, policy, seconds in changed:
        was = clock.state
        _stop(clock, calendar, now, PAUSED)
        clock.policy = policy
        clock.target_seconds = seconds
        if was == RUNNING:
            _arm(session, clock, calendar, now)
    await session.flush()


# --- what the timers do ----------------------------------------------------------


async def _fire(session: AsyncSession, fired: list[timers.FiredTimer], *, breach: bool) -> None:
    from frontdesk.tickets.service import add_system_events, get_tickets_unchecked

    ticket_ids = {t.ticket_id for t in fired if t.ticket_id is not None}
    clocks = await _clocks(session, ticket_ids)
    tickets = await get_tickets_unchecked(session, ticket_ids)
    now = clock_now()
    events: list[tuple[Ticket, str, dict[str, Any]]] = []
    for timer in fired:
        if timer.ticket_id is None or timer.ticket_id not in tickets:
            continue
        clock = clocks.get((timer.ticket_id, str(timer.payload.get("metric"))))
        if (
            clock is None
            or clock.state != RUNNING
            or clock.generation != timer.payload.get("generation")
        ):
            continue
        if (clock.breached_at if breach else clock.warned_at) is not None:
            continue
        if breach:
            clock.breached_at = now
            clock.breach_timer_id = None
            metrics.SLA_BREACHES.labels(clock.metric).inc()
        else:
            clock.warned_at = now
            clock.warning_timer_id = None
            _schedule_breach(session, clock)
            metrics.SLA_WARNINGS.labels(clock.metric).inc()
        events.append(
            (
                tickets[timer.ticket_id],
                "sla_breached" if breach else "sla_warning",
                {
                    "metric": clock.metric,
                    "policy": clock.policy,
                    "target_seconds": clock.target_seconds,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None,
                    "timer_id": str(timer.id),
                },
            )
        )
    # The ticket row is left alone (no updated_at): a reply holds it while it
    # cancels these timers, and lock order must not cross.
    await add_system_events(session, events, touch=False)


@timers.handler(WARNING_TIMER)
async def _warning(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    await _fire(session, fired, breach=False)


@timers.handler(BREACH_TIMER)
async def _breach(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    await _fire(session, fired, breach=True)


# --- status for the ticket API ---------------------------------------------------


class ClockOut(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    policy: str
    state: str
    target_seconds: int
    # Business seconds used so far (up to now for a running clock).
    elapsed_seconds: int
    started_at: dt.datetime
    due_at: dt.datetime | None
    warned_at: dt.datetime | None
    breached_at: dt.datetime | None
    met_at: dt.datetime | None


async def ticket_status(session: AsyncSession, ticket: Ticket) -> list[ClockOut]:
    clocks = sorted((await _clocks(session, [ticket.id])).values(), key=lambda c: c.metric)
    if not clocks:
        return []
    calendar = (await _calendars(session)).of(ticket)
    now = clock_now()
    out = []
    for c in clocks:
        elapsed = c.consumed_seconds
        if c.state == RUNNING and c.running_since is not None:
            elapsed += calendar.between(c.running_since, now).total_seconds()
        out.append(
            ClockOut(
                metric=c.metric,
                policy=c.policy,
                state=c.state,
                target_seconds=c.target_seconds,
                elapsed_seconds=int(elapsed),
                started_at=c.started_at,
                due_at=c.due_at,
                warned_at=c.warned_at,
                breached_at=c.breached_at,
                met_at=c.met_at,
            )
        )
    return out
