"""Turning stored inbound events into customers, tickets and messages, exactly once.

Events are ingested in batches: one transaction takes up to
``ingest_batch_size`` of a tenant's waiting events in the order they
arrived, resolves their senders with one lookup, opens the new tickets with
one numbering and writes the rows in a few flushes. Events whose threading
needs lookups of their own (ticket numbers, reply tokens, references) and
channel events are taken one at a time, in their place in the order. One
batch per tenant runs at a time (an advisory lock on PostgreSQL, the write
lock on SQLite), so a tenant's messages are ingested in order and two first
contacts from one new address never race.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import case, func, select, tuple_, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.calls import service as calls
from frontdesk.channels import arrival, loops, threading
from frontdesk.channels import service as channels
from frontdesk.channels.intake import StoredEvent, StoredMessage, read_payload
from frontdesk.channels.models import ChannelInstance, Conversation, InboundEvent
from frontdesk.channels.settings import settings_of
from frontdesk.channels.types import ChannelEvent, ContactRef, InboundMessage, ThreadHints
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import utcnow
from frontdesk.errors import InvalidInput
from frontdesk.identity import service as identity
from frontdesk.identity.models import ContactPoint, Customer
from frontdesk.identity.normalise import ContactKind
from frontdesk.realtime.events import RealtimeEvent, queue_event
from frontdesk.routing import service as routing
from frontdesk.runtime import Runtime
from frontdesk.tickets import service as tickets
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.states import OPEN_STATES, TicketState

log = logging.getLogger("frontdesk.ingest")

NEW_CONVERSATION = "new conversation"

# Events that only matter live: shown to agents, not kept on the ticket.
EPHEMERAL = frozenset({"typing", "read", "delivery_status"})

# An event whose ingestion fails this many times for a reason no retry can
# fix (a bug, a payload no code path expects) is set aside as failed, with
# the error, for an operator; the batches go on without it.
MAX_ATTEMPTS = 5


async def ingest_pending(
    runtime: Runtime, tenant_id: uuid.UUID, *, release: Callable[[], None] = lambda: None
) -> int:
    """Ingest a tenant's waiting events, batch after batch, until none is left.

    ``release`` is called in each batch once the tenant's lock is held and
    before the events are read: whoever stores an event after that point
    sends a new job, so nothing waits for a sweep. Returns how many events
    were taken.
    """
    total, _ = await ingest_share(runtime, tenant_id, release=release)
    return total


async def ingest_share(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    *,
    release: Callable[[], None] = lambda: None,
    max_batches: int | None = None,
) -> tuple[int, bool]:
    """``ingest_pending``, stopping after ``max_batches``: how many events were
    taken, and whether more may be waiting (the last batch was full)."""
    limit = runtime.settings.ingest_batch_size
    total = 0
    batches = 0
    while True:
        taken = await _ingest_batch(runtime, tenant_id, limit=limit, release=release)
        total += taken
        batches += 1
        if taken < limit:
            return total, False
        if max_batches is not None and batches >= max_batches:
            return total, True


async def ingest_event(runtime: Runtime, tenant_id: uuid.UUID, event_id: uuid.UUID) -> None:
    """Ingest one stored event, if it is still waiting (a sweep's or an old job's)."""
    async with runtime.db.session(tenant_id) as session:
        await _lock_tenant(session, tenant_id)
        events = await _claim(session, limit=1, event_id=event_id)
        await _ingest_events(runtime, session, tenant_id, events)


async def _lock_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(b"frontdesk.ingest:" + tenant_id.bytes) - 2**31
        await session.execute(select(func.pg_advisory_xact_lock(key)))
    # SQLite: the session's BEGIN IMMEDIATE already holds the database's write lock.


async def _claim(
    session: AsyncSession, *, limit: int, event_id: uuid.UUID | None = None
) -> Sequence[InboundEvent]:
    stmt = select(InboundEvent).where(InboundEvent.status == "received")
    if event_id is not None:
        stmt = stmt.where(InboundEvent.id == event_id)
    stmt = stmt.order_by(InboundEvent.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


def _transient(exc: BaseException) -> bool:
    """A database or network failure: the job retries later, nothing is held against the events."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, ConnectionError | TimeoutError | OSError)


async def _ingest_batch(
    runtime: Runtime, tenant_id: uuid.UUID, *, limit: int, release: Callable[[], None]
) -> int:
    ids: list[uuid.UUID] = []
    try:
        async with runtime.db.session(tenant_id) as session:
            await _lock_tenant(session, tenant_id)
            release()
            events = await _claim(session, limit=limit)
            ids = [event.id for event in events]
            await _ingest_events(runtime, session, tenant_id, events)
        return len(ids)
    except Exception as exc:
        if not ids or _transient(exc):
            raise
        # Something in the batch failed (a lost race on a unique key, a bug):
        # one at a time, the others go through and the culprit is named.
        log.warning("a batch of %d events failed (%r); ingesting them one by one", len(ids), exc)
    for event_id in ids:
        try:
            await ingest_event(runtime, tenant_id, event_id)
        except Exception as exc:
            if _transient(exc):
                raise
            await _record_failure(runtime, tenant_id, event_id, exc)
    return len(ids)


async def _record_failure(
    runtime: Runtime, tenant_id: uuid.UUID, event_id: uuid.UUID, exc: Exception
) -> None:
    log.exception("inbound event %s could not be ingested", event_id, exc_info=exc)
    async with runtime.db.session(tenant_id) as session:
        await session.execute(
            update(InboundEvent)
            .where(InboundEvent.id == event_id, InboundEvent.status == "received")
            .values(
                attempts=InboundEvent.attempts + 1,
                error=f"{type(exc).__name__}: {exc}",
                status=case(
                    (InboundEvent.attempts + 1 >= MAX_ATTEMPTS, "failed"), else_="received"
                ),
            )
        )


async def _ingest_events(
    runtime: Runtime, session: AsyncSession, tenant_id: uuid.UUID, events: Sequence[InboundEvent]
) -> None:
    if not events:
        return
    cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
    channel_of = {
        c.id: c for c in await channels.get_channels(session, {e.channel_id for e in events})
    }
    run: list[tuple[InboundEvent, InboundMessage]] = []
    for event in events:
        payload = read_payload(cipher, event)
        if isinstance(payload, StoredMessage) and _plain(payload.message.thread):
            run.append((event, payload.message))
            continue
        if run:
            await _ingest_run(runtime, session, cipher, channel_of, run)
            run = []
        await _ingest_one(runtime, session, cipher, channel_of[event.channel_id], event, payload)
    if run:
        await _ingest_run(runtime, session, cipher, channel_of, run)


def _plain(hints: ThreadHints) -> bool:
    """Threading that batch lookups answer: a conversation key, or none."""
    return not (hints.ticket_number or hints.reply_token or hints.in_reply_to or hints.references)


def _processed(
    event: InboundEvent, ticket_id: uuid.UUID | None, message_id: uuid.UUID | None
) -> None:
    event.attempts += 1
    event.status = "processed"
    event.processed_at = utcnow()
    event.ticket_id = ticket_id
    event.message_id = message_id


def _failed(event: InboundEvent, exc: InvalidInput) -> None:
    # The sender's address cannot be a contact point (a malformed phone
    # number): retrying will not help; keep the event for an operator.
    log.warning("inbound event %s cannot be ingested: %s", event.id, exc.detail)
    event.attempts += 1
    event.status = "failed"
    event.error = exc.detail


async def _ingest_one(
    runtime: Runtime,
    session: AsyncSession,
    cipher: TenantCipher,
    channel: ChannelInstance,
    event: InboundEvent,
    payload: StoredMessage | StoredEvent,
) -> None:
    ticket_id: uuid.UUID | None
    message_id: uuid.UUID | None
    try:
        if isinstance(payload, StoredMessage):
            ticket_id, message_id = await _ingest_message(
                runtime, session, cipher, channel, payload
            )
        else:
            ticket_id, message_id = await _ingest_channel_event(
                runtime, session, cipher, channel, payload, received_at=event.received_at
            )
    except InvalidInput as exc:
        _failed(event, exc)
        return
    _processed(event, ticket_id, message_id)


@dataclass
class _Planned:
    """One message of a run, on its way to a ticket."""

    event: InboundEvent
    message: InboundMessage
    channel: ChannelInstance
    customer: Customer
    point: ContactPoint
    automatic: str | None = None
    reason: str = NEW_CONVERSATION
    ticket: Ticket | None = None
    # Index into the run's new tickets, when the message opens (or joins) one.
    new_ticket: int | None = None
    # This message opened its ticket (not a follow-up, not joining another's).
    opened: bool = False


@dataclass(frozen=True, slots=True)
class _Decision:
    """What a message does to the ticket threading found for it."""

    action: Literal["join", "reopen", "reopen_closed", "follow_up", "open"]
    ticket: Ticket | None
    reason: str


def _decide(
    channel: ChannelInstance,
    found: Ticket | None,
    reason: str,
    *,
    automatic: str | None,
    senders_latest: Ticket | None,
) -> _Decision:
    """The one place a found ticket's state decides what a customer's message does.

    ``senders_latest`` is the sender's latest ticket on this channel, whatever
    its state (only automatic mail uses it).
    """
    if automatic:
        # Loop protection: automatic mail opens no ticket beyond its sender's
        # first and wakes no closed or resolved one.
        if found is None and senders_latest is not None:
            found = senders_latest
            reason = f"automatic mail from the sender of {found.number}"
        if found is not None:
            return _Decision("join", found, f"{reason} (automatic: {automatic})")
    if found is None:
        return _Decision("open", None, reason)
    if found.state == TicketState.CLOSED.value:
        if settings_of(channel.settings).closed_ticket_reply == "reopen":
            return _Decision("reopen_closed", found, f"{reason}, reopened")
        return _Decision("follow_up", found, f"follow-up of closed {found.number}")
    if found.state == TicketState.RESOLVED.value:
        return _Decision("reopen", found, f"{reason}, reopened")
    return _Decision("join", found, reason)


async def _apply_in_place(session: AsyncSession, decision: _Decision) -> Ticket | None:
    """Carry out a decision on an existing ticket; None when a new ticket is due."""
    ticket = decision.ticket
    if decision.action in ("follow_up", "open"):
        return None
    assert ticket is not None
    if decision.action == "reopen":
        await tickets.reopen(session, ticket, reason="the customer wrote again")
        await routing.route(session, ticket, reason="reopened")
    elif decision.action == "reopen_closed":
        await tickets.reopen_closed(session, ticket, reason="the customer wrote again")
        await routing.route(session, ticket, reason="reopened")
    return ticket


def _routing_reason(decision: _Decision) -> str:
    return "follow-up" if decision.action == "follow_up" else "new ticket"


async def _ingest_run(
    runtime: Runtime,
    session: AsyncSession,
    cipher: TenantCipher,
    channel_of: dict[uuid.UUID, ChannelInstance],
    run: list[tuple[InboundEvent, InboundMessage]],
) -> None:
    """Messages with plain threading, in bulk: the decisions ``_thread`` makes, with
    the lookups made once for the run."""
    resolved = await identity.resolve_contacts(
        session,
        cipher,
        [
            identity.ContactRequest(
                kind=ContactKind(m.sender.kind),
                value=m.sender.value,
                provider=m.sender.provider,
                display_name=m.sender.display_name,
            )
            for _, m in run
        ],
    )
    planned: list[_Planned] = []
    for (event, message), outcome in zip(run, resolved, strict=True):
        if isinstance(outcome, InvalidInput):
            _failed(event, outcome)
            continue
        customer, point = outcome
        planned.append(_Planned(event, message, channel_of[event.channel_id], customer, point))
    if not planned:
        return
    automatic = await loops.automatic_reasons(
        session, runtime.registry, [(p.channel, p.point.id, p.message.metadata) for p in planned]
    )
    for p, reason in zip(planned, automatic, strict=True):
        p.automatic = reason

    # What already exists: the conversations named, and each sender's latest
    # ticket on the channel where chat-like threading or loop protection asks.
    keys = {
        (p.channel.id, p.message.thread.conversation_id)
        for p in planned
        if p.message.thread.conversation_id
    }
    conversations: dict[tuple[uuid.UUID, str], Conversation] = {}
    if keys:
        found_conversations = await session.scalars(
            select(Conversation).where(
                tuple_(Conversation.channel_id, Conversation.conversation_key).in_(sorted(keys))
            )
        )
        conversations = {(c.channel_id, c.conversation_key): c for c in found_conversations}
    chat_like = {
        (p.customer.id, p.channel.id)
        for p in planned
        if not p.message.thread.conversation_id and not _threads(runtime, p.channel)
    }
    latest = await tickets.latest_tickets_on_channels(
        session, chat_like | {(p.customer.id, p.channel.id) for p in planned if p.automatic}
    )
    by_id = await tickets.get_tickets_unchecked(
        session, {c.ticket_id for c in conversations.values()}
    )

    # The decisions, in arrival order. A ticket this run opens counts as
    # existing for the messages after it: it is new, so they join it.
    specs: list[tickets.NewChannelTicket] = []
    routed: list[tuple[int, str]] = []
    run_conversations: dict[tuple[uuid.UUID, str], int] = {}
    run_latest: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    keep_conversation: set[int] = set()
    for n, p in enumerate(planned):
        key = p.message.thread.conversation_id
        pair = (p.customer.id, p.channel.id)
        found: Ticket | None = None
        joined: int | None = None
        reason = NEW_CONVERSATION
        if key:
            joined = run_conversations.get((p.channel.id, key))
            if joined is None and (p.channel.id, key) in conversations:
                found = by_id.get(conversations[(p.channel.id, key)].ticket_id)
            if joined is not None or found is not None:
                reason = "same conversation"
        elif pair in chat_like:
            joined = run_latest.get(pair)
            if joined is None:
                candidate = latest.get(pair)
                if candidate is not None and candidate.state in OPEN_STATES | {
                    TicketState.RESOLVED.value
                }:
                    found = candidate
            if joined is not None or found is not None:
                reason = "open conversation on this channel"
        if joined is None and found is None and p.automatic:
            joined = run_latest.get(pair)
            if joined is not None:
                reason = "automatic mail from the sender of a ticket opened just before"
        if joined is not None:
            p.new_ticket = joined
            p.reason = f"{reason} (automatic: {p.automatic})" if p.automatic else reason
            if p.automatic:
                keep_conversation.add(n)
        else:
            decision = _decide(
                p.channel, found, reason, automatic=p.automatic, senders_latest=latest.get(pair)
            )
            p.reason = decision.reason
            p.ticket = await _apply_in_place(session, decision)
            if p.ticket is None:
                follow_up_of = decision.ticket if decision.action == "follow_up" else None
                specs.append(_new_ticket(p, follow_up_of=follow_up_of))
                p.new_ticket = len(specs) - 1
                p.opened = decision.action == "open"
                routed.append((p.new_ticket, _routing_reason(decision)))
            elif p.automatic and decision.action == "join":
                keep_conversation.add(n)
        if p.new_ticket is not None:
            if key:
                run_conversations[(p.channel.id, key)] = p.new_ticket
            run_latest[pair] = p.new_ticket

    opened = await tickets.open_channel_tickets(session, specs)
    await routing.route_many(session, [(opened[i], why) for i, why in routed])
    arrived: list[tuple[_Planned, Ticket]] = []
    for n, p in enumerate(planned):
        ticket = opened[p.new_ticket] if p.new_ticket is not None else p.ticket
        assert ticket is not None
        p.ticket = ticket
        arrived.append((p, ticket))
        # Replies go back to the address the customer last wrote from.
        ticket.contact_point_id = p.point.id
        ticket.channel_id = p.channel.id
        key = p.message.thread.conversation_id
        # Automatic mail that joined a ticket leaves the conversation as it was.
        if key and n not in keep_conversation:
            conversation = conversations.get((p.channel.id, key))
            if conversation is None:
                conversation = Conversation(
                    channel_id=p.channel.id, conversation_key=key, ticket_id=ticket.id
                )
                session.add(conversation)
                conversations[(p.channel.id, key)] = conversation
            else:
                conversation.ticket_id = ticket.id
    messages = await tickets.add_inbound_messages(
        session,
        [
            tickets.CustomerMessage(
                ticket=ticket,
                customer_id=p.customer.id,
                channel=p.channel.kind,
                channel_id=p.channel.id,
                external_id=p.message.external_id,
                subject=p.message.subject,
                text=p.message.text,
                html=p.message.html,
                meta=_message_meta(p.message, p.reason, p.automatic),
                received_at=p.message.sent_at,
                wakes=not p.automatic,
            )
            for p, ticket in arrived
        ],
    )
    await arrival.after_inbound_many(
        session,
        cipher,
        [
            arrival.Arrived(
                channel=p.channel,
                ticket=ticket,
                message=stored,
                point=p.point,
                new_ticket=p.opened,
                automatic=p.automatic,
            )
            for (p, ticket), stored in zip(arrived, messages, strict=True)
        ],
    )
    for p, stored in zip(planned, messages, strict=True):
        _processed(p.event, stored.ticket_id, stored.id)


def _threads(runtime: Runtime, channel: ChannelInstance) -> bool:
    return runtime.registry.get(channel.kind).capabilities.threads


def _new_ticket(p: _Planned, *, follow_up_of: Ticket | None = None) -> tickets.NewChannelTicket:
    return tickets.NewChannelTicket(
        customer_id=p.customer.id,
        subject=_subject(p.message.subject, p.message.text),
        channel=p.channel.kind,
        channel_id=p.channel.id,
        contact_point_id=p.point.id,
        team_id=p.channel.team_id,
        follow_up_of=follow_up_of,
    )


def _message_meta(msg: InboundMessage, reason: str, automatic: str | None) -> dict[str, Any]:
    return {
        "thread_reason": reason,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in msg.attachments
        ],
        **({"provider": msg.metadata} if msg.metadata else {}),
        **({"automatic": automatic, "no_auto_reply": True} if automatic else {}),
    }


async def _resolve_sender(
    session: AsyncSession, cipher: TenantCipher, sender: ContactRef
) -> tuple[Customer, ContactPoint]:
    # The objects, not their ids: the session's identity map holds rows only
    # while something references them, and the ticket service looks the
    # customer up again (from the map, if it is still there, without a query).
    return await identity.resolve_contact(
        session,
        cipher,
        kind=ContactKind(sender.kind),
        value=sender.value,
        provider=sender.provider,
        display_name=sender.display_name,
    )


async def _thread(
    session: AsyncSession,
    runtime: Runtime,
    channel: ChannelInstance,
    *,
    customer_id: uuid.UUID,
    contact_point_id: uuid.UUID,
    hints: ThreadHints,
    subject: str,
    cipher: TenantCipher,
    automatic: str | None = None,
) -> tuple[Ticket, str]:
    """Which ticket a contact joins, and why (the reason is kept on the message)."""
    ticket: Ticket | None = None
    reason = NEW_CONVERSATION
    found = await threading.find_ticket(session, cipher, customer_id=customer_id, hints=hints)
    if found is not None:
        ticket, reason = found
    conversation: Conversation | None = None
    if ticket is None and hints.conversation_id:
        conversation = await session.scalar(
            select(Conversation).where(
                Conversation.channel_id == channel.id,
                Conversation.conversation_key == hints.conversation_id,
            )
        )
        if conversation is not None:
            ticket = await tickets.get_ticket_unchecked(session, conversation.ticket_id)
            reason = "same conversation"
    adapter = runtime.registry.get(channel.kind)
    if ticket is None and not adapter.capabilities.threads and not hints.conversation_id:
        # Chat-like channels have one running conversation per customer.
        latest = await tickets.latest_ticket_on_channel(
            session, customer_id=customer_id, channel_id=channel.id
        )
        if latest is not None and latest.state in OPEN_STATES | {TicketState.RESOLVED.value}:
            ticket, reason = latest, "open conversation on this channel"
    senders_latest = None
    if automatic and ticket is None:
        senders_latest = await tickets.latest_ticket_on_channel(
            session, customer_id=customer_id, channel_id=channel.id
        )
    decision = _decide(channel, ticket, reason, automatic=automatic, senders_latest=senders_latest)
    reason = decision.reason
    if automatic and decision.action == "join":
        assert decision.ticket is not None
        return decision.ticket, reason
    existing = await _apply_in_place(session, decision)
    if existing is None:
        ticket = await tickets.open_channel_ticket(
            session,
            customer_id=customer_id,
            subject=subject,
            channel=channel.kind,
            channel_id=channel.id,
            contact_point_id=contact_point_id,
            team_id=channel.team_id,
            follow_up_of=decision.ticket if decision.action == "follow_up" else None,
        )
        await routing.route(session, ticket, reason=_routing_reason(decision))
    else:
        ticket = existing
    if hints.conversation_id:
        if conversation is None:
            session.add(
                Conversation(
                    channel_id=channel.id,
                    conversation_key=hints.conversation_id,
                    ticket_id=ticket.id,
                )
            )
        else:
            conversation.ticket_id = ticket.id
        await session.flush()
    return ticket, reason


_CALL_SUBJECTS = {"voicemail": "Voicemail", "call_missed": "Missed call"}


async def _ingest_call_step(
    runtime: Runtime,
    session: AsyncSession,
    cipher: TenantCipher,
    channel: ChannelInstance,
    ev: ChannelEvent,
    *,
    at: dt.datetime,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """One step of a phone call: onto its call's log, on the ticket the call's
    first step found (every later step of the call follows it there)."""
    assert ev.call is not None
    call = await calls.find_call(session, channel.id, ev.call.call_id)
    if ev.sender is None:
        # Some steps name no number (Vonage's recordings): the call's log knows the caller.
        if call is None or call.contact_point_id is None:
            raise InvalidInput("a call step without the caller's number, for a call not seen yet")
        customer_id, point_id = call.customer_id, call.contact_point_id
    else:
        customer, point = await _resolve_sender(session, cipher, ev.sender)
        customer_id, point_id = customer.id, point.id
    if call is not None:
        ticket = await tickets.get_ticket_unchecked(session, call.ticket_id)
    else:
        ticket, _ = await _thread(
            session,
            runtime,
            channel,
            customer_id=customer_id,
            contact_point_id=point_id,
            hints=ev.thread,
            subject=_CALL_SUBJECTS.get(ev.kind, "Phone call"),
            cipher=cipher,
        )
        # Replies (SMS) go back to the number that called.
        ticket.contact_point_id = point_id
        ticket.channel_id = channel.id
    minutes = settings_of(channel.settings).callback_due_minutes
    await calls.record(
        session,
        cipher,
        channel=channel,
        ticket=ticket,
        customer_id=customer_id,
        contact_point_id=point_id,
        event=ev,
        at=at,
        call=call,
        callback_due=dt.timedelta(minutes=minutes),
    )
    ticket.updated_at = utcnow()
    return ticket.id, None


def _subject(subject: str | None, text: str) -> str:
    if subject and subject.strip():
        return subject.strip()[:500]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (first[:80] + "…") if len(first) > 80 else (first or "(no subject)")


async def _ingest_message(
    runtime: Runtime,
    session: AsyncSession,
    cipher: TenantCipher,
    channel: ChannelInstance,
    payload: StoredMessage,
) -> tuple[uuid.UUID, uuid.UUID]:
    msg = payload.message
    customer, point = await _resolve_sender(session, cipher, msg.sender)
    customer_id, point_id = customer.id, point.id
    automatic = await loops.automatic_reason(
        session, runtime.registry, channel, point_id, msg.metadata
    )
    ticket, reason = await _thread(
        session,
        runtime,
        channel,
        customer_id=customer_id,
        contact_point_id=point_id,
        hints=msg.thread,
        subject=_subject(msg.subject, msg.text),
        cipher=cipher,
        automatic=automatic,
    )
    # Replies go back to the address the customer last wrote from.
    ticket.contact_point_id = point_id
    ticket.channel_id = channel.id
    message = await tickets.add_inbound_message(
        session,
        ticket,
        customer_id=customer_id,
        channel=channel.kind,
        channel_id=channel.id,
        external_id=msg.external_id,
        subject=msg.subject,
        text=msg.text,
        html=msg.html,
        meta=_message_meta(msg, reason, automatic),
        received_at=msg.sent_at,
        wakes=not automatic,
    )
    await arrival.after_inbound(
        session,
        cipher,
        channel,
        ticket,
        message,
        point,
        new_ticket=reason == NEW_CONVERSATION,
        automatic=automatic,
    )
    return ticket.id, message.id


async def _ingest_channel_event(
    runtime: Runtime,
    session: AsyncSession,
    cipher: TenantCipher,
    channel: ChannelInstance,
    payload: StoredEvent,
    *,
    received_at: dt.datetime,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    ev = payload.event
    if ev.call is not None:
        return await _ingest_call_step(
            runtime, session, cipher, channel, ev, at=ev.occurred_at or received_at
        )
    if ev.kind == "delivery_status":
        return await arrival.delivery_status(session, cipher, channel, ev)
    if ev.kind in EPHEMERAL or ev.sender is None:
        ticket_id: uuid.UUID | None = None
        if ev.thread.conversation_id:
            ticket_id = await session.scalar(
                select(Conversation.ticket_id).where(
                    Conversation.channel_id == channel.id,
                    Conversation.conversation_key == ev.thread.conversation_id,
                )
            )
        ticket = await tickets.get_ticket_unchecked(session, ticket_id) if ticket_id else None
        queue_event(
            session.sync_session,
            RealtimeEvent(
                type="channel.activity",
                tenant_id=channel.tenant_id,
                ticket_id=ticket_id,
                team_id=ticket.team_id if ticket else None,
                assignee_id=ticket.assignee_id if ticket else None,
                at=ev.occurred_at or utcnow(),
                data={"kind": ev.kind, "channel_id": str(channel.id)},
            ),
        )
        return ticket_id, None
    customer, point = await _resolve_sender(session, cipher, ev.sender)
    customer_id, point_id = customer.id, point.id
    ticket, reason = await _thread(
        session,
        runtime,
        channel,
        customer_id=customer_id,
        contact_point_id=point_id,
        hints=ev.thread,
        subject=ev.kind.replace("_", " ").capitalize(),
        cipher=cipher,
    )
    await tickets.add_system_event(
        session,
        ticket,
        f"channel_{ev.kind}",
        external_id=ev.external_id,
        thread_reason=reason,
        occurred_at=(ev.occurred_at or utcnow()).isoformat(),
        **{k: v for k, v in ev.data.items() if isinstance(v, str | int | float | bool | None)},
    )
    return ticket.id, None
