"""Fixtures: signed intake bodies, and the contract kit's, with the platform's
services stood in for by an in-memory ``ChannelServices`` the kit can script.

Web chat delivers by recording to the conversation's transcript and
publishing to its topic, not by calling a provider: the kit's ``provider``
is replaced by ``LocalServices`` (the ``DeliveryProvider`` protocol:
``accept``, ``fail``, ``stall``, ``received``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest

from frontdesk.channels import ChannelContext, InboundRequest, OutboundMessage, TranscriptEntry
from frontdesk.testing import make_request
from frontdesk_webchat import SIGNATURE_HEADER, WebchatAdapter, WebchatConfig, plugin, sign_body

SECRET = "webchat-test-secret-0123456789"
CONVERSATION = "v.kit-visitor-0123456789"
WEBHOOK_URL = "https://desk.example.com/hooks/webchat-test"


def pytest_configure(config: pytest.Config) -> None:
    # As adapters/webhook: from a source tree the kit must be registered here.
    import frontdesk.testing.plugin as kit

    if not config.pluginmanager.is_registered(kit):
        config.pluginmanager.register(kit, "frontdesk-contract-kit")


class LocalServices:
    """An in-memory ``ChannelServices`` that a test can make fail or stall."""

    def __init__(self) -> None:
        self.transcripts: dict[str, list[TranscriptEntry]] = {}
        self.published: list[tuple[str, bytes]] = []
        self.received = 0
        self._mode = "accept"
        self._stall = 0.0

    def accept(self, body: bytes = b"") -> None:
        self._mode = "accept"

    def fail(self, status: int = 500) -> None:
        self._mode = "fail"

    def stall(self, seconds: float) -> None:
        self._mode, self._stall = "stall", seconds

    async def _arrive(self) -> None:
        self.received += 1
        if self._mode == "fail":
            raise ConnectionError("pub/sub refused the connection")
        if self._mode == "stall":
            await asyncio.sleep(self._stall)

    async def publish(self, topic: str, data: bytes) -> None:
        await self._arrive()
        self.published.append((topic, data))

    def subscribe(self, topic: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes]]:
        raise NotImplementedError("not used by the adapter's own tests")

    async def record(self, conversation: str, entry_id: str, data: bytes) -> int:
        await self._arrive()
        entries = self.transcripts.setdefault(conversation, [])
        for entry in entries:
            if entry.entry_id == entry_id:
                return entry.seq
        entries.append(TranscriptEntry(seq=len(entries) + 1, entry_id=entry_id, data=data))
        return len(entries)

    async def history(
        self, conversation: str, *, after: int = 0, limit: int = 200
    ) -> list[TranscriptEntry]:
        return [e for e in self.transcripts.get(conversation, []) if e.seq > after][:limit]


def intake_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "id": "m1",
        "conversation": CONVERSATION,
        "sender": {"kind": "webchat", "value": "kit-visitor-0123456789", "name": "Ada"},
        "text": "Where is my order?",
        "sent_at": "2026-12-01T09:30:00Z",
    }
    body.update(fields)
    return body


def signed(body: Any, *, secret: str = SECRET, timestamp: int | None = None) -> InboundRequest:
    request = make_request(body, url=WEBHOOK_URL)
    header = sign_body(secret, request.body, timestamp)
    return msgspec.structs.replace(request, headers={**request.headers, SIGNATURE_HEADER: header})


@pytest.fixture
def adapter_class() -> type[WebchatAdapter]:
    return WebchatAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin


@pytest.fixture
def provider() -> LocalServices:
    return LocalServices()


@pytest.fixture
def channel_context(provider: LocalServices) -> ChannelContext:
    return ChannelContext(
        channel_id="webchat-test",
        webhook_url=WEBHOOK_URL,
        public_url="https://desk.example.com",
        services=provider,
    )


@pytest.fixture
def channel_config() -> WebchatConfig:
    # A short timeout: the kit waits 5 s for a delivery that never completes.
    return WebchatConfig(secret=SECRET, identity_secret="host-site-secret", deliver_timeout=1.0)


@pytest.fixture
def outbound_message() -> OutboundMessage:
    from frontdesk.channels import ContactRef, ThreadHints

    return OutboundMessage(
        id="delivery-1",
        recipient=ContactRef(kind="webchat", value="kit-visitor-0123456789"),
        text="It ships today.",
        thread=ThreadHints(conversation_id=CONVERSATION),
    )


@pytest.fixture
def adapter(channel_config: WebchatConfig, channel_context: ChannelContext) -> WebchatAdapter:
    return WebchatAdapter(channel_config, channel_context)


@pytest.fixture
def sign_request() -> Callable[[InboundRequest], InboundRequest]:
    def sign(request: InboundRequest) -> InboundRequest:
        header = sign_body(SECRET, request.body)
        return msgspec.structs.replace(
            request, headers={**request.headers, SIGNATURE_HEADER: header}
        )

    return sign


@pytest.fixture
def signed_requests() -> list[InboundRequest]:
    return [
        signed(intake_body()),
        signed(
            intake_body(
                id="m2",
                conversation="u.verified-user-0123456789",
                sender={"kind": "email", "value": "ada@example.com"},
                topic="Billing",
            )
        ),
        signed(
            {
                "type": "activity",
                "id": "a1",
                "kind": "read",
                "conversation": CONVERSATION,
                "sender": {"kind": "webchat", "value": "kit-visitor-0123456789"},
                "sent_at": "2026-12-01T09:31:00Z",
                "seq": 3,
            }
        ),
    ]


@pytest.fixture
def bad_signature_requests() -> list[InboundRequest]:
    genuine = signed(intake_body())
    now = int(dt.datetime.now(dt.UTC).timestamp())

    def with_header(value: str) -> InboundRequest:
        return msgspec.structs.replace(
            genuine, headers={**genuine.headers, SIGNATURE_HEADER: value}
        )

    return [
        signed(intake_body(), secret="another-channels-secret-000"),
        msgspec.structs.replace(genuine, body=genuine.body.replace(b"order", b"parcel")),
        with_header(sign_body(SECRET, genuine.body, now - 3600)),  # replayed an hour later
        with_header(f"t={now},v1=not-hex"),
        with_header(f"t={now},v1=é"),
        with_header("garbage"),
    ]


@pytest.fixture
def unsigned_requests() -> list[InboundRequest]:
    return [
        make_request(intake_body(), url=WEBHOOK_URL),
        make_request(intake_body(), url=WEBHOOK_URL, headers={SIGNATURE_HEADER: ""}),
    ]


@pytest.fixture
def malformed_requests() -> list[InboundRequest]:
    bodies: list[Any] = [
        b"not json",
        b"",
        [intake_body()],
        intake_body(id=""),
        intake_body(id="has spaces"),
        intake_body(text="   "),
        intake_body(text=42),
        intake_body(conversation="someone-else"),
        intake_body(sender={"kind": "phone", "value": "+14155550123"}),
        intake_body(sent_at="yesterday"),
        {**intake_body(), "tenant_id": "x"},
        intake_body(type="unknown"),
        {k: v for k, v in intake_body().items() if k != "type"},
        {**intake_body(type="activity", kind="shouting"), "text": None},
    ]
    return [signed(body) for body in bodies]
