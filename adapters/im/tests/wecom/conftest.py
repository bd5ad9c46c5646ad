"""WeCom's side of the wire, written from its documentation, and the contract kit's fixtures.

``WeComSim`` encrypts, decrypts and signs with ``cryptography`` and ``hashlib``
directly, as WeCom's "加解密方案说明" describes, without the adapter's code.
"""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import base64
import hashlib
import re
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any
from xml.sax.saxutils import escape

import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from frontdesk.channels import ChannelContext, InboundRequest
from frontdesk.testing import ProviderServer
from frontdesk_im.wecom import WeComAdapter, WeComConfig, adapter, plugin

CORP_ID = "ww0123456789abcdef"
AGENT_ID = 1000002
TOKEN = "FrontdeskWeComToken2026"
# 32 bytes, base64 without its "=": how the WeCom console shows an EncodingAESKey.
AES_KEY_BYTES = bytes(range(100, 132))
ENCODING_AES_KEY = base64.b64encode(AES_KEY_BYTES).decode().rstrip("=")
CORP_SECRET = "corp-secret-for-tests-0123456789"
NONCE = "1372623149"

# WeCom's published sample (企业微信 加解密库 Sample): its Token, key and corp id.
SAMPLE = {
    "token": "QDG6eK",
    "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "corp_id": "wx5823bf96d3bd56c7",
}

# What WeCom's API answers: a token and a sent message in one body, so the
# kit's standing "accept" answer serves gettoken and message/send alike.
OK_ANSWER = (
    b'{"errcode": 0, "errmsg": "ok", "access_token": "access-token-1", "expires_in": 7200,'
    b' "invaliduser": "", "msgid": "wecom-msg-1"}'
)


class WeComServer(ProviderServer):
    """The kit's provider server, accepting as WeCom does (errcode 0)."""

    def accept(self, body: bytes = OK_ANSWER) -> None:
        super().accept(body)


class WeComSim:
    """WeCom's side: encrypts and signs callbacks, decrypts what it is sent."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.corp_id = corp_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(
        self, message: bytes, *, random: bytes = b"0123456789abcdef", receive_id: str | None = None
    ) -> str:
        rid = (self.corp_id if receive_id is None else receive_id).encode()
        plain = random + struct.pack("!I", len(message)) + message + rid
        pad = 32 - len(plain) % 32
        plain += bytes([pad] * pad)
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> tuple[bytes, str]:
        dec = self._cipher().decryptor()
        plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
        plain = plain[: -plain[-1]]
        (length,) = struct.unpack("!I", plain[16:20])
        return plain[20 : 20 + length], plain[20 + length :].decode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom's choice

    def callback(
        self,
        inner: str | bytes,
        *,
        timestamp: int | None = None,
        nonce: str = NONCE,
        receive_id: str | None = None,
        signature: str | None = None,
    ) -> InboundRequest:
        """A POST callback as WeCom sends it, encrypting and signing ``inner``."""
        raw = inner.encode() if isinstance(inner, str) else inner
        encrypted = self.encrypt(raw, receive_id=receive_id)
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        ).encode()
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = self.sign(ts, nonce, encrypted) if signature is None else signature
        return InboundRequest(
            method="POST",
            url="https://desk.example.com/hooks/ch_im_test",
            headers={"content-type": "text/xml"},
            query={"msg_signature": [sig], "timestamp": [ts], "nonce": [nonce]},
            body=body,
        )

    def url_verification(
        self, echo: str = "4512872385823987235", *, timestamp: int | None = None
    ) -> InboundRequest:
        """The GET WeCom sends when an admin saves the callback URL."""
        encrypted = self.encrypt(echo.encode())
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return InboundRequest(
            method="GET",
            url="https://desk.example.com/hooks/ch_im_test",
            headers={},
            query={
                "msg_signature": [self.sign(ts, NONCE, encrypted)],
                "timestamp": [ts],
                "nonce": [NONCE],
                "echostr": [encrypted],
            },
            body=b"",
        )

    def sign_request(self, request: InboundRequest) -> InboundRequest:
        """Sign ``request`` for its current ciphertext, at the current time, as WeCom would."""
        if request.method == "GET":
            echostr = request.query.get("echostr") or [""]
            encrypted = echostr[0]
        else:
            encrypted = _encrypt_element(request.body)
        nonces = request.query.get("nonce") or []
        nonce = (
            nonces[0]
            if len(nonces) == 1 and re.fullmatch("[0-9A-Za-z]{1,32}", nonces[0])
            else NONCE
        )
        ts = str(int(time.time()))
        query = {
            **request.query,
            "msg_signature": [self.sign(ts, nonce, encrypted)],
            "timestamp": [ts],
            "nonce": [nonce],
        }
        return msgspec.structs.replace(request, query=query)


def _encrypt_element(body: bytes) -> str:
    # Test-side and deliberately naive: what lies between the Encrypt tags.
    text = body.decode("utf-8", "replace")
    start, end = text.find("<Encrypt><![CDATA["), text.find("]]></Encrypt>")
    if start < 0 or end < start:
        return ""
    return text[start + len("<Encrypt><![CDATA[") : end]


def message_xml(**fields: Any) -> str:
    """A decrypted callback: ``<xml>`` with each field, strings in CDATA as WeCom writes them."""
    base: dict[str, Any] = {
        "ToUserName": CORP_ID,
        "FromUserName": "LiWei",
        "CreateTime": 1767225600,
        "MsgType": "text",
        "Content": "你好，我的订单还没到",
        "MsgId": "7341234567890123456",
        "AgentID": AGENT_ID,
    }
    base.update(fields)
    parts = []
    for tag, value in base.items():
        if value is ...:
            continue
        text = f"<![CDATA[{value}]]>" if isinstance(value, str) else escape(str(value))
        parts.append(f"<{tag}>{text}</{tag}>")
    return "<xml>" + "".join(parts) + "</xml>"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    # Access tokens are cached per process by API URL; ports get reused between tests.
    adapter._TOKENS.clear()
    yield
    adapter._TOKENS.clear()


@pytest.fixture(scope="session")
def wecom() -> WeComSim:
    return WeComSim(TOKEN, ENCODING_AES_KEY, CORP_ID)


@pytest.fixture(scope="session")
def sample() -> WeComSim:
    return WeComSim(SAMPLE["token"], SAMPLE["encoding_aes_key"], SAMPLE["corp_id"])


@pytest.fixture(scope="session")
def xml() -> Callable[..., str]:
    return message_xml


def make_config(**fields: Any) -> WeComConfig:
    values: dict[str, Any] = {
        "corp_id": CORP_ID,
        "agent_id": AGENT_ID,
        "corp_secret": CORP_SECRET,
        "token": TOKEN,
        "encoding_aes_key": ENCODING_AES_KEY,
        "timeout_seconds": 1.0,
    }
    values.update(fields)
    return WeComConfig(**values)


@pytest.fixture(scope="session")
def adapter_for(context: ChannelContext) -> Callable[..., WeComAdapter]:
    """A WeCom adapter with this configuration (test values for the rest)."""

    def build(**fields: Any) -> WeComAdapter:
        return WeComAdapter(make_config(**fields), context)

    return build


@pytest.fixture(scope="session")
def wecom_adapter(adapter_for: Callable[..., WeComAdapter]) -> WeComAdapter:
    return adapter_for()


# --- the contract kit's fixtures -------------------------------------------------


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with WeComServer() as server:
        yield server


@pytest.fixture
def adapter_class() -> type[WeComAdapter]:
    return WeComAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin


@pytest.fixture
def channel_config(provider: ProviderServer) -> WeComConfig:
    return make_config(api_base_url=provider.url)


@pytest.fixture
def sign_request(wecom: WeComSim) -> Callable[[InboundRequest], InboundRequest]:
    return wecom.sign_request


@pytest.fixture
def signed_requests(wecom: WeComSim) -> list[InboundRequest]:
    return [
        wecom.callback(message_xml()),
        wecom.callback(
            message_xml(
                MsgType="image",
                Content=...,
                PicUrl="https://wework.qpic.cn/photo.jpg",
                MediaId="media-1",
                MsgId="7341234567890123457",
            )
        ),
        wecom.callback(message_xml(MsgType="event", Event="enter_agent", Content=..., MsgId=...)),
        wecom.url_verification(),
    ]


@pytest.fixture
def bad_signature_requests(wecom: WeComSim) -> list[InboundRequest]:
    genuine = wecom.callback(message_xml())
    other_token = WeComSim("AnotherCompanysToken", ENCODING_AES_KEY, CORP_ID)
    tampered_body = genuine.body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")

    def with_query(**values: list[str]) -> InboundRequest:
        return msgspec.structs.replace(genuine, query={**genuine.query, **values})

    return [
        other_token.callback(message_xml()),
        msgspec.structs.replace(genuine, body=tampered_body),
        wecom.callback(message_xml(), timestamp=int(time.time()) - 3600),  # a replay
        wecom.callback(message_xml(), receive_id="ww_another_corp"),
        with_query(msg_signature=["0" * 40]),
        with_query(msg_signature=["not-hex"]),
        with_query(nonce=["other-nonce"]),
        with_query(timestamp=["yesterday"]),
        with_query(msg_signature=["é" * 40]),
    ]


@pytest.fixture
def unsigned_requests(wecom: WeComSim) -> list[InboundRequest]:
    genuine = wecom.callback(message_xml())
    query = {k: v for k, v in genuine.query.items() if k != "msg_signature"}
    return [
        msgspec.structs.replace(genuine, query=query),
        msgspec.structs.replace(genuine, query={}),
        msgspec.structs.replace(genuine, query={**genuine.query, "msg_signature": [""]}),
    ]


@pytest.fixture
def malformed_requests(wecom: WeComSim) -> list[InboundRequest]:
    return [
        wecom.callback("this is not XML"),
        wecom.callback("<html><body>hi</body></html>"),
        wecom.callback(message_xml(FromUserName=...)),
        wecom.callback(message_xml(CreateTime="yesterday")),
        wecom.callback(message_xml(MsgId=...)),
        wecom.callback(message_xml(FromUserName="has spaces in it")),
        wecom.callback(message_xml(MsgType="")),
        wecom.callback(b"<xml><MsgType>text</MsgType><!DOCTYPE x></xml>"),
    ]


@pytest.fixture(scope="session")
def sim_for() -> Callable[..., WeComSim]:
    """A WeCom stand-in with other settings (``token``, ``encoding_aes_key``, ``corp_id``)."""

    def build(
        token: str = TOKEN, encoding_aes_key: str = ENCODING_AES_KEY, corp_id: str = CORP_ID
    ) -> WeComSim:
        return WeComSim(token, encoding_aes_key, corp_id)

    return build
