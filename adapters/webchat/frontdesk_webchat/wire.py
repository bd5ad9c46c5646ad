"""What travels: the visitor's socket frames both ways, the transcript entries, and
the body the widget server submits to the intake (signed, never sent by browsers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

#: A client-chosen id: letters, digits, ``_`` and ``-``.
ClientId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ConversationKey = Annotated[str, msgspec.Meta(pattern=r"^[uv]\.[A-Za-z0-9_-]{16,64}$")]
Short = Annotated[str, msgspec.Meta(max_length=200)]


# --- the intake body ------------------------------------------------------------


class IntakeSender(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["webchat", "email"]
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    name: Short | None = None


class IntakeMessage(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="message"
):
    """One visitor message, as the socket handler submits it to the intake."""

    id: ClientId
    conversation: ConversationKey
    sender: IntakeSender
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    sent_at: dt.datetime
    topic: Short | None = None
    #: Left outside the channel's opening hours: to be answered by email.
    offline: bool = False


class IntakeActivity(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="activity"
):
    """The visitor is typing, or has read the conversation up to ``seq``: shown to
    agents live, not kept on the ticket."""

    id: ClientId
    kind: Literal["typing", "read"]
    conversation: ConversationKey
    sender: IntakeSender
    sent_at: dt.datetime
    seq: Annotated[int, msgspec.Meta(ge=0)] | None = None


IntakeBody = IntakeMessage | IntakeActivity


# --- frames from the visitor -------------------------------------------------------


class Identity(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The host site's logged-in user, signed by its backend (identity verification)."""

    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    user_hash: Annotated[str, msgspec.Meta(max_length=128)]
    name: Short | None = None


class Hello(msgspec.Struct, frozen=True, kw_only=True, tag="hello", forbid_unknown_fields=True):
    """The first frame: who the visitor is, and the last entry they have seen."""

    session: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    identity: Identity | None = None
    after: Annotated[int, msgspec.Meta(ge=0)] = 0


class Prechat(msgspec.Struct, frozen=True, kw_only=True, tag="prechat", forbid_unknown_fields=True):
    name: Short | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    topic: Short | None = None


class Say(msgspec.Struct, frozen=True, kw_only=True, tag="message", forbid_unknown_fields=True):
    id: ClientId
    text: str


class Typing(msgspec.Struct, frozen=True, kw_only=True, tag="typing", forbid_unknown_fields=True):
    pass


class Read(msgspec.Struct, frozen=True, kw_only=True, tag="read", forbid_unknown_fields=True):
    """The visitor has seen every entry up to ``seq``."""

    seq: Annotated[int, msgspec.Meta(ge=0)]


class Ping(msgspec.Struct, frozen=True, kw_only=True, tag="ping", forbid_unknown_fields=True):
    pass


VisitorFrame = Hello | Prechat | Say | Typing | Read | Ping


# --- what the transcript holds, and frames to the visitor ----------------------------


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the conversation, as the widget shows it."""

    id: str
    author: Literal["visitor", "agent"]
    text: str
    at: dt.datetime
    name: str | None = None


class EntryFrame(msgspec.Struct, frozen=True, kw_only=True, tag="entry"):
    seq: int
    entry: Entry


class Welcome(msgspec.Struct, frozen=True, kw_only=True, tag="welcome"):
    session: str
    verified: bool
    title: str
    greeting: str
    prechat_fields: list[str]
    #: The pre-chat form was filled in (or is not asked) on this session.
    prechat_done: bool
    max_message_chars: int
    #: Within opening hours; outside them, ``offline_message`` is shown and
    #: a message is left with an email address, to be answered by email.
    online: bool = True
    offline_message: str = ""


class Ack(msgspec.Struct, frozen=True, kw_only=True, tag="ack"):
    id: str
    seq: int


class Pong(msgspec.Struct, frozen=True, kw_only=True, tag="pong"):
    pass


ErrorCode = Literal[
    "channel_not_found",
    "origin_not_allowed",
    "identity_invalid",
    "identity_not_accepted",
    "hello_expected",
    "malformed",
    "too_large",
    "rate_limited",
    "message_invalid",
    "email_required",
    "unavailable",
    "too_many_refusals",
]


class ErrorFrame(msgspec.Struct, frozen=True, kw_only=True, tag="error"):
    code: ErrorCode
    detail: str
    #: For rate_limited: seconds until a message would be taken.
    retry_after: float | None = None
    #: The message the error is about, when there is one.
    id: str | None = None


ServerFrame = EntryFrame | Welcome | Ack | Pong | ErrorFrame
