"""Explainable threading of a customer's message onto a ticket, and the index it uses.

In order, each scoped to the tenant (the session) and to the sender's
customer: our reply token (``support+<token>@``, or carried in one of our
Message-IDs), then In-Reply-To and References matched against the Message-IDs
of the ticket's stored inbound and outbound messages, then a ticket number in
the subject. Message-IDs are kept only as keyed hashes (``message_refs``):
they can hold addresses.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.channels.types import ThreadHints
from frontdesk.crypto.cipher import TenantCipher
from frontdesk.tickets import service as tickets
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.states import Direction

# At most this many ids of a References header are looked up (the newest).
MAX_REFS = 50


def ref_index(cipher: TenantCipher, external_id: str) -> str:
    """The keyed hash a provider message id is stored and looked up by."""
    value = external_id.strip()
    if not (value.startswith("<") and value.endswith(">")):
        value = f"<{value}>"
    return cipher.blind_index("message-id", value.lower())


async def find_ticket(
    session: AsyncSession,
    cipher: TenantCipher,
    *,
    customer_id: uuid.UUID,
    hints: ThreadHints,
) -> tuple[Ticket, str] | None:
    """The ticket these hints name for this customer, and why; None for none."""
    if hints.reply_token:
        ticket = await tickets.find_by_reply_token(session, hints.reply_token)
        if ticket is not None and ticket.customer_id == customer_id:
            return ticket, f"reply token of {ticket.number}"
    in_reply_to = [ref_index(cipher, r) for r in reversed(hints.in_reply_to)]
    references = [ref_index(cipher, r) for r in reversed(hints.references[-MAX_REFS:])]
    found = await tickets.find_by_message_refs(
        session, in_reply_to + references, customer_id=customer_id
    )
    if found is not None:
        ticket, matched = found
        header = "In-Reply-To" if matched in in_reply_to else "References"
        return ticket, f"{header} names a message of {ticket.number}"
    if hints.ticket_number:
        ticket = await tickets.find_by_number(session, hints.ticket_number)
        if ticket is not None and ticket.customer_id == customer_id:
            return ticket, f"ticket number {ticket.number}"
    return None


async def ticket_of_sent_message(
    session: AsyncSession, cipher: TenantCipher, message_ids: list[str]
) -> Ticket | None:
    """The ticket one of our sent messages belongs to (a bounce names it)."""
    found = await tickets.find_by_message_refs(
        session,
        [ref_index(cipher, m) for m in message_ids],
        customer_id=None,
        direction=Direction.OUTBOUND,
    )
    return found[0] if found is not None else None


async def remember(
    session: AsyncSession,
    cipher: TenantCipher,
    ticket: Ticket,
    *,
    external_id: str,
    direction: Direction,
    message_id: uuid.UUID | None,
) -> None:
    """Index a message's provider id so later replies naming it find the ticket."""
    await tickets.record_message_ref(
        session,
        ticket,
        ref_index=ref_index(cipher, external_id),
        direction=direction,
        message_id=message_id,
    )
