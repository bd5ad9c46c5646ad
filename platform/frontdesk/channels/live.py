"""Live channels (public SDK, since 1.1): what a chat-like adapter needs from the platform.

A web chat or any channel whose customers hold a connection to Frontdesk
itself (rather than to a provider) needs three things the core owns:

- **pub/sub**, so an agent's reply delivered by a worker reaches the socket
  of the visitor, whichever app process holds it (Redis pub/sub in
  production, in-process in the embedded demo);
- **a transcript**: an ordered, durable log per conversation, so a visitor
  who reconnects is sent what they missed;
- **the intake**, so what a visitor types goes through exactly the pipeline
  every webhook does (verify, parse, store once per external id, mask card
  numbers, ingest).

``ChannelServices`` gives the first two, scoped to one channel instance: it
is ``self.context.services`` in an adapter built by the platform, ``None``
elsewhere. ``ChannelGateway`` gives an adapter's own routes a channel
instance by its public id, with ``submit`` for the third.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from frontdesk.channels.adapter import ChannelAdapter
    from frontdesk.channels.types import InboundRequest, WebhookReply


class TranscriptEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a conversation's transcript, as ``record`` stored it."""

    #: Position in the conversation, from 1, increasing in the order entries were recorded.
    seq: int
    #: The id the adapter gave it (recording the same id again is a no-op).
    entry_id: str
    data: bytes


@runtime_checkable
class ChannelServices(Protocol):
    """The platform's services for one channel instance (every name is scoped to it).

    Topics and conversation keys are the adapter's own strings (at most 200
    characters); the platform prefixes them with the channel, so two
    channels, or two tenants, never share one. Keep personal data out of
    them: hash an email address before using it as a key.
    """

    async def publish(self, topic: str, data: bytes) -> None:
        """Send ``data`` to every current subscriber of ``topic``, in any app process.

        At most once: a subscriber that is not connected now does not get it
        later (that is what the transcript is for). Raises ``OSError`` (or a
        subclass) when the pub/sub backend cannot be reached.
        """
        ...

    def subscribe(self, topic: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """``async with services.subscribe(topic) as frames: async for data in frames: ...``

        Entered once the subscription is live: whatever is published from
        then on is delivered, in order.
        """
        ...

    async def record(self, conversation: str, entry_id: str, data: bytes) -> int:
        """Append ``data`` to the conversation's transcript; returns its ``seq``.

        Idempotent by ``entry_id``: recording an id already there changes
        nothing and returns the existing entry's seq (a delivery retried
        after a crash, a visitor's frame sent again after a reconnect).
        ``data`` must be UTF-8 (JSON, typically); it is stored encrypted
        with the tenant's key.
        """
        ...

    async def history(
        self, conversation: str, *, after: int = 0, limit: int = 200
    ) -> list[TranscriptEntry]:
        """Entries with ``seq > after``, oldest first, at most ``limit``."""
        ...


@runtime_checkable
class OpenChannel(Protocol):
    """One active channel instance, opened by its public id for an adapter's route."""

    #: The channel's adapter, built with its configuration (secrets decrypted)
    #: and a context whose ``services`` is set.
    adapter: ChannelAdapter[Any]
    #: The tenant's public id of the channel: the last segment of its webhook URL.
    public_id: str

    async def submit(self, request: InboundRequest) -> WebhookReply:
        """Hand a request to the intake exactly as if it had been posted to the
        channel's webhook URL: ``verify``, ``parse``, stored once per external
        id (card numbers masked), ingested after commit.

        Raises ``SignatureInvalid`` when ``verify`` refused it, ``MalformedPayload``
        when ``parse`` did, and ``ChannelNotFound`` when the channel has been
        deactivated or deleted since it was opened.
        """
        ...


@runtime_checkable
class ChannelGateway(Protocol):
    """What an adapter's routes get as the ``channel_gateway`` dependency."""

    async def open(self, kind: str, public_id: str) -> OpenChannel:
        """The active channel of this adapter ``kind`` with this public id.

        Raises ``ChannelNotFound`` for an unknown id, an inactive channel, or a
        channel of another kind (so one adapter's routes never serve another's).
        """
        ...
