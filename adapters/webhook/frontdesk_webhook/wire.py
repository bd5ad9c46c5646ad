"""The JSON the webhook channel speaks, as msgspec Structs (see README.md).

Decoding is strict (no string-to-number coercion, timestamps need a zone);
unknown fields are ignored, so a sender may add fields before we know them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from frontdesk.channels import ChannelEventKind, ContactKindName

#: The most messages, and separately events, one request may carry.
MAX_BATCH = 100

ExternalId = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
ContactValue = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
# The same rule as the platform's contact points: the network an IM handle lives on.
ProviderName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=32)]
DisplayName = Annotated[str, msgspec.Meta(max_length=200)]
Subject = Annotated[str, msgspec.Meta(max_length=998)]
TicketNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(min_length=1)]
AwareDatetime = Annotated[dt.datetime, msgspec.Meta(tz=True)]
# Flat on purpose: small, and never nested deeper than we can check.
Scalar = str | int | float | bool | None
Extras = Annotated[
    dict[Annotated[str, msgspec.Meta(min_length=1, max_length=64)], Scalar],
    msgspec.Meta(max_length=32),
]


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """A sender (inbound) or recipient (outbound)."""

    kind: ContactKindName
    value: ContactValue
    provider: ProviderName | None = None
    name: DisplayName | None = None


class EventIn(msgspec.Struct, frozen=True, kw_only=True):
    id: ExternalId
    kind: ChannelEventKind
    conversation_id: ExternalId | None = None
    sender: Contact | None = None
    occurred_at: AwareDatetime | None = None
    data: Extras = {}


class MessageIn(msgspec.Struct, frozen=True, kw_only=True):
    id: ExternalId
    sender: Contact
    text: Text
    conversation_id: ExternalId | None = None
    subject: Subject | None = None
    html: str | None = None
    sent_at: AwareDatetime | None = None
    ticket_number: TicketNumber | None = None
    #: The ``id`` of one of our replies this message answers, if the sender knows it.
    in_reply_to: ExternalId | None = None
    metadata: Extras = {}
    events: Annotated[list[EventIn], msgspec.Meta(max_length=MAX_BATCH)] = []


class BatchIn(msgspec.Struct, frozen=True, kw_only=True):
    messages: Annotated[list[MessageIn], msgspec.Meta(max_length=MAX_BATCH)] = []
    events: Annotated[list[EventIn], msgspec.Meta(max_length=MAX_BATCH)] = []


class ReplyOut(msgspec.Struct, frozen=True, kw_only=True):
    """An agent's reply, POSTed to the channel's ``callback_url``."""

    id: str
    ticket_number: str | None
    conversation_id: str | None
    in_reply_to: list[str]
    recipient: Contact
    subject: str | None
    text: str
    html: str | None
    attempt: int


class Ack(msgspec.Struct, frozen=True):
    """The part of a callback's 2xx answer we read: the receiver's id for the reply."""

    id: Annotated[str, msgspec.Meta(max_length=255)] | int | None = None
