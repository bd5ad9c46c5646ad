"""What follows a customer's message landing on a ticket, and what a bounce does.

After a message: its provider id is indexed for threading, its attachments
are linked, a failing address that wrote again is working, and a new
ticket is acknowledged if the channel says so (never for automatic mail).
A bounce (a ``delivery_status`` event) marks the recipient's address as
failing and is recorded on the ticket whose message bounced.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.attachments import service as attachments
from frontdesk.channels import threading
from frontdesk.channels.models import ChannelInstance, Delivery
from frontdesk.channels.settings import settings_of
from frontdesk.channels.types import ChannelEvent
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.identity import service as identity
from frontdesk.identity.models import ContactPoint
from frontdesk.identity.normalise import ContactKind
from frontdesk.tickets import service as tickets
from frontdesk.tickets.models import Message, Ticket
from frontdesk.tickets.states import Direction

# Anything shaped like an address, removed from bounce diagnostics before they
# are stored in the clear ("550 5.1.1 <li.wei@example.com>: user unknown").
_ADDRESS = re.compile(r"<?[^\s<>@;,\"']+@[^\s<>;,\"']+>?")


@dataclass(frozen=True, kw_only=True)
class Arrived:
    """A customer's message just stored on its ticket."""

    channel: ChannelInstance
    ticket: Ticket
    message: Message
    point: ContactPoint
    new_ticket: bool
    automatic: str | None


async def after_inbound_many(
    session: AsyncSession, cipher: TenantCipher, arrived: Sequence[Arrived]
) -> None:
    """What follows messages landing, for many at once (an ingestion batch)."""
    await tickets.record_message_refs(
        session,
        [
            (a.ticket, threading.ref_index(cipher, a.message.external_id), Direction.INBOUND,
             a.message.id)
            for a in arrived
            if a.message.external_id
        ],
    )  # fmt: skip
    for a in arrived:
        # The stored message lists its attachments (bytes already kept apart).
        if a.message.external_id and a.message.meta.get("attachments"):
            listed = await attachments.link(
                session,
                cipher,
                channel_id=a.channel.id,
                external_id=a.message.external_id,
                message_id=a.message.id,
            )
            if listed:
                a.message.meta = {**a.message.meta, "attachments": listed}
        failing_since = a.point.failing_since
        if failing_since is None or a.message.created_at >= failing_since:
            # Written after the bounce (by its Date), so the address works again;
            # mail written before it and ingested late does not say so.
            await identity.mark_contact_working(session, a.point)
        if a.new_ticket and not a.automatic:
            settings = settings_of(a.channel.settings)
            if settings.acknowledge_new_tickets:
                await tickets.add_automatic_reply(
                    session,
                    a.ticket,
                    text=settings.acknowledgement_text.replace("{number}", a.ticket.number),
                    reason="acknowledgement",
                )


async def after_inbound(
    session: AsyncSession,
    cipher: TenantCipher,
    channel: ChannelInstance,
    ticket: Ticket,
    message: Message,
    point: ContactPoint,
    *,
    new_ticket: bool,
    automatic: str | None,
) -> None:
    await after_inbound_many(
        session,
        cipher,
        [
            Arrived(
                channel=channel,
                ticket=ticket,
                message=message,
                point=point,
                new_ticket=new_ticket,
                automatic=automatic,
            )
        ],
    )


def scrub(text: str) -> str:
    """A diagnostic without the addresses in it."""
    return _ADDRESS.sub("<address>", text)[:300]


async def delivery_status(
    session: AsyncSession, cipher: TenantCipher, channel: ChannelInstance, event: ChannelEvent
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """A bounce: the failed address is marked failing; the ticket of the bounced message says so."""
    data = event.data
    status = str(data.get("status") or "")[:32]
    diagnostic = scrub(str(data.get("diagnostic") or ""))
    reason = " ".join(p for p in (status, diagnostic) if p) or "delivery failed"
    recipient = data.get("failed_recipient")
    point = None
    if isinstance(recipient, str) and recipient:
        point = await identity.mark_contact_failing(
            session, cipher, kind=ContactKind.EMAIL, value=recipient, reason=reason
        )
    originals = [*event.thread.in_reply_to]
    original = data.get("original_message_id")
    if isinstance(original, str) and original:
        originals.insert(0, original)
    ticket = await threading.ticket_of_sent_message(session, cipher, originals)
    if ticket is None and event.thread.reply_token:
        ticket = await tickets.find_by_reply_token(session, event.thread.reply_token)
    if ticket is None:
        return None, None
    bounced = await session.scalar(
        select(Delivery).where(
            Delivery.ticket_id == ticket.id, Delivery.external_id.in_(originals or [""])
        )
    )
    if bounced is not None:
        bounced.status = "bounced"
        bounced.last_error = reason
        message = await tickets.get_message(session, bounced.message_id)
        message.meta = {**message.meta, "delivery": "bounced", "error": reason}
    await tickets.add_system_event(
        session,
        ticket,
        "delivery_bounced",
        status=status,
        diagnostic=diagnostic,
        contact_point_id=str(point.id) if point is not None else None,
        message_id=str(bounced.message_id) if bounced is not None else None,
    )
    return ticket.id, None
