"""Fixtures: this package's own (adapters, signed requests) and the contract kit's.

The kit's scripted provider (``frontdesk.testing.ProviderServer``, a real HTTP
server on 127.0.0.1) stands in for the customer's callback endpoint.
"""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from frontdesk.channels import ChannelContext, InboundRequest
from frontdesk.testing import ProviderServer, make_request
from frontdesk_webhook import SIGNATURE_HEADER, WebhookAdapter, WebhookConfig, plugin, sign

SECRET = "whsec_test_0123456789abcdef"
HEADER = SIGNATURE_HEADER.lower()
CONTEXT = ChannelContext(
    channel_id="ch_test",
    webhook_url="https://desk.example.com/hooks/ch_test",
    public_url="https://desk.example.com",
)


def pytest_configure(config: pytest.Config) -> None:
    # The kit's fixtures come from its pytest11 entry point when frontdesk is
    # installed; running from a source tree (PYTHONPATH) they must be loaded here.
    import frontdesk.testing.plugin as kit

    if not config.pluginmanager.is_registered(kit):
        config.pluginmanager.register(kit, "frontdesk-contract-kit")


@pytest.fixture
def secret() -> str:
    return SECRET


def make_adapter(**config: Any) -> WebhookAdapter:
    config.setdefault("secret", SECRET)
    return WebhookAdapter(WebhookConfig(**config), CONTEXT)


@pytest.fixture
def adapter() -> WebhookAdapter:
    return make_adapter()


@pytest.fixture
def adapter_for() -> Callable[..., WebhookAdapter]:
    """An adapter with this configuration (the secret defaults to the test one)."""
    return make_adapter


def signed(
    body: bytes | str | dict[str, Any] | list[Any],
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    header: str | None = "sign",
) -> InboundRequest:
    """A request as the customer's system would send it, signed unless told otherwise."""
    if isinstance(body, dict | list):
        raw = json.dumps(body, ensure_ascii=False).encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body
    headers = {"content-type": "application/json"}
    if header == "sign":
        when = int(time.time()) if timestamp is None else timestamp
        headers[HEADER] = sign(secret, raw, when)
    elif header is not None:
        headers[HEADER] = header
    return InboundRequest(
        method="POST", url=CONTEXT.webhook_url, headers=headers, query={}, body=raw
    )


@pytest.fixture
def request_for() -> Callable[..., InboundRequest]:
    """Build a signed request: ``request_for(body, secret=, timestamp=, header=)``."""
    return signed


# --- the contract kit's fixtures (frontdesk.testing.plugin lists them) -------------

# The kit checks every sender against the declared contact kinds: one request
# per kind is among these.
KIT_MESSAGE: dict[str, Any] = {
    "id": "kit-1",
    "sender": {"kind": "email", "value": "customer-42@example.com"},
    "text": "My order has not arrived",
}
KIT_BATCH: dict[str, Any] = {
    "messages": [
        {
            "id": "kit-2",
            "conversation_id": "order-1234",
            "sender": {"kind": "im", "value": "customer-42", "provider": "shop", "name": "Ada"},
            "subject": "Order 1234",
            "text": "Any news? 有消息吗？",
            "html": "<p>Any news?</p><script>x()</script>",
            "sent_at": "2026-05-01T09:30:00Z",
            "ticket_number": "CS-2026-000042",
            "metadata": {"order": "1234", "total": 99.5},
        }
    ],
    "events": [
        {
            "id": "kit-3",
            "kind": "read",
            "conversation_id": "order-1234",
            "sender": {"kind": "im", "value": "customer-42", "provider": "shop"},
        }
    ],
}


@pytest.fixture
def adapter_class() -> type[WebhookAdapter]:
    return WebhookAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin  # the module the entry point names: the kit loads the adapter through it


@pytest.fixture
def channel_config(provider: ProviderServer) -> WebhookConfig:
    # A short timeout: the kit waits 5 s for a delivery to a provider that never answers.
    return WebhookConfig(
        secret=SECRET, callback_url=f"{provider.url}/frontdesk/replies", timeout_seconds=1.0
    )


@pytest.fixture
def sign_request() -> Callable[[InboundRequest], InboundRequest]:
    def signed_now(request: InboundRequest) -> InboundRequest:
        header = sign(SECRET, request.body, int(time.time()))
        return msgspec.structs.replace(request, headers={**request.headers, HEADER: header})

    return signed_now


@pytest.fixture
def signed_requests(
    sign_request: Callable[[InboundRequest], InboundRequest],
) -> list[InboundRequest]:
    return [sign_request(make_request(KIT_MESSAGE)), sign_request(make_request(KIT_BATCH))]


@pytest.fixture
def bad_signature_requests(
    sign_request: Callable[[InboundRequest], InboundRequest],
) -> list[InboundRequest]:
    genuine = sign_request(make_request(KIT_MESSAGE))
    now = int(time.time())

    def with_header(value: str) -> InboundRequest:
        return msgspec.structs.replace(genuine, headers={**genuine.headers, HEADER: value})

    return [
        with_header(sign("whsec_another_tenant_secret", genuine.body, now)),
        msgspec.structs.replace(genuine, body=genuine.body.replace(b"arrived", b"shipped")),
        with_header(sign(SECRET, genuine.body, now - 3600)),  # a replay an hour later
        with_header(genuine.headers[HEADER].split(",")[1]),  # v1 without t
        with_header(f"t={now},v1=not-a-hex-digest"),
        with_header(f"t={now},v1=é"),
    ]


@pytest.fixture
def unsigned_requests() -> list[InboundRequest]:
    return [make_request(KIT_MESSAGE), make_request(KIT_MESSAGE, headers={HEADER: ""})]


@pytest.fixture
def malformed_requests(
    sign_request: Callable[[InboundRequest], InboundRequest],
) -> list[InboundRequest]:
    without_sender = {k: v for k, v in KIT_MESSAGE.items() if k != "sender"}
    bodies: list[Any] = [
        b"not json",
        b"",
        [KIT_MESSAGE],
        {**KIT_MESSAGE, "id": ""},
        {**KIT_MESSAGE, "text": "   "},
        without_sender,
        {**KIT_MESSAGE, "sender": {"kind": "im", "value": "customer-42"}},
        {**KIT_MESSAGE, "text": 42},
        {**KIT_MESSAGE, "sent_at": "yesterday"},
        {"messages": [KIT_MESSAGE, KIT_MESSAGE]},
    ]
    return [sign_request(make_request(body)) for body in bodies]
