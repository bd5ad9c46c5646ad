"""The parts of Slack's Events API payloads the channel reads, as msgspec Structs.

The envelope is decoded first and the inner event only when it is a
``message``: other events carry fields of other shapes under the same names
(``channel`` is an object in ``channel_created``), and must not make a
payload malformed.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from frontdesk_im._inbound import UnixSeconds

#: Users, channels, bots and teams: upper-case letters and digits (``U024BE7LH``).
SlackId = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{1,32}$")]
EventId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{1,64}$")]
#: A message's timestamp, which is also its id in its channel (``1355517523.000005``).
Ts = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}\.[0-9]{1,9}$")]


class Envelope(msgspec.Struct, frozen=True):
    type: str
    challenge: str | None = None
    event_id: EventId | None = None
    event_time: UnixSeconds | None = None
    team_id: str | None = None
    #: Left raw: decoded only once its type is known (see the module docstring).
    event: msgspec.Raw = msgspec.Raw()


class EventType(msgspec.Struct, frozen=True):
    type: str
    subtype: str | None = None


class File(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    name: str | None = None
    title: str | None = None
    mimetype: str | None = None
    size: Annotated[int, msgspec.Meta(ge=0)] = 0
    url_private: str | None = None


class UserProfile(msgspec.Struct, frozen=True):
    display_name: str | None = None
    real_name: str | None = None


class Inner(msgspec.Struct, frozen=True):
    """The message inside ``message_changed`` and ``message_deleted`` events."""

    user: SlackId | None = None
    bot_id: str | None = None
    text: str = ""
    ts: Ts | None = None
    thread_ts: Ts | None = None


class MessageEvent(msgspec.Struct, frozen=True):
    type: str
    channel: SlackId
    subtype: str | None = None
    channel_type: str | None = None
    user: SlackId | None = None
    bot_id: str | None = None
    text: str | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None
    files: list[File] = []
    user_profile: UserProfile | None = None
    message: Inner | None = None
    previous_message: Inner | None = None
    deleted_ts: Ts | None = None


class PostAnswer(msgspec.Struct, frozen=True):
    """``chat.postMessage``'s answer: ``{"ok": true, "ts": …}`` or ``{"ok": false, "error": …}``."""

    ok: bool
    ts: str | None = None
    error: str | None = None
