"""What an admin configures for one web chat channel (secret fields marked)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from frontdesk.channels import SECRET

PrechatField = Literal["name", "email", "topic"]
Clock = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


class OpeningHours(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Days (ISO: 1 is Monday, 7 Sunday) and the hours chats are answered live."""

    days: list[Annotated[int, msgspec.Meta(ge=1, le=7)]]
    opens: Clock
    closes: Clock

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError(f"opening hours close ({self.closes}) after they open ({self.opens})")


class WebchatConfig(msgspec.Struct, frozen=True, kw_only=True):
    #: Signs visitors' session tokens and the widget server's own requests to
    #: the intake. Never leaves Frontdesk.
    secret: Annotated[str, SECRET, msgspec.Meta(min_length=16)]
    #: Shared with the host site's backend, which signs its logged-in users
    #: (identity verification): ``hex(HMAC-SHA256(identity_secret, user_id + ":" + email))``.
    #: Empty: no visitor can claim an identity.
    identity_secret: Annotated[str, SECRET] = ""
    #: When set, a visitor who is not verified cannot claim an identity: an
    #: email typed into the pre-chat form is not used to find the customer.
    verification_required: bool = False
    #: Origins (``https://shop.example.com``) whose pages may open the widget's
    #: socket. Empty: any origin.
    allowed_origins: list[Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+$")]] = []
    #: The widget's header and first line.
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] = "Chat with us"
    greeting: Annotated[str, msgspec.Meta(max_length=500)] = ""
    #: Pre-chat form: what a visitor is asked before the first message.
    prechat_fields: list[PrechatField] = []
    #: Longest visitor message, in characters; a longer one is refused.
    max_message_chars: Annotated[int, msgspec.Meta(ge=1, le=20_000)] = 2000
    #: Largest frame the socket reads, in bytes; a larger one is refused.
    max_frame_bytes: Annotated[int, msgspec.Meta(ge=256, le=1_000_000)] = 16_384
    #: Messages a visitor may send per minute (bursts up to the same number).
    visitor_messages_per_minute: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 20
    #: Messages all visitors from one IP address may send per minute, per app process.
    ip_messages_per_minute: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 120
    #: Frames of any kind a socket may send per second (bursts up to twice that).
    frames_per_second: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    #: Refused frames after which the socket is closed (4429).
    max_refusals: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 30
    #: How long delivering one reply may take (record + publish), in seconds.
    deliver_timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    #: When chats are answered live; outside them the widget offers to leave a
    #: message (with an email address). Empty: always.
    opening_hours: list[OpeningHours] = []
    #: The IANA time zone of the opening hours (``Asia/Shanghai``).
    timezone: str = "UTC"
    offline_message: Annotated[str, msgspec.Meta(max_length=500)] = (
        "We are away right now. Leave a message and your email address, "
        "and we will answer by email."
    )

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None

    def is_open(self, now: dt.datetime) -> bool:
        """Whether ``now`` (aware) falls within the opening hours."""
        if not self.opening_hours:
            return True
        local = now.astimezone(ZoneInfo(self.timezone))
        clock = local.strftime("%H:%M")
        return any(
            local.isoweekday() in hours.days and hours.opens <= clock < hours.closes
            for hours in self.opening_hours
        )
