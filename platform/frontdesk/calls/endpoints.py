"""HTTP API for call logs and callback tasks: a ticket's calls and tasks, answer times."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from frontdesk.api.deps import Actor, Cipher, Db, Rt, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.calls import service as calls
from frontdesk.clock import now as clock_now
from frontdesk.errors import InvalidInput
from frontdesk.tasks import service as tasks
from frontdesk.tickets.service import get_ticket

MAX_PERIOD = dt.timedelta(days=366)


class CallController(Controller):
    path = "/api/v1"
    tags = ["calls"]

    @get("/tickets/{ticket_id:uuid}/calls", opt=needs(P.TICKETS_READ))
    async def for_ticket(
        self, ticket_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[calls.CallOut]:
        """The ticket's call logs, oldest first: times, wait before answer, agent, recording."""
        ticket = await get_ticket(db, principal, ticket_id)
        return [calls.out(c) for c in await calls.for_ticket(db, ticket.id)]

    @post(
        "/tickets/{ticket_id:uuid}/calls", opt=needs(P.TICKETS_REPLY), status_code=HTTP_201_CREATED
    )
    async def call_back(
        self,
        ticket_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        cipher: Cipher,
        runtime: Rt,
    ) -> calls.CallOut:
        """Call the ticket's customer back through its phone channel (the agent's phone
        rings once they answer); the call's log starts now."""
        ticket = await get_ticket(db, principal, ticket_id)
        return calls.out(await calls.place_call(db, runtime, cipher, principal, ticket))

    @get("/calls/answer-times", opt=needs(P.TICKETS_READ_ALL))
    async def answer_times(
        self,
        db: Db,
        principal: Actor,
        since: Annotated[dt.datetime | None, QueryParameter(name="since")] = None,
        until: Annotated[dt.datetime | None, QueryParameter(name="until")] = None,
        target_seconds: Annotated[
            int, QueryParameter(name="target_seconds", ge=1, le=3600)
        ] = calls.ANSWER_TARGET_SECONDS,
    ) -> calls.AnswerTimes:
        """Inbound calls started in [since, until) (default: the last 24 hours): how many
        were answered within the target."""
        until = until or clock_now()
        since = since or until - dt.timedelta(days=1)
        if since.tzinfo is None or until.tzinfo is None:
            raise InvalidInput("since and until need a time zone")
        if not since < until or until - since > MAX_PERIOD:
            raise InvalidInput("since must be before until, at most a year apart")
        return await calls.answer_times(db, since=since, until=until, target_seconds=target_seconds)


class TaskController(Controller):
    path = "/api/v1"
    tags = ["tasks"]

    @get("/tickets/{ticket_id:uuid}/tasks", opt=needs(P.TICKETS_READ))
    async def for_ticket(
        self, ticket_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[tasks.TaskOut]:
        """The ticket's tasks (callbacks owed), oldest first."""
        ticket = await get_ticket(db, principal, ticket_id)
        return [tasks.out(t) for t in await tasks.for_ticket(db, ticket.id)]

    @post("/tasks/{task_id:uuid}/done", opt=needs(P.TICKETS_UPDATE), status_code=HTTP_200_OK)
    async def done(
        self,
        task_id: FromPath[uuid.UUID],
        db: Db,
        principal: Actor,
        data: JSONBody[tasks.DoneIn | None] = None,
    ) -> tasks.TaskOut:
        """Mark an open task done (a callback made outside the phone channel)."""
        note = data.note if data is not None else None
        return tasks.out(await tasks.done_by(db, principal, task_id, note))


CONTROLLERS = [CallController, TaskController]
