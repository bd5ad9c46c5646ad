"""The IM channels (frontdesk-im: WeCom, Telegram, Slack, WhatsApp) through the platform.

End to end, as in test_pipeline.py: channels are created through
POST /api/v1/channels; each provider's requests are built here as its
documentation describes them (signed and encrypted with hashlib, hmac and
cryptography, not with the adapters' code) and posted to the channel's
webhook URL; jobs run on the in-process broker; and a real HTTP server on
127.0.0.1 (ProviderServer) stands in for the provider's API through each
channel's ``api_base_url``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from xml.sax.saxutils import escape

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import func, select

from conftest import TenantUnderTest, drain
from frontdesk.channels.delivery import LEASE
from frontdesk.channels.models import Delivery, InboundEvent
from frontdesk.identity.models import ContactPoint, Customer
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderResponse, ProviderServer, ReceivedRequest
from frontdesk.tickets.models import Message, Ticket

# --- the providers' side of the wire ---------------------------------------------


@dataclass(frozen=True)
class Hook:
    """One request as a provider sends it to a channel's webhook URL."""

    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Sim:
    """A provider as the channel sees it: its webhook requests and its API's answers."""

    kind: ClassVar[str]
    #: The sender's stable id at the provider: the IM contact point's value.
    handle: ClassVar[str]
    #: ``handle`` as GET /customers/{id} must show it.
    masked: ClassVar[str]
    display_name: ClassVar[str | None] = None
    #: Configuration fields the API must never show.
    secret_fields: ClassVar[tuple[str, ...]]
    #: The path of the provider API's "send a message" call.
    send_path: ClassVar[str]
    #: What the API answers to a sent message, and the message id in it.
    ok_answer: ClassVar[bytes]
    sent_id: ClassVar[str]

    def config(self, api_base_url: str) -> dict[str, Any]:
        raise NotImplementedError

    def message(self, n: int, text: str) -> Hook:
        """The customer's ``n``-th message (each ``n`` has its own provider id)."""
        raise NotImplementedError

    def redelivered(self, n: int, text: str) -> Hook:
        """Message ``n`` sent again by the provider, as it retries a webhook."""
        return self.message(n, text)

    def refused(self, n: int, text: str) -> dict[str, Hook]:
        """Requests that must fail verification: tampered, stale, unsigned."""
        raise NotImplementedError

    def handshake(self) -> tuple[Hook, bytes, Hook] | None:
        """The provider's verification request, what it must be answered, and a forged one."""
        return None

    def expected_send(self, n: int, text: str) -> dict[str, Any]:
        """The JSON the provider's API must receive for a reply to message ``n``."""
        raise NotImplementedError

    def check_send(self, request: ReceivedRequest) -> None:
        """Provider-specific checks of a send request (authentication)."""

    def rate_limited(self, seconds: int) -> list[ProviderResponse]:
        """Answers to queue so the next send is refused with a 429 saying ``seconds``."""
        raise NotImplementedError

    def sends(self, provider: ProviderServer) -> list[ReceivedRequest]:
        return [r for r in provider.requests if r.path == self.send_path]


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


# WeCom (企业微信): "加解密方案说明", written from the documentation.

WECOM_CORP_ID = "ww0123456789abcdef"
WECOM_AGENT_ID = 1000002
WECOM_TOKEN = "FrontdeskWeComToken2026"
WECOM_AES_KEY = bytes(range(100, 132))
# 32 bytes, base64 without its "=": how the WeCom console shows an EncodingAESKey.
WECOM_ENCODING_AES_KEY = base64.b64encode(WECOM_AES_KEY).decode().rstrip("=")
WECOM_ACCESS_TOKEN = "wecom-access-token-1"


class WeCom(Sim):
    kind = "wecom"
    secret_fields = ("corp_secret", "token", "encoding_aes_key")
    handle = "LiWei"
    masked = "Li***ei"
    send_path = "/cgi-bin/message/send"
    sent_id = "wecom-msg-1"
    # One body for gettoken and message/send alike, so the standing answer serves both.
    ok_answer = _json(
        {
            "errcode": 0,
            "errmsg": "ok",
            "access_token": WECOM_ACCESS_TOKEN,
            "expires_in": 7200,
            "invaliduser": "",
            "msgid": sent_id,
        }
    )

    def __init__(self) -> None:
        # The adapter caches access tokens per process by API URL and secret:
        # a secret of each test's own keeps every test's first call a gettoken.
        self.corp_secret = f"corp-secret-{uuid.uuid4().hex}"

    def config(self, api_base_url: str) -> dict[str, Any]:
        return {
            "corp_id": WECOM_CORP_ID,
            "agent_id": WECOM_AGENT_ID,
            "corp_secret": self.corp_secret,
            "token": WECOM_TOKEN,
            "encoding_aes_key": WECOM_ENCODING_AES_KEY,
            "api_base_url": api_base_url,
            "timeout_seconds": 5,
        }

    @staticmethod
    def encrypt(message: bytes, receive_id: str = WECOM_CORP_ID) -> str:
        """AES-256-CBC, IV = the key's first 16 bytes, over
        random(16) | len(4, network order) | message | receive id, PKCS#7 to 32 bytes."""
        plain = os.urandom(16) + struct.pack("!I", len(message)) + message + receive_id.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad] * pad)
        encryptor = Cipher(algorithms.AES(WECOM_AES_KEY), modes.CBC(WECOM_AES_KEY[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    @staticmethod
    def sign(timestamp: str, nonce: str, encrypted: str, token: str = WECOM_TOKEN) -> str:
        """msg_signature: SHA-1 of token, timestamp, nonce and ciphertext, sorted, joined."""
        joined = "".join(sorted([token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom's scheme

    def inner(self, n: int, text: str) -> bytes:
        fields: dict[str, Any] = {
            "ToUserName": WECOM_CORP_ID,
            "FromUserName": self.handle,
            "CreateTime": int(time.time()),
            "MsgType": "text",
            "Content": text,
            "MsgId": str(7341234567890123400 + n),
            "AgentID": WECOM_AGENT_ID,
        }
        parts = [
            f"<{tag}><![CDATA[{value}]]></{tag}>"
            if isinstance(value, str)
            else f"<{tag}>{escape(str(value))}</{tag}>"
            for tag, value in fields.items()
        ]
        return ("<xml>" + "".join(parts) + "</xml>").encode()

    @staticmethod
    def envelope(encrypted: str) -> bytes:
        return (
            f"<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{WECOM_AGENT_ID}]]></AgentID></xml>"
        ).encode()

    def callback(
        self,
        inner: bytes,
        *,
        timestamp: int | None = None,
        nonce: str = "1372623149",
        receive_id: str = WECOM_CORP_ID,
    ) -> Hook:
        encrypted = self.encrypt(inner, receive_id)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return Hook(
            params={
                "msg_signature": self.sign(ts, nonce, encrypted),
                "timestamp": ts,
                "nonce": nonce,
            },
            headers={"content-type": "text/xml"},
            body=self.envelope(encrypted),
        )

    def message(self, n: int, text: str) -> Hook:
        return self.callback(self.inner(n, text))

    def redelivered(self, n: int, text: str) -> Hook:
        # WeCom retries with a new nonce and a new encryption of the same MsgId.
        return self.callback(self.inner(n, text), nonce="2083945817")

    def refused(self, n: int, text: str) -> dict[str, Hook]:
        genuine = self.message(n, text)
        other = self.encrypt(self.inner(n, text + " (changed)"))
        return {
            "tampered ciphertext": Hook(
                params=genuine.params, headers=genuine.headers, body=self.envelope(other)
            ),
            "stale timestamp": self.callback(
                self.inner(n, text), timestamp=int(time.time()) - 3600
            ),
            "another corp's ciphertext": self.callback(
                self.inner(n, text), receive_id="ww_another_corp"
            ),
            "unsigned": Hook(
                params={k: v for k, v in genuine.params.items() if k != "msg_signature"},
                headers=genuine.headers,
                body=genuine.body,
            ),
        }

    def handshake(self) -> tuple[Hook, bytes, Hook]:
        # 验证URL有效性: a GET whose echostr is encrypted; the answer is its plaintext.
        echo = b"4512872385823987235"
        encrypted = self.encrypt(echo)
        ts, nonce = str(int(time.time())), "1372623149"
        genuine = Hook(
            method="GET",
            params={
                "msg_signature": self.sign(ts, nonce, encrypted),
                "timestamp": ts,
                "nonce": nonce,
                "echostr": encrypted,
            },
        )
        forged = Hook(
            method="GET",
            params={
                **genuine.params,
                "msg_signature": self.sign(ts, nonce, encrypted, token="AnotherCompanysToken"),
            },
        )
        return genuine, echo, forged

    def expected_send(self, n: int, text: str) -> dict[str, Any]:
        return {
            "touser": self.handle,
            "msgtype": "text",
            "agentid": WECOM_AGENT_ID,
            "text": {"content": text},
        }

    def check_send(self, request: ReceivedRequest) -> None:
        assert request.query == {"access_token": [WECOM_ACCESS_TOKEN]}

    def rate_limited(self, seconds: int) -> list[ProviderResponse]:
        # gettoken first (each test's own secret: nothing cached), then the send.
        return [
            ProviderResponse(body=self.ok_answer),
            ProviderResponse(
                status=429,
                body=_json({"errcode": 45009, "errmsg": "api freq out of limit"}),
                headers={"content-type": "application/json", "Retry-After": str(seconds)},
            ),
        ]


# Telegram Bot API: updates as https://core.telegram.org/bots/api#update documents them.

TELEGRAM_BOT_TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
TELEGRAM_SECRET = "frontdesk-telegram-secret-2026"
TELEGRAM_USER_ID = 123456789


class Telegram(Sim):
    kind = "telegram"
    secret_fields = ("bot_token", "secret_token")
    handle = str(TELEGRAM_USER_ID)
    masked = "12***89"
    display_name = "Wei Li"
    send_path = f"/bot{TELEGRAM_BOT_TOKEN}/sendMessage"
    sent_id = "4242"
    ok_answer = _json(
        {
            "ok": True,
            "result": {
                "message_id": 4242,
                "date": 1767225600,
                "chat": {"id": TELEGRAM_USER_ID, "type": "private"},
                "text": "…",
            },
        }
    )

    def config(self, api_base_url: str) -> dict[str, Any]:
        return {
            "bot_token": TELEGRAM_BOT_TOKEN,
            "secret_token": TELEGRAM_SECRET,
            "api_base_url": api_base_url,
            "timeout_seconds": 5,
        }

    def update(self, n: int, text: str) -> bytes:
        user = {
            "id": TELEGRAM_USER_ID,
            "is_bot": False,
            "first_name": "Wei",
            "last_name": "Li",
            "username": "liwei",
            "language_code": "zh-hans",
        }
        chat = {
            "id": TELEGRAM_USER_ID,
            "first_name": "Wei",
            "last_name": "Li",
            "username": "liwei",
            "type": "private",
        }
        message = {
            "message_id": 300 + n,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        return _json({"update_id": 871234500 + n, "message": message})

    def message(self, n: int, text: str, *, secret: str | None = TELEGRAM_SECRET) -> Hook:
        headers = {"content-type": "application/json"}
        if secret is not None:
            headers["x-telegram-bot-api-secret-token"] = secret
        return Hook(headers=headers, body=self.update(n, text))

    def refused(self, n: int, text: str) -> dict[str, Hook]:
        # Telegram signs nothing: the secret token header is the whole verification.
        return {
            "another bot's secret token": self.message(n, text, secret="another-bots-secret"),
            "secret token off by one character": self.message(
                n, text, secret=TELEGRAM_SECRET[:-1] + "7"
            ),
            "no secret token": self.message(n, text, secret=None),
        }

    def expected_send(self, n: int, text: str) -> dict[str, Any]:
        return {"chat_id": TELEGRAM_USER_ID, "text": text}

    def rate_limited(self, seconds: int) -> list[ProviderResponse]:
        # The Bot API says how long to wait in the body, not in a header.
        return [
            ProviderResponse(
                status=429,
                body=_json(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {seconds}",
                        "parameters": {"retry_after": seconds},
                    }
                ),
            )
        ]


# Slack Events API, v0 signing: https://api.slack.com/authentication/verifying-requests-from-slack

SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
SLACK_CHANNEL = "C0SHARED1"  # a Slack Connect channel shared with the customer


class Slack(Sim):
    kind = "slack"
    secret_fields = ("signing_secret", "bot_token")
    handle = "U2147483697"
    masked = "U2***97"
    send_path = "/chat.postMessage"
    sent_id = "1767225601.000200"
    ok_answer = _json({"ok": True, "channel": SLACK_CHANNEL, "ts": sent_id})

    def config(self, api_base_url: str) -> dict[str, Any]:
        return {
            "signing_secret": SLACK_SIGNING_SECRET,
            "bot_token": SLACK_BOT_TOKEN,
            "api_base_url": api_base_url,
            "timeout_seconds": 5,
        }

    @staticmethod
    def ts(n: int) -> str:
        return f"{1767225600 + n}.000100"

    def callback(self, n: int, text: str) -> bytes:
        # A customer's top-level message in a shared channel: it starts a thread.
        event = {
            "type": "message",
            "channel": SLACK_CHANNEL,
            "user": self.handle,
            "text": text,
            "ts": self.ts(n),
            "event_ts": self.ts(n),
            "channel_type": "channel",
        }
        return _json(
            {
                "token": "XXYYZZ",
                "team_id": "T0001",
                "api_app_id": "A0PNCHHK2",
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev0PV52K{n:02d}",
                "event_time": 1767225600 + n,
                "authorizations": [{"team_id": "T0001", "user_id": "U0BOT", "is_bot": True}],
            }
        )

    @staticmethod
    def signed(
        body: bytes,
        *,
        secret: str = SLACK_SIGNING_SECRET,
        timestamp: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> Hook:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        base = b"v0:" + ts.encode() + b":" + body
        signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        headers = {
            "content-type": "application/json",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
            **(extra or {}),
        }
        return Hook(headers=headers, body=body)

    def message(self, n: int, text: str) -> Hook:
        return self.signed(self.callback(n, text))

    def redelivered(self, n: int, text: str) -> Hook:
        # Slack's retry of a callback it thinks failed: same event_id, signed again.
        return self.signed(
            self.callback(n, text),
            extra={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
        )

    def refused(self, n: int, text: str) -> dict[str, Hook]:
        genuine = self.message(n, text)
        tampered = genuine.body.replace(text.encode(), b"Please refund me twice")
        assert tampered != genuine.body
        return {
            "tampered body": Hook(headers=genuine.headers, body=tampered),
            "stale timestamp": self.signed(genuine.body, timestamp=int(time.time()) - 600),
            "another app's signing secret": self.signed(
                genuine.body, secret="another-apps-signing-secret"
            ),
            "unsigned": Hook(headers={"content-type": "application/json"}, body=genuine.body),
        }

    def handshake(self) -> tuple[Hook, bytes, Hook]:
        challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        body = _json(
            {
                "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
                "challenge": challenge,
                "type": "url_verification",
            }
        )
        forged = self.signed(body, secret="another-apps-signing-secret")
        return self.signed(body), challenge.encode(), forged

    def expected_send(self, n: int, text: str) -> dict[str, Any]:
        # In the customer's thread, with &, < and > escaped as Slack expects.
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {
            "channel": SLACK_CHANNEL,
            "thread_ts": self.ts(n),
            "text": escaped,
            "unfurl_links": False,
        }

    def check_send(self, request: ReceivedRequest) -> None:
        assert request.headers["authorization"] == f"Bearer {SLACK_BOT_TOKEN}"

    def rate_limited(self, seconds: int) -> list[ProviderResponse]:
        return [
            ProviderResponse(
                status=429,
                body=_json({"ok": False, "error": "ratelimited"}),
                headers={"content-type": "application/json", "Retry-After": str(seconds)},
            )
        ]


# WhatsApp Cloud API: webhook notifications and X-Hub-Signature-256 as Meta documents them.

WA_PHONE_NUMBER_ID = "106540352242922"
WA_ACCESS_TOKEN = "EAAJB3xyzAccessTokenForTests0123456789"
WA_APP_SECRET = "6c1b0e2f7a9d4c3b8e5f1a2d3c4b5a69"
WA_VERIFY_TOKEN = "frontdesk-verify-token-2026"
WA_ID = "8613800138000"


def graph_error(code: int, message: str, *, status: int = 400, **headers: str) -> ProviderResponse:
    body = {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message},
            "fbtrace_id": "AbCdEf",
        }
    }
    return ProviderResponse(
        status=status, body=_json(body), headers={"content-type": "application/json", **headers}
    )


def wa_accepted(wamid: str) -> ProviderResponse:
    return ProviderResponse(
        body=_json(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
                "messages": [{"id": wamid}],
            }
        )
    )


class WhatsApp(Sim):
    kind = "whatsapp"
    secret_fields = ("access_token", "app_secret", "verify_token")
    handle = WA_ID
    masked = "86***00"
    display_name = "Li Wei"
    send_path = f"/{WA_PHONE_NUMBER_ID}/messages"
    sent_id = "wamid.HBgNODYxMzgwMDEzODAwMBUCABEYEjQ1"
    ok_answer = wa_accepted(sent_id).body

    def __init__(self, template_name: str | None = None) -> None:
        self.template_name = template_name

    def config(self, api_base_url: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "phone_number_id": WA_PHONE_NUMBER_ID,
            "access_token": WA_ACCESS_TOKEN,
            "app_secret": WA_APP_SECRET,
            "verify_token": WA_VERIFY_TOKEN,
            "api_base_url": api_base_url,
            "timeout_seconds": 5,
        }
        if self.template_name:
            config["template_name"] = self.template_name
            config["template_ticket_parameter"] = True
        return config

    def notification(self, n: int, text: str) -> bytes:
        message = {
            "from": WA_ID,
            "id": f"wamid.HBgNODYxMzgwMDEzODAwMBUCABIY{n:04d}",
            "timestamp": str(int(time.time())),
            "type": "text",
            "text": {"body": text},
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "15550783881",
                "phone_number_id": WA_PHONE_NUMBER_ID,
            },
            "contacts": [{"profile": {"name": "Li Wei"}, "wa_id": WA_ID}],
            "messages": [message],
        }
        return _json(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
                ],
            }
        )

    @staticmethod
    def signed(body: bytes, secret: str | None = WA_APP_SECRET) -> Hook:
        headers = {"content-type": "application/json"}
        if secret is not None:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["x-hub-signature-256"] = f"sha256={digest}"
        return Hook(headers=headers, body=body)

    def message(self, n: int, text: str) -> Hook:
        return self.signed(self.notification(n, text))

    def refused(self, n: int, text: str) -> dict[str, Hook]:
        genuine = self.message(n, text)
        tampered = genuine.body.replace(text.encode(), b"Please refund me twice")
        assert tampered != genuine.body
        return {
            "tampered body": Hook(headers=genuine.headers, body=tampered),
            "another app's secret": self.signed(genuine.body, "another-apps-secret-0000000"),
            "unsigned": self.signed(genuine.body, None),
        }

    def handshake(self) -> tuple[Hook, bytes, Hook]:
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": WA_VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        }
        forged = {**params, "hub.verify_token": "not-the-verify-token"}
        return Hook(method="GET", params=params), b"1158201444", Hook(method="GET", params=forged)

    def expected_send(self, n: int, text: str) -> dict[str, Any]:
        return {
            "messaging_product": "whatsapp",
            "to": WA_ID,
            "recipient_type": "individual",
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }

    def check_send(self, request: ReceivedRequest) -> None:
        assert request.headers["authorization"] == f"Bearer {WA_ACCESS_TOKEN}"

    def rate_limited(self, seconds: int) -> list[ProviderResponse]:
        return [graph_error(130429, "Rate limit hit", status=429, **{"Retry-After": str(seconds)})]


SIMS: dict[str, type[Sim]] = {s.kind: s for s in (WeCom, Telegram, Slack, WhatsApp)}
KINDS = list(SIMS)
WITH_HANDSHAKE = [k for k in KINDS if SIMS[k]().handshake() is not None]


# --- the platform's side ------------------------------------------------------------


class Channel(msgspec.Struct):
    id: str
    url: str


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


@pytest.fixture
def fast_retries(runtime: Runtime) -> Runtime:
    """Workers whose retries come after 20 ms instead of seconds."""
    settings = msgspec.structs.replace(
        runtime.settings, delivery_backoff_ms=20, delivery_timeout_ms=10_000
    )
    runtime.settings = runtime.jobs.settings = settings
    runtime.jobs.start_worker(threads=2)
    return runtime


async def make_channel(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    sim: Sim,
    provider: ProviderServer,
) -> Channel:
    provider.accept(sim.ok_answer)
    r = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={"kind": sim.kind, "name": f"{sim.kind} inbox", "config": sim.config(provider.url)},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == sim.kind
    assert {k for k, v in body["config"].items() if v == "********"} == set(sim.secret_fields)
    return Channel(id=body["id"], url=httpx.URL(body["webhook_url"]).path)


async def post(client: httpx.AsyncClient, channel: Channel, hook: Hook) -> httpx.Response:
    return await client.request(
        hook.method, channel.url, params=hook.params, headers=hook.headers, content=hook.body
    )


async def count(runtime: Runtime, tenant_id: uuid.UUID, model: Any) -> int:
    async with runtime.db.session(tenant_id) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def get(client: httpx.AsyncClient, tenant: TenantUnderTest, path: str) -> Any:
    r = await client.get(path, headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def tickets_of(client: httpx.AsyncClient, tenant: TenantUnderTest) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await get(client, tenant, "/api/v1/tickets"))["items"]
    return items


async def messages_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    path = f"/api/v1/tickets/{ticket_id}/messages"
    items: list[dict[str, Any]] = (await get(client, tenant, path))["items"]
    return items


async def message_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, message_id: str
) -> dict[str, Any]:
    return next(m for m in await messages_of(client, tenant, ticket_id) if m["id"] == message_id)


async def events_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, kind: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await get(client, tenant, f"/api/v1/tickets/{ticket_id}/events")
    )["items"]
    return [e for e in items if e["kind"] == kind]


async def deliveries_of(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str
) -> list[dict[str, Any]]:
    deliveries: list[dict[str, Any]] = await get(
        client, tenant, f"/api/v1/tickets/{ticket_id}/deliveries"
    )
    return deliveries


async def only_ticket(client: httpx.AsyncClient, tenant: TenantUnderTest) -> dict[str, Any]:
    tickets = await tickets_of(client, tenant)
    assert len(tickets) == 1, tickets
    return tickets[0]


async def customer_writes(
    client: httpx.AsyncClient,
    runtime: Runtime,
    channel: Channel,
    hook: Hook,
) -> None:
    r = await post(client, channel, hook)
    assert r.status_code == 200, r.text
    await drain(runtime)


async def reply(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, text: str
) -> str:
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=tenant.users["agent"].headers,
        json={"kind": "reply", "body": text},
    )
    assert r.status_code == 201, r.text
    message_id: str = r.json()["id"]
    return message_id


async def settled(
    client: httpx.AsyncClient, tenant: TenantUnderTest, ticket_id: str, runtime: Runtime
) -> dict[str, Any]:
    """The ticket's one delivery once it is sent or failed (retries are delayed jobs)."""
    deliveries: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await drain(runtime)
        deliveries = await deliveries_of(client, tenant, ticket_id)
        if deliveries and all(d["status"] != "queued" for d in deliveries):
            assert len(deliveries) == 1, deliveries
            return deliveries[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the delivery did not settle: {deliveries}")


def at(attempt: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(attempt["at"])


# --- handshake / verification ---------------------------------------------------------


@pytest.mark.parametrize("kind", WITH_HANDSHAKE)
async def test_the_providers_handshake_is_answered_through_the_webhook_url(
    kind: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    provider: ProviderServer,
) -> None:
    sim = SIMS[kind]()
    channel = await make_channel(client, tenant, sim, provider)
    handshake = sim.handshake()
    assert handshake is not None
    genuine, answer, forged = handshake
    r = await post(client, channel, genuine)
    assert r.status_code == 200, r.text
    assert r.content == answer
    assert r.headers["content-type"].startswith("text/plain")
    refused = await post(client, channel, forged)
    assert refused.status_code == 401, refused.text
    assert answer not in refused.content
    await drain(worker)
    assert await count(worker, tenant.id, InboundEvent) == 0
    assert provider.received == 0


async def test_telegram_has_no_handshake_its_secret_token_is_the_verification(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, provider: ProviderServer
) -> None:
    sim = Telegram()
    channel = await make_channel(client, tenant, sim, provider)
    for name, hook in sim.refused(1, "hello").items():
        r = await post(client, channel, hook)
        assert r.status_code == 401, (name, r.text)
    assert await count(worker, tenant.id, InboundEvent) == 0
    r = await post(client, channel, sim.message(1, "hello"))
    assert r.status_code == 200, r.text
    await drain(worker)
    assert await count(worker, tenant.id, InboundEvent) == 1


# --- a valid message → a ticket ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_message_becomes_a_ticket_of_a_new_customer_with_a_masked_im_handle(
    kind: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    provider: ProviderServer,
) -> None:
    sim = SIMS[kind]()
    channel = await make_channel(client, tenant, sim, provider)
    text = "你好，我的订单 5521 还没到 / my order 5521 has not arrived"
    await customer_writes(client, worker, channel, sim.message(1, text))
    ticket = await only_ticket(client, tenant)
    assert (ticket["channel"], ticket["channel_id"]) == (kind, channel.id)
    messages = await messages_of(client, tenant, ticket["id"])
    assert [(m["body_text"], m["direction"]) for m in messages] == [(text, "inbound")]
    assert messages[0]["author_customer_id"] == ticket["customer_id"]
    r = await client.get(f"/api/v1/customers/{ticket['customer_id']}", headers=tenant.admin.headers)
    assert r.status_code == 200, r.text
    customer = r.json()
    points = [
        {k: p[k] for k in ("kind", "provider", "value", "masked")}
        for p in customer["contact_points"]
    ]
    assert points == [{"kind": "im", "provider": kind, "value": sim.masked, "masked": True}]
    assert sim.handle not in r.text
    assert customer["display_name"] == (sim.display_name or sim.masked)
    assert ticket["contact_point_id"] == customer["contact_points"][0]["id"]
    async with worker.db.session(tenant.id) as session:
        stored = list((await session.scalars(select(ContactPoint.value_encrypted))).all())
    assert len(stored) == 1 and sim.handle not in stored[0]  # encrypted at rest


# --- refused: tampered, stale, unsigned ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_tampered_stale_or_unsigned_request_is_refused_and_nothing_is_stored(
    kind: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    provider: ProviderServer,
) -> None:
    sim = SIMS[kind]()
    channel = await make_channel(client, tenant, sim, provider)
    refused = sim.refused(1, "my order has not arrived")
    assert refused
    for name, hook in refused.items():
        r = await post(client, channel, hook)
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
    await drain(worker)
    for model in (InboundEvent, Ticket, Message, Customer):
        assert await count(worker, tenant.id, model) == 0, model.__name__
    # The genuine request is accepted: the refusals were the verification's doing.
    await customer_writes(client, worker, channel, sim.message(1, "my order"))
    assert await count(worker, tenant.id, Ticket) == 1


# --- a redelivered message → no duplicate ----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_redelivered_message_is_stored_once(
    kind: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    provider: ProviderServer,
) -> None:
    sim = SIMS[kind]()
    channel = await make_channel(client, tenant, sim, provider)
    text = "is anyone there?"
    await customer_writes(client, worker, channel, sim.message(1, text))
    again = [sim.redelivered(1, text) for _ in range(3)]
    answers = [await post(client, channel, again[0])]
    answers += await asyncio.gather(*(post(client, channel, h) for h in again[1:]))
    assert [r.status_code for r in answers] == [200] * 3, [r.text for r in answers]
    await drain(worker)
    assert await count(worker, tenant.id, InboundEvent) == 1
    assert await count(worker, tenant.id, Message) == 1
    ticket = await only_ticket(client, tenant)
    assert [m["body_text"] for m in await messages_of(client, tenant, ticket["id"])] == [text]


# --- an agent's reply → the provider's API ---------------------------------------------

REPLY = "Your refund <ORD-5521> & the return label are on their way."


@pytest.mark.parametrize("kind", KINDS)
async def test_an_agents_reply_calls_the_providers_api_with_the_right_payload(
    kind: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    provider: ProviderServer,
) -> None:
    sim = SIMS[kind]()
    channel = await make_channel(client, tenant, sim, provider)
    await customer_writes(client, worker, channel, sim.message(1, "where is my refund?"))
    ticket = await only_ticket(client, tenant)
    message_id = await reply(client, tenant, ticket["id"], REPLY)
    delivery = await settled(client, tenant, ticket["id"], worker)
    assert delivery["status"] == "sent", delivery
    assert delivery["external_id"] == sim.sent_id
    assert delivery["message_id"] == message_id
    assert [a["status"] for a in delivery["attempts"]] == ["sent"]
    sends = sim.sends(provider)
    assert len(sends) == 1, provider.requests
    assert sends[0].method == "POST"
    assert sends[0].json() == sim.expected_send(1, REPLY)
    sim.check_send(sends[0])
    stored = await message_of(client, tenant, ticket["id"], message_id)
    assert stored["delivery"] == "sent"


async def test_a_wecom_reply_fetches_an_access_token_first(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, provider: ProviderServer
) -> None:
    sim = WeCom()
    channel = await make_channel(client, tenant, sim, provider)
    await customer_writes(client, worker, channel, sim.message(1, "在吗"))
    ticket = await only_ticket(client, tenant)
    await reply(client, tenant, ticket["id"], "在的")
    assert (await settled(client, tenant, ticket["id"], worker))["status"] == "sent"
    gettoken, send = provider.requests
    assert (gettoken.method, gettoken.path) == ("GET", "/cgi-bin/gettoken")
    assert gettoken.query == {"corpid": [WECOM_CORP_ID], "corpsecret": [sim.corp_secret]}
    assert send.path == WeCom.send_path


# --- a 429 → retried after the given delay ---------------------------------------------

RETRY_AFTER = 2  # seconds; far above fast_retries' 20 ms backoff, so only Retry-After explains it


async def first_attempt_on_record(
    runtime: Runtime, tenant_id: uuid.UUID, ticket_id: str
) -> tuple[str, list[dict[str, Any]], dt.datetime | None]:
    """The delivery's row as the first attempt left it: status, attempts, next_attempt_at."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        async with runtime.db.session(tenant_id) as session:
            row = await session.scalar(
                select(Delivery).where(Delivery.ticket_id == uuid.UUID(ticket_id))
            )
            if row is not None and row.attempts:
                return row.status, list(row.attempts), row.next_attempt_at
        await asyncio.sleep(0.01)
    raise AssertionError("no delivery attempt was recorded")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_429_is_retried_no_earlier_than_its_retry_after(
    kind: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    fast_retries: Runtime,
    provider: ProviderServer,
) -> None:
    sim = SIMS[kind]()
    channel = await make_channel(client, tenant, sim, provider)
    await customer_writes(client, fast_retries, channel, sim.message(1, "hello?"))
    ticket = await only_ticket(client, tenant)
    provider.queue(*sim.rate_limited(RETRY_AFTER))
    await reply(client, tenant, ticket["id"], REPLY)

    status, attempts, next_attempt_at = await first_attempt_on_record(
        fast_retries, tenant.id, ticket["id"]
    )
    assert status == "queued" and len(attempts) == 1, (status, attempts)
    assert attempts[0]["status"] == "failed" and attempts[0]["retryable"] is True, attempts
    assert next_attempt_at is not None
    first_at = at(attempts[0])
    # Scheduled at least Retry-After after the attempt (and not a lease of a
    # retry already under way, which would be minutes later).
    assert first_at + dt.timedelta(seconds=RETRY_AFTER) <= next_attempt_at < first_at + LEASE, (
        first_at,
        next_attempt_at,
    )

    delivery = await settled(client, tenant, ticket["id"], fast_retries)
    assert delivery["status"] == "sent", delivery
    assert delivery["external_id"] == sim.sent_id
    assert [(a["status"], a["retryable"]) for a in delivery["attempts"]] == [
        ("failed", True),
        ("sent", False),
    ]
    assert delivery["attempts"][0]["error"], delivery
    # The retry honoured the schedule.
    assert at(delivery["attempts"][1]) >= next_attempt_at
    sends = sim.sends(provider)
    assert len(sends) == 2, provider.requests
    assert [s.json() for s in sends] == [sim.expected_send(1, REPLY)] * 2


async def test_wecoms_own_rate_limit_errcode_schedules_the_retry_a_minute_later(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    fast_retries: Runtime,
    provider: ProviderServer,
) -> None:
    """WeCom answers its rate limit with HTTP 200 and errcode 45009 (no Retry-After):
    the channel waits WeCom's per-minute window."""
    sim = WeCom()
    channel = await make_channel(client, tenant, sim, provider)
    await customer_writes(client, fast_retries, channel, sim.message(1, "在吗"))
    ticket = await only_ticket(client, tenant)
    provider.queue(
        ProviderResponse(body=sim.ok_answer),
        ProviderResponse(body=_json({"errcode": 45009, "errmsg": "api freq out of limit"})),
    )
    await reply(client, tenant, ticket["id"], "在的")
    status, attempts, next_attempt_at = await first_attempt_on_record(
        fast_retries, tenant.id, ticket["id"]
    )
    assert status == "queued" and len(attempts) == 1, (status, attempts)
    assert attempts[0]["retryable"] is True and "45009" in attempts[0]["error"], attempts
    assert next_attempt_at is not None
    assert next_attempt_at >= at(attempts[0]) + dt.timedelta(seconds=60)
    assert len(sim.sends(provider)) == 1


# --- WhatsApp's 24-hour customer-service window ---------------------------------------

OUTSIDE_WINDOW = graph_error(
    131047,
    "Re-engagement message: more than 24 hours have passed since the recipient last replied",
)


async def test_whatsapp_outside_the_window_the_reply_fails_and_the_template_is_sent_instead(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, provider: ProviderServer
) -> None:
    sim = WhatsApp(template_name="reply_waiting")
    channel = await make_channel(client, tenant, sim, provider)
    await customer_writes(client, worker, channel, sim.message(1, "退货怎么办？"))
    ticket = await only_ticket(client, tenant)
    provider.queue(OUTSIDE_WINDOW, wa_accepted("wamid.TEMPLATE1"))
    message_id = await reply(client, tenant, ticket["id"], REPLY)
    delivery = await settled(client, tenant, ticket["id"], worker)

    # The free text was tried, then the template went out instead.
    text, template = provider.requests
    assert text.json() == sim.expected_send(1, REPLY)
    assert template.path == sim.send_path
    assert template.json() == {
        "messaging_product": "whatsapp",
        "to": WA_ID,
        "type": "template",
        "template": {
            "name": "reply_waiting",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": ticket["number"]}]}
            ],
        },
    }
    sim.check_send(template)
    # The reply failed for good, not retried, and the ticket says why.
    assert delivery["status"] == "failed", delivery
    assert [(a["status"], a["retryable"]) for a in delivery["attempts"]] == [("failed", False)]
    assert delivery["attempts"][0]["external_id"] == "wamid.TEMPLATE1"
    error = delivery["last_error"]
    assert "131047" in error and "24 hours" in error, error
    assert "template 'reply_waiting' was sent instead" in error, error
    stored = await message_of(client, tenant, ticket["id"], message_id)
    assert stored["delivery"] == "failed"
    failed = await events_of(client, tenant, ticket["id"], "delivery_failed")
    assert len(failed) == 1, failed
    assert failed[0]["data"]["message_id"] == message_id
    assert failed[0]["data"]["error"] == error
    # The message keeps the error too (GET .../messages shows only its delivery state).
    async with worker.db.session(tenant.id) as session:
        meta = await session.scalar(select(Message.meta).where(Message.id == uuid.UUID(message_id)))
    assert meta is not None and meta["error"] == error


async def test_whatsapp_outside_the_window_without_a_template_says_to_set_one(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, provider: ProviderServer
) -> None:
    sim = WhatsApp()
    channel = await make_channel(client, tenant, sim, provider)
    await customer_writes(client, worker, channel, sim.message(1, "退货怎么办？"))
    ticket = await only_ticket(client, tenant)
    provider.queue(OUTSIDE_WINDOW)
    message_id = await reply(client, tenant, ticket["id"], REPLY)
    delivery = await settled(client, tenant, ticket["id"], worker)
    assert delivery["status"] == "failed", delivery
    assert len(delivery["attempts"]) == 1
    assert len(provider.requests) == 1  # no template, and no retry
    failed = await events_of(client, tenant, ticket["id"], "delivery_failed")
    assert len(failed) == 1, failed
    error = failed[0]["data"]["error"]
    assert "131047" in error and "Set template_name" in error, error
    stored = await message_of(client, tenant, ticket["id"], message_id)
    assert stored["delivery"] == "failed"


# --- linking an IM customer to a known one ---------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_an_im_customer_merged_into_a_known_one_joins_their_history(
    kind: str,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
    provider: ProviderServer,
) -> None:
    sim = SIMS[kind]()
    channel = await make_channel(client, tenant, sim, provider)
    r = await client.post(
        "/api/v1/customers",
        headers=tenant.admin.headers,
        json={
            "display_name": "Li Wei",
            "contacts": [{"kind": "email", "value": "li.wei@example.com"}],
        },
    )
    assert r.status_code == 201, r.text
    known = r.json()["id"]
    await customer_writes(client, worker, channel, sim.message(1, "first, on IM"))
    im_ticket = await only_ticket(client, tenant)
    im_customer = im_ticket["customer_id"]
    assert im_customer != known

    r = await client.post(
        f"/api/v1/customers/{known}/merge",
        headers=tenant.admin.headers,
        json={"source_customer_id": im_customer},
    )
    assert r.status_code in (200, 201), r.text
    assert r.json()["moved"] == {"contact_points": 1, "tickets": 1}

    timeline = await get(client, tenant, f"/api/v1/customers/{known}/timeline")
    assert [e["ticket"]["id"] for e in timeline["items"]] == [im_ticket["id"]]
    assert [m["body_text"] for m in timeline["items"][0]["messages"]] == ["first, on IM"]
    detail = await get(client, tenant, f"/api/v1/customers/{known}")
    assert {(p["kind"], p["provider"]) for p in detail["contact_points"]} == {
        ("email", None),
        ("im", kind),
    }

    # The same handle writes again: it is the known customer now.
    await customer_writes(client, worker, channel, sim.message(2, "second, on IM"))
    tickets = await tickets_of(client, tenant)
    assert {t["customer_id"] for t in tickets} == {known}
    timeline = await get(client, tenant, f"/api/v1/customers/{known}/timeline")
    messages = [m for e in timeline["items"] for m in e["messages"]]
    second = [m for m in messages if m["body_text"] == "second, on IM"]
    assert len(second) == 1, messages
    assert second[0]["author_customer_id"] == known
    assert await count(worker, tenant.id, Customer) == 2  # no third customer for the handle
    merged = await get(client, tenant, f"/api/v1/customers/{im_customer}")
    assert merged["merged_into_id"] == known
