"""Raw MIME in, a normalised ``Parsed`` out: one message, or a bounce's events.

Built on the standard library's ``email`` (``policy.default``) for the MIME
structure, transfer encodings and RFC 2231 parameters; header text, charsets
and RFC 2047 words go through ``decoding`` so that no mail program's habit
stops a message. The only exception that leaves ``parse_mime`` is
``MalformedPayload``, with a reason a person can act on.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

from frontdesk.channels import (
    Attachment,
    ContactRef,
    InboundMessage,
    MalformedPayload,
    Parsed,
    ThreadHints,
    sanitise_html,
)
from frontdesk_email import bounces, hints, noise
from frontdesk_email.decoding import (
    clean_line,
    clean_text,
    decode_bytes,
    decode_words,
    from_surrogates,
    html_to_text,
    sanitise_filename,
    unfold,
)

#: Past these, parts are skipped (and counted in metadata["skipped_parts"]).
MAX_PARTS = 500
MAX_DEPTH = 25
#: Text and HTML bodies are cut at these many characters (metadata["truncated"]).
MAX_TEXT = 1_000_000
MAX_HTML = 2_000_000
MAX_SUBJECT = 998

_SIGNATURES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
}
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What parsing needs from a channel's configuration, prepared once."""

    own_addresses: frozenset[str]
    id_domain: str
    ticket_pattern: re.Pattern[str]
    max_attachment_bytes: int
    max_attachments: int
    max_message_bytes: int


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """What the SMTP envelope said, when the message came through a listener or service.

    ``mail_from`` is ``""`` for a null reverse-path (bounces), None when unknown.
    """

    mail_from: str | None = None
    rcpt_to: tuple[str, ...] = ()
    #: Set by the poller when only the headers were fetched: the message's real size.
    oversized: int | None = None


class _Headers:
    """Header values as they arrived (unparsed), looked up case-insensitively."""

    def __init__(self, message: Message) -> None:
        self._items = [(name.lower(), str(value)) for name, value in message.raw_items()]

    def __bool__(self) -> bool:
        return bool(self._items)

    def all(self, name: str) -> list[str]:
        # Raw 8-bit bytes (surrogate-escaped by the parser) decoded as text here.
        return [from_surrogates(unfold(value)) for key, value in self._items if key == name]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None


def parse_mime(raw: bytes, settings: Settings, envelope: Envelope | None = None) -> Parsed:
    """The message or events in ``raw``; ``MalformedPayload`` if it is not usable mail."""
    if not raw.strip():
        raise MalformedPayload("the body is empty: expected a MIME message (RFC 5322)")
    try:
        return _parse(raw, settings, envelope or Envelope())
    except MalformedPayload:
        raise
    except RecursionError:
        raise MalformedPayload("the message is nested too deeply to read") from None
    except Exception as exc:
        # A safety net for the standard library's parser, whose corners still
        # raise on some malformed input: a 400 with a reason beats a 500 that a
        # provider would retry forever. The tests' corpus and fuzzing keep it rare.
        raise MalformedPayload(
            f"the message could not be read ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _parse(raw: bytes, settings: Settings, envelope: Envelope) -> Parsed:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    headers = _Headers(message)
    if not headers:
        raise MalformedPayload("no header lines: this is not an email message")
    message_ids = hints.message_ids(headers.first("message-id"), limit=1)
    external_id = message_ids[0] if message_ids else _hash_id(headers, raw)
    sent_at = _date(headers.first("date"))

    if bounces.is_delivery_report(message):
        events = bounces.delivery_failures(
            message, dsn_id=external_id, id_domain=settings.id_domain, occurred_at=sent_at
        )
        if events or _sender(headers, envelope) is None:
            return Parsed(events=events)
        # A report with nothing failed and a sender: kept as a message marked "report".

    sender = _sender(headers, envelope)
    if sender is None:
        raise MalformedPayload(
            "the message has no usable sender address (From, Sender, Return-Path or "
            "the envelope's MAIL FROM)"
        )
    subject = clean_line(decode_words(headers.first("subject") or ""))[:MAX_SUBJECT] or None

    body = _Body(settings)
    body.walk(message, depth=0)
    text, html, metadata = body.result()

    in_reply_to = hints.message_ids(headers.first("in-reply-to"), limit=10)
    references = hints.message_ids(headers.first("references"), limit=50)
    recipients = list(envelope.rcpt_to)
    for name in ("delivered-to", "x-original-to", "to", "cc"):
        recipients += _addresses(headers.all(name))
    token = hints.token_from_addresses(recipients, settings.own_addresses) or hints.token_from_ids(
        [*in_reply_to, *reversed(references)], settings.id_domain
    )

    auto = noise.auto_reason(
        headers.first,
        sender=sender.value,
        subject=subject,
        content_type=_content_type(message),
        message_id=message_ids[0] if message_ids else None,
        envelope_from=envelope.mail_from,
        own_addresses=settings.own_addresses,
        id_domain=settings.id_domain,
    )
    if auto is not None:
        metadata["auto"] = auto
    if envelope.oversized is not None:
        metadata["oversized"] = {"size": envelope.oversized, "limit": settings.max_message_bytes}
    return Parsed(
        messages=[
            InboundMessage(
                external_id=external_id,
                sender=sender,
                text=text,
                subject=subject,
                html=html,
                thread=ThreadHints(
                    reply_token=token,
                    in_reply_to=in_reply_to,
                    references=references,
                    ticket_number=hints.ticket_number(subject, settings.ticket_pattern),
                ),
                attachments=body.attachments,
                sent_at=sent_at,
                metadata=metadata,
            )
        ]
    )


def _hash_id(headers: _Headers, raw: bytes) -> str:
    # No Message-ID: the same bytes always give the same id, so a redelivery is
    # still recognised. Trace headers (Received) are left out: each hop adds one.
    digest = hashlib.sha256()
    for name in ("from", "to", "cc", "date", "subject"):
        for value in headers.all(name):
            digest.update(f"{name}:{value}\n".encode("utf-8", "surrogateescape"))
    body_start = raw.find(b"\n\n")
    crlf_start = raw.find(b"\r\n\r\n")
    starts = [i for i in (body_start, crlf_start) if i >= 0]
    digest.update(raw[min(starts) :] if starts else raw)
    return f"sha256:{digest.hexdigest()}"


def _date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(from_surrogates(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": the zone is unknown; UTC is the honest reading
        when = when.replace(tzinfo=dt.UTC)
    return when if 1970 <= when.year <= 2200 else None


_ADDRESS = re.compile(r"^[^\s@]{1,64}@[^\s@]{1,255}$")


def _address_pairs(values: list[str]) -> list[tuple[str, str]]:
    decoded = [from_surrogates(v) for v in values]
    try:
        return email.utils.getaddresses(decoded)
    except Exception:  # a malformed header gives no addresses, not an error
        return []


def _addresses(values: list[str]) -> list[str]:
    return [address for _, address in _address_pairs(values) if "@" in address]


def _usable(address: str) -> str | None:
    address = clean_line(address).strip("<>")
    return address if _ADDRESS.match(address) and len(address) <= 320 else None


def _sender(headers: _Headers, envelope: Envelope) -> ContactRef | None:
    for name in ("from", "sender"):
        for display, address in _address_pairs(headers.all(name)):
            usable = _usable(address)
            if usable:
                display_name = clean_line(decode_words(display))[:200] if display else ""
                return ContactRef(kind="email", value=usable, display_name=display_name or None)
    for candidate in (envelope.mail_from, headers.first("return-path")):
        usable = _usable(candidate or "")
        if usable:
            return ContactRef(kind="email", value=usable)
    return None


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    return value if _CONTENT_TYPE.match(value) else "application/octet-stream"


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    try:
        value = part.get_param(name, header=header)
    except Exception:
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value), undecoded
        value = email.utils.collapse_rfc2231_value(value)
    return value if isinstance(value, str) else None


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        return None
    return value


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return name or _param(part, "filename", "content-disposition") or _param(part, "name")


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


@dataclass
class _Body:
    settings: Settings
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0
    parts: int = 0
    skipped: int = 0

    def walk(self, part: Message, *, depth: int, related: bool = False) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS or depth > MAX_DEPTH:
            self.skipped += 1
            return
        content_type = _content_type(part)
        if content_type.startswith("message/"):
            self._message_part(part, content_type, related)
            return
        children = part.get_payload() if part.is_multipart() else None
        if isinstance(children, list):
            self._multipart(content_type, [c for c in children if isinstance(c, Message)], depth)
            return
        disposition = _disposition(part)
        filename = _filename(part)
        if (
            content_type in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        ):
            text = decode_bytes(_payload(part), _param(part, "charset"))
            (self.texts if content_type == "text/plain" else self.htmls).append(text)
            return
        self._attach(
            _payload(part), content_type, filename, inline=disposition == "inline" or related
        )

    def _multipart(self, content_type: str, children: list[Message], depth: int) -> None:
        if content_type == "multipart/alternative":
            self._alternative(children, depth)
        elif content_type == "multipart/related" and children:
            self.walk(children[0], depth=depth + 1)
            for child in children[1:]:
                self.walk(child, depth=depth + 1, related=True)
        elif content_type == "multipart/signed":
            for child in children:
                if _content_type(child) not in _SIGNATURES:
                    self.walk(child, depth=depth + 1)
        else:
            for child in children:
                self.walk(child, depth=depth + 1)

    def _alternative(self, children: list[Message], depth: int) -> None:
        # Each branch is one rendering of the same message: the first with plain
        # text gives the text, the last with HTML (the richest) gives the HTML.
        outer_texts, outer_htmls = self.texts, self.htmls
        branches: list[tuple[list[str], list[str]]] = []
        for child in children:
            self.texts, self.htmls = [], []
            self.walk(child, depth=depth + 1)
            branches.append((self.texts, self.htmls))
        self.texts, self.htmls = outer_texts, outer_htmls
        plain = next((texts for texts, _ in branches if any(t.strip() for t in texts)), [])
        rich = next((htmls for _, htmls in reversed(branches) if any(h.strip() for h in htmls)), [])
        self.texts += plain
        self.htmls += rich

    def _message_part(self, part: Message, content_type: str, related: bool) -> None:
        payload = part.get_payload()
        name = _filename(part)
        if isinstance(payload, list):
            inner = [m for m in payload if isinstance(m, Message)]
            try:
                data = b"\n".join(m.as_bytes(policy=policy.compat32) for m in inner)
            except Exception:  # keep it listed even when unreadable
                data = b""
            if not name and inner and content_type in ("message/rfc822", "message/global"):
                subject = _Headers(inner[0]).first("subject")
                title = clean_line(decode_words(subject))[:80] if subject else ""
                name = f"{title or 'forwarded message'}.eml"
        else:
            data = _payload(part)
        if not name:
            name = content_type.split("/", 1)[1] + (
                ".eml" if content_type in ("message/rfc822", "message/global") else ".txt"
            )
        self._attach(data, content_type, name, inline=related)

    def _attach(self, data: bytes, content_type: str, name: str | None, *, inline: bool) -> None:
        index = len(self.attachments)
        filename = sanitise_filename(name, content_type, index)
        limit = self.settings.max_attachment_bytes
        reason = None
        if len(data) > limit:
            reason = f"larger than this channel's limit of {limit} bytes"
        elif self.kept >= self.settings.max_attachments:
            reason = (
                f"more than this channel's limit of {self.settings.max_attachments} attachments"
            )
        self.attachments.append(
            Attachment(
                filename=filename,
                content_type=content_type,
                size=len(data),
                content=None if reason else data,
                inline=inline,
            )
        )
        if reason:
            self.refused.append(
                {"index": index, "filename": filename, "size": len(data), "reason": reason}
            )
        else:
            self.kept += 1

    def result(self) -> tuple[str, str | None, dict[str, Any]]:
        metadata: dict[str, Any] = {}
        truncated = []
        text = clean_text("\n\n".join(t.strip("\r\n") for t in self.texts if t.strip())).strip()
        markup = "\n".join(self.htmls)
        if len(markup) > MAX_HTML:
            markup = markup[:MAX_HTML]
            truncated.append("html")
        html = sanitise_html(clean_text(markup)) if markup.strip() else None
        if not text and markup.strip():
            text = html_to_text(markup)
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT]
            truncated.append("text")
        if truncated:
            metadata["truncated"] = truncated
        if self.refused:
            metadata["refused_attachments"] = self.refused
        if self.skipped:
            metadata["skipped_parts"] = self.skipped
        return text, html, metadata
