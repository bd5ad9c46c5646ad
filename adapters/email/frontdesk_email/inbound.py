"""Inbound requests: who may send them, and the raw MIME (and envelope) inside them.

Three ways in, one request shape. Over HTTP an inbound-parse service posts
raw MIME, authenticated by the channel's ``webhook_secret``. The SMTP/LMTP
listener and the IMAP poller build requests themselves in this process and
seal them with ``LOCAL_HEADER``: an HMAC under a key drawn at import time,
which never leaves the process, over the channel, the body and the other
``x-frontdesk-email-*`` headers. Nothing arriving over HTTP can carry a valid
seal, and a seal cannot be moved onto another body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from email import policy
from email.message import Message
from email.parser import BytesParser

from frontdesk.channels import InboundRequest, MalformedPayload, SignatureInvalid
from frontdesk_email.parsing import Envelope

#: The shared-secret header an inbound-parse service sends (or use HTTP Basic auth).
TOKEN_HEADER = "X-Frontdesk-Email-Token"  # noqa: S105 - a header's name, not a secret
#: The seal on requests the listener and the poller made in this process.
LOCAL_HEADER = "x-frontdesk-email-local"
#: Where the message came from: ``smtp``, ``lmtp`` or ``imap`` (sealed requests only).
SOURCE_HEADER = "x-frontdesk-email-source"
ENVELOPE_FROM_HEADER = "x-frontdesk-email-envelope-from"
ENVELOPE_TO_HEADER = "x-frontdesk-email-envelope-to"
#: Set by the poller when only the headers of a too-large message were fetched.
OVERSIZED_HEADER = "x-frontdesk-email-oversized"
IMAP_UID_HEADER = "x-frontdesk-email-imap-uid"

#: multipart/form-data fields holding raw MIME: SendGrid's Inbound Parse (with
#: "POST the raw, full MIME message") sends ``email``, Mailgun's ``body-mime``.
FORM_FIELDS = ("email", "body-mime")
_RAW_TYPES = {"", "message/rfc822", "application/octet-stream", "text/plain"}

# Drawn once per process; see the module's docstring.
_PROCESS_KEY = secrets.token_bytes(32)
_PREFIX = "x-frontdesk-email-"


def _seal(channel_id: str, headers: dict[str, str], body: bytes) -> str:
    mac = hmac.new(_PROCESS_KEY, digestmod=hashlib.sha256)
    mac.update(channel_id.encode("utf-8", "surrogatepass") + b"\x00")
    for name in sorted(headers):
        if name.startswith(_PREFIX) and name != LOCAL_HEADER:
            mac.update(f"{name}\x00{headers[name]}\x00".encode("utf-8", "surrogatepass"))
    mac.update(hashlib.sha256(body).digest())
    return mac.hexdigest()


def local_request(
    *, channel_id: str, url: str, body: bytes, headers: dict[str, str]
) -> InboundRequest:
    """A request made in this process (listener, poller), sealed so ``verify`` accepts it."""
    all_headers = {"content-type": "message/rfc822", **{k.lower(): v for k, v in headers.items()}}
    all_headers[LOCAL_HEADER] = _seal(channel_id, all_headers, body)
    return InboundRequest(method="POST", url=url, headers=all_headers, query={}, body=body)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def verify(request: InboundRequest, *, channel_id: str, secret: str | None) -> None:
    """Accept a sealed local request, or an HTTP request carrying the shared secret."""
    seal = request.headers.get(LOCAL_HEADER)
    if seal is not None:
        if _same(seal, _seal(channel_id, request.headers, request.body)):
            return
        raise SignatureInvalid(
            f"{LOCAL_HEADER} does not match: only this process's listener and poller make it"
        )
    if secret is None:
        raise SignatureInvalid("this channel takes no mail over HTTP: webhook_secret is not set")
    token = request.headers.get(TOKEN_HEADER.lower())
    if token is not None:
        if token and _same(token, secret):
            return
        raise SignatureInvalid(f"{TOKEN_HEADER} does not match the channel's webhook_secret")
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise SignatureInvalid("only Basic authorization is accepted")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise SignatureInvalid("malformed Basic authorization") from None
        _, colon, password = decoded.partition(":")
        if colon and password and _same(password, secret):
            return
        raise SignatureInvalid("the Basic authorization password is not the webhook_secret")
    raise SignatureInvalid(
        f"missing {TOKEN_HEADER} header or Basic authorization (the channel's webhook_secret)"
    )


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 15


def _envelope_from_headers(request: InboundRequest) -> Envelope:
    headers = request.headers
    rcpt = headers.get(ENVELOPE_TO_HEADER, "")
    oversized = headers.get(OVERSIZED_HEADER, "")
    return Envelope(
        mail_from=headers.get(ENVELOPE_FROM_HEADER),
        rcpt_to=tuple(a.strip() for a in rcpt.split(",") if a.strip()),
        oversized=int(oversized) if _digits(oversized) else None,
    )


def extract(request: InboundRequest) -> tuple[bytes, Envelope]:
    """The raw MIME message in ``request`` and what is known of its envelope."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        try:
            return _from_form(content_type, request.body, _envelope_from_headers(request))
        except MalformedPayload:
            raise
        except Exception as exc:  # the parser's corners, as in parsing.parse_mime
            raise MalformedPayload(
                f"the multipart/form-data body could not be read ({type(exc).__name__})"
            ) from None
    if media_type not in _RAW_TYPES:
        raise MalformedPayload(
            f"content type {media_type!r} is not raw MIME: post the message as "
            "message/rfc822, or as multipart/form-data with an 'email' field"
        )
    return request.body, _envelope_from_headers(request)


def _field_name(part: Message) -> str | None:
    try:
        name = part.get_param("name", header="content-disposition")
    except Exception:
        return None
    return name if isinstance(name, str) else None


def _from_form(content_type: str, body: bytes, envelope: Envelope) -> tuple[bytes, Envelope]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n"
    form = BytesParser(policy=policy.compat32).parsebytes(head.encode("latin-1", "replace") + body)
    parts = form.get_payload() if form.is_multipart() else None
    if not isinstance(parts, list):
        raise MalformedPayload("the multipart/form-data body has no parts (is the boundary right?)")
    fields: dict[str, bytes] = {}
    for part in parts:
        if not isinstance(part, Message):
            continue
        name = _field_name(part)
        if name is not None and name not in fields:
            data = part.get_payload(decode=True)
            fields[name] = data if isinstance(data, bytes) else b""
    raw = next((fields[name] for name in FORM_FIELDS if name in fields), None)
    if raw is None:
        raise MalformedPayload(
            "the form has no 'email' (or 'body-mime') field with the raw MIME message; "
            "turn on raw MIME posting in the inbound-parse service"
        )
    if "envelope" in fields and not envelope.rcpt_to:
        envelope = _sendgrid_envelope(fields["envelope"], envelope)
    return raw, envelope


def _sendgrid_envelope(data: bytes, envelope: Envelope) -> Envelope:
    # SendGrid: envelope={"to": ["support+tok@acme.com"], "from": "li@example.com"}
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return envelope
    if not isinstance(value, dict):
        return envelope
    to = value.get("to")
    sender = value.get("from")
    rcpt = tuple(a for a in to if isinstance(a, str)) if isinstance(to, list) else ()
    return Envelope(
        mail_from=sender if isinstance(sender, str) else envelope.mail_from,
        rcpt_to=rcpt[:100],
        oversized=envelope.oversized,
    )
