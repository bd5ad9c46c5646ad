"""HTTP API for canned replies: every ticket reader uses them, admins manage them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from frontdesk.api.deps import Actor, Db, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.canned import service as canned
from frontdesk.canned.models import CannedReply

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=canned.MAX_BODY)]


class CannedReplyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title
    body: Body


class CannedReplyPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title | None = None
    body: Body | None = None


class CannedReplyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    title: str
    body: str
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: CannedReply) -> CannedReplyOut:
        return cls(
            id=row.id,
            title=row.title,
            body=row.body,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class RenderedOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    ticket_id: uuid.UUID
    text: str


class CannedReplyController(Controller):
    path = "/api/v1/canned-replies"
    tags = ["canned replies"]

    @get("/", opt=needs(P.TICKETS_READ))
    async def list_replies(self, db: Db, principal: Actor) -> list[CannedReplyOut]:
        """By title. Placeholders: ``{{customer.name}}``, ``{{agent.name}}``, ``{{ticket.number}}``,
        ``{{ticket.subject}}``, ``{{tenant.name}}``."""
        return [CannedReplyOut.of(r) for r in await canned.list_replies(db)]

    @post("/", opt=needs(P.CANNED_REPLIES_MANAGE))
    async def create_reply(
        self, data: JSONBody[CannedReplyIn], db: Db, principal: Actor
    ) -> CannedReplyOut:
        """An unknown placeholder is refused (400), so a typo is not sent to a customer."""
        row = await canned.create_reply(db, principal, title=data.title, body=data.body)
        return CannedReplyOut.of(row)

    @get("/{reply_id:uuid}", opt=needs(P.TICKETS_READ))
    async def get_reply(
        self, reply_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> CannedReplyOut:
        return CannedReplyOut.of(await canned.get_reply(db, reply_id))

    @patch("/{reply_id:uuid}", opt=needs(P.CANNED_REPLIES_MANAGE))
    async def update_reply(
        self,
        reply_id: FromPath[uuid.UUID],
        data: JSONBody[CannedReplyPatch],
        db: Db,
        principal: Actor,
    ) -> CannedReplyOut:
        row = await canned.get_reply(db, reply_id)
        await canned.update_reply(db, principal, row, title=data.title, body=data.body)
        return CannedReplyOut.of(row)

    @delete("/{reply_id:uuid}", opt=needs(P.CANNED_REPLIES_MANAGE))
    async def delete_reply(self, reply_id: FromPath[uuid.UUID], db: Db, principal: Actor) -> None:
        await canned.delete_reply(db, principal, await canned.get_reply(db, reply_id))


class TicketCannedReplyController(Controller):
    path = "/api/v1/tickets/{ticket_id:uuid}/canned-replies"
    tags = ["canned replies"]

    @get("/{reply_id:uuid}", opt=needs(P.TICKETS_READ))
    async def render_reply(
        self,
        ticket_id: FromPath[uuid.UUID],
        reply_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
    ) -> RenderedOut:
        """The reply's text for this ticket, placeholders filled in (plain text)."""
        context = await canned.context_for(db, principal, ticket_id)
        row = await canned.get_reply(db, reply_id)
        return RenderedOut(id=row.id, ticket_id=ticket_id, text=canned.render(row.body, context))


CONTROLLERS = [CannedReplyController, TicketCannedReplyController]
