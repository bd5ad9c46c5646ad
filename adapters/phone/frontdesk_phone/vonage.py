"""Vonage's dialect: signed webhooks (JWT, HS256), Voice API events and NCCO, the Messages API.

Written from Vonage's documentation: "Signed webhooks" (a JWT signed with the
account's signature secret whose ``payload_hash`` claim is the SHA-256 of the
body), the Voice API answer and event webhooks, and the Messages API's
inbound SMS and send request.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import msgspec

from frontdesk.channels import (
    CallDetails,
    ChannelEvent,
    ContactRef,
    InboundMessage,
    MalformedPayload,
    Parsed,
    SignatureInvalid,
    WebhookReply,
)
from frontdesk_phone.config import PhoneConfig

MESSAGES_PATH = "/v1/messages"

_MISSED = {"busy", "cancelled", "failed", "rejected", "timeout", "unanswered"}


def _b64url(data: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise SignatureInvalid("the token is not base64url") from None


def sign(secret: str, claims: dict[str, Any]) -> str:
    """A JWT (HS256) over ``claims``, as Vonage signs its webhooks."""

    def enc(part: dict[str, Any]) -> str:
        raw = json.dumps(part, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = enc({"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
    mac = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def verify(
    secret: str, authorization: str | None, body: bytes, *, tolerance: int, now: float | None = None
) -> None:
    """Raise ``SignatureInvalid`` unless the bearer JWT is Vonage's for ``body``."""
    if not authorization:
        raise SignatureInvalid("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        raise SignatureInvalid("Authorization is not a bearer JWT")
    head_b64, claims_b64, mac_b64 = token.strip().split(".")
    try:
        header = json.loads(_b64url(head_b64))
        claims = json.loads(_b64url(claims_b64))
    except (ValueError, UnicodeDecodeError):
        raise SignatureInvalid("the token's header or claims are not JSON") from None
    # Only HS256: a token naming another algorithm ("none") is refused, not obeyed.
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise SignatureInvalid("the token is not signed with HS256")
    expected = hmac.new(
        secret.encode(), f"{head_b64}.{claims_b64}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, _b64url(mac_b64)):
        raise SignatureInvalid("the token's signature does not match")
    if not isinstance(claims, dict):
        raise SignatureInvalid("the token's claims are not an object")
    issued = claims.get("iat")
    current = time.time() if now is None else now
    if not isinstance(issued, int | float) or abs(current - issued) > tolerance:
        raise SignatureInvalid("the token is too old (or from the future)")
    payload_hash = claims.get("payload_hash")
    if not isinstance(payload_hash, str) or not hmac.compare_digest(
        payload_hash.lower().encode(), hashlib.sha256(body).hexdigest().encode()
    ):
        raise SignatureInvalid("the body does not match the token's payload_hash")


def _number(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise MalformedPayload(f"{field} is missing")
    value = value.strip()
    # Vonage writes numbers without the "+"; app users and SIP URIs stay as they are.
    return f"+{value}" if value.isascii() and value.isdigit() else value


def _when(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload("timestamp is not a string")
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedPayload(f"timestamp {value!r} is not ISO 8601") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def _str(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str | int) or "\x00" in str(value):
        raise MalformedPayload(f"{field} is not a string")
    return str(value)


class VonageDialect:
    """Turns Vonage's webhooks into Frontdesk's messages and call events."""

    def __init__(self, config: PhoneConfig, webhook_url: str) -> None:
        self.config = config
        self.webhook_url = webhook_url
        self.agents = {_number(a, "agent") if a[:1].isdigit() else a for a in config.dial}

    def parse(self, url: str, body: bytes) -> Parsed:
        try:
            data = msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            raise MalformedPayload("the body is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedPayload("the body is not a JSON object")
        # Which of our callbacks this is (``?event=voicemail`` on the record
        # action's URL). Vonage's token signs the body, not the URL: the marker
        # only tells a voicemail from a recording of the conversation.
        step = parse_qs(urlsplit(url).query).get("event", [""])[0]
        if data.get("channel") == "sms" or "message_uuid" in data:
            return self._message(data)
        if "conversation_uuid" in data:
            return self._call(data, step)
        raise MalformedPayload("neither conversation_uuid nor message_uuid: not a Vonage webhook")

    def _message(self, data: dict[str, Any]) -> Parsed:
        if "status" in data and "text" not in data:
            return Parsed()  # a status of a message we sent
        uuid = _str(data, "message_uuid")
        text = _str(data, "text") or ""
        if not uuid or not text.strip():
            raise MalformedPayload("an inbound SMS needs message_uuid and text")
        return Parsed(
            messages=[
                InboundMessage(
                    external_id=f"sms:{uuid}",
                    sender=ContactRef(kind="phone", value=_number(data.get("from"), "from")),
                    text=text,
                    sent_at=_when(data.get("timestamp")),
                    metadata={"provider": "vonage"},
                )
            ]
        )

    def _call(self, data: dict[str, Any], step: str) -> Parsed:
        conversation = _str(data, "conversation_uuid")
        if not conversation:
            raise MalformedPayload("conversation_uuid is empty")
        at = _when(data.get("timestamp"))
        leg = _str(data, "uuid") or conversation
        if "recording_url" in data:
            # Recordings name no numbers: the call's log, found by its id, knows the caller.
            recording = _str(data, "recording_uuid") or leg
            return Parsed(
                events=[
                    ChannelEvent(
                        external_id=f"call:{conversation}:recording:{recording}",
                        kind="voicemail" if step == "voicemail" else "call_recorded",
                        occurred_at=_when(data.get("end_time")) or at,
                        call=CallDetails(
                            call_id=conversation, recording_url=_str(data, "recording_url")
                        ),
                    )
                ]
            )
        status = _str(data, "status")
        direction = _str(data, "direction") or "inbound"
        to = _number(data.get("to"), "to")
        if direction == "outbound" and to in self.agents:
            if status != "answered":
                return Parsed()
            return Parsed(
                events=[
                    ChannelEvent(
                        external_id=f"call:{conversation}:agent:{leg}:answered",
                        kind="call_answered",
                        sender=ContactRef(kind="phone", value=_number(data.get("from"), "from")),
                        occurred_at=at,
                        call=CallDetails(
                            call_id=conversation, agent=self.config.agents.get(to, to)
                        ),
                    )
                ]
            )
        outbound = direction == "outbound"
        customer = ContactRef(
            kind="phone", value=to if outbound else _number(data.get("from"), "from")
        )
        base = CallDetails(call_id=conversation, direction="outbound" if outbound else "inbound")

        def event(kind: str, key: str, **details: Any) -> ChannelEvent:
            return ChannelEvent(
                external_id=f"call:{conversation}:{key}",
                kind=kind,  # type: ignore[arg-type]
                sender=customer,
                occurred_at=at,
                call=msgspec.structs.replace(base, **details),
            )

        if status is None:
            # The answer webhook: the call is ringing, and wants its NCCO.
            return Parsed(events=[event("call_ringing", "ringing")], reply=self._ncco())
        if status in {"started", "ringing"}:
            return Parsed(events=[event("call_ringing", "ringing")])
        if status == "answered":
            return Parsed(events=[event("call_answered", "answered")] if outbound else [])
        if status == "completed":
            duration = _str(data, "duration")
            seconds = int(duration) if duration and duration.isdigit() else None
            return Parsed(events=[event("call_ended", "completed", duration_seconds=seconds)])
        if status in _MISSED:
            return Parsed(
                events=[
                    event("call_missed", f"status:{status}", missed_reason=status),
                    event("call_ended", "completed"),
                ]
            )
        return Parsed()  # human/machine detection, transfers: nothing for the log

    def _callback(self, step: str) -> str:
        parts = urlsplit(self.webhook_url)
        query = "&".join(q for q in (parts.query, urlencode({"event": step})) if q)
        return urlunsplit(parts._replace(query=query))

    def _ncco(self) -> WebhookReply:
        actions: list[dict[str, Any]]
        if self.config.dial:
            endpoints = []
            for target in self.config.dial:
                if target.startswith("sip:"):
                    endpoints.append({"type": "sip", "uri": target})
                elif target.startswith("client:"):
                    endpoints.append({"type": "app", "user": target[7:]})
                else:
                    endpoints.append({"type": "phone", "number": target.lstrip("+")})
            actions = [
                {
                    "action": "connect",
                    "from": self.config.phone_number.lstrip("+"),
                    "timeout": self.config.ring_seconds,
                    "endpoint": endpoints,
                }
            ]
        else:
            actions = [
                {"action": "talk", "text": self.config.voicemail_greeting},
                {
                    "action": "record",
                    "beepStart": True,
                    "endOnSilence": 5,
                    "eventUrl": [self._callback("voicemail")],
                },
            ]
        return WebhookReply(
            status=200, body=msgspec.json.encode(actions), content_type="application/json"
        )
