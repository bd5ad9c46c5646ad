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

Each firing notifies the ticket's assignee and its team's leads (and, on an
escalated ticket, the customer's success manager, who follows escalations),
then runs the policy's escalation steps for that moment (``on``: warning or
breach): escalate the ticket, raise its priority, move it to a team, notify
the admins. A step runs in the same transaction as the firing, so exactly
once; what it did is on the timeline as ``sla_escalated``.

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
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import Select, delete, select
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


class EscalationStep(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What happens to a ticket when one of its clocks under this policy warns or breaches."""

    on: Literal["warning", "breach"]
    escalate: bool = False
    # Raised to this priority (never lowered).
    priority: Priority | None = None
    # Moved to this team (by slug).
    team: CategorySlug | None = None
    notify: list[Literal["admins", "success_manager"]] = []

    def check(self, policy: str, teams: set[str]) -> None:
        if not (self.escalate or self.priority or self.team or self.notify):
            raise InvalidInput(f"policy {policy!r}: an escalation step that does nothing")
        if self.team is not None and self.team not in teams:
            raise InvalidInput(f"policy {policy!r}: no team {self.team!r}")


class PolicySpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    priorities: list[Priority] = []
    channels: list[ChannelKind] = []
    categories: list[CategorySlug] = []
    first_response: Target | None = None
    next_response: Target | None = None
    resolution: Target | None = None
    escalation: Annotated[list[EscalationStep], msgspec.Meta(max_length=10)] = []

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
        # An urgent ticket past its promise needs escalation (需升级), and the admins know.
        escalation=[EscalationStep(on="breach", escalate=True, notify=["admins"])],
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
            {"name": row.name, **row.conditions, **row.targets, "escalation": row.escalation},
            PolicySpec,
            strict=False,
        )
        for row in rows
    ], False


async def put_policies(
    session: AsyncSession, actor_user_id: uuid.UUID | None, policies: Sequence[PolicySpec]
) -> None:
    """Replace the tenant's policy list (an empty list returns to the defaults)."""
    from frontdesk.audit.service import record
    from frontdesk.auth.service import list_teams

    if len(policies) > MAX_POLICIES:
        raise InvalidInput(f"at most {MAX_POLICIES} policies")
    teams = {team.slug for team in await list_teams(session)} if policies else set()
    for policy in policies:
        for step in policy.escalation:
            step.check(policy.name, teams)
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
                escalation=raw.get("escalation", []),
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


async def calendars_for(session: AsyncSession) -> _Calendars:
    """The tenant's calendars; ``.of(ticket)``: its team's, else the tenant's, else always open."""
    return await _calendars(session)


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
    await states_changed(session, [(ticket, before, after)])


async def states_changed(
    session: AsyncSession, changes: Sequence[tuple[Ticket, TicketState, TicketState]]
) -> None:
    """``state_changed`` for many tickets at once (an incident resolving hundreds):
    their clocks read in one query, the calendars once."""
    by_ticket: dict[uuid.UUID, list[TicketSla]] = {}
    for (ticket_id, _), clock in (await _clocks(session, [t.id for t, _, _ in changes])).items():
        by_ticket.setdefault(ticket_id, []).append(clock)
    if not by_ticket:
        return
    stopping = [
        clock
        for ticket, _, after in changes
        if after in (TicketState.CLOSED, TicketState.RESOLVED, TicketState.PENDING)
        for clock in by_ticket.get(ticket.id, [])
    ]
    await _cancel_first(session, stopping)
    calendars = await _calendars(session)
    now = clock_now()
    for ticket, before, after in changes:
        calendar = calendars.of(ticket)
        for clock in by_ticket.get(ticket.id, []):
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
    fired_clocks: list[TicketSla] = []
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
        fired_clocks.append(clock)
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
    if events:
        await _tell(
            session, [(t, c) for (t, _, _), c in zip(events, fired_clocks, strict=True)], breach
        )


ESCALATE_JOB = "sla_escalate"
_RANK = {p.value: rank for rank, p in enumerate(Priority)}


def _recipients(
    ticket: Ticket,
    leads: dict[uuid.UUID, list[uuid.UUID]],
    manager: uuid.UUID | None,
    *teams: uuid.UUID | None,
) -> list[uuid.UUID | None]:
    """The assignee, the leads of ``teams``, and on an escalated ticket the
    customer's success manager, who follows escalations."""
    out: list[uuid.UUID | None] = [ticket.assignee_id]
    for team_id in teams:
        out += leads.get(team_id, []) if team_id else []
    if ticket.state == TicketState.ESCALATED.value:
        out.append(manager)
    return out


def _notice(ticket: Ticket, clock: TicketSla) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "metric": clock.metric,
        "policy": clock.policy,
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
    }


async def _tell(
    session: AsyncSession, fired: Sequence[tuple[Ticket, TicketSla]], breach: bool
) -> None:
    """Notify those who must know; where the policy has escalation steps for this
    moment, a job runs them and notifies instead.

    The steps change the ticket, so they run in their own transaction that
    locks the ticket first, then its timers, as a reply does: done here, after
    this job's timer locks, the two orders could cross and deadlock.
    """
    from frontdesk.identity.service import routing_facts
    from frontdesk.jobs import enqueue
    from frontdesk.notifications.service import notify
    from frontdesk.routing.assignment import team_leads

    moment = "breach" if breach else "warning"
    policies = {p.name: p for p in (await get_policies(session))[0]}
    leads = await team_leads(session, {t.team_id for t, _ in fired if t.team_id is not None})
    managers = await routing_facts(session, {t.customer_id for t, _ in fired})
    for ticket, clock in fired:
        policy = policies.get(clock.policy)
        if policy is not None and any(step.on == moment for step in policy.escalation):
            enqueue(
                session,
                ESCALATE_JOB,
                tenant_id=str(ticket.tenant_id),
                ticket_id=str(ticket.id),
                metric=clock.metric,
                generation=clock.generation,
                moment=moment,
            )
            continue
        manager = managers.get(ticket.customer_id, ("", None))[1]
        await notify(
            session,
            ticket.tenant_id,
            _recipients(ticket, leads, manager, ticket.team_id),
            "sla_breached" if breach else "sla_warning",
            ticket_id=ticket.id,
            payload=_notice(ticket, clock),
        )


async def escalate(
    session: AsyncSession, ticket_id: uuid.UUID, metric: str, generation: int, moment: str
) -> None:
    """Run a policy's escalation steps for one warning or breach, once.

    The ticket row is locked first; an ``sla_escalated`` event for this
    clock, cycle and moment means a redelivered job has nothing left to do.
    """
    from frontdesk.auth.service import list_teams, users_with_role
    from frontdesk.identity.service import routing_facts
    from frontdesk.notifications.service import notify
    from frontdesk.routing.assignment import team_leads
    from frontdesk.tickets import service as tickets

    ticket = await tickets.get_ticket_for_update(session, ticket_id)
    clock = (await _clocks(session, [ticket_id])).get((ticket_id, metric))
    if ticket is None or clock is None or clock.generation != generation:
        return
    for event in await tickets.events_of_kind(session, ticket_id, "sla_escalated"):
        if (event.data.get("metric"), event.data.get("generation"), event.data.get("on")) == (
            metric,
            generation,
            moment,
        ):
            return
    policy = {p.name: p for p in (await get_policies(session))[0]}.get(clock.policy)
    steps = [step for step in (policy.escalation if policy else []) if step.on == moment]
    if not steps:
        return
    manager = (await routing_facts(session, {ticket.customer_id})).get(
        ticket.customer_id, ("", None)
    )[1]
    team_before = ticket.team_id
    done: dict[str, Any] = {}
    extra: list[uuid.UUID | None] = []
    for step in steps:
        if step.priority is not None and _RANK[step.priority.value] < _RANK[ticket.priority]:
            await tickets.update_ticket(
                session, None, ticket, tickets.TicketChanges(priority=step.priority)
            )
            done["priority"] = step.priority.value
        if step.team is not None:
            team_id = {team.slug: team.id for team in await list_teams(session)}.get(step.team)
            if team_id is not None and team_id != ticket.team_id:
                await tickets.assign(session, None, ticket, team_id=team_id)
                done["team"] = step.team
        if step.escalate and ticket.state in (
            TicketState.NEW.value,
            TicketState.OPEN.value,
            TicketState.PENDING.value,
        ):
            await tickets.change_state(
                session,
                None,
                ticket,
                TicketState.ESCALATED,
                reason=f"SLA {moment}: {clock.metric} under {clock.policy}",
            )
            done["escalated"] = True
        if "admins" in step.notify:
            extra += await users_with_role(session, "admin")
        if "success_manager" in step.notify:
            extra.append(manager)
    # The team it was with, and the one a step moved it to, both hear of it.
    leads = await team_leads(session, {t for t in (team_before, ticket.team_id) if t})
    sent = await notify(
        session,
        ticket.tenant_id,
        [*_recipients(ticket, leads, manager, team_before, ticket.team_id), *extra],
        "sla_breached" if moment == "breach" else "sla_warning",
        ticket_id=ticket.id,
        payload=_notice(ticket, clock),
    )
    await tickets.add_system_events(
        session,
        [
            (
                ticket,
                "sla_escalated",
                {
                    "metric": metric,
                    "generation": generation,
                    "on": moment,
                    "policy": clock.policy,
                    **done,
                    "notified": [str(n.user_id) for n in sent],
                },
            )
        ],
    )


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


# --- for the inbox -------------------------------------------------------------


def breaching_ticket_ids(due_before: dt.datetime) -> Select[uuid.UUID]:
    """Tickets with a clock breached, or running and due before ``due_before``."""
    return select(TicketSla.ticket_id).where(
        TicketSla.state == RUNNING, TicketSla.due_at.is_not(None), TicketSla.due_at < due_before
    )


class Countdown(msgspec.Struct, frozen=True, kw_only=True):
    """A ticket's nearest running clock: what the inbox counts down to."""

    metric: str
    due_at: dt.datetime
    breached: bool


async def countdowns(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Countdown]:
    if not ticket_ids:
        return {}
    rows = await session.scalars(
        select(TicketSla).where(
            TicketSla.ticket_id.in_(list(ticket_ids)),
            TicketSla.state == RUNNING,
            TicketSla.due_at.is_not(None),
        )
    )
    out: dict[uuid.UUID, Countdown] = {}
    now = clock_now()
    for c in rows:
        assert c.due_at is not None
        if c.ticket_id not in out or c.due_at < out[c.ticket_id].due_at:
            out[c.ticket_id] = Countdown(
                metric=c.metric,
                due_at=c.due_at,
                breached=c.breached_at is not None or c.due_at <= now,
            )
    return out
