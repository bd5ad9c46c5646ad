"""What WeCom sends and answers, as msgspec Structs.

Callback messages arrive as flat XML, read into a dict of strings and then
converted (numbers from their text) into ``Message``; the API answers JSON.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from frontdesk_im._inbound import UnixSeconds

#: A member's UserID: WeCom allows 1-64 letters, digits and ``_-@.``; older
#: accounts hold other characters, so only spaces and control characters are refused.
UserId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f\x7f]+$")]
MsgId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A decrypted callback (接收消息与事件). Fields other than the common ones
    depend on ``MsgType``."""

    from_user: UserId = msgspec.field(name="FromUserName")
    create_time: UnixSeconds = msgspec.field(name="CreateTime")
    msg_type: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] = msgspec.field(
        name="MsgType"
    )
    msg_id: MsgId | None = msgspec.field(name="MsgId", default=None)
    agent_id: int | None = msgspec.field(name="AgentID", default=None)
    content: str | None = msgspec.field(name="Content", default=None)
    pic_url: str | None = msgspec.field(name="PicUrl", default=None)
    media_id: str | None = msgspec.field(name="MediaId", default=None)
    format: str | None = msgspec.field(name="Format", default=None)
    thumb_media_id: str | None = msgspec.field(name="ThumbMediaId", default=None)
    location_x: float | None = msgspec.field(name="Location_X", default=None)
    location_y: float | None = msgspec.field(name="Location_Y", default=None)
    label: str | None = msgspec.field(name="Label", default=None)
    title: str | None = msgspec.field(name="Title", default=None)
    description: str | None = msgspec.field(name="Description", default=None)
    url: str | None = msgspec.field(name="Url", default=None)
    event: str | None = msgspec.field(name="Event", default=None)


class TokenAnswer(msgspec.Struct, frozen=True):
    """``GET /cgi-bin/gettoken``."""

    errcode: int = 0
    errmsg: str = ""
    access_token: str | None = None
    expires_in: int = 7200


class SendAnswer(msgspec.Struct, frozen=True):
    """``POST /cgi-bin/message/send``."""

    errcode: int
    errmsg: str = ""
    msgid: str | None = None
    invaliduser: str = ""
