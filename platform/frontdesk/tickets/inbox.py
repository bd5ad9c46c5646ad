"""The inbox's query: one list across channels, by view, filters and search, newest first.

Keyset pagination on the ticket id (UUIDv7, so creation order): a page is
an index range under each view's ``(tenant_id, column, id)`` index, never
an OFFSET. Search is PostgreSQL full text (``simple`` configuration) over
each ticket's ``search_vector``: its subject and every message body, kept
by triggers (migration 0016); on SQLite a substring match of the subject or
a message body.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

import msgspec
from sqlalchemy import Select, func, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth.service import Principal
from frontdesk.clock import now as clock_now
from frontdesk.errors import InvalidInput
from frontdesk.tickets.models import Message, Ticket
from frontdesk.tickets.service import readable
from frontdesk.tickets.states import OPEN_STATES, Priority, TicketState

MAX_QUERY = 200


class View(StrEnum):
    OPEN = "open"  # every open ticket the user may see
    MINE = "mine"
    TEAM = "team"
    UNASSIGNED = "unassigned"
    ESCALATED = "escalated"
    BREACHING = "breaching"
    HANDOFFS = "handoffs"  # open hand-offs asked of my teams
    ALL = "all"


class InboxQuery(msgspec.Struct, frozen=True, kw_only=True):
    view: View = View.OPEN
    state: TicketState | None = None
    priority: Priority | None = None
    channel: str | None = None
    team_id: uuid.UUID | None = None
    q: str | None = None


# A clock due within this is "breaching" already: the agent still has time to act.
BREACHING_WITHIN = dt.timedelta(minutes=30)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def inbox_statement(
    principal: Principal, query: InboxQuery, *, postgres: bool, now: dt.datetime | None = None
) -> Select[Ticket]:
    """The view's and filters' candidates (without search, order, cursor and limit)."""
    from frontdesk.handoffs.service import open_handoff_ticket_ids
    from frontdesk.routing.sla import breaching_ticket_ids

    stmt = readable(principal)
    view = query.view
    if view is View.OPEN:
        stmt = stmt.where(Ticket.state.in_([s.value for s in OPEN_STATES]))
    elif view is View.MINE:
        stmt = stmt.where(
            Ticket.assignee_id == principal.user_id,
            Ticket.state.in_([s.value for s in OPEN_STATES]),
        )
    elif view is View.TEAM:
        stmt = stmt.where(
            Ticket.team_id.in_(sorted(principal.team_ids)),
            Ticket.state.in_([s.value for s in OPEN_STATES]),
        )
    elif view is View.UNASSIGNED:
        stmt = stmt.where(
            Ticket.assignee_id.is_(None), Ticket.state.in_([s.value for s in OPEN_STATES])
        )
    elif view is View.ESCALATED:
        stmt = stmt.where(Ticket.state == TicketState.ESCALATED.value)
    elif view is View.BREACHING:
        stmt = stmt.where(
            Ticket.id.in_(breaching_ticket_ids((now or clock_now()) + BREACHING_WITHIN))
        )
    elif view is View.HANDOFFS:
        stmt = stmt.where(Ticket.id.in_(open_handoff_ticket_ids(principal.team_ids)))
    if query.state is not None:
        stmt = stmt.where(Ticket.state == query.state.value)
    if query.priority is not None:
        stmt = stmt.where(Ticket.priority == query.priority.value)
    if query.channel:
        stmt = stmt.where(Ticket.channel == query.channel)
    if query.team_id is not None:
        stmt = stmt.where(Ticket.team_id == query.team_id)
    return stmt


def _search_terms(query: InboxQuery) -> str:
    words = (query.q or "").strip()
    if len(words) > MAX_QUERY:
        raise InvalidInput(f"a search is at most {MAX_QUERY} characters")
    return words


# PostgreSQL only, and never loaded: the model does not map it (migration 0016).
SEARCH_VECTOR = literal_column("tickets.search_vector", type_=TSVECTOR)


def _search(stmt: Select[Ticket], words: str, *, postgres: bool) -> Select[Ticket]:
    """The tickets whose subject or messages hold every one of ``words``.

    On PostgreSQL a condition on the ticket row itself, so the planner
    weighs the word against the column's statistics: a common word is
    tested on each ticket of the newest-first index scan until the page is
    full, a rare one is found through the GIN index (docs/benchmarks.md).
    """
    if postgres:
        # 'simple': no stemming, so Chinese and English words alike match as typed.
        simple: Any = literal_column("'simple'::regconfig")
        return stmt.where(SEARCH_VECTOR.op("@@")(func.plainto_tsquery(simple, words)))
    pattern = f"%{_escape_like(words)}%"
    in_messages = select(Message.ticket_id).where(Message.body_text.ilike(pattern, escape="\\"))
    return stmt.where(or_(Ticket.subject.ilike(pattern, escape="\\"), Ticket.id.in_(in_messages)))


async def inbox_page(
    session: AsyncSession,
    principal: Principal,
    query: InboxQuery,
    *,
    limit: int,
    before: uuid.UUID | None = None,
) -> list[Ticket]:
    """Up to ``limit`` tickets older than the cursor, newest first."""
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = inbox_statement(principal, query, postgres=postgres)
    if before is not None:
        stmt = stmt.where(Ticket.id < before)
    stmt = stmt.order_by(Ticket.id.desc())
    words = _search_terms(query)
    if words:
        stmt = _search(stmt, words, postgres=postgres)
        if postgres:
            # A plan for these words, never a prepared statement's generic one:
            # the generic plan cannot tell a common word from a rare one, and the
            # plan right for one reads the whole tenant for the other. (For the
            # rest of this transaction: the request's other queries plan alike.)
            await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    return list((await session.scalars(stmt.limit(limit))).all())
