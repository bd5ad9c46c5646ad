"""Turning a stored inbound event into a customer, a ticket and a message, exactly once."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.channels import arrival, loops, threading
from frontdesk.channels import service as channels
from frontdesk.channels.intake import StoredEvent, StoredMessage, read_payload
from frontdesk.channels.models import ChannelInstance, Conversation, InboundEvent
from frontdesk.channels.settings import settings_of
from frontdesk.channels.types import ContactRef, ThreadHints
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


async def ingest_event(runtime: Runtime, tenant_id: uuid.UUID, event_id: uuid.UUID) -> None:
    async with runtime.db.session(tenant_id) as session:
        stmt = select(InboundEvent).where(InboundEvent.id == event_id)
        if session.get_bind().dialect.name == "postgresql":
            # Two deliveries of this job at once: the second waits, then sees "processed".
            stmt = stmt.with_for_update()
        event = await session.scalar(stmt)
        if event is None or event.status != "received":
            return
        # Counted with the outcome, in the one UPDATE that records it: an
        # attempt that fails rolls back whatever it wrote, this included.
        attempts = event.attempts + 1
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
        channel = await channels.get_channel(session, event.channel_id)
        payload = read_payload(cipher, event)
        ticket_id: uuid.UUID | None
        message_id: uuid.UUID | None
        try:
            if isinstance(payload, StoredMessage):
                ticket_id, message_id = await _ingest_message(
                    runtime, session, cipher, channel, payload
                )
            else:
                ticket_id, message_id = await _ingest_channel_event(
                    runtime, session, cipher, channel, payload
                )
        except InvalidInput as exc:
            # The sender's address cannot be a contact point (a malformed phone
            # number): retrying will not help; keep the event for an operator.
            log.warning("inbound event %s cannot be ingested: %s", event.id, exc.detail)
            event.attempts = attempts
            event.status = "failed"
            event.error = exc.detail
            return
        event.attempts = attempts
        event.status = "processed"
        event.processed_at = utcnow()
        event.ticket_id = ticket_id
        event.message_id = message_id


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
    if automatic:
        # Loop protection: automatic mail opens no ticket beyond its sender's
        # first and wakes no closed or resolved one.
        if ticket is None:
            ticket = await tickets.latest_ticket_on_channel(
                session, customer_id=customer_id, channel_id=channel.id
            )
            if ticket is not None:
                reason = f"automatic mail from the sender of {ticket.number}"
        if ticket is not None:
            return ticket, f"{reason} (automatic: {automatic})"
    if (
        ticket is not None
        and ticket.state == TicketState.CLOSED.value
        and (settings_of(channel.settings).closed_ticket_reply == "reopen")
    ):
        await tickets.reopen_closed(session, ticket, reason="the customer wrote again")
        reason += ", reopened"
        await routing.route(session, ticket, reason="reopened")
    elif ticket is not None and ticket.state == TicketState.CLOSED.value:
        follow_up = await tickets.open_channel_ticket(
            session,
            customer_id=customer_id,
            subject=subject,
            channel=channel.kind,
            channel_id=channel.id,
            contact_point_id=contact_point_id,
            team_id=channel.team_id,
            follow_up_of=ticket,
        )
        reason = f"follow-up of closed {ticket.number}"
        ticket = follow_up
        await routing.route(session, ticket, reason="follow-up")
    elif ticket is not None and ticket.state == TicketState.RESOLVED.value:
        await tickets.reopen(session, ticket, reason="the customer wrote again")
        reason += ", reopened"
        await routing.route(session, ticket, reason="reopened")
    elif ticket is None:
        ticket = await tickets.open_channel_ticket(
            session,
            customer_id=customer_id,
            subject=subject,
            channel=channel.kind,
            channel_id=channel.id,
            contact_point_id=contact_point_id,
            team_id=channel.team_id,
        )
        await routing.route(session, ticket, reason="new ticket")
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
    automatic = await loops.automatic_reason(session, channel, point_id, msg.metadata)
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
        meta={
            "thread_reason": reason,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in msg.attachments
            ],
            **({"provider": msg.metadata} if msg.metadata else {}),
            **({"automatic": automatic, "no_auto_reply": True} if automatic else {}),
        },
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
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    ev = payload.event
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
