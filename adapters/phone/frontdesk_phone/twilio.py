"""Twilio's dialect: request signatures, voice and messaging webhooks, TwiML, the Messages API.

Written from Twilio's documentation: "Webhooks security" (``X-Twilio-Signature``),
the Voice webhook and status callback parameters, ``<Dial>``, ``<Record>``,
and the Programmable Messaging webhook and Messages resource.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

import msgspec

from frontdesk.channels import (
    Attachment,
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

SIGNATURE_HEADER = "x-twilio-signature"

Params = dict[str, list[str]]


# --- signatures ------------------------------------------------------------------------


def signature(auth_token: str, url: str, params: Mapping[str, list[str]]) -> str:
    """``X-Twilio-Signature`` for a request to ``url`` carrying these POST parameters:
    base64(HMAC-SHA1(auth token, url + each name and value, sorted by name))."""
    signed = url
    for name in sorted(params):
        # A repeated parameter: each distinct value once, sorted, as Twilio's libraries do.
        for value in sorted(set(params[name])):
            signed += name + value
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """The URL as given, and with its default port added or removed: Twilio signs
    whichever form it called, and proxies differ in which one they pass on."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is None and default is not None:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return [url]
    return [url, urlunsplit(other)]


def with_public_base(url: str, public_url: str | None) -> str:
    """``url`` with its scheme and host replaced by ``public_url``'s (behind a proxy)."""
    if public_url is None:
        return url
    base, parts = urlsplit(public_url), urlsplit(url)
    return urlunsplit(parts._replace(scheme=base.scheme, netloc=base.netloc))


def verify(
    auth_token: str, url: str, headers: Mapping[str, str], body: bytes, content_type: str
) -> None:
    """Raise ``SignatureInvalid`` unless the request carries Twilio's signature for it."""
    given = headers.get(SIGNATURE_HEADER, "").strip()
    if not given:
        raise SignatureInvalid("no X-Twilio-Signature header")
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    if "bodySHA256" in query:
        # JSON bodies: the URL (with the body's hash in it) is signed, the body hashed.
        params: Params = {}
        expected_hash = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(query["bodySHA256"][0].encode(), expected_hash.encode()):
            raise SignatureInvalid("the body does not match bodySHA256")
    elif content_type.startswith("application/x-www-form-urlencoded") or not content_type:
        # Leniently: what cannot be read as a form is parse's to refuse, once verified.
        params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    else:
        params = {}
    for candidate in _port_variants(url):
        if hmac.compare_digest(signature(auth_token, candidate, params).encode(), given.encode()):
            return
    raise SignatureInvalid("X-Twilio-Signature does not match this request")


def form(body: bytes) -> Params:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPayload("the form body is not UTF-8") from None
    try:
        return parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as exc:
        raise MalformedPayload(f"the body is not a form: {exc}") from None


# --- webhooks --------------------------------------------------------------------------

_MISSED = {"no-answer", "busy", "failed", "canceled"}
_RINGING = {"queued", "initiated", "ringing"}


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    value = values[0]
    if "\x00" in value:
        raise MalformedPayload(f"{name} contains a NUL character")
    return value


def _need(params: Params, name: str) -> str:
    value = _one(params, name)
    if not value or not value.strip():
        raise MalformedPayload(f"{name} is missing")
    return value.strip()


def _timestamp(params: Params) -> dt.datetime | None:
    """Status callbacks carry ``Timestamp`` (RFC 2822); the first request of a call does not."""
    value = _one(params, "Timestamp")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise MalformedPayload(f"Timestamp {value!r} is not an RFC 2822 date") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def _int(params: Params, name: str) -> int | None:
    value = _one(params, name)
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise MalformedPayload(f"{name} {value!r} is not a number of seconds")
    return int(value)


class TwilioDialect:
    """Turns Twilio's webhooks into Frontdesk's messages and call events."""

    def __init__(self, config: PhoneConfig, webhook_url: str) -> None:
        self.config = config
        self.webhook_url = webhook_url

    def parse(self, url: str, body: bytes) -> Parsed:
        params = form(body)
        query = parse_qs(urlsplit(url).query)
        if "CallSid" in params:
            parsed = self._call(params, query.get("event", [""])[0])
        elif "MessageSid" in params or "SmsMessageSid" in params:
            parsed = self._message(params)
        else:
            raise MalformedPayload("neither CallSid nor MessageSid: not a Twilio webhook")
        # Twilio reads the answer to a webhook as TwiML: an empty <Response/> says
        # "nothing to do" (and sends no SMS back) where JSON would be an error.
        return parsed if parsed.reply else msgspec.structs.replace(parsed, reply=_twiml(""))

    # SMS -------------------------------------------------------------------

    def _message(self, params: Params) -> Parsed:
        sid = _one(params, "MessageSid") or _need(params, "SmsMessageSid")
        if _one(params, "MessageStatus") and "Body" not in params:
            # A status callback of a message we sent: nothing a customer said.
            return Parsed()
        sender = _need(params, "From")
        text = _one(params, "Body") or ""
        attachments = []
        media = _int(params, "NumMedia") or 0
        for n in range(min(media, 10)):
            media_url = _one(params, f"MediaUrl{n}")
            if media_url:
                attachments.append(
                    Attachment(
                        filename=f"media-{n}",
                        content_type=_one(params, f"MediaContentType{n}")
                        or "application/octet-stream",
                        size=0,
                        url=media_url,
                    )
                )
        if not text.strip() and not attachments:
            raise MalformedPayload("the message has neither a Body nor media")
        return Parsed(
            messages=[
                InboundMessage(
                    external_id=f"sms:{sid}",
                    sender=ContactRef(kind="phone", value=sender),
                    text=text,
                    attachments=attachments,
                    metadata={"provider": "twilio"},
                )
            ]
        )

    # voice -----------------------------------------------------------------

    def _call(self, params: Params, step: str) -> Parsed:
        call_sid = _need(params, "CallSid")
        parent = _one(params, "ParentCallSid")
        direction = _one(params, "Direction") or "inbound"
        at = _timestamp(params)
        if parent:
            return self._agent_leg(params, parent, call_sid, at)
        outbound = direction.startswith("outbound")
        customer = _need(params, "To" if outbound else "From")
        base = CallDetails(call_id=call_sid, direction="outbound" if outbound else "inbound")

        def event(kind: str, key: str, **details: Any) -> ChannelEvent:
            return ChannelEvent(
                external_id=f"call:{call_sid}:{key}",
                kind=kind,  # type: ignore[arg-type]
                sender=ContactRef(kind="phone", value=customer),
                occurred_at=at,
                call=msgspec.structs.replace(base, **details),
            )

        if "TranscriptionText" in params or "TranscriptionSid" in params:
            text = _one(params, "TranscriptionText")
            status = _one(params, "TranscriptionStatus") or "completed"
            sid = _one(params, "TranscriptionSid") or _need(params, "RecordingSid")
            return Parsed(
                events=[
                    event(
                        "voicemail",
                        f"transcription:{sid}",
                        recording_url=_one(params, "RecordingUrl"),
                        transcription=text if status == "completed" and text else None,
                    )
                ]
            )
        if "RecordingSid" in params:
            sid = _need(params, "RecordingSid")
            # <Record> (the voicemail TwiML) versus a recording of the conversation.
            voicemail = step == "voicemail" or _one(params, "RecordingSource") == "RecordVerb"
            return Parsed(
                events=[
                    event(
                        "voicemail" if voicemail else "call_recorded",
                        f"recording:{sid}",
                        recording_url=_one(params, "RecordingUrl"),
                    )
                ]
            )
        if "DialCallStatus" in params:
            dial = _need(params, "DialCallStatus")
            events = []
            if dial in _MISSED:
                events.append(event("call_missed", f"dial:{dial}", missed_reason=dial))
            reply = self._voicemail_twiml() if dial != "completed" and dial != "answered" else None
            return Parsed(events=events, reply=reply or _twiml("<Hangup/>"))
        status = _need(params, "CallStatus")
        if status in _RINGING:
            reply = None if outbound else self._incoming_twiml()
            return Parsed(events=[event("call_ringing", "ringing")], reply=reply)
        if status == "in-progress":
            if not outbound:
                # Twilio answering the call itself (to play our TwiML) is not an agent answering.
                return Parsed()
            return Parsed(events=[event("call_answered", "answered")])
        if status == "completed":
            duration = _int(params, "CallDuration")
            return Parsed(events=[event("call_ended", "completed", duration_seconds=duration)])
        if status in _MISSED:
            return Parsed(
                events=[
                    event("call_missed", f"status:{status}", missed_reason=status),
                    event("call_ended", "completed"),
                ]
            )
        raise MalformedPayload(f"unknown CallStatus {status!r}")

    def _agent_leg(
        self, params: Params, parent: str, call_sid: str, at: dt.datetime | None
    ) -> Parsed:
        """A status callback of a ``<Dial>``ed agent's leg: its parent is the customer's call."""
        status = _need(params, "CallStatus")
        # On a <Dial>ed leg, From is the customer's caller id and To the agent.
        customer = _need(params, "From")
        agent = _one(params, "To") or ""
        if status not in {"in-progress", "answered"}:
            return Parsed()
        return Parsed(
            events=[
                ChannelEvent(
                    external_id=f"call:{parent}:agent:{call_sid}:answered",
                    kind="call_answered",
                    sender=ContactRef(kind="phone", value=customer),
                    occurred_at=at,
                    call=CallDetails(
                        call_id=parent,
                        direction="inbound",
                        agent=self.config.agents.get(agent, agent) or None,
                    ),
                )
            ]
        )

    # TwiML -----------------------------------------------------------------

    def _callback(self, step: str) -> str:
        parts = urlsplit(self.webhook_url)
        query = "&".join(q for q in (parts.query, urlencode({"event": step})) if q)
        return urlunsplit(parts._replace(query=query))

    def _incoming_twiml(self) -> WebhookReply:
        if not self.config.dial:
            return self._voicemail_twiml()
        agent_callback = quoteattr(self._callback("agent"))
        targets = []
        for target in self.config.dial:
            attrs = f'statusCallbackEvent="answered" statusCallback={agent_callback}'
            if target.startswith("client:"):
                targets.append(f"<Client {attrs}>{escape(target[7:])}</Client>")
            elif target.startswith("sip:"):
                targets.append(f"<Sip {attrs}>{escape(target)}</Sip>")
            else:
                targets.append(f"<Number {attrs}>{escape(target)}</Number>")
        dial = (
            f'<Dial timeout="{self.config.ring_seconds}" '
            f"action={quoteattr(self._callback('dial'))}>{''.join(targets)}</Dial>"
        )
        return _twiml(dial)

    def _voicemail_twiml(self) -> WebhookReply:
        record = (
            f"<Say>{escape(self.config.voicemail_greeting)}</Say>"
            f'<Record maxLength="120" playBeep="true" transcribe="true" '
            f"transcribeCallback={quoteattr(self._callback('transcription'))} "
            f"recordingStatusCallback={quoteattr(self._callback('voicemail'))}/>"
        )
        return _twiml(record)


def _twiml(verbs: str) -> WebhookReply:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{verbs}</Response>'
    return WebhookReply(status=200, body=body.encode(), content_type="application/xml")


def messages_path(account_sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Messages.json"


def calls_path(account_sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Calls.json"


def connect_twiml(identity: str) -> str:
    """What a call we place does once the customer answers: ring the agent."""
    if identity.startswith("client:"):
        target = f"<Client>{escape(identity[7:])}</Client>"
    elif identity.startswith("sip:"):
        target = f"<Sip>{escape(identity)}</Sip>"
    else:
        target = f"<Number>{escape(identity)}</Number>"
    return f"<Response><Dial>{target}</Dial></Response>"
