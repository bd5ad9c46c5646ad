"""HTTP API for incidents: mark a ticket, link and unlink tickets, post updates, resolve."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from frontdesk.api.deps import Actor, Db, needs
from frontdesk.api.pagination import Page, check_limit, decode_cursor, next_cursor
from frontdesk.auth.permissions import Permission as P
from frontdesk.incidents import service as incidents
from frontdesk.incidents.service import (
    IncidentIn,
    IncidentOut,
    LinksIn,
    ResolveIn,
    UpdateIn,
    UpdateOut,
)
from frontdesk.tickets.schemas import TicketOut
from frontdesk.tickets.service import get_ticket


class LinkedOut(msgspec.Struct, frozen=True, kw_only=True):
    incident: IncidentOut
    #: How many of the named tickets were linked by this call (the rest already were).
    newly_linked: int


class IncidentController(Controller):
    path = "/api/v1/incidents"
    tags = ["incidents"]

    @post("/", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_201_CREATED)
    async def create(self, data: JSONBody[IncidentIn], db: Db, principal: Actor) -> IncidentOut:
        """Mark a ticket as an incident (突发应急事件); customers' tickets are then linked to it."""
        ticket = await get_ticket(db, principal, data.ticket_id)
        return await incidents.out(db, await incidents.mark(db, principal, ticket))

    @get("/", opt=needs(P.TICKETS_READ))
    async def list_incidents(
        self,
        db: Db,
        principal: Actor,
        status: Annotated[Literal["open", "resolved"] | None, QueryParameter(name="status")] = None,
    ) -> list[IncidentOut]:
        """Newest first (at most 200), those whose ticket the caller may read."""
        return [
            await incidents.out(db, i)
            for i in await incidents.list_incidents(db, principal, status)
        ]

    @get("/{incident_id:uuid}", opt=needs(P.TICKETS_READ))
    async def get_one(
        self, incident_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> IncidentOut:
        return await incidents.out(db, await incidents.get_incident(db, principal, incident_id))

    @post("/{incident_id:uuid}/links", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_200_OK)
    async def link(
        self, incident_id: FromPath[uuid.UUID], data: JSONBody[LinksIn], db: Db, principal: Actor
    ) -> LinkedOut:
        """Link up to 1,000 tickets at a time: all of them, or none if one cannot be."""
        incident = await incidents.get_incident(db, principal, incident_id)
        added = await incidents.link(db, principal, incident, data.ticket_ids)
        return LinkedOut(incident=await incidents.out(db, incident), newly_linked=added)

    @get("/{incident_id:uuid}/links", opt=needs(P.TICKETS_READ))
    async def linked(
        self,
        incident_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Page[TicketOut]:
        """The linked tickets, oldest first."""
        check_limit(limit)
        incident = await incidents.get_incident(db, principal, incident_id)
        rows = await incidents.linked_tickets(
            db, principal, incident, limit=limit + 1, after=decode_cursor(cursor)
        )
        return Page(
            items=[TicketOut.of(t) for t in rows[:limit]],
            next_cursor=next_cursor([t.id for t in rows], limit),
        )

    @delete("/{incident_id:uuid}/links/{ticket_id:uuid}", opt=needs(P.TICKETS_UPDATE))
    async def unlink(
        self,
        incident_id: FromPath[uuid.UUID],
        ticket_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
    ) -> None:
        incident = await incidents.get_incident(db, principal, incident_id)
        await incidents.unlink(db, principal, incident, ticket_id)

    @post("/{incident_id:uuid}/updates", opt=needs(P.TICKETS_REPLY), status_code=HTTP_201_CREATED)
    async def post_update(
        self, incident_id: FromPath[uuid.UUID], data: JSONBody[UpdateIn], db: Db, principal: Actor
    ) -> UpdateOut:
        """One reply on every linked ticket that is not closed, each on its own channel."""
        incident = await incidents.get_incident(db, principal, incident_id)
        return UpdateOut.of(await incidents.post_update(db, principal, incident, data.body))

    @get("/{incident_id:uuid}/updates", opt=needs(P.TICKETS_READ))
    async def list_updates(
        self, incident_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[UpdateOut]:
        incident = await incidents.get_incident(db, principal, incident_id)
        return [UpdateOut.of(u) for u in await incidents.list_updates(db, incident)]

    @post("/{incident_id:uuid}/resolve", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_200_OK)
    async def resolve(
        self,
        incident_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        data: JSONBody[ResolveIn | None] = None,
    ) -> IncidentOut:
        """Resolve the incident and every open linked ticket; ``body``, if given, is
        sent to them first as the last update."""
        incident = await incidents.get_incident(db, principal, incident_id)
        body = data.body if data is not None else None
        return await incidents.out(db, await incidents.resolve(db, principal, incident, body))


CONTROLLERS = [IncidentController]
