"""Cursor pagination: the cursor is the last row's id (UUIDv7 ids sort by creation)."""

from __future__ import annotations

import base64
import uuid
from typing import Generic, TypeVar

import msgspec

from frontdesk.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 200


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise InvalidInput("malformed cursor") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def next_cursor(ids: list[uuid.UUID], limit: int) -> str | None:
    """Callers fetch limit + 1 rows; a cursor exists only if there is more."""
    return encode_cursor(ids[limit - 1]) if len(ids) > limit else None
