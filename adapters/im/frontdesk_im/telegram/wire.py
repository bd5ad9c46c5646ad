"""The parts of the Telegram Bot API's ``Update`` the channel reads, as msgspec Structs.

Unknown fields are ignored (the Bot API adds some in most releases); the types
of the fields read are checked strictly.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from frontdesk_im._inbound import UnixSeconds

FileId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ChatId = Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]


class User(msgspec.Struct, frozen=True):
    id: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None


class Chat(msgspec.Struct, frozen=True):
    id: ChatId
    type: str
    title: str | None = None


class PhotoSize(msgspec.Struct, frozen=True):
    file_id: FileId
    file_unique_id: str = ""
    width: int = 0
    height: int = 0
    file_size: Annotated[int, msgspec.Meta(ge=0)] | None = None


class File(msgspec.Struct, frozen=True):
    """A document, video, voice note, audio file, animation, video note or sticker."""

    file_id: FileId
    file_unique_id: str = ""
    file_name: str | None = None
    mime_type: str | None = None
    file_size: Annotated[int, msgspec.Meta(ge=0)] | None = None
    title: str | None = None
    emoji: str | None = None
    is_animated: bool = False
    is_video: bool = False


class Location(msgspec.Struct, frozen=True):
    latitude: float
    longitude: float


class Contact(msgspec.Struct, frozen=True):
    phone_number: str
    first_name: str = ""
    last_name: str | None = None


class Message(msgspec.Struct, frozen=True):
    message_id: Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]
    date: UnixSeconds
    chat: Chat
    from_: User | None = msgspec.field(name="from", default=None)
    message_thread_id: int | None = None
    is_topic_message: bool = False
    business_connection_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    edit_date: UnixSeconds | None = None
    text: str | None = None
    caption: str | None = None
    photo: list[PhotoSize] = []
    document: File | None = None
    video: File | None = None
    voice: File | None = None
    audio: File | None = None
    animation: File | None = None
    video_note: File | None = None
    sticker: File | None = None
    location: Location | None = None
    contact: Contact | None = None


class DeletedBusinessMessages(msgspec.Struct, frozen=True):
    business_connection_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    chat: Chat
    message_ids: list[int]


class Update(msgspec.Struct, frozen=True):
    update_id: Annotated[int, msgspec.Meta(ge=0, le=2**53)]
    message: Message | None = None
    edited_message: Message | None = None
    business_message: Message | None = None
    edited_business_message: Message | None = None
    deleted_business_messages: DeletedBusinessMessages | None = None


class ResponseParameters(msgspec.Struct, frozen=True):
    retry_after: Annotated[float, msgspec.Meta(ge=0)] | None = None


class SentMessage(msgspec.Struct, frozen=True):
    message_id: int


class Answer(msgspec.Struct, frozen=True):
    """Every Bot API answer: ``{"ok": true, "result": ...}`` or an error."""

    ok: bool
    result: SentMessage | None = None
    error_code: int | None = None
    description: str | None = None
    parameters: ResponseParameters | None = None
