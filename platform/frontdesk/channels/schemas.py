"""Request and response bodies of the channels API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from frontdesk.auth.schemas import Strict


class ChannelIn(Strict, frozen=True, kw_only=True):
    kind: str
    name: str
    config: dict[str, Any] = {}
    team_id: uuid.UUID | None = None
    #: The platform's settings of the channel (``ChannelSettings``); defaults for those left out.
    settings: dict[str, Any] = {}


class ChannelPatch(Strict, frozen=True, kw_only=True):
    name: str | None = None
    #: Secret fields left out (or sent as "********") keep their value.
    config: dict[str, Any] | None = None
    is_active: bool | None = None
    team_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    #: Only the settings named change.
    settings: dict[str, Any] | None = None


class ChannelOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: str
    name: str
    config: dict[str, Any]
    settings: dict[str, Any]
    team_id: uuid.UUID | None
    is_active: bool
    webhook_url: str
    created_at: dt.datetime


class AdapterOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    display_name: str
    version: str
    contact_kind: str
    capabilities: dict[str, Any]
    secret_fields: list[str]
    config_schema: dict[str, Any]


class DeliveryOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    message_id: uuid.UUID
    channel_id: uuid.UUID
    status: str
    attempts: list[dict[str, Any]]
    last_error: str | None
    external_id: str | None
    #: When the next attempt is due (after a retryable failure), or None.
    next_attempt_at: dt.datetime | None


class RejectionOut(msgspec.Struct, frozen=True, kw_only=True):
    """Something the channel received and could not read, kept with the reason."""

    id: uuid.UUID
    channel_id: uuid.UUID
    #: webhook, listener or poll
    source: str
    reason: str
    size: int
    received_at: dt.datetime
