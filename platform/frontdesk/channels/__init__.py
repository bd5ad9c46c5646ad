"""The channel adapter SDK: the one public, versioned interface for adapter authors.

Everything an adapter needs is importable from here; nothing else in
``frontdesk`` is meant for adapters, and it may change without notice. The
walk-through is ``docs/writing-an-adapter.md``.
"""

from __future__ import annotations

from frontdesk.channels.adapter import (
    ChannelAdapter,
    ChannelContext,
    CheckResult,
    CheckStep,
    PollResult,
    Submit,
)
from frontdesk.channels.errors import (
    ChannelError,
    ChannelNotFound,
    ConfigInvalid,
    MalformedPayload,
    SignatureInvalid,
)
from frontdesk.channels.hookspecs import hookimpl
from frontdesk.channels.html import sanitise_html
from frontdesk.channels.live import ChannelGateway, ChannelServices, OpenChannel, TranscriptEntry
from frontdesk.channels.masking import mask_sensitive_numbers
from frontdesk.channels.types import (
    SECRET,
    TARGET,
    Attachment,
    CallDetails,
    CallDirection,
    CallRequest,
    Capabilities,
    ChannelEvent,
    ChannelEventKind,
    ContactKindName,
    ContactRef,
    DeliveryReceipt,
    DeliveryStatus,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Parsed,
    ThreadHints,
    WebhookReply,
)

#: The SDK's version. Minor versions only add; a major version may break.
#: 1.1 added live channels: ``ChannelContext.services`` (pub/sub, transcripts),
#: the ``channel_gateway`` dependency of adapter routes, ``ChannelNotFound``,
#: ``mask_sensitive_numbers`` (for what an adapter keeps itself, as transcripts).
#: 1.2 added phone calls: ``ChannelEvent.call`` (``CallDetails``: one call log
#: per call, answer times, callback tasks), the ``call_recorded`` event kind and
#: ``ChannelAdapter.place_call`` (an agent calls a customer back).
#: 1.3 added ``ChannelAdapter.check`` (optional: test a channel's connection
#: from the admin console) with ``CheckResult`` and ``CheckStep``.
#: It also added ``TARGET``, the mark on config fields the adapter connects to.
#: and ``Capabilities.conversation_only`` (web chat: never a route for another ticket).
SDK_VERSION = "1.3"

__all__ = [
    "SDK_VERSION",
    "SECRET",
    "TARGET",
    "Attachment",
    "CallDetails",
    "CallDirection",
    "CallRequest",
    "Capabilities",
    "ChannelAdapter",
    "ChannelContext",
    "ChannelError",
    "ChannelEvent",
    "ChannelEventKind",
    "ChannelGateway",
    "ChannelNotFound",
    "ChannelServices",
    "CheckResult",
    "CheckStep",
    "ConfigInvalid",
    "ContactKindName",
    "ContactRef",
    "DeliveryReceipt",
    "DeliveryStatus",
    "InboundMessage",
    "InboundRequest",
    "MalformedPayload",
    "OpenChannel",
    "OutboundMessage",
    "Parsed",
    "PollResult",
    "SignatureInvalid",
    "Submit",
    "ThreadHints",
    "TranscriptEntry",
    "WebhookReply",
    "hookimpl",
    "mask_sensitive_numbers",
    "sanitise_html",
]
