"""HTTP API for tickets, their messages and event timeline, and ticket categories."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from frontdesk.api.deps import Actor, Db, Rt, needs
from frontdesk.api.pagination import Page, check_limit, decode_cursor, next_cursor
from frontdesk.auth.permissions import Permission as P
from frontdesk.channels import delivery
from frontdesk.errors import InvalidInput
from frontdesk.tickets import schemas as s
from frontdesk.tickets import service as tickets
from frontdesk.tickets.states import MessageKind, Priority, TicketState

# Litestar reserves the parameter name ``state`` for the app state.
StateQuery = Annotated[list[TicketState] | None, QueryParameter(name="state")]


class TicketController(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]

    @get("/", opt=needs(P.TICKETS_READ))
    async def list_tickets(
        self,
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        states: StateQuery = None,
        priority: FromQuery[list[Priority] | None] = None,
        assignee_id: FromQuery[uuid.UUID | None] = None,
        unassigned: FromQuery[bool] = False,
        team_id: FromQuery[uuid.UUID | None] = None,
        customer_id: FromQuery[uuid.UUID | None] = None,
        channel: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
    ) -> Page[s.TicketOut]:
        """Newest first; only the tickets the caller may read. ``state`` and ``priority`` repeat."""
        check_limit(limit)
        filters = tickets.TicketFilter(
            state=states,
            priority=priority,
            assignee_id=assignee_id,
            unassigned=unassigned,
            team_id=team_id,
            customer_id=customer_id,
            channel=channel,
            category=category,
            # Tags are stored trimmed and lower-cased; ask in the same form.
            tag=tag.strip().lower() if tag else None,
        )
        rows = await tickets.list_tickets(
            db, principal, filters, limit=limit + 1, before=decode_cursor(cursor)
        )
        return Page(
            items=[s.TicketOut.of(t) for t in rows[:limit]],
            next_cursor=next_cursor([t.id for t in rows], limit),
        )

    @post("/", opt=needs(P.TICKETS_CREATE))
    async def create_ticket(
        self, data: JSONBody[s.TicketIn], db: Db, principal: Actor
    ) -> s.TicketOut:
        """Open a ticket for a customer.

        A ``body`` becomes the ticket's first message as an internal note by the
        creating user, not as a message from the customer: the words were typed
        by staff (a phone call logged, an integration's summary), and a public
        reply would be sent to the customer. Notes need ``tickets.note``; the
        customer's own messages arrive through the channels.
        """
        ticket = await tickets.open_ticket(
            db,
            actor_user_id=principal.user_id,
            customer_id=data.customer_id,
            subject=data.subject,
            channel=data.channel,
            priority=data.priority,
            category=data.category,
            team_id=data.team_id,
            assignee_id=data.assignee_id,
            tags=data.tags,
            mood=data.mood,
            expected_by=data.expected_by,
            language=data.language,
            product=data.product,
        )
        if data.body is not None:
            await tickets.add_agent_message(
                db, principal, ticket, kind=MessageKind.NOTE, body=data.body
            )
        return s.TicketOut.of(ticket)

    @get("/{ticket_id:uuid}", opt=needs(P.TICKETS_READ))
    async def get_ticket(
        self, ticket_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> s.TicketOut:
        return s.TicketOut.of(await tickets.get_ticket(db, principal, ticket_id))

    @patch("/{ticket_id:uuid}", opt=needs(P.TICKETS_UPDATE))
    async def update_ticket(
        self,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[s.TicketPatch],
        db: Db,
        principal: Actor,
    ) -> s.TicketOut:
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        await tickets.update_ticket(db, principal, ticket, data.to_changes())
        return s.TicketOut.of(ticket)

    # Escalating needs tickets.escalate, every other move tickets.update: the
    # service decides, knowing the target state.
    @post("/{ticket_id:uuid}/state", opt=needs(P.TICKETS_READ), status_code=HTTP_200_OK)
    async def change_state(
        self, ticket_id: FromPath[uuid.UUID], data: JSONBody[s.StateIn], db: Db, principal: Actor
    ) -> s.TicketOut:
        """Move the ticket along its life; an illegal transition is a 409 illegal-transition."""
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        await tickets.change_state(db, principal, ticket, data.state, reason=data.reason)
        return s.TicketOut.of(ticket)

    @post("/{ticket_id:uuid}/assign", opt=needs(P.TICKETS_ASSIGN), status_code=HTTP_200_OK)
    async def assign(
        self, ticket_id: FromPath[uuid.UUID], data: JSONBody[s.AssignIn], db: Db, principal: Actor
    ) -> s.TicketOut:
        """Assign to a user and/or hand off to a team; an absent field stays, null clears."""
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        await tickets.assign(
            db, principal, ticket, assignee_id=data.assignee_id, team_id=data.team_id
        )
        return s.TicketOut.of(ticket)

    @post("/{ticket_id:uuid}/merge", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_200_OK)
    async def merge(
        self, ticket_id: FromPath[uuid.UUID], data: JSONBody[s.MergeIn], db: Db, principal: Actor
    ) -> s.TicketOut:
        """Merge this ticket into ``into_ticket_id`` (both the same customer's, both
        readable by the caller): its messages move there, it closes with a link,
        both timelines and the audit log say so. Answers with the surviving ticket."""
        source = await tickets.get_ticket(db, principal, ticket_id)
        target = await tickets.get_ticket(db, principal, data.into_ticket_id)
        return s.TicketOut.of(await tickets.merge_tickets(db, principal, source, target))

    @get("/{ticket_id:uuid}/messages", opt=needs(P.TICKETS_READ))
    async def list_messages(
        self,
        ticket_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Page[s.MessageOut]:
        """Oldest first, replies and notes alike."""
        check_limit(limit)
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        rows = await tickets.list_messages(db, ticket, limit=limit + 1, after=decode_cursor(cursor))
        return Page(
            items=[s.MessageOut.of(m) for m in rows[:limit]],
            next_cursor=next_cursor([m.id for m in rows], limit),
        )

    # A reply needs tickets.reply, a note tickets.note: the service decides by kind.
    @post("/{ticket_id:uuid}/messages", opt=needs(P.TICKETS_READ))
    async def add_message(
        self,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[s.MessageIn],
        db: Db,
        principal: Actor,
        runtime: Rt,
    ) -> s.MessageOut:
        """An agent's public reply (the first sets first_response_at) or internal note.

        A reply may name ``channel_id`` and/or ``contact_point_id`` to go out on
        another of the customer's linked channels (needs ``customers.read`` too);
        it stays on this ticket, with its channel.
        """
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        route = None
        if data.channel_id is not None or data.contact_point_id is not None:
            if data.kind is not MessageKind.REPLY:
                raise InvalidInput("a note stays inside; only a reply goes out on a channel")
            route = await delivery.reply_route(
                db,
                runtime,
                principal,
                ticket,
                channel_id=data.channel_id,
                contact_point_id=data.contact_point_id,
            )
        message = await tickets.add_agent_message(
            db, principal, ticket, kind=data.kind, body=data.body, route=route
        )
        return s.MessageOut.of(message)

    @get("/{ticket_id:uuid}/events", opt=needs(P.TICKETS_READ))
    async def list_events(
        self,
        ticket_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Page[s.EventOut]:
        """The append-only timeline: who changed what, when; oldest first."""
        check_limit(limit)
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        rows = await tickets.list_events(db, ticket, limit=limit + 1, after=decode_cursor(cursor))
        return Page(
            items=[s.EventOut.of(e) for e in rows[:limit]],
            next_cursor=next_cursor([e.id for e in rows], limit),
        )


class CategoryController(Controller):
    path = "/api/v1/categories"
    tags = ["tickets"]

    @get("/", opt=needs(P.TICKETS_READ))
    async def list_categories(self, db: Db, principal: Actor) -> list[s.CategoryOut]:
        return [s.CategoryOut.of(c) for c in await tickets.list_categories(db)]

    @post("/", opt=needs(P.CATEGORIES_MANAGE))
    async def create_category(
        self, data: JSONBody[s.CategoryIn], db: Db, principal: Actor
    ) -> s.CategoryOut:
        if not data.name.strip():
            raise InvalidInput("a category name is 1–200 characters")
        category = await tickets.create_category(
            db, principal, slug=data.slug, name=data.name.strip(), parent_slug=data.parent_slug
        )
        return s.CategoryOut.of(category)


CONTROLLERS = [TicketController, CategoryController]
