"""Call logs: each step a phone channel reports, merged into one log per provider call.

A provider reports one call in many webhooks (ringing, answered, completed,
a recording, a transcription minutes later), some twice, in any order. Every
step is merged commutatively: the earliest ringing is the start, the earliest
answer the answer, the latest end the end; a timeline event is written only
when a step changes what the log says, so a redelivery writes nothing.

An inbound call that ends unanswered, is reported missed, or leaves a
voicemail opens a high-priority callback task on its ticket; an answer
reported after that (webhooks out of order) cancels the task again. An
outbound call to the customer that is answered and ends closes the ticket's
open callback tasks: the customer was called back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import egress
from frontdesk.auth.service import Principal, find_user_by_email, get_user, user_email
from frontdesk.calls.models import Call
from frontdesk.channels.masking import mask_sensitive_numbers
from frontdesk.channels.models import ChannelInstance
from frontdesk.channels.types import CallRequest, ChannelEvent, ContactRef
from frontdesk.clock import now as clock_now
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.db import utcnow
from frontdesk.errors import Conflict, InvalidInput, ProviderFailed
from frontdesk.identity import service as identity
from frontdesk.ids import new_id
from frontdesk.runtime import Runtime
from frontdesk.tasks import service as tasks
from frontdesk.tickets.models import Ticket, TicketEvent

#: The service target for phone: answered within this many seconds.
ANSWER_TARGET_SECONDS = 15


class CallOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    channel_id: uuid.UUID
    provider_call_id: str
    direction: str
    #: ringing, in_progress, completed (answered and ended), missed
    status: str
    started_at: dt.datetime | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    #: From ringing to answer: what the 15 s target measures.
    wait_seconds: float | None
    answered_within_target: bool | None
    duration_seconds: int | None
    #: The provider's identity of whoever answered, when they are not a user here.
    agent: str | None
    agent_user_id: uuid.UUID | None
    missed_reason: str | None
    voicemail: bool
    recording_url: str | None
    transcription: str | None
    callback_task_id: uuid.UUID | None


def wait_seconds(call: Call) -> float | None:
    if call.started_at is None or call.answered_at is None:
        return None
    return max(0.0, (call.answered_at - call.started_at).total_seconds())


def missed(call: Call) -> bool:
    """Inbound, never answered, and over (ended, reported missed, or a voicemail left)."""
    if call.direction != "inbound" or call.answered_at is not None:
        return False
    return call.ended_at is not None or call.missed_reason is not None or call.voicemail


def status(call: Call) -> str:
    if call.answered_at is not None:
        return "completed" if call.ended_at is not None else "in_progress"
    if missed(call) or call.ended_at is not None:
        return "missed"
    return "ringing"


def out(call: Call, target_seconds: int = ANSWER_TARGET_SECONDS) -> CallOut:
    wait = wait_seconds(call)
    return CallOut(
        id=call.id,
        ticket_id=call.ticket_id,
        channel_id=call.channel_id,
        provider_call_id=call.provider_call_id,
        direction=call.direction,
        status=status(call),
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        wait_seconds=wait,
        answered_within_target=None if wait is None else wait <= target_seconds,
        duration_seconds=call.duration_seconds,
        agent=call.agent,
        agent_user_id=call.agent_user_id,
        missed_reason=call.missed_reason,
        voicemail=call.voicemail,
        recording_url=call.recording_url,
        transcription=call.transcription,
        callback_task_id=call.task_id,
    )


async def find_call(
    session: AsyncSession, channel_id: uuid.UUID, provider_call_id: str
) -> Call | None:
    return await session.scalar(
        select(Call).where(Call.channel_id == channel_id, Call.provider_call_id == provider_call_id)
    )


async def for_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> list[Call]:
    stmt = select(Call).where(Call.ticket_id == ticket_id)
    return list((await session.scalars(stmt.order_by(Call.id))).all())


async def for_tickets(
    session: AsyncSession, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Call]]:
    if not ticket_ids:
        return {}
    stmt = select(Call).where(Call.ticket_id.in_(list(ticket_ids))).order_by(Call.id)
    found: dict[uuid.UUID, list[Call]] = {}
    for call in (await session.scalars(stmt)).all():
        found.setdefault(call.ticket_id, []).append(call)
    return found


def _earliest(current: dt.datetime | None, at: dt.datetime) -> dt.datetime:
    return at if current is None or at < current else current


def _latest(current: dt.datetime | None, at: dt.datetime) -> dt.datetime:
    return at if current is None or at > current else current


def _timeline(session: AsyncSession, call: Call, kind: str, **data: object) -> None:
    session.add(
        TicketEvent(
            ticket_id=call.ticket_id,
            actor_user_id=None,
            kind=kind,
            data={"call_id": str(call.id), "direction": call.direction, **data},
        )
    )


async def record(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    channel: ChannelInstance,
    ticket: Ticket,
    customer_id: uuid.UUID,
    contact_point_id: uuid.UUID,
    event: ChannelEvent,
    at: dt.datetime,
    call: Call | None,
    callback_due: dt.timedelta,
) -> Call:
    """Merge one reported step into its call's log (``call``: the log so far, if any)."""
    details = event.call
    assert details is not None
    if call is None:
        now = utcnow()
        call = Call(
            channel_id=channel.id,
            provider_call_id=details.call_id[:128],
            ticket_id=ticket.id,
            customer_id=customer_id,
            contact_point_id=contact_point_id,
            direction=details.direction,
            created_at=now,
            updated_at=now,
        )
        session.add(call)
        await session.flush()
        _timeline(session, call, "call_started", provider_call_id=call.provider_call_id)
    was_answered = call.answered_at is not None
    was_missed = missed(call)
    was_ended = call.ended_at is not None
    had_voicemail = call.voicemail
    had_transcription = call.transcription is not None
    had_recording = call.recording_url is not None

    kind = event.kind
    if kind == "call_ringing":
        call.started_at = _earliest(call.started_at, at)
    elif kind == "call_answered":
        first = call.answered_at is None or at < call.answered_at
        call.answered_at = _earliest(call.answered_at, at)
        # Several agents may ring at once: the one who answered first is the one.
        if details.agent and (first or (call.agent is None and call.agent_user_id is None)):
            user = await find_user_by_email(session, cipher, details.agent)
            # A user is kept by id (their email is stored only encrypted); an
            # identity the provider has for someone unknown, as given.
            call.agent_user_id = user.id if user is not None else None
            call.agent = None if user is not None else details.agent[:255]
    elif kind == "call_missed":
        call.missed_reason = call.missed_reason or (details.missed_reason or "no-answer")[:32]
    elif kind == "call_ended":
        call.ended_at = _latest(call.ended_at, at)
        if details.duration_seconds is not None:
            call.duration_seconds = max(call.duration_seconds or 0, details.duration_seconds)
    elif kind in ("voicemail", "call_recorded"):
        if kind == "voicemail":
            call.voicemail = True
        if details.recording_url and call.recording_url is None:
            call.recording_url = details.recording_url
        if details.transcription and call.transcription is None:
            call.transcription = mask_sensitive_numbers(details.transcription)
    call.updated_at = utcnow()

    if call.answered_at is not None and not was_answered:
        wait = wait_seconds(call)
        _timeline(
            session,
            call,
            "call_answered",
            agent=call.agent,
            agent_user_id=str(call.agent_user_id) if call.agent_user_id else None,
            wait_seconds=wait,
        )
    if call.ended_at is not None and not was_ended:
        _timeline(session, call, "call_ended", duration_seconds=call.duration_seconds)
    if call.voicemail and not had_voicemail:
        _timeline(session, call, "voicemail_received", recording_url=call.recording_url)
    elif call.recording_url and not had_recording and not call.voicemail:
        _timeline(session, call, "call_recorded", recording_url=call.recording_url)
    if call.transcription and not had_transcription:
        _timeline(session, call, "voicemail_transcribed")

    if missed(call) and not was_missed:
        _timeline(session, call, "call_missed", reason=call.missed_reason)
    await _tasks_after(session, ticket, call, was_missed=was_missed, callback_due=callback_due)
    if (
        call.direction == "outbound"
        and call.answered_at is not None
        and call.ended_at is not None
        and not (was_answered and was_ended)
    ):
        for task in await tasks.open_tasks(session, ticket.id, tasks.CALLBACK):
            await tasks.close_task(
                session, task, status=tasks.DONE, note="called back", actor=call.agent_user_id
            )
    await session.flush()
    return call


async def _tasks_after(
    session: AsyncSession,
    ticket: Ticket,
    call: Call,
    *,
    was_missed: bool,
    callback_due: dt.timedelta,
) -> None:
    if missed(call) and call.task_id is None:
        title = "Call back: voicemail" if call.voicemail else "Call back: missed call"
        opened = await tasks.open_task(
            session, ticket, kind=tasks.CALLBACK, title=title, due_in=callback_due
        )
        call.task_id = opened.id
    elif missed(call) and call.voicemail and call.task_id is not None:
        task = await tasks.get_task(session, call.task_id)
        if task is not None and task.status == tasks.OPEN:
            task.title = "Call back: voicemail"
    elif was_missed and not missed(call) and call.task_id is not None:
        # Answered after all (the answer's webhook came after the end's): the
        # callback is owed only if another missed call shares the task.
        task = await tasks.get_task(session, call.task_id)
        others = await session.scalar(
            select(Call.id).where(
                Call.task_id == call.task_id, Call.id != call.id, Call.answered_at.is_(None)
            )
        )
        if task is not None and task.status == tasks.OPEN and others is None:
            await tasks.close_task(
                session, task, status=tasks.CANCELLED, note="the call was answered after all"
            )
        call.task_id = None


class AnswerTimes(msgspec.Struct, frozen=True, kw_only=True):
    """Inbound calls that started in a period, against the answer target."""

    since: dt.datetime
    until: dt.datetime
    target_seconds: int
    calls: int
    answered: int
    answered_within_target: int
    missed: int
    #: answered_within_target / calls; None without calls.
    share_within_target: float | None
    average_wait_seconds: float | None
    longest_wait_seconds: float | None


async def answer_times(
    session: AsyncSession,
    *,
    since: dt.datetime,
    until: dt.datetime,
    target_seconds: int = ANSWER_TARGET_SECONDS,
) -> AnswerTimes:
    stmt = select(Call).where(
        Call.direction == "inbound", Call.started_at >= since, Call.started_at < until
    )
    rows = (await session.scalars(stmt)).all()
    waits = [w for w in (wait_seconds(c) for c in rows) if w is not None]
    within = sum(1 for w in waits if w <= target_seconds)
    return AnswerTimes(
        since=since,
        until=until,
        target_seconds=target_seconds,
        calls=len(rows),
        answered=len(waits),
        answered_within_target=within,
        missed=sum(1 for c in rows if missed(c)),
        share_within_target=within / len(rows) if rows else None,
        average_wait_seconds=sum(waits) / len(waits) if waits else None,
        longest_wait_seconds=max(waits) if waits else None,
    )


async def place_call(
    session: AsyncSession,
    runtime: Runtime,
    cipher: TenantCipher,
    principal: Principal,
    ticket: Ticket,
) -> Call:
    """The agent calls the ticket's customer back through the ticket's channel.

    The provider's API is called while the agent waits (their phone rings
    next); the call's log starts here, with the agent, and its webhooks fill
    it in like any other call's. Answered and ended, it closes the ticket's
    callback tasks.
    """
    from frontdesk.channels import service as channels

    if ticket.channel_id is None or ticket.contact_point_id is None:
        raise InvalidInput("the ticket has no channel and number to call back through")
    channel = await channels.get_channel(session, ticket.channel_id)
    if not runtime.registry.get(channel.kind).supports("place_call"):
        raise InvalidInput(f"a {channel.kind} channel cannot place calls")
    if not channel.is_active:
        raise Conflict("the ticket's channel is switched off")
    point = await identity.get_contact_point(session, ticket.contact_point_id)
    if point.kind != "phone":
        raise InvalidInput("the ticket's customer wrote from no phone number")
    user = await get_user(session, principal.user_id)
    agent = user_email(cipher, user)
    adapter = channels.build_adapter(
        runtime, cipher, channel, await channels.endpoint_token(session, channel.id)
    )
    await egress.check_adapter(adapter.config, allow_private=runtime.settings.allow_private_targets)
    receipt = await adapter.place_call(
        CallRequest(
            id=str(new_id()),
            recipient=ContactRef(kind="phone", value=identity.decrypt_contact(cipher, point)),
            agent=agent,
            ticket_number=ticket.number,
        )
    )
    if receipt.status != "sent" or not receipt.external_id:
        raise ProviderFailed(receipt.error or "the provider did not say which call it placed")
    call = await find_call(session, channel.id, receipt.external_id[:128])
    if call is None:
        now = utcnow()
        call = Call(
            channel_id=channel.id,
            provider_call_id=receipt.external_id[:128],
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            contact_point_id=point.id,
            direction="outbound",
            started_at=clock_now(),
            agent_user_id=user.id,
            created_at=now,
            updated_at=now,
        )
        session.add(call)
        await session.flush()
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                actor_user_id=principal.user_id,
                kind="call_placed",
                data={"call_id": str(call.id), "direction": "outbound"},
            )
        )
    call.agent_user_id = call.agent_user_id or user.id
    await session.flush()
    return call


# --- personal-data requests ---------------------------------------------------


async def of_customers(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID], ticket_ids: Sequence[uuid.UUID]
) -> list[Call]:
    """The calls of these customers, or on their tickets (a personal-data request)."""
    if not customer_ids and not ticket_ids:
        return []
    stmt = select(Call).where(
        or_(Call.customer_id.in_(list(customer_ids)), Call.ticket_id.in_(list(ticket_ids)))
    )
    return list((await session.scalars(stmt.order_by(Call.id))).all())


async def erase_recordings(session: AsyncSession, calls: Sequence[Call]) -> int:
    """Remove what a call kept of the customer: the link to their voice, the words
    transcribed from it, and which of their numbers called. The log's times and
    outcome stay, so answer-time reports still count it. Returns how many held any."""
    erased = 0
    for call in calls:
        if call.recording_url or call.transcription or call.contact_point_id:
            erased += 1
        call.recording_url = None
        call.transcription = None
        call.contact_point_id = None
        call.updated_at = utcnow()
    await session.flush()
    return erased
