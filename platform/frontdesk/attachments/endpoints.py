"""HTTP API: downloading a stored attachment of a ticket's message."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from litestar import Controller, Response, get
from litestar.params import FromPath

from frontdesk.api.deps import Actor, Cipher, Db, Rt, needs
from frontdesk.attachments import service as attachments
from frontdesk.auth.permissions import Permission as P
from frontdesk.errors import NotFound
from frontdesk.tickets import service as tickets


class AttachmentController(Controller):
    path = "/api/v1/tickets/{ticket_id:uuid}/attachments"
    tags = ["tickets"]

    @get("/{attachment_id:uuid}", opt=needs(P.TICKETS_READ))
    async def download(
        self,
        ticket_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
        db: Db,
        runtime: Rt,
        cipher: Cipher,
        principal: Actor,
    ) -> Response[bytes]:
        """The attachment's bytes, always as a download (never rendered by the browser)."""
        ticket = await tickets.get_ticket(db, principal, ticket_id)
        row, data = await attachments.read_content(db, runtime.attachments, cipher, attachment_id)
        if row.message_id is None:
            raise NotFound("no such attachment")
        message = await tickets.get_message(db, row.message_id)
        if message.ticket_id != ticket.id:
            raise NotFound("no such attachment")
        return Response(
            data,
            media_type="application/octet-stream",
            headers={
                "content-disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
                "x-content-type-options": "nosniff",
                "x-frontdesk-content-type": row.content_type,
            },
        )


CONTROLLERS: list[Any] = [AttachmentController]
