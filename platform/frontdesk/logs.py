"""Structured logs: one JSON object a line, carrying the request, ticket and job in hand.

The ids come from context variables set where the work starts: the request
middleware (``X-Request-ID``, taken from the caller or made here, and the
``ticket_id`` of the route), and each background job (its name and the ids
it was sent with). ``frontdesk serve`` and ``frontdesk worker`` log this way
unless ``FRONTDESK_LOG_FORMAT=text``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "frontdesk_log_context", default=MappingProxyType({})
)

REQUEST_ID_HEADER = "x-request-id"
# What the log line keeps of a job's arguments: ids, never message content.
JOB_FIELDS = ("tenant_id", "event_id", "delivery_id", "ticket_id", "channel_id")

access_log = logging.getLogger("frontdesk.access")


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line written inside the block."""
    token = _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def context() -> Mapping[str, str]:
    return _context.get()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_context.get(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr (``FRONTDESK_LOG_FORMAT=text`` for plain lines)."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("FRONTDESK_LOG_FORMAT", "json").lower() == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class RequestLogMiddleware:
    """Gives each HTTP request an id (the caller's ``X-Request-ID`` if sane), echoes
    it in the response, binds it (and the route's ``ticket_id``) for the request's
    log lines, and writes one access line when the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name == REQUEST_ID_HEADER.encode():
                given = value.decode("latin-1")
        request_id = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
        ticket_id = (scope.get("path_params") or {}).get("ticket_id")
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
                access_log.info(
                    "%s %s %s",
                    scope.get("method", ""),
                    scope.get("path", ""),
                    message["status"],
                    extra={
                        "fields": {
                            "method": scope.get("method", ""),
                            "path": scope.get("path", ""),
                            "status": message["status"],
                            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        }
                    },
                )
            await send(message)

        with bound(request_id=request_id, ticket_id=ticket_id):
            await self.app(scope, receive, send_with_id)
