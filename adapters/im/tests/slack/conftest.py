"""Slack's side of the wire (Events API payloads, ``v0`` signatures computed here with
``hmac`` as Slack documents them) and the contract kit's fixtures."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from frontdesk.channels import ChannelContext, InboundRequest
from frontdesk.testing import ProviderServer, make_request
from frontdesk_im.slack import SlackAdapter, SlackConfig, plugin

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
OK_ANSWER = b'{"ok": true, "channel": "D024BE91L", "ts": "1767225601.000200"}'


class SlackServer(ProviderServer):
    """The kit's provider server, accepting as Slack's Web API does."""

    def accept(self, body: bytes = OK_ANSWER) -> None:
        super().accept(body)


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(
    body: Any,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> InboundRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return make_request(
        raw,
        headers={
            "content-type": "application/json",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": slack_signature(secret, ts, raw),
            **(headers or {}),
        },
    )


def event(**fields: Any) -> dict[str, Any]:
    """A ``message`` event in a direct message with the app (``message.im``)."""
    body: dict[str, Any] = {
        "type": "message",
        "channel": "D024BE91L",
        "user": "U2147483697",
        "text": "Hello, my invoice is wrong",
        "ts": "1767225600.000100",
        "event_ts": "1767225600.000100",
        "channel_type": "im",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def callback(event_id: str = "Ev0PV52K21", **fields: Any) -> dict[str, Any]:
    """An ``event_callback`` envelope around ``event(**fields)``."""
    return {
        "token": "XXYYZZ",
        "team_id": "T0001",
        "api_app_id": "A0PNCHHK2",
        "event": event(**fields),
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1767225600,
        "authorizations": [{"team_id": "T0001", "user_id": "U0BOT", "is_bot": True}],
    }


URL_VERIFICATION = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}


def make_config(**fields: Any) -> SlackConfig:
    values: dict[str, Any] = {
        "signing_secret": SIGNING_SECRET,
        "bot_token": BOT_TOKEN,
        "timeout_seconds": 1.0,
    }
    values.update(fields)
    return SlackConfig(**values)


@pytest.fixture(scope="session")
def adapter_for(context: ChannelContext) -> Callable[..., SlackAdapter]:
    def build(**fields: Any) -> SlackAdapter:
        return SlackAdapter(make_config(**fields), context)

    return build


@pytest.fixture(scope="session")
def slack_adapter(adapter_for: Callable[..., SlackAdapter]) -> SlackAdapter:
    return adapter_for()


@pytest.fixture(scope="session")
def sl() -> Any:
    """Builders: ``sl.signed(body, ...)``, ``sl.callback(...)``, ``sl.event(...)``."""

    class Builders:
        pass

    builders = Builders()
    for f in (signed, callback, event, slack_signature):
        setattr(builders, f.__name__, staticmethod(f))
    builders.URL_VERIFICATION = URL_VERIFICATION  # type: ignore[attr-defined]
    return builders


# --- the contract kit's fixtures -------------------------------------------------


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with SlackServer() as server:
        yield server


@pytest.fixture
def adapter_class() -> type[SlackAdapter]:
    return SlackAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin


@pytest.fixture
def channel_config(provider: ProviderServer) -> SlackConfig:
    return make_config(api_base_url=provider.url)


@pytest.fixture
def sign_request() -> Callable[[InboundRequest], InboundRequest]:
    def sign(request: InboundRequest) -> InboundRequest:
        ts = str(int(time.time()))
        headers = {
            **request.headers,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": slack_signature(SIGNING_SECRET, ts, request.body),
        }
        return msgspec.structs.replace(request, headers=headers)

    return sign


@pytest.fixture
def signed_requests() -> list[InboundRequest]:
    shared = {"channel": "C0SHARED1", "channel_type": "channel"}
    return [
        signed(callback()),
        signed(URL_VERIFICATION),
        signed(
            callback(
                "Ev0PV52K22",
                **shared,
                thread_ts="1767225500.000001",
                files=[
                    {
                        "id": "F0S43PZDF",
                        "name": "invoice.pdf",
                        "mimetype": "application/pdf",
                        "size": 31200,
                        "url_private": "https://files.slack.com/x/invoice.pdf",
                    }
                ],
                subtype="file_share",
            )
        ),
        signed(
            callback(
                "Ev0PV52K23",
                subtype="message_changed",
                text=...,
                user=...,
                message={
                    "type": "message",
                    "user": "U2147483697",
                    "text": "fixed",
                    "ts": "1767225600.000100",
                    "edited": {"user": "U2147483697", "ts": "1767225700.000000"},
                },
                ts="1767225700.000200",
            )
        ),
        signed(
            {
                **callback("Ev0PV52K24"),
                "event": {
                    "type": "reaction_added",
                    "user": "U1",
                    "reaction": "thumbsup",
                    "item": {},
                },
            }
        ),
    ]


@pytest.fixture
def bad_signature_requests() -> list[InboundRequest]:
    genuine = signed(callback())
    now = int(time.time())

    def with_headers(**headers: str) -> InboundRequest:
        return msgspec.structs.replace(genuine, headers={**genuine.headers, **headers})

    return [
        signed(callback(), secret="another-apps-signing-secret"),
        msgspec.structs.replace(genuine, body=genuine.body.replace(b"invoice", b"refund!")),
        signed(callback(), timestamp=now - 301),  # a replay five minutes later
        signed(callback(), timestamp=now + 400),
        with_headers(**{"x-slack-request-timestamp": str(now - 1)}),  # signed for another time
        with_headers(**{"x-slack-signature": "v1=" + "0" * 64}),
        with_headers(**{"x-slack-signature": "v0=" + "z" * 64}),
        with_headers(**{"x-slack-request-timestamp": "soon"}),
        with_headers(**{"x-slack-signature": "v0=" + "é" * 64}),
    ]


@pytest.fixture
def unsigned_requests() -> list[InboundRequest]:
    genuine = signed(callback())
    no_sig = {k: v for k, v in genuine.headers.items() if k != "x-slack-signature"}
    no_ts = {k: v for k, v in genuine.headers.items() if k != "x-slack-request-timestamp"}
    return [
        make_request(callback()),
        msgspec.structs.replace(genuine, headers=no_sig),
        msgspec.structs.replace(genuine, headers=no_ts),
    ]


@pytest.fixture
def malformed_requests() -> list[InboundRequest]:
    return [
        signed(b"not json"),
        signed(b"token=x&team_id=T1"),  # a slash command's form body on the events URL
        signed([callback()]),
        signed({"event": event()}),
        signed({**URL_VERIFICATION, "challenge": None}),
        signed({**URL_VERIFICATION, "challenge": "<script>alert(1)</script>"}),
        signed({**callback(), "event_id": None}),
        signed({**callback(), "event_id": 42}),
        signed({k: v for k, v in callback().items() if k != "event"}),
        signed(callback(ts=...)),
        signed(callback(ts="yesterday")),
        signed(callback(channel=...)),
        signed(callback(user="not a slack id")),
        signed(callback(files=[{"name": "no id"}])),
    ]
