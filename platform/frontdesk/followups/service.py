"""What happens after a ticket is resolved or left waiting on the customer.

- Resolved: a satisfaction survey (1–5 and a comment) goes to the customer
  on the channel they used, after the tenant's delay; the owner (assignee)
  is reminded to follow up within a day. Reopening cancels both.
- Pending on the customer: a last notice some time before the ticket
  auto-closes; the customer writing (or anyone moving the ticket out of
  pending) cancels both.

Each is a timer (``frontdesk.timers``), so a restart loses none and none
fires twice; the effects are written in the timer's firing transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import now as clock_now
from frontdesk.db import enter_tenant, session_tenant, utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.followups.models import FollowupSettings, Survey, SurveyToken
from frontdesk.ids import new_id
from frontdesk.realtime.events import RealtimeEvent, queue_event
from frontdesk.tickets.states import TicketState
from frontdesk.timers import service as timers

if TYPE_CHECKING:
    from frontdesk.tickets.models import Ticket

SURVEY_TIMER = "survey"
FOLLOW_UP_TIMER = "follow_up"
AUTO_CLOSE_NOTICE_TIMER = "auto_close_notice"
AUTO_CLOSE_TIMER = "auto_close"

AFTER_RESOLUTION = (SURVEY_TIMER, FOLLOW_UP_TIMER)
WHILE_PENDING = (AUTO_CLOSE_NOTICE_TIMER, AUTO_CLOSE_TIMER)

SCORES = range(1, 6)
MAX_COMMENT = 2_000
# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")

Minutes = Annotated[int, msgspec.Meta(ge=0, le=60 * 24 * 30)]
Hours = Annotated[int, msgspec.Meta(ge=1, le=24 * 90)]


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A tenant's follow-up settings; a PUT replaces them all (missing fields: defaults)."""

    survey_enabled: bool = True
    #: Minutes after the resolution the survey is sent (0: at once).
    survey_delay_minutes: Minutes = 0
    follow_up_enabled: bool = True
    #: The owner's follow-up reminder is due this long after the resolution.
    follow_up_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 14)] = 24
    auto_close_enabled: bool = True
    #: A ticket pending on the customer this long closes by itself …
    auto_close_hours: Hours = 168
    #: … and the customer is sent a last notice this long before.
    auto_close_notice_hours: Annotated[int, msgspec.Meta(ge=0, le=24 * 89)] = 24

    def check(self) -> None:
        if self.auto_close_notice_hours >= self.auto_close_hours:
            raise InvalidInput("the last notice comes before the auto-close (fewer hours)")


DEFAULTS = Settings()


async def get_settings(session: AsyncSession) -> Settings:
    row = await session.scalar(select(FollowupSettings))
    if row is None:
        return DEFAULTS
    return msgspec.convert(row.settings, Settings)


async def put_settings(
    session: AsyncSession, actor_user_id: uuid.UUID | None, settings: Settings
) -> Settings:
    """Replace the tenant's settings; timers already scheduled keep their times."""
    settings.check()
    row = await session.scalar(select(FollowupSettings))
    if row is None:
        row = FollowupSettings()
        session.add(row)
    row.settings = msgspec.to_builtins(settings)
    row.updated_by = actor_user_id
    row.updated_at = utcnow()
    await session.flush()
    return settings


# --- the tickets domain tells us of state changes -----------------------------


async def states_changed(
    session: AsyncSession, changes: Sequence[tuple[Ticket, TicketState, TicketState]]
) -> None:
    """Called by ``tickets.change_states`` in its transaction, for every change."""
    reopened = [
        t.id
        for t, before, after in changes
        if before is TicketState.RESOLVED and after is not TicketState.CLOSED
    ]
    left_pending = [t.id for t, before, _ in changes if before is TicketState.PENDING]
    await timers.cancel_for_tickets(session, reopened, AFTER_RESOLUTION)
    await timers.cancel_for_tickets(session, left_pending, WHILE_PENDING)
    resolved = [t for t, _, after in changes if after is TicketState.RESOLVED]
    pending = [t for t, _, after in changes if after is TicketState.PENDING]
    if not resolved and not pending:
        return
    settings = await get_settings(session)
    now = clock_now()
    for ticket in resolved:
        if settings.survey_enabled:
            timers.schedule(
                session,
                kind=SURVEY_TIMER,
                due_at=now + dt.timedelta(minutes=settings.survey_delay_minutes),
                ticket_id=ticket.id,
            )
        if settings.follow_up_enabled:
            timers.schedule(
                session,
                kind=FOLLOW_UP_TIMER,
                due_at=now + dt.timedelta(hours=settings.follow_up_hours),
                ticket_id=ticket.id,
                payload={"owner_id": str(ticket.assignee_id) if ticket.assignee_id else None},
            )
    if settings.auto_close_enabled:
        for ticket in pending:
            close_at = now + dt.timedelta(hours=settings.auto_close_hours)
            if settings.auto_close_notice_hours:
                timers.schedule(
                    session,
                    kind=AUTO_CLOSE_NOTICE_TIMER,
                    due_at=close_at - dt.timedelta(hours=settings.auto_close_notice_hours),
                    ticket_id=ticket.id,
                    payload={"close_at": close_at.isoformat()},
                )
            timers.schedule(session, kind=AUTO_CLOSE_TIMER, due_at=close_at, ticket_id=ticket.id)
    await session.flush()


async def _fired_tickets(
    session: AsyncSession, fired: list[timers.FiredTimer], states: set[str]
) -> list[tuple[timers.FiredTimer, Ticket]]:
    """Each fired timer with its ticket, if the ticket is (still) in one of ``states``."""
    from frontdesk.tickets.service import get_tickets_unchecked

    found = await get_tickets_unchecked(
        session, {t.ticket_id for t in fired if t.ticket_id is not None}
    )
    out: list[tuple[timers.FiredTimer, Ticket]] = []
    seen: set[uuid.UUID] = set()
    for timer in fired:
        ticket = found.get(timer.ticket_id) if timer.ticket_id else None
        if ticket is not None and ticket.state in states and ticket.id not in seen:
            seen.add(ticket.id)
            out.append((timer, ticket))
    return out


# --- satisfaction surveys ----------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_text(ticket: Ticket, url: str) -> str:
    return (
        f"Your request {ticket.number} is resolved. How did we do? "
        f"Please rate our help from 1 (poor) to 5 (excellent), with a comment if you like: "
        f"{url}"
    )


@timers.handler(SURVEY_TIMER)
async def _send_surveys(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    """Each still-resolved (or since closed) ticket's customer gets a survey link,
    on the ticket's own channel, as an automatic reply."""
    from frontdesk.tickets.service import add_replies

    due = await _fired_tickets(
        session, fired, {TicketState.RESOLVED.value, TicketState.CLOSED.value}
    )
    if not due or not (await get_settings(session)).survey_enabled:
        return
    tenant_id = session_tenant(session.sync_session)
    assert tenant_id is not None
    base = timers.session_runtime(session).settings.public_url.rstrip("/")
    survey_ids: list[uuid.UUID] = []
    items: list[tuple[Ticket, str, dict[str, Any]]] = []
    for _, ticket in due:
        token = secrets.token_urlsafe(32)
        survey_id = new_id()
        survey_ids.append(survey_id)
        session.add(SurveyToken(token_hash=_hash(token), tenant_id=tenant_id, survey_id=survey_id))
        url = f"{base}/surveys/{token}"
        # What a channel able to show a rating prompt (the web chat widget) needs.
        extra = {"survey_id": str(survey_id), "survey": {"url": url, "scale": [1, 5]}}
        items.append((ticket, survey_text(ticket, url), extra))
    messages = await add_replies(
        session, items, author_user_id=None, meta={"reason": "survey"}, event_kind="survey_sent"
    )
    session.add_all(
        Survey(
            id=survey_id,
            ticket_id=ticket.id,
            channel=ticket.channel,
            message_id=message.id,
            status="sent",
        )
        for survey_id, (ticket, _, _), message in zip(survey_ids, items, messages, strict=True)
    )
    await session.flush()


class SurveyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    channel: str
    status: str
    score: int | None
    comment: str | None
    created_at: dt.datetime
    answered_at: dt.datetime | None

    @classmethod
    def of(cls, survey: Survey) -> SurveyOut:
        return cls(
            id=survey.id,
            ticket_id=survey.ticket_id,
            channel=survey.channel,
            status=survey.status,
            score=survey.score,
            comment=survey.comment,
            created_at=survey.created_at,
            answered_at=survey.answered_at,
        )


class AnswerIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    score: int
    comment: str | None = None


async def surveys_of(session: AsyncSession, ticket: Ticket) -> list[Survey]:
    stmt = select(Survey).where(Survey.ticket_id == ticket.id).order_by(Survey.id)
    return list((await session.scalars(stmt)).all())


async def open_survey(session: AsyncSession, token: str) -> tuple[Survey, Ticket]:
    """The survey a link's token names, the session bound to its tenant; 404 otherwise.

    ``session`` must not be bound to a tenant yet: the token is all the
    customer's browser carries.
    """
    if not _TOKEN.fullmatch(token):
        raise NotFound("no such survey")
    index = await session.get(SurveyToken, _hash(token))
    if index is None:
        raise NotFound("no such survey")
    await enter_tenant(session, index.tenant_id)
    survey = await session.get(Survey, (index.tenant_id, index.survey_id))
    if survey is None:
        raise NotFound("no such survey")
    from frontdesk.tickets.service import get_ticket_unchecked

    return survey, await get_ticket_unchecked(session, survey.ticket_id)


async def answer_survey(
    session: AsyncSession, survey: Survey, ticket: Ticket, answer: AnswerIn
) -> Survey:
    """Store the customer's answer once: a second answer is refused (409)."""
    from frontdesk.tickets.service import add_system_event

    if answer.score not in SCORES:
        raise InvalidInput("the score is a whole number from 1 to 5")
    comment = (answer.comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"a comment is at most {MAX_COMMENT:,} characters")
    now = utcnow()
    # Conditional, so two answers sent at once cannot both be stored.
    result = await session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.status == "sent")
        .values(status="answered", score=answer.score, comment=comment, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise Conflict("this survey has already been answered")
    await session.refresh(survey)
    await add_system_event(
        session,
        ticket,
        "survey_answered",
        survey_id=str(survey.id),
        score=answer.score,
        comment=comment,
    )
    return survey


# --- the owner's follow-up ---------------------------------------------------


async def _remind_owner(
    session: AsyncSession, ticket: Ticket, owner_id: uuid.UUID | None, kind: str, **data: Any
) -> None:
    """Put the reminder on the ticket's timeline and tell its owner (or, with no
    owner, its team) live. The one place to switch to notifications later."""
    from frontdesk.tickets.service import add_system_events

    data = {"owner_id": str(owner_id) if owner_id else None, **data}
    await add_system_events(session, [(ticket, kind, data)], touch=False)
    queue_event(
        session.sync_session,
        RealtimeEvent(
            type="ticket.reminder",
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            team_id=None if owner_id else ticket.team_id,
            assignee_id=owner_id,
            at=utcnow(),
            data={"kind": kind, "number": ticket.number, **data},
        ),
    )


@timers.handler(FOLLOW_UP_TIMER)
async def _follow_up(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    due = await _fired_tickets(
        session, fired, {TicketState.RESOLVED.value, TicketState.CLOSED.value}
    )
    for timer, ticket in due:
        # Whoever owns it now; the owner at resolution if it has none any more.
        recorded = timer.payload.get("owner_id")
        owner = ticket.assignee_id or (uuid.UUID(recorded) if recorded else None)
        await _remind_owner(
            session,
            ticket,
            owner,
            "follow_up_due",
            timer_id=str(timer.id),
            resolved_at=ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        )


# --- auto-close of tickets pending on the customer -----------------------------


def notice_text(ticket: Ticket, close_at: dt.datetime) -> str:
    when = close_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"We have not heard back from you about {ticket.number}. "
        f"If we don't hear from you, we will close this request on {when}. "
        f"Just reply to keep it open."
    )


@timers.handler(AUTO_CLOSE_NOTICE_TIMER)
async def _last_notice(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    from frontdesk.tickets.service import add_replies

    due = await _fired_tickets(session, fired, {TicketState.PENDING.value})
    items: list[tuple[Ticket, str, dict[str, Any]]] = []
    for timer, ticket in due:
        close_at = dt.datetime.fromisoformat(timer.payload["close_at"])
        items.append((ticket, notice_text(ticket, close_at), {"close_at": close_at.isoformat()}))
    await add_replies(
        session,
        items,
        author_user_id=None,
        meta={"reason": "auto_close_notice"},
        event_kind="auto_close_notice_sent",
    )


@timers.handler(AUTO_CLOSE_TIMER)
async def _auto_close(session: AsyncSession, fired: list[timers.FiredTimer]) -> None:
    """Still pending: resolved, then closed, without a survey or a follow-up
    (nobody solved anything: the customer went quiet)."""
    from frontdesk.tickets.service import change_states

    tickets = [t for _, t in await _fired_tickets(session, fired, {TicketState.PENDING.value})]
    if not tickets:
        return
    reason = "closed automatically: no reply from the customer"
    await change_states(session, None, tickets, TicketState.RESOLVED, reason=reason)
    await change_states(session, None, tickets, TicketState.CLOSED, reason=reason)
    await timers.cancel_for_tickets(session, [t.id for t in tickets], AFTER_RESOLUTION)


# --- personal-data requests ---------------------------------------------------


async def surveys_of_tickets(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> list[Survey]:
    if not ticket_ids:
        return []
    stmt = select(Survey).where(Survey.ticket_id.in_(list(ticket_ids))).order_by(Survey.id)
    return list((await session.scalars(stmt)).all())


async def erase_comments(session: AsyncSession, surveys: Sequence[Survey]) -> int:
    """The customer's comments go; their scores stay (satisfaction reports count them).
    The ``survey_answered`` events' copies go with the ticket's texts."""
    erased = 0
    for survey in surveys:
        if survey.comment is not None:
            survey.comment = None
            erased += 1
    await session.flush()
    return erased
