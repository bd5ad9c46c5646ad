"""The base class every channel adapter subclasses (public SDK)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from frontdesk.channels.live import ChannelServices
from frontdesk.channels.types import (
    CallRequest,
    Capabilities,
    ContactKindName,
    DeliveryReceipt,
    InboundRequest,
    OutboundMessage,
    Parsed,
)

ConfigT = TypeVar("ConfigT", bound=msgspec.Struct)


class ChannelContext(msgspec.Struct, frozen=True, kw_only=True):
    """What the core tells an adapter instance about the channel it serves."""

    #: The channel instance's public id (appears in its webhook URL).
    channel_id: str
    #: The full URL providers post to for this channel instance.
    webhook_url: str
    #: The platform's public base URL (``FRONTDESK_PUBLIC_URL``).
    public_url: str
    #: Pub/sub and transcripts for this channel (SDK 1.1), set when the
    #: platform builds the adapter; ``None`` where there is no platform
    #: (unit tests, the contract kit unless a test provides one).
    services: ChannelServices | None = None


class PollResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one poll of a pull channel found, and where to resume next time."""

    requests: list[InboundRequest] = []
    cursor: str | None = None


class CheckStep(msgspec.Struct, frozen=True, kw_only=True):
    """One thing a connection check tried (SDK 1.3): "SMTP login", "callback URL"."""

    what: str
    ok: bool
    #: For the admin: what answered, or why it failed. No secrets.
    detail: str = ""


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    """What ``ChannelAdapter.check`` found (SDK 1.3). No steps: nothing to check."""

    steps: list[CheckStep] = []

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


#: Hands a request the adapter received itself (from a listener) to the intake,
#: exactly as if it had arrived at the webhook URL.
Submit = Callable[[InboundRequest], Awaitable[None]]


class ChannelAdapter(Generic[ConfigT]):
    """One kind of channel. Subclass it, fill in the class attributes, implement
    ``verify``, ``parse`` and ``deliver``; the others are optional.

    The core makes one instance per channel instance a tenant configures, with
    that channel's decoded configuration (secrets already decrypted).
    Instances must not keep state between calls beyond caches: several app
    and worker processes each have their own.
    """

    #: The channel kind, unique across installed adapters: ``email``, ``sms``.
    kind: ClassVar[str]
    #: A name for people: "Email", "Telegram".
    display_name: ClassVar[str]
    #: The adapter package's own version.
    version: ClassVar[str]
    #: SDK versions this adapter works with (PEP 440 specifier), checked at load.
    sdk_versions: ClassVar[str] = ">=1.0,<2"
    #: The msgspec Struct of this channel's configuration; mark secrets with
    #: ``Annotated[str, SECRET]``.
    config_type: ClassVar[type[msgspec.Struct]]
    #: What kind of contact point the channel's senders are.
    contact_kind: ClassVar[ContactKindName]
    #: For a channel whose senders may be of several kinds (a generic webhook
    #: carrying emails and phone numbers): all of them. Empty: just contact_kind.
    #: These are also the contact points an agent may send a reply to through
    #: this channel when it is not the ticket's own.
    contact_kinds: ClassVar[frozenset[ContactKindName]] = frozenset()
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: The largest request body this channel's webhook accepts, in bytes, when
    #: it needs more than the platform's ``FRONTDESK_MAX_BODY_BYTES`` (raw
    #: email with attachments). ``None``: the platform's limit. Added in SDK 1.1.
    max_body_bytes: ClassVar[int | None] = None

    def __init__(self, config: ConfigT, context: ChannelContext) -> None:
        self.config = config
        self.context = context

    async def verify(self, request: InboundRequest) -> None:
        """Check that ``request`` really comes from the provider.

        Called first for every request to the webhook URL, before anything is
        stored. Raise ``SignatureInvalid`` to refuse it (the provider gets 401).
        Compare secrets in constant time (``hmac.compare_digest``).
        """
        raise NotImplementedError

    async def parse(self, request: InboundRequest) -> Parsed:
        """Turn a verified request into messages and events.

        Must be deterministic: the same request gives the same result, with
        the same ``external_id``s, so redeliveries are recognised. Raise
        ``MalformedPayload`` for a request that cannot be understood; any
        other exception is a bug in the adapter.
        """
        raise NotImplementedError

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """Send an agent's reply. Return a receipt; do not raise for provider
        failures (say ``retryable`` so the core retries with backoff).
        """
        raise NotImplementedError

    async def place_call(self, request: CallRequest) -> DeliveryReceipt:
        """Voice channels only (SDK 1.2): start a call to ``request.recipient``
        through the provider's API, connecting the agent, while the agent waits.

        Return a ``sent`` receipt whose ``external_id`` is the provider's id of
        the call (the ``call_id`` its webhooks will carry), or a ``failed`` one;
        do not raise for provider failures.
        """
        raise NotImplementedError

    async def poll(self, cursor: str | None) -> PollResult:
        """Pull channels only (IMAP): fetch what arrived after ``cursor``.

        Each request is then verified, parsed and stored like a webhook; the
        returned cursor is saved only after that, so a crash repeats a poll
        rather than skipping one.
        """
        raise NotImplementedError

    async def listen(self, submit: Submit) -> None:
        """Push servers only (SMTP/LMTP): run until cancelled, handing each
        received request to ``submit``.
        """
        raise NotImplementedError

    async def check(self) -> CheckResult:
        """Optional (SDK 1.3): test the channel's connection with its configuration,
        as the admin console's "Test" button does. Called on an admin's request,
        never on a schedule.

        Log in, reach the callback: whatever proves the channel can work, one
        ``CheckStep`` each. Must not send anything to a customer or change
        anything at the provider; must finish within the configuration's own
        timeouts; report failures as steps with ``ok=False``, do not raise.
        Return ``CheckResult()`` (no steps) when the configuration names
        nothing to check.
        """
        raise NotImplementedError

    @classmethod
    def routes(cls) -> Sequence[Any]:
        """Extra Litestar route handlers of this adapter (a widget script, a
        visitor websocket), mounted under ``/channels/{kind}/``. Default: none.

        A handler may take the ``channel_gateway`` dependency (SDK 1.1, a
        ``ChannelGateway``) to open a channel by its public id and submit to
        the intake; see ``frontdesk.channels.live``.
        """
        return ()

    @classmethod
    def sender_kinds(cls) -> frozenset[ContactKindName]:
        """The contact kinds ``parse`` may give senders."""
        return cls.contact_kinds or frozenset({cls.contact_kind})

    @classmethod
    def supports(cls, method: str) -> bool:
        """Whether this adapter implements an optional method (``poll``, ``listen``,
        ``place_call``, ``check``)."""
        return getattr(cls, method) is not getattr(ChannelAdapter, method)
