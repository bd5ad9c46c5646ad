"""The platform's own settings of a channel instance, whatever its adapter.

The adapter's ``config`` says how to talk to the provider; these say what the
core does with what arrives: answering a closed ticket, acknowledging new
tickets, the per-sender rate limit, the attachment size limit.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from frontdesk.errors import InvalidInput

MIB = 1024 * 1024

#: The per-sender rate limit of channels whose senders may be machines, unless set.
DEFAULT_SENDER_RATE_LIMIT = 20

#: The largest attachment any channel may store, whatever its setting.
ATTACHMENT_CEILING = 100 * MIB


class ChannelSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: A customer writing to a closed ticket: open a linked follow-up ticket,
    #: or reopen the closed one. (A resolved ticket always reopens.)
    closed_ticket_reply: Literal["follow_up", "reopen"] = "follow_up"
    #: Answer each new ticket's first message automatically (marked automatic:
    #: email sends it with ``Auto-Submitted: auto-replied``). Never sent for
    #: automatic or rate-limited mail.
    acknowledge_new_tickets: bool = False
    #: The acknowledgement's text; ``{number}`` becomes the ticket number.
    acknowledgement_text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] = (
        "Thank you for writing to us. Your request is ticket {number}; "
        "we will answer as soon as we can."
    )
    #: More than this many messages from one sender within the window are
    #: treated as automatic: stored, never answered, never a new ticket.
    #: ``None``: 20 where the channel's senders may be machines (its adapter
    #: says ``automatic_senders``, as email's does), no limit elsewhere.
    sender_rate_limit: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    sender_rate_window_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] = 10
    #: Larger attachments are listed on the message as refused, not stored.
    max_attachment_bytes: Annotated[int, msgspec.Meta(ge=0, le=ATTACHMENT_CEILING)] = 25 * MIB
    #: Phone channels: a missed call or a voicemail opens a callback task due
    #: this many minutes later.
    callback_due_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] = 60


DEFAULT = ChannelSettings()


def decode_settings(raw: dict[str, Any]) -> ChannelSettings:
    try:
        return msgspec.convert(raw, ChannelSettings)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid channel settings: {exc}") from None


def settings_of(stored: dict[str, Any] | None) -> ChannelSettings:
    """A channel's settings as stored (what was valid when written, defaults for the rest)."""
    if not stored:
        return DEFAULT
    try:
        return msgspec.convert(stored, ChannelSettings)
    except msgspec.ValidationError:
        # A setting removed or narrowed in a later version: fall back rather than stop the channel.
        return DEFAULT


def encode_settings(settings: ChannelSettings) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(settings)
    return out
