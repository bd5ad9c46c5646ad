"""HTTP API for hand-offs: request one on a ticket, list a ticket's or a team's, act on one."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from frontdesk.api.deps import Actor, Db, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.handoffs import service as handoffs
from frontdesk.handoffs.service import ActionIn, HandoffIn, HandoffOut
from frontdesk.tickets.service import get_ticket


class HandoffController(Controller):
    path = "/api/v1"
    tags = ["handoffs"]

    @post(
        "/tickets/{ticket_id:uuid}/handoffs",
        opt=needs(P.TICKETS_ESCALATE),
        status_code=HTTP_201_CREATED,
    )
    async def request(
        self, ticket_id: FromPath[uuid.UUID], data: JSONBody[HandoffIn], db: Db, principal: Actor
    ) -> HandoffOut:
        """Ask another team for work on this ticket, due at ``due_at`` or in ``due_minutes``."""
        ticket = await get_ticket(db, principal, ticket_id)
        return handoffs.out(await handoffs.request(db, principal, ticket, data))

    @get("/tickets/{ticket_id:uuid}/handoffs", opt=needs(P.TICKETS_READ))
    async def for_ticket(
        self, ticket_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[HandoffOut]:
        ticket = await get_ticket(db, principal, ticket_id)
        return [handoffs.out(h) for h in await handoffs.for_ticket(db, ticket.id)]

    @get("/handoffs", opt=needs(P.TICKETS_READ))
    async def queue(
        self,
        db: Db,
        principal: Actor,
        team: Annotated[uuid.UUID | None, QueryParameter(name="team")] = None,
        status: Annotated[
            list[Literal["requested", "accepted", "done", "declined"]] | None,
            QueryParameter(name="status"),
        ] = None,
    ) -> list[HandoffOut]:
        """A team's queue: hand-offs asked of it or by it (default: the caller's teams)."""
        return [handoffs.out(h) for h in await handoffs.queue(db, principal, team, status)]

    @get("/handoffs/{handoff_id:uuid}", opt=needs(P.TICKETS_READ))
    async def get_one(
        self, handoff_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> HandoffOut:
        return handoffs.out(await handoffs.get(db, principal, handoff_id))

    async def _act(
        self, db: Db, principal: Actor, handoff_id: uuid.UUID, action: str, data: ActionIn | None
    ) -> HandoffOut:
        note = data.note if data is not None else None
        return handoffs.out(await handoffs.act(db, principal, handoff_id, action, note))

    @post(
        "/handoffs/{handoff_id:uuid}/accept", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_200_OK
    )
    async def accept(
        self,
        handoff_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        data: JSONBody[ActionIn | None] = None,
    ) -> HandoffOut:
        return await self._act(db, principal, handoff_id, "accept", data)

    @post("/handoffs/{handoff_id:uuid}/done", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_200_OK)
    async def done(
        self,
        handoff_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        data: JSONBody[ActionIn | None] = None,
    ) -> HandoffOut:
        return await self._act(db, principal, handoff_id, "done", data)

    @post(
        "/handoffs/{handoff_id:uuid}/decline", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_200_OK
    )
    async def decline(
        self,
        handoff_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        data: JSONBody[ActionIn | None] = None,
    ) -> HandoffOut:
        return await self._act(db, principal, handoff_id, "decline", data)


CONTROLLERS = [HandoffController]
