"""The WeCom channel (企业微信自建应用): encrypted callbacks in, app messages out.

A tenant creates a self-built app in the WeCom admin console, sets its
"receive messages" URL to the channel's webhook URL with a Token and an
EncodingAESKey, and members who message the app reach the inbox; agents'
replies are sent as the app (``message/send``). README.md has the set-up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Annotated, ClassVar

import httpx
import msgspec

from frontdesk.channels import (
    SECRET,
    TARGET,
    Attachment,
    Capabilities,
    ChannelAdapter,
    ChannelContext,
    ContactKindName,
    DeliveryReceipt,
    InboundMessage,
    InboundRequest,
    MalformedPayload,
    OutboundMessage,
    Parsed,
    SignatureInvalid,
    ThreadHints,
    WebhookReply,
)
from frontdesk_im import _http
from frontdesk_im._inbound import at, clean, compact, sender
from frontdesk_im._text import MAX_PARTS, split_text, too_long, utf8_bytes
from frontdesk_im._version import __version__
from frontdesk_im.wecom import flatxml
from frontdesk_im.wecom.crypto import DecryptionFailed, WeComCrypto
from frontdesk_im.wecom.wire import Message, SendAnswer, TokenAnswer

PROVIDER = "wecom"
#: WeCom's limit for a text message's content, in UTF-8 bytes.
MAX_TEXT_BYTES = 2048

# Access tokens are valid for 2 hours and WeCom limits how often they are
# fetched, so each process keeps them (a cache, as the SDK allows), renewed
# five minutes early. Keyed by a digest of the secret, never the secret.
_TOKENS: dict[tuple[str, str, int, str], tuple[str, float]] = {}
_TOKEN_MARGIN = 300.0
# errcodes: 40014 invalid and 42001 expired access token (fetch a new one once);
# -1 system busy, 45009 and 45033 rate limits (try again later).
_TOKEN_INVALID = frozenset({40014, 42001})
_BUSY = frozenset({-1})
_RATE_LIMITED = frozenset({45009, 45033})
# WeCom's limits are per minute; waiting one is the useful hint.
_RATE_LIMIT_WAIT = 60.0

_SIGNATURE = re.compile(r"[0-9a-fA-F]{40}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[0-9A-Za-z_-]{1,64}")
_EMPTY_OK = WebhookReply(status=200, body=b"", content_type="text/plain")
_BASE_URL = r"^https?://[^\s/?#]+[^\s?#]*$"


class WeComConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One WeCom app's settings (管理后台 → 应用管理 → 自建应用)."""

    #: The company's CorpID (我的企业 → 企业信息 → 企业ID).
    corp_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    #: The app's AgentId.
    agent_id: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
    #: The app's Secret, for access tokens.
    corp_secret: Annotated[str, SECRET, msgspec.Meta(min_length=1, max_length=256)]
    #: The callback's Token (接收消息 → Token): signs every callback.
    token: Annotated[str, SECRET, msgspec.Meta(pattern=r"^[A-Za-z0-9]{1,32}$")]
    #: The callback's EncodingAESKey: 43 characters, the AES-256 key.
    encoding_aes_key: Annotated[str, SECRET, msgspec.Meta(pattern=r"^[A-Za-z0-9+/]{43}$")]
    #: WeCom's API; change it only for a proxy or a test server.
    api_base_url: Annotated[str, TARGET, msgspec.Meta(pattern=_BASE_URL, max_length=2048)] = (
        "https://qyapi.weixin.qq.com"
    )
    #: Each API request (connect, send, answer) must finish within this.
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    #: How far a callback's timestamp may be from now, either way; ``None`` to
    #: accept any (a captured callback could then be replayed, though it would
    #: be dropped as a redelivery).
    tolerance_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] | None = 300


class WeComAdapter(ChannelAdapter[WeComConfig]):
    """WeCom (企业微信): a self-built app's members write to it; agents answer as the app."""

    kind: ClassVar[str] = "wecom"
    sdk_versions: ClassVar[str] = ">=1.3,<2"  # TARGET
    display_name: ClassVar[str] = "WeCom (企业微信)"
    version: ClassVar[str] = __version__
    config_type: ClassVar[type[msgspec.Struct]] = WeComConfig
    contact_kind: ClassVar[ContactKindName] = "im"
    # max_length is WeCom's per-message limit in UTF-8 bytes; longer replies are split.
    capabilities: ClassVar[Capabilities] = Capabilities(threads=True, max_length=MAX_TEXT_BYTES)

    def __init__(self, config: WeComConfig, context: ChannelContext) -> None:
        super().__init__(config, context)
        self.crypto = WeComCrypto(config.token, config.encoding_aes_key, config.corp_id)

    # -- inbound -----------------------------------------------------------

    async def verify(self, request: InboundRequest) -> None:
        self.verify_at(request, time.time())

    def verify_at(self, request: InboundRequest, now: float) -> None:
        """``verify`` with the clock given (the published test vectors are from 2014)."""
        msg_signature, timestamp, nonce = _signature_params(request)
        encrypted = _ciphertext(request)
        if not self.crypto.signature_matches(msg_signature, timestamp, nonce, encrypted):
            raise SignatureInvalid("msg_signature does not match: is the callback Token right?")
        tolerance = self.config.tolerance_seconds
        if tolerance is not None and abs(now - int(timestamp)) > tolerance:
            raise SignatureInvalid(
                f"the callback's timestamp is {int(now) - int(timestamp)} s away from now, "
                f"outside the tolerance of {tolerance} s (a replay, or a wrong clock)"
            )
        _, receive_id = self._decrypt(encrypted)
        if not hmac.compare_digest(receive_id.encode(), self.config.corp_id.encode()):
            raise SignatureInvalid("the callback was encrypted for another corp id")

    async def parse(self, request: InboundRequest) -> Parsed:
        message, receive_id = self._decrypt(_ciphertext(request))
        if receive_id != self.config.corp_id:
            raise MalformedPayload("the callback was encrypted for another corp id")
        if request.method == "GET":
            # URL verification (验证URL有效性): answer the decrypted echostr, as is.
            return Parsed(reply=WebhookReply(status=200, body=message, content_type="text/plain"))
        try:
            fields = flatxml.read(message)
            callback = msgspec.convert(fields, Message, strict=False)
        except flatxml.NotFlatXml as exc:
            raise MalformedPayload(f"the decrypted callback is not WeCom's XML: {exc}") from None
        except msgspec.ValidationError as exc:
            raise MalformedPayload(f"invalid WeCom callback: {exc}") from None
        # WeCom waits for an answer and takes anything but an empty one as a
        # passive reply to show the member.
        return Parsed(messages=_messages(callback), reply=_EMPTY_OK)

    def _decrypt(self, encrypted: str) -> tuple[bytes, str]:
        try:
            return self.crypto.decrypt(encrypted)
        except DecryptionFailed as exc:
            raise MalformedPayload(f"the callback cannot be decrypted: {exc}") from None

    # -- outbound ----------------------------------------------------------

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        recipient = message.recipient
        if recipient.provider not in (None, PROVIDER):
            return _http.final(f"the recipient is a {recipient.provider} handle, not a WeCom one")
        parts = split_text(message.text, MAX_TEXT_BYTES, utf8_bytes)
        if not parts:
            return _http.final("the reply is empty")
        if len(parts) > MAX_PARTS:
            return _http.final(too_long("WeCom", message.text, MAX_TEXT_BYTES, "bytes (UTF-8)"))
        timeout = self.config.timeout_seconds
        async with _http.client(timeout) as http:

            async def send(part: str) -> DeliveryReceipt:
                return await self._send(http, recipient.value, part)

            return await _http.send_parts(
                parts, send, provider="WeCom", time_limit=timeout, secrets=self._secrets()
            )

    def _secrets(self) -> list[str]:
        cached = _TOKENS.get(self._token_key())
        return [self.config.corp_secret, *([cached[0]] if cached else [])]

    def _token_key(self) -> tuple[str, str, int, str]:
        digest = hashlib.sha256(self.config.corp_secret.encode()).hexdigest()
        return (self.config.api_base_url, self.config.corp_id, self.config.agent_id, digest)

    async def _send(self, http: httpx.AsyncClient, touser: str, text: str) -> DeliveryReceipt:
        payload = {
            "touser": touser,
            "msgtype": "text",
            "agentid": self.config.agent_id,
            "text": {"content": text},
        }
        url = f"{self.config.api_base_url.rstrip('/')}/cgi-bin/message/send"
        for renewed in (False, True):
            token = await self._access_token(http, renew=renewed)
            if isinstance(token, DeliveryReceipt):
                return token
            answer = await _http.call(
                http,
                "POST",
                url,
                params={"access_token": token},
                json=payload,
                time_limit=self.config.timeout_seconds,
            )
            if not 200 <= answer.status < 300:
                return _http.by_status(answer, f"WeCom answered {answer.status}")
            result = _http.decode(answer, SendAnswer)
            if result is None:
                return _http.retry("WeCom's answer to message/send could not be read")
            if result.errcode in _TOKEN_INVALID and not renewed:
                continue  # expired early (WeCom may do that): one new token, one more try
            return _send_receipt(result, touser)
        return _http.retry("WeCom refused two access tokens in a row")

    async def _access_token(self, http: httpx.AsyncClient, *, renew: bool) -> str | DeliveryReceipt:
        key = self._token_key()
        cached = _TOKENS.get(key)
        if cached is not None and not renew and cached[1] > time.monotonic():
            return cached[0]
        _TOKENS.pop(key, None)
        answer = await _http.call(
            http,
            "GET",
            f"{self.config.api_base_url.rstrip('/')}/cgi-bin/gettoken",
            params={"corpid": self.config.corp_id, "corpsecret": self.config.corp_secret},
            time_limit=self.config.timeout_seconds,
        )
        if not 200 <= answer.status < 300:
            return _http.by_status(answer, f"WeCom answered {answer.status} to gettoken")
        result = _http.decode(answer, TokenAnswer)
        if result is None:
            return _http.retry("WeCom's answer to gettoken could not be read")
        if result.errcode in _BUSY or result.errcode in _RATE_LIMITED:
            return _http.retry(
                f"WeCom is busy (gettoken errcode {result.errcode})", _RATE_LIMIT_WAIT
            )
        if result.errcode != 0 or not result.access_token:
            return _http.final(
                f"WeCom refused an access token (errcode {result.errcode}: "
                f"{_short(result.errmsg)}): check corp_id and corp_secret"
            )
        lifetime = max(60.0, result.expires_in - _TOKEN_MARGIN)
        _TOKENS[key] = (result.access_token, time.monotonic() + lifetime)
        return result.access_token


def _send_receipt(result: SendAnswer, touser: str) -> DeliveryReceipt:
    if result.errcode == 0:
        if result.invaliduser:
            return _http.final(
                f"WeCom did not deliver to {touser}: not a member this app can reach"
            )
        return _http.sent(result.msgid)
    if result.errcode in _RATE_LIMITED:
        return _http.retry(
            f"WeCom's rate limit (errcode {result.errcode}): sending later", _RATE_LIMIT_WAIT
        )
    if result.errcode in _BUSY or result.errcode in _TOKEN_INVALID:
        return _http.retry(f"WeCom is busy (errcode {result.errcode})")
    return _http.final(
        f"WeCom refused the reply (errcode {result.errcode}: {_short(result.errmsg)})"
    )


def _short(errmsg: str) -> str:
    """WeCom's errmsg without its trailing hint and help link."""
    return errmsg.split(", hint:")[0].strip()[:200] or "no message"


# --- reading callbacks ----------------------------------------------------------


def _single(request: InboundRequest, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values and len(values) == 1 else None


def _signature_params(request: InboundRequest) -> tuple[str, str, str]:
    msg_signature = _single(request, "msg_signature")
    timestamp = _single(request, "timestamp")
    nonce = _single(request, "nonce")
    if msg_signature is None:
        raise SignatureInvalid("missing msg_signature")
    if not _SIGNATURE.fullmatch(msg_signature):
        raise SignatureInvalid("malformed msg_signature: it is 40 hex digits")
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureInvalid("missing or malformed timestamp: it is unix seconds")
    if nonce is None or not _NONCE.fullmatch(nonce):
        raise SignatureInvalid("missing or malformed nonce")
    return msg_signature, timestamp, nonce


def _ciphertext(request: InboundRequest) -> str:
    """What ``msg_signature`` signs: ``echostr`` (GET) or the envelope's ``Encrypt`` (POST)."""
    if request.method == "GET":
        echostr = _single(request, "echostr")
        if not echostr:
            raise MalformedPayload("a URL verification needs exactly one echostr")
        return echostr
    if request.method != "POST":
        raise MalformedPayload(f"WeCom sends GET and POST, not {request.method}")
    try:
        envelope = flatxml.read(request.body)
    except flatxml.NotFlatXml as exc:
        raise MalformedPayload(f"the body is not WeCom's XML envelope: {exc}") from None
    encrypted = envelope.get("Encrypt", "").strip()
    if not encrypted:
        raise MalformedPayload("the envelope has no Encrypt element")
    return encrypted


def _messages(callback: Message) -> list[InboundMessage]:
    if callback.msg_type == "event":
        # Entering the app, menu clicks and the like: nothing for the inbox.
        return []
    if callback.msg_id is None:
        raise MalformedPayload(f"a {callback.msg_type} message without MsgId")
    text, attachments, extra = _content(callback)
    return [
        InboundMessage(
            external_id=callback.msg_id,
            sender=sender(PROVIDER, callback.from_user),
            text=text,
            thread=ThreadHints(conversation_id=callback.from_user),
            attachments=attachments,
            sent_at=at(callback.create_time),
            metadata=compact(msg_type=callback.msg_type, agent_id=callback.agent_id, **extra),
        )
    ]


def _content(m: Message) -> tuple[str, list[Attachment], dict[str, str | None]]:
    """The text an agent reads, the attachments, and the media ids to keep."""
    kind = m.msg_type
    if kind == "text":
        text = clean(m.content or "").strip()
        return text or "[an empty message]", [], {}
    if kind == "image":
        image = Attachment(
            filename=f"image-{m.msg_id}.jpg", content_type="image/jpeg", size=0, url=m.pic_url
        )
        return "[image]", [image], {"media_id": m.media_id}
    if kind == "voice":
        fmt = (m.format or "amr").lower()
        fmt = fmt if re.fullmatch(r"[a-z0-9]{1,10}", fmt) else "amr"
        voice = Attachment(filename=f"voice-{m.msg_id}.{fmt}", content_type=f"audio/{fmt}", size=0)
        return "[voice message]", [voice], {"media_id": m.media_id}
    if kind == "video":
        video = Attachment(filename=f"video-{m.msg_id}.mp4", content_type="video/mp4", size=0)
        return "[video]", [video], {"media_id": m.media_id, "thumb_media_id": m.thumb_media_id}
    if kind == "location":
        label = clean(m.label or "").strip()
        where = f"({m.location_x}, {m.location_y})"
        return f"[location] {label} {where}".replace("  ", " "), [], {}
    if kind == "link":
        lines = [
            clean(x).strip() for x in (m.title, m.description, m.url) if x and clean(x).strip()
        ]
        return "[link] " + "\n".join(lines) if lines else "[link]", [], {}
    return f"[a message of type {clean(kind)}, which this channel cannot show]", [], {}
