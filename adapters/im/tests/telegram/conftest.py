"""Telegram's side of the wire (updates as the Bot API documents them) and the
contract kit's fixtures."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from frontdesk.channels import ChannelContext, InboundRequest
from frontdesk.testing import ProviderServer, make_request
from frontdesk_im.telegram import TelegramAdapter, TelegramConfig, plugin

BOT_TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SECRET_TOKEN = "frontdesk-telegram-secret-2026"
HEADER = "x-telegram-bot-api-secret-token"
OK_ANSWER = (
    b'{"ok": true, "result": {"message_id": 4242, "date": 1767225600,'
    b' "chat": {"id": 1, "type": "private"}}}'
)


class TelegramServer(ProviderServer):
    """The kit's provider server, accepting as the Bot API does."""

    def accept(self, body: bytes = OK_ANSWER) -> None:
        super().accept(body)


def user(**fields: Any) -> dict[str, Any]:
    return {
        "id": 123456789,
        "is_bot": False,
        "first_name": "Wei",
        "last_name": "Li",
        "username": "liwei",
        "language_code": "zh-hans",
        **fields,
    }


def message(**fields: Any) -> dict[str, Any]:
    """A Bot API ``Message`` in a private chat with the bot."""
    body: dict[str, Any] = {
        "message_id": 311,
        "from": user(),
        "chat": {
            "id": 123456789,
            "first_name": "Wei",
            "last_name": "Li",
            "username": "liwei",
            "type": "private",
        },
        "date": 1767225600,
        "text": "Hi, my order #5521 has not arrived",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def update(update_id: int = 871234501, kind: str = "message", **fields: Any) -> dict[str, Any]:
    return {"update_id": update_id, kind: message(**fields)}


def signed(body: Any, *, secret: str | None = SECRET_TOKEN) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    return make_request(raw, headers=headers)


def make_config(**fields: Any) -> TelegramConfig:
    values: dict[str, Any] = {
        "bot_token": BOT_TOKEN,
        "secret_token": SECRET_TOKEN,
        "timeout_seconds": 1.0,
    }
    values.update(fields)
    return TelegramConfig(**values)


@pytest.fixture(scope="session")
def adapter_for(context: ChannelContext) -> Callable[..., TelegramAdapter]:
    def build(**fields: Any) -> TelegramAdapter:
        return TelegramAdapter(make_config(**fields), context)

    return build


@pytest.fixture(scope="session")
def telegram_adapter(adapter_for: Callable[..., TelegramAdapter]) -> TelegramAdapter:
    return adapter_for()


@pytest.fixture(scope="session")
def tg() -> Any:
    """Builders: ``tg.update(...)``, ``tg.message(...)``, ``tg.user(...)``, ``tg.signed(body)``."""

    class Builders:
        pass

    builders = Builders()
    for f in (update, message, user, signed):
        setattr(builders, f.__name__, staticmethod(f))
    return builders


# --- the contract kit's fixtures -------------------------------------------------


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with TelegramServer() as server:
        yield server


@pytest.fixture
def adapter_class() -> type[TelegramAdapter]:
    return TelegramAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin


@pytest.fixture
def channel_config(provider: ProviderServer) -> TelegramConfig:
    return make_config(api_base_url=provider.url)


@pytest.fixture
def sign_request() -> Callable[[InboundRequest], InboundRequest]:
    def sign(request: InboundRequest) -> InboundRequest:
        return msgspec.structs.replace(request, headers={**request.headers, HEADER: SECRET_TOKEN})

    return sign


@pytest.fixture
def signed_requests() -> list[InboundRequest]:
    return [
        signed(update()),
        signed(
            update(
                871234502,
                text=...,
                caption="the box",
                photo=[
                    {"file_id": "AgAD-small", "file_unique_id": "s", "width": 90, "height": 90},
                    {
                        "file_id": "AgAD-big",
                        "file_unique_id": "b",
                        "width": 1280,
                        "height": 960,
                        "file_size": 120000,
                    },
                ],
            )
        ),
        signed(update(871234503, kind="edited_message", edit_date=1767225700)),
        signed(
            {"update_id": 871234504, "callback_query": {"id": "1", "from": user(), "data": "x"}}
        ),
    ]


@pytest.fixture
def bad_signature_requests() -> list[InboundRequest]:
    return [
        signed(update(), secret="another-bots-secret-token"),
        signed(update(), secret=SECRET_TOKEN + "x"),
        signed(update(), secret=SECRET_TOKEN[:-1]),
        signed(update(), secret=SECRET_TOKEN.upper()),
        signed(update(), secret="é" * 20),
    ]


@pytest.fixture
def unsigned_requests() -> list[InboundRequest]:
    return [signed(update(), secret=None), signed(update(), secret="")]


@pytest.fixture
def malformed_requests() -> list[InboundRequest]:
    return [
        signed(b"not json"),
        signed(b""),
        signed([update()]),
        signed({"message": message()}),
        signed({"update_id": "871234501", "message": message()}),
        signed({"update_id": -1, "message": message()}),
        signed(update(chat=...)),
        signed(update(date="yesterday")),
        signed(update(date=-5)),
        signed(update(text=42)),
        signed(update(**{"from": {"first_name": "no id"}})),
    ]
