"""Delivering agents' replies through their channel: at least once, recorded, retried.

An attempt is claimed with a lease (``next_attempt_at``) so two copies of
the job never call the provider at once; the provider is called outside any
transaction; the outcome is written back and a failure after the last
attempt shows on the ticket.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk import egress, metrics
from frontdesk.auth.permissions import Permission
from frontdesk.auth.service import Principal
from frontdesk.channels import service as channels
from frontdesk.channels import threading
from frontdesk.channels.adapter import ChannelAdapter
from frontdesk.channels.masking import mask_sensitive_numbers
from frontdesk.channels.models import ChannelInstance, Conversation, Delivery
from frontdesk.channels.types import ContactRef, DeliveryReceipt, OutboundMessage, ThreadHints
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import utcnow
from frontdesk.errors import Conflict, InvalidInput
from frontdesk.identity import service as identity
from frontdesk.ids import new_id
from frontdesk.jobs import enqueue
from frontdesk.runtime import Runtime
from frontdesk.tickets import service as tickets
from frontdesk.tickets.models import Message, Ticket
from frontdesk.tickets.states import Direction

if TYPE_CHECKING:
    from frontdesk.identity.models import ContactPoint

log = logging.getLogger("frontdesk.delivery")

LEASE = dt.timedelta(minutes=2)


async def reply_route(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    ticket: Ticket,
    *,
    channel_id: uuid.UUID | None,
    contact_point_id: uuid.UUID | None,
) -> tickets.ReplyRoute | None:
    """Check an agent's choice of where a reply goes; None: the ticket's own channel.

    An absent half defaults to the ticket's own (its channel, its contact
    point). The contact point must be the ticket's customer's; the channel
    enabled, installed, and able to send to that kind of contact point (an IM
    handle to its own network). Choosing reads the customer's contact points,
    so it needs ``customers.read`` besides ``tickets.reply``; the value itself
    is never shown, so no ``contacts.reveal``.
    """
    if channel_id is None and contact_point_id is None:
        return None
    principal.require(Permission.TICKETS_REPLY)
    principal.require(Permission.CUSTOMERS_READ)
    # Named ids first: another tenant's are not found (the tenant filter), 404 as
    # everywhere, whatever else is wrong with the request.
    channel = await channels.get_channel(session, channel_id) if channel_id else None
    point = (
        await identity.get_contact_point(session, contact_point_id) if contact_point_id else None
    )
    if channel is None and ticket.channel_id is not None:
        channel = await channels.get_channel(session, ticket.channel_id)
    if point is None and ticket.contact_point_id is not None:
        point = await identity.get_contact_point(session, ticket.contact_point_id)
    if channel is None or point is None:
        raise InvalidInput("this ticket has no channel of its own: name both channel and contact")
    if (channel.id, point.id) == (ticket.channel_id, ticket.contact_point_id):
        return None
    if point.customer_id != ticket.customer_id:
        raise InvalidInput("that contact point is not one of this ticket's customer's")
    if not channel.is_active:
        raise Conflict(f"the channel {channel.name!r} is disabled")
    if channel.kind not in runtime.registry.kinds():
        raise Conflict(f"the channel {channel.name!r} has no installed adapter")
    why = unreachable(runtime, ticket, channel, point)
    if why is not None:
        raise InvalidInput(f"the channel {channel.name!r} cannot send there: {why}")
    return tickets.ReplyRoute(
        channel_id=channel.id, channel_kind=channel.kind, contact_point_id=point.id
    )


def unreachable(
    runtime: Runtime, ticket: Ticket, channel: ChannelInstance, point: ContactPoint
) -> str | None:
    """Why ``channel`` cannot carry a reply on ``ticket`` to ``point``; None when it can."""
    kinds = runtime.registry.get(channel.kind).sender_kinds()
    if point.kind not in kinds:
        return f"it reaches {', '.join(sorted(kinds))} contacts, not {point.kind}"
    # An IM network's adapter (kind "telegram") reaches that network's handles only;
    # a generic webhook carries any.
    if (
        point.kind == "im"
        and kinds == {"im"}
        and point.provider
        and point.provider.lower() != channel.kind
    ):
        return f"a {point.provider} handle is not reached through {channel.kind}"
    own = (channel.id, point.id) == (ticket.channel_id, ticket.contact_point_id)
    if not own:
        # Capabilities.conversation_only (web chat): such a channel answers only in
        # the conversation its customer opened, and no other channel reaches its visitors.
        for kind in runtime.registry.kinds():
            cls = runtime.registry.get(kind)
            if cls.capabilities.conversation_only and (
                cls.kind == channel.kind or cls.contact_kind == point.kind
            ):
                return f"{cls.kind} answers only in the customer's own conversation"
    return None


async def route_choices(
    session: AsyncSession, runtime: Runtime, ticket: Ticket, points: Sequence[ContactPoint]
) -> list[tuple[ChannelInstance, ContactPoint]]:
    """Every (channel, contact point) a reply on ``ticket`` may take: the ticket's own
    first, then each enabled channel with each of the customer's points it can reach."""
    installed = set(runtime.registry.kinds())
    usable = [
        c for c in await channels.list_channels(session) if c.is_active and c.kind in installed
    ]
    choices = [
        (channel, point)
        for channel in usable
        for point in points
        if unreachable(runtime, ticket, channel, point) is None
    ]
    own = [c for c in choices if (c[0].id, c[1].id) == (ticket.channel_id, ticket.contact_point_id)]
    return own + [c for c in choices if c not in own]


async def queue_delivery(
    session: AsyncSession,
    ticket: Ticket,
    message: Message,
    *,
    channel_id: uuid.UUID | None = None,
    contact_point_id: uuid.UUID | None = None,
) -> Delivery | None:
    """Called when an agent replies: on the ticket's channel and contact point, or on
    those given (``reply_route``'s). API-only tickets (no channel) keep the reply on
    the ticket."""
    channel_id = channel_id or ticket.channel_id
    contact_point_id = contact_point_id or ticket.contact_point_id
    if channel_id is None or contact_point_id is None:
        return None
    delivery = Delivery(
        message_id=message.id,
        ticket_id=ticket.id,
        channel_id=channel_id,
        contact_point_id=contact_point_id,
        status="queued",
        attempts=[],
    )
    session.add(delivery)
    message.meta = {**message.meta, "delivery": "queued"}
    await session.flush()
    enqueue(session, "deliver", tenant_id=str(ticket.tenant_id), delivery_id=str(delivery.id))
    return delivery


async def queue_deliveries(
    session: AsyncSession, items: Sequence[tuple[Ticket, Message]]
) -> list[Delivery]:
    """``queue_delivery`` for many replies in one flush, a ``deliver`` job each."""
    deliveries: list[Delivery] = []
    for ticket, message in items:
        if ticket.channel_id is None or ticket.contact_point_id is None:
            continue
        deliveries.append(
            Delivery(
                id=new_id(),
                message_id=message.id,
                ticket_id=ticket.id,
                channel_id=ticket.channel_id,
                contact_point_id=ticket.contact_point_id,
                status="queued",
                attempts=[],
            )
        )
        if message.meta.get("delivery") != "queued":
            message.meta = {**message.meta, "delivery": "queued"}
    session.add_all(deliveries)
    await session.flush()
    for delivery in deliveries:
        enqueue(session, "deliver", tenant_id=str(delivery.tenant_id), delivery_id=str(delivery.id))
    return deliveries


async def _lock(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    stmt = select(Delivery).where(Delivery.id == delivery_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


def _backoff_ms(runtime: Runtime, attempt: int) -> int:
    return int(runtime.settings.delivery_backoff_ms * 2 ** (attempt - 1))


async def deliver(runtime: Runtime, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    claimed = await _claim(runtime, tenant_id, delivery_id)
    if claimed is None:
        return
    adapter, outbound = claimed
    timeout = runtime.settings.delivery_timeout_ms / 1000
    try:
        # Checked again at each attempt: a name may come to resolve to a
        # private address after the channel was saved (DNS rebinding).
        await egress.check_adapter(
            adapter.config, allow_private=runtime.settings.allow_private_targets
        )
        receipt = await asyncio.wait_for(adapter.deliver(outbound), timeout=timeout)
        if not isinstance(receipt, DeliveryReceipt):
            raise TypeError(f"deliver returned {type(receipt).__name__}, not a DeliveryReceipt")
    except egress.UnsafeTarget as exc:
        receipt = DeliveryReceipt(status="failed", error=f"refused: {exc.detail}", retryable=False)
    except TimeoutError:
        receipt = DeliveryReceipt(
            status="failed", error=f"no answer within {timeout:g} s", retryable=True
        )
    except Exception as exc:  # an adapter bug must not lose the reply
        log.exception("adapter %s raised while delivering %s", type(adapter).__name__, delivery_id)
        receipt = DeliveryReceipt(
            status="failed", error=f"adapter error: {type(exc).__name__}: {exc}", retryable=True
        )
    await _record(runtime, tenant_id, delivery_id, outbound.attempt, receipt)


async def _claim(
    runtime: Runtime, tenant_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[ChannelAdapter[Any], OutboundMessage] | None:
    async with runtime.db.session(tenant_id) as session:
        delivery = await _lock(session, delivery_id)
        now = utcnow()
        if delivery is None or delivery.status != "queued":
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            # Leased by another attempt, or scheduled for later (its own job will come).
            return None
        delivery.next_attempt_at = now + LEASE
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
        message = await tickets.get_message(session, delivery.message_id)
        ticket = await tickets.get_ticket_unchecked(session, delivery.ticket_id)
        channel = await channels.get_channel(session, delivery.channel_id)
        point = await identity.get_contact_point(session, delivery.contact_point_id)
        conversation = await session.scalar(
            select(Conversation.conversation_key).where(
                Conversation.ticket_id == ticket.id, Conversation.channel_id == channel.id
            )
        )
        # In-Reply-To: the customer's latest message; References: their earlier
        # ones and our replies before it, so every mail program keeps one thread.
        theirs = await tickets.sent_external_ids(
            session, ticket_id=ticket.id, channel_id=channel.id
        )
        ours = await _sent_message_ids(session, ticket.id, channel.id)
        reply_token = (
            await tickets.ensure_reply_token(session, ticket)
            if adapter_threads(runtime, channel.kind)
            else None
        )
        token = await channels.endpoint_token(session, channel.id)
        adapter = channels.build_adapter(runtime, cipher, channel, token)
        outbound = OutboundMessage(
            id=str(delivery.id),
            recipient=ContactRef(
                kind=point.kind,  # type: ignore[arg-type]
                value=identity.decrypt_contact(cipher, point),
                provider=point.provider,
            ),
            text=mask_sensitive_numbers(message.body_text),
            subject=f"Re: {ticket.subject} [{ticket.number}]",
            ticket_number=ticket.number,
            reply_token=reply_token,
            thread=ThreadHints(
                conversation_id=conversation,
                reply_token=reply_token,
                in_reply_to=theirs[-1:],
                references=[*theirs[:-1], *ours][-20:],
                ticket_number=ticket.number,
            ),
            attempt=len(delivery.attempts) + 1,
            automatic=bool(message.meta.get("automatic")),
        )
    return adapter, outbound


async def _record(
    runtime: Runtime,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    attempt: int,
    receipt: DeliveryReceipt,
) -> None:
    async with runtime.db.session(tenant_id) as session:
        delivery = await _lock(session, delivery_id)
        if delivery is None or delivery.status != "queued":
            return
        now = utcnow()
        delivery.attempts = [
            *delivery.attempts,
            {
                "attempt": attempt,
                "at": now.isoformat(),
                "status": receipt.status,
                "error": receipt.error,
                "external_id": receipt.external_id,
                "retryable": receipt.retryable,
            },
        ]
        delivery.updated_at = now
        message = await tickets.get_message(session, delivery.message_id)
        ticket = await tickets.get_ticket_unchecked(session, delivery.ticket_id)
        if receipt.status == "sent":
            delivery.status = "sent"
            delivery.external_id = receipt.external_id
            if receipt.external_id:
                # The customer's answer names this id (In-Reply-To): it finds the ticket.
                cipher = await load_tenant_cipher(session, runtime.keyring, tenant_id)
                await threading.remember(
                    session,
                    cipher,
                    ticket,
                    external_id=receipt.external_id,
                    direction=Direction.OUTBOUND,
                    message_id=message.id,
                )
            delivery.next_attempt_at = None
            message.meta = {**message.meta, "delivery": "sent", "attempts": attempt}
            await tickets.add_system_event(
                session, ticket, "reply_delivered", message_id=str(message.id), attempts=attempt
            )
            return
        delivery.last_error = receipt.error
        metrics.DELIVERY_ATTEMPTS_FAILED.labels(message.channel).inc()
        if receipt.retryable and attempt < runtime.settings.delivery_max_attempts:
            wait_ms = max(_backoff_ms(runtime, attempt), int((receipt.retry_after or 0) * 1000))
            delivery.next_attempt_at = now + dt.timedelta(milliseconds=wait_ms)
            message.meta = {**message.meta, "delivery": "retrying", "attempts": attempt}
            enqueue(
                session,
                "deliver",
                delay_ms=wait_ms,
                tenant_id=str(tenant_id),
                delivery_id=str(delivery_id),
            )
            return
        delivery.status = "failed"
        delivery.next_attempt_at = None
        metrics.DELIVERY_FAILURES.labels(message.channel).inc()
        message.meta = {
            **message.meta,
            "delivery": "failed",
            "attempts": attempt,
            "error": receipt.error,
        }
        await tickets.add_system_event(
            session,
            ticket,
            "delivery_failed",
            message_id=str(message.id),
            attempts=attempt,
            error=receipt.error,
        )


def adapter_threads(runtime: Runtime, kind: str) -> bool:
    """Whether the channel threads by what we send (email): it gets a reply token."""
    return runtime.registry.get(kind).capabilities.threads


async def _sent_message_ids(
    session: AsyncSession, ticket_id: uuid.UUID, channel_id: uuid.UUID
) -> list[str]:
    rows = await session.scalars(
        select(Delivery.external_id)
        .where(
            Delivery.ticket_id == ticket_id,
            Delivery.channel_id == channel_id,
            Delivery.status == "sent",
            Delivery.external_id.is_not(None),
        )
        .order_by(Delivery.id.desc())
        .limit(10)
    )
    return [r for r in reversed(rows.all()) if r]


async def list_deliveries(session: AsyncSession, ticket_id: uuid.UUID) -> list[Delivery]:
    stmt = select(Delivery).where(Delivery.ticket_id == ticket_id).order_by(Delivery.id)
    return list((await session.scalars(stmt)).all())
