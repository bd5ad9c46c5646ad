"""HTTP API for the signed-in user's own notifications: list them, mark them read."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from frontdesk.api.deps import Actor, Db
from frontdesk.api.pagination import check_limit
from frontdesk.errors import InvalidInput
from frontdesk.notifications import service
from frontdesk.notifications.service import NotificationOut


class NotificationPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class MarkReadIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Either ``ids`` (one's own notifications) or ``all``: every unread one."""

    ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=200)] | None = None
    all: bool = False


class MarkReadOut(msgspec.Struct, frozen=True, kw_only=True):
    marked: int
    unread: int


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/")
    async def list_mine(
        self,
        db: Db,
        principal: Actor,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        unread_only: FromQuery[bool] = False,
    ) -> NotificationPage:
        """The caller's own notifications: unread first, newest first within each."""
        check_limit(limit)
        rows = await service.list_mine(
            db,
            principal.user_id,
            limit=limit + 1,
            after=service.decode_cursor(cursor),
            unread_only=unread_only,
        )
        return NotificationPage(
            items=[NotificationOut.of(n) for n in rows[:limit]],
            next_cursor=service.encode_cursor(rows[limit - 1]) if len(rows) > limit else None,
            unread=await service.count_unread(db, principal.user_id),
        )

    @post("/read", status_code=HTTP_200_OK)
    async def mark_read(self, data: JSONBody[MarkReadIn], db: Db, principal: Actor) -> MarkReadOut:
        """Mark some (``ids``) or all (``all: true``) of one's notifications read."""
        if (data.ids is None) == (not data.all):
            raise InvalidInput("give either ids or all: true")
        marked = await service.mark_read(db, principal.user_id, ids=data.ids)
        return MarkReadOut(marked=marked, unread=await service.count_unread(db, principal.user_id))


CONTROLLERS = [NotificationController]
