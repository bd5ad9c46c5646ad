"""The normalised types adapters produce and consume (public SDK, msgspec Structs).

Every channel, whatever its provider speaks, is turned into these; the core
never sees a provider's payload.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

#: Marks a config field as secret: ``api_key: Annotated[str, SECRET]``.
#: Secret fields are stored encrypted, never returned by the API, and
#: shown to admins only as ``"********"``.
SECRET = msgspec.Meta(extra={"secret": True})

#: Marks a config field as a URL or host the adapter connects to on the
#: tenant's behalf: ``callback_url: Annotated[str, TARGET]``. The platform
#: refuses one that resolves to a loopback, private or link-local address
#: when the channel is saved, and fails a delivery whose target has come to
#: resolve to one (unless the operator allows private targets).
TARGET = msgspec.Meta(extra={"target": True})

ContactKindName = Literal["email", "phone", "webchat", "im"]


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What a channel can do; the inbox and delivery adapt to it."""

    threads: bool = False
    attachments: bool = False
    typing: bool = False
    read_receipts: bool = False
    rich_text: bool = False
    #: Longest text one outbound message may carry; ``None`` for no limit.
    max_length: int | None = None
    #: Senders may be machines that answer by themselves (email's
    #: autoresponders): the platform limits each sender's rate by default, and
    #: what is over the limit is treated as automatic. Off for channels where
    #: a person sends many short messages (chat, IM); a channel's
    #: ``sender_rate_limit`` setting turns it on there. (SDK 1.1)
    automatic_senders: bool = False
    #: The channel answers only inside the conversation the customer opened
    #: (web chat): it is never offered to reply on another ticket, and its
    #: customers' contact points are reached by no other channel. (SDK 1.3)
    conversation_only: bool = False


class ContactRef(msgspec.Struct, frozen=True, kw_only=True):
    """Who a message is from or to, as the channel knows them.

    ``value`` is the raw address, number or handle; the core normalises it
    (lower-cased email, E.164 phone) and stores it only encrypted.
    """

    kind: ContactKindName
    value: str
    #: For ``im``: the network (``telegram``, ``slack``, ``wecom``, ``whatsapp``).
    provider: str | None = None
    display_name: str | None = None


class ThreadHints(msgspec.Struct, frozen=True, kw_only=True):
    """Whatever the provider tells about which conversation a message belongs to."""

    #: The provider's own conversation or chat id, stable for a conversation.
    conversation_id: str | None = None
    #: Our reply token, if the provider carried it back (``support+<token>@``).
    reply_token: str | None = None
    in_reply_to: list[str] = []
    references: list[str] = []
    #: A ticket number found in a subject line, such as ``CS-2026-000042``.
    ticket_number: str | None = None


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str
    size: int
    #: Where the provider keeps it (fetched by the core later), or ``None``.
    url: str | None = None
    #: The bytes, when the provider sent them inline.
    content: bytes | None = None
    inline: bool = False


class InboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message a customer sent, normalised."""

    #: The provider's id for this message: the same message redelivered
    #: carries the same id, which is how redeliveries are dropped.
    external_id: str
    sender: ContactRef
    text: str
    subject: str | None = None
    #: HTML already sanitised by the adapter, with ``text`` kept alongside.
    html: str | None = None
    thread: ThreadHints = ThreadHints()
    attachments: list[Attachment] = []
    sent_at: dt.datetime | None = None
    #: Anything provider-specific worth keeping on the message (small).
    metadata: dict[str, Any] = {}


ChannelEventKind = Literal[
    "call_ringing",
    "call_answered",
    "call_missed",
    "call_ended",
    "call_recorded",
    "voicemail",
    "typing",
    "read",
    "delivery_status",
]


CallDirection = Literal["inbound", "outbound"]


class CallDetails(msgspec.Struct, frozen=True, kw_only=True):
    """What one provider request tells about a phone call (SDK 1.2).

    A call arrives as many requests (ringing, answered, completed, a voicemail
    and its transcription later), possibly twice and in any order. Each gives
    what it knows; the platform merges them into one call log per
    ``call_id``, whatever the order: the earliest ringing is the start, the
    earliest answer is the answer, and so on. The event's ``occurred_at`` is
    when this step happened at the provider.
    """

    #: The provider's id for the whole call (Twilio's parent ``CallSid``,
    #: Vonage's ``conversation_uuid``): every step of one call carries the same.
    call_id: str
    #: ``inbound``: the customer called; ``outbound``: we called the customer
    #: (a callback), and the event's ``sender`` is the customer called.
    direction: CallDirection = "inbound"
    #: ``call_answered``: who answered, as an agent's Frontdesk email where the
    #: adapter knows it, else the provider's identity for them (``client:ada``).
    agent: str | None = None
    #: ``call_ended``: how long the call was connected, in seconds.
    duration_seconds: int | None = None
    #: ``call_missed``: why (``no-answer``, ``busy``, ``failed``, ``canceled``).
    missed_reason: str | None = None
    #: ``voicemail`` and ``call_recorded``: where the provider keeps the recording.
    recording_url: str | None = None
    #: ``voicemail``: the recording's transcription, when it has come.
    transcription: str | None = None


class ChannelEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened on a channel that is not a message."""

    external_id: str
    kind: ChannelEventKind
    sender: ContactRef | None = None
    thread: ThreadHints = ThreadHints()
    occurred_at: dt.datetime | None = None
    data: dict[str, Any] = {}
    #: For the ``call_*`` and ``voicemail`` kinds: the call this step belongs
    #: to (SDK 1.2). With it, the platform keeps one call log per call on the
    #: customer's ticket, measures the time to answer and opens a callback
    #: task for a missed call or a voicemail. Without it, a call event is
    #: only a line on the ticket's timeline, as before 1.2.
    call: CallDetails | None = None


class InboundRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An HTTP request as a provider sent it to the channel's webhook URL."""

    method: str
    #: The public URL the provider called (needed by signature schemes that
    #: sign the URL, such as Twilio's); built from ``FRONTDESK_PUBLIC_URL``.
    url: str
    #: Header names lower-cased.
    headers: dict[str, str]
    query: dict[str, list[str]]
    body: bytes


class WebhookReply(msgspec.Struct, frozen=True, kw_only=True):
    """What to answer the provider, when it expects more than an empty 200."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class Parsed(msgspec.Struct, frozen=True, kw_only=True):
    """What ``parse`` found in one request: zero or more messages and events."""

    messages: list[InboundMessage] = []
    events: list[ChannelEvent] = []
    #: A handshake answer (URL verification challenges) instead of the default.
    reply: WebhookReply | None = None


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """An agent's reply, to be sent through the channel the customer used."""

    #: Our id for this delivery: the same id may be delivered again after a
    #: crash, so adapters pass it to providers that support idempotency keys.
    id: str
    recipient: ContactRef
    text: str
    subject: str | None = None
    html: str | None = None
    ticket_number: str | None = None
    #: Our reply token, for channels that can carry it (email addresses).
    reply_token: str | None = None
    thread: ThreadHints = ThreadHints()
    attachments: list[Attachment] = []
    #: Which attempt this is, starting at 1.
    attempt: int = 1
    #: Sent by the platform itself (an acknowledgement), not written by an
    #: agent: channels that can say so mark it (email: ``Auto-Submitted:
    #: auto-replied``, RFC 3834) so that other systems never answer it
    #: automatically. Added in SDK 1.1.
    automatic: bool = False


class CallRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An agent asks to call a customer back through the channel (SDK 1.2)."""

    #: Our id for this call request.
    id: str
    #: The customer to call.
    recipient: ContactRef
    #: The agent placing the call, as their Frontdesk email: the adapter
    #: connects them (its own mapping to the provider's identity).
    agent: str | None = None
    ticket_number: str | None = None


DeliveryStatus = Literal["sent", "failed"]


class DeliveryReceipt(msgspec.Struct, frozen=True, kw_only=True):
    status: DeliveryStatus
    #: The provider's id for the sent message (threads later replies); for
    #: ``place_call``, the provider's id of the call (its ``CallDetails.call_id``).
    external_id: str | None = None
    error: str | None = None
    #: For a failure: worth trying again (timeouts, 5xx, 429) or not (4xx).
    retryable: bool = False
    #: Seconds the provider asked us to wait (``Retry-After``).
    retry_after: float | None = None
