"""Canned replies: CRUD, audited, and their placeholders filled in for one ticket.

Placeholders are a fixed list substituted once, as plain text: a value that
itself looks like ``{{…}}`` (a customer named ``{{agent.name}}``) is not
expanded again, and nothing in a reply's text is ever evaluated. The pages
escape the result like any other text.
"""

from __future__ import annotations

import re
import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.service import record
from frontdesk.auth.permissions import Permission
from frontdesk.auth.service import Principal
from frontdesk.canned.models import CannedReply
from frontdesk.db import utcnow
from frontdesk.errors import Conflict, InvalidInput, NotFound

PLACEHOLDERS = (
    "customer.name",
    "agent.name",
    "ticket.number",
    "ticket.subject",
    "tenant.name",
)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
MAX_BODY = 20_000


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """The values one rendering fills in."""

    customer_name: str = ""
    agent_name: str = ""
    ticket_number: str = ""
    ticket_subject: str = ""
    tenant_name: str = ""


def check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise InvalidInput("a canned reply needs a body")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"a canned reply is at most {MAX_BODY:,} characters")
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(body)} - set(PLACEHOLDERS))
    if unknown:
        raise InvalidInput(
            f"unknown placeholder(s): {', '.join(unknown)}; known: {', '.join(PLACEHOLDERS)}"
        )
    return body


def _check_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > 200:
        raise InvalidInput("a title is 1–200 characters")
    return title


def render(body: str, context: Context) -> str:
    """Fill the placeholders in one pass; the result is plain text."""
    values = {
        "customer.name": context.customer_name,
        "agent.name": context.agent_name,
        "ticket.number": context.ticket_number,
        "ticket.subject": context.ticket_subject,
        "tenant.name": context.tenant_name,
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


async def list_replies(session: AsyncSession) -> list[CannedReply]:
    return list((await session.scalars(select(CannedReply).order_by(CannedReply.title))).all())


async def get_reply(session: AsyncSession, reply_id: uuid.UUID) -> CannedReply:
    row = await session.scalar(select(CannedReply).where(CannedReply.id == reply_id))
    if row is None:
        raise NotFound("no such canned reply")
    return row


async def _check_unique(session: AsyncSession, title: str, reply_id: uuid.UUID | None) -> None:
    found = await session.scalar(select(CannedReply.id).where(CannedReply.title == title))
    if found is not None and found != reply_id:
        raise Conflict(f"a canned reply titled {title!r} exists")


async def create_reply(
    session: AsyncSession, actor: Principal | None, *, title: str, body: str
) -> CannedReply:
    """``actor`` None: no signed-in user writes it (a tenant manifest); no author is kept."""
    if actor is not None:
        actor.require(Permission.CANNED_REPLIES_MANAGE)
    title, body = _check_title(title), check_body(body)
    await _check_unique(session, title, None)
    author = actor.user_id if actor is not None else None
    row = CannedReply(title=title, body=body, created_by=author)
    session.add(row)
    await session.flush()
    await record(
        session,
        actor_user_id=author,
        action="canned_reply.created",
        subject_type="canned_reply",
        subject_id=row.id,
        title=title,
    )
    return row


async def update_reply(
    session: AsyncSession,
    actor: Principal,
    row: CannedReply,
    *,
    title: str | None = None,
    body: str | None = None,
) -> CannedReply:
    actor.require(Permission.CANNED_REPLIES_MANAGE)
    if title is not None:
        title = _check_title(title)
        await _check_unique(session, title, row.id)
        row.title = title
    if body is not None:
        row.body = check_body(body)
    row.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="canned_reply.updated",
        subject_type="canned_reply",
        subject_id=row.id,
        title=row.title,
    )
    return row


async def delete_reply(session: AsyncSession, actor: Principal, row: CannedReply) -> None:
    actor.require(Permission.CANNED_REPLIES_MANAGE)
    await session.delete(row)
    await session.flush()
    await record(
        session,
        actor_user_id=actor.user_id,
        action="canned_reply.deleted",
        subject_type="canned_reply",
        subject_id=row.id,
        title=row.title,
    )


async def context_for(session: AsyncSession, principal: Principal, ticket_id: uuid.UUID) -> Context:
    """The placeholders' values on one ticket the principal may read (else 404)."""
    from frontdesk.auth.service import get_user
    from frontdesk.identity.service import get_customer
    from frontdesk.tenancy.service import get_tenant
    from frontdesk.tickets.service import get_ticket

    ticket = await get_ticket(session, principal, ticket_id)
    customer = await get_customer(session, ticket.customer_id)
    agent = await get_user(session, principal.user_id)
    tenant = await get_tenant(session, principal.tenant_id)
    return Context(
        customer_name=customer.display_name,
        agent_name=agent.display_name,
        ticket_number=ticket.number,
        ticket_subject=ticket.subject,
        tenant_name=tenant.name,
    )
