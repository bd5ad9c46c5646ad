"""The parts of the WhatsApp Cloud API's webhook notifications and answers the
channel reads, as msgspec Structs (unknown fields ignored)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from frontdesk_im._inbound import ProviderId

#: A WhatsApp user's id: their phone number's digits, country code first.
WaId = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$")]
Digits = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}$")]


class Profile(msgspec.Struct, frozen=True):
    name: str | None = None


class Contact(msgspec.Struct, frozen=True):
    wa_id: WaId
    profile: Profile | None = None


class Text(msgspec.Struct, frozen=True):
    body: str


class Media(msgspec.Struct, frozen=True):
    """An image, document, audio, video or sticker: its media id, not its bytes."""

    id: ProviderId
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class Location(msgspec.Struct, frozen=True):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class Button(msgspec.Struct, frozen=True):
    text: str
    payload: str | None = None


class Reply(msgspec.Struct, frozen=True):
    id: str
    title: str


class Interactive(msgspec.Struct, frozen=True):
    type: str
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Original(msgspec.Struct, frozen=True):
    """``edit`` and ``revoke``: which earlier message changed."""

    original_message_id: ProviderId


class Context(msgspec.Struct, frozen=True):
    id: ProviderId | None = None


class Message(msgspec.Struct, frozen=True):
    from_: WaId = msgspec.field(name="from")
    id: ProviderId
    timestamp: Digits
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    text: Text | None = None
    image: Media | None = None
    document: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    button: Button | None = None
    interactive: Interactive | None = None
    context: Context | None = None
    edit: Original | None = None
    revoke: Original | None = None


class Error(msgspec.Struct, frozen=True):
    code: int
    title: str | None = None


class Status(msgspec.Struct, frozen=True):
    """What became of a message we sent: sent, delivered, read, failed."""

    id: ProviderId
    status: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,32}$")]
    timestamp: Digits
    recipient_id: str | None = None
    errors: list[Error] = []


class Metadata(msgspec.Struct, frozen=True):
    phone_number_id: str
    display_phone_number: str | None = None


class Value(msgspec.Struct, frozen=True):
    metadata: Metadata | None = None
    contacts: list[Contact] = []
    messages: list[Message] = []
    statuses: list[Status] = []


class Change(msgspec.Struct, frozen=True):
    field: str
    value: msgspec.Raw


class Entry(msgspec.Struct, frozen=True):
    id: str
    changes: list[Change] = []


class Notification(msgspec.Struct, frozen=True):
    object: str
    entry: list[Entry]


class SentMessage(msgspec.Struct, frozen=True):
    id: str


class SendAnswer(msgspec.Struct, frozen=True):
    messages: list[SentMessage] = []


class ApiError(msgspec.Struct, frozen=True):
    code: int
    message: str | None = None


class ErrorAnswer(msgspec.Struct, frozen=True):
    error: ApiError
