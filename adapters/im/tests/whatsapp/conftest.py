"""WhatsApp Cloud API's side of the wire (webhook notifications as Meta documents them,
``X-Hub-Signature-256`` computed here with ``hmac``) and the contract kit's fixtures."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from frontdesk.channels import ChannelContext, InboundRequest
from frontdesk.testing import ProviderServer, make_request
from frontdesk_im.whatsapp import WhatsAppAdapter, WhatsAppConfig, plugin

PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAJB3xyzAccessTokenForTests0123456789"
APP_SECRET = "6c1b0e2f7a9d4c3b8e5f1a2d3c4b5a69"
VERIFY_TOKEN = "frontdesk-verify-token-2026"
WA_ID = "8613800138000"
OK_ANSWER = (
    b'{"messaging_product": "whatsapp", "contacts": [{"input": "8613800138000",'
    b' "wa_id": "8613800138000"}], "messages": [{"id": "wamid.HBgNODYxMzgwMDEzODAwMBUCABEYEjQ1"}]}'
)


class WhatsAppServer(ProviderServer):
    """The kit's provider server, accepting as the Cloud API does."""

    def accept(self, body: bytes = OK_ANSWER) -> None:
        super().accept(body)


def hub_signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(body: Any, *, secret: str | None = APP_SECRET) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-hub-signature-256"] = hub_signature(raw, secret)
    return make_request(raw, headers=headers)


def handshake(
    token: str = VERIFY_TOKEN, mode: str = "subscribe", challenge: str = "1158201444"
) -> InboundRequest:
    return make_request(
        b"",
        method="GET",
        query={"hub.mode": [mode], "hub.verify_token": [token], "hub.challenge": [challenge]},
    )


def wa_message(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from": WA_ID,
        "id": "wamid.HBgNODYxMzgwMDEzODAwMBUCABIYFjNFQjBDNkY0",
        "timestamp": "1767225600",
        "type": "text",
        "text": {"body": "你好，我想退货"},
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def notification(
    *messages: dict[str, Any],
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
    name: str = "Li Wei",
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": WA_ID}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def make_config(**fields: Any) -> WhatsAppConfig:
    values: dict[str, Any] = {
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "timeout_seconds": 1.0,
    }
    values.update(fields)
    return WhatsAppConfig(**values)


@pytest.fixture(scope="session")
def adapter_for(context: ChannelContext) -> Callable[..., WhatsAppAdapter]:
    def build(**fields: Any) -> WhatsAppAdapter:
        return WhatsAppAdapter(make_config(**fields), context)

    return build


@pytest.fixture(scope="session")
def whatsapp_adapter(adapter_for: Callable[..., WhatsAppAdapter]) -> WhatsAppAdapter:
    return adapter_for()


@pytest.fixture(scope="session")
def wa() -> Any:
    """Builders: ``wa.signed``, ``wa.handshake``, ``wa.notification``, ``wa.message``."""

    class Builders:
        pass

    builders = Builders()
    for f in (signed, handshake, notification, hub_signature):
        setattr(builders, f.__name__, staticmethod(f))
    builders.message = staticmethod(wa_message)  # type: ignore[attr-defined]
    return builders


# --- the contract kit's fixtures -------------------------------------------------


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with WhatsAppServer() as server:
        yield server


@pytest.fixture
def adapter_class() -> type[WhatsAppAdapter]:
    return WhatsAppAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin


@pytest.fixture
def channel_config(provider: ProviderServer) -> WhatsAppConfig:
    return make_config(api_base_url=provider.url, template_name="reply_waiting")


@pytest.fixture
def sign_request() -> Callable[[InboundRequest], InboundRequest]:
    def sign(request: InboundRequest) -> InboundRequest:
        if request.method == "GET":
            return msgspec.structs.replace(
                request, query={**request.query, "hub.verify_token": [VERIFY_TOKEN]}
            )
        headers = {**request.headers, "x-hub-signature-256": hub_signature(request.body)}
        return msgspec.structs.replace(request, headers=headers)

    return sign


@pytest.fixture
def signed_requests() -> list[InboundRequest]:
    image = wa_message(
        id="wamid.IMAGE1",
        type="image",
        text=...,
        image={
            "caption": "破损的包裹",
            "mime_type": "image/jpeg",
            "sha256": "abc",
            "id": "1234567890",
        },
    )
    read = {"id": "wamid.OUT1", "status": "read", "timestamp": "1767225700", "recipient_id": WA_ID}
    return [
        signed(notification(wa_message())),
        signed(notification(image)),
        signed(notification(statuses=[read])),
        handshake(),
    ]


@pytest.fixture
def bad_signature_requests() -> list[InboundRequest]:
    genuine = signed(notification(wa_message()))

    def with_header(value: str) -> InboundRequest:
        return msgspec.structs.replace(
            genuine, headers={**genuine.headers, "x-hub-signature-256": value}
        )

    return [
        signed(notification(wa_message()), secret="another-apps-secret-000000000"),
        msgspec.structs.replace(genuine, body=genuine.body.replace(b"1767225600", b"1767225601")),
        with_header("sha1=" + "0" * 40),
        with_header("sha256=" + "0" * 64),
        with_header("sha256=" + "g" * 64),
        with_header(hub_signature(genuine.body)[7:]),
        with_header("sha256=" + "é" * 64),
        handshake(token="not-the-verify-token"),
        handshake(token=VERIFY_TOKEN.upper()),
    ]


@pytest.fixture
def unsigned_requests() -> list[InboundRequest]:
    no_token = make_request(
        b"", method="GET", query={"hub.mode": ["subscribe"], "hub.challenge": ["1"]}
    )
    return [
        signed(notification(wa_message()), secret=None),
        msgspec.structs.replace(
            signed(notification(wa_message())),
            headers={"content-type": "application/json", "x-hub-signature-256": ""},
        ),
        no_token,
    ]


@pytest.fixture
def malformed_requests() -> list[InboundRequest]:
    return [
        signed(b"not json"),
        signed(b""),
        signed([notification(wa_message())]),
        signed({**notification(wa_message()), "object": "page"}),
        signed({"object": "whatsapp_business_account"}),
        signed(notification(wa_message(timestamp="yesterday"))),
        signed(notification(wa_message(timestamp=1767225600))),
        signed(notification(wa_message(text=...))),
        signed(notification(wa_message(**{"from": "+86 138"}))),
        signed(notification(wa_message(id=""))),
        signed(notification(wa_message(type="image"))),
        handshake(mode="unsubscribe"),
        handshake(challenge="<b>reflected</b>"),
    ]
