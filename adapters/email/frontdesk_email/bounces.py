"""Delivery status notifications (RFC 3464 bounces) read into ``delivery_status`` events.

A DSN is ``multipart/report; report-type=delivery-status``: a human part, a
``message/delivery-status`` part (one block of fields for the report, then one
per recipient), and the original message or its headers. Each recipient whose
``Action`` is ``failed`` becomes one event; ``delayed``, ``delivered``,
``relayed`` and ``expanded`` reports carry nothing to act on and give none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from frontdesk.channels import ChannelEvent, ThreadHints
from frontdesk_email import hints
from frontdesk_email.decoding import clean_line, from_surrogates, unfold

_STATUS_PARTS = ("message/delivery-status", "message/global-delivery-status")
_ORIGINAL_PARTS = (
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "message/global-headers",
)


def _field(block: Message, name: str) -> str | None:
    for key, value in block.raw_items():
        if key.lower() == name:
            text = clean_line(from_surrogates(unfold(str(value))))
            return text or None
    return None


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # A delivery-status body the parser kept as text: split it into blocks ourselves.
    data = part.get_payload(decode=True)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return [HeaderParser(policy=compat32).parsestr(block) for block in blocks]


def _original_message_id(report: Message) -> str | None:
    for part in report.walk():
        content_type = part.get_content_type()
        if content_type not in _ORIGINAL_PARTS:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            headers = payload[0]
        else:
            data = part.get_payload(decode=True)
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
            headers = HeaderParser(policy=compat32).parsestr(text)
        value = _field(headers, "message-id")
        ids = hints.message_ids(value, limit=1)
        if ids:
            return ids[0]
    return None


def _address(value: str | None) -> str | None:
    # "rfc822; user@example.com" (the address type, then the address)
    if not value:
        return None
    kind, semicolon, address = value.partition(";")
    address = (address if semicolon else kind).strip().strip("<>").strip()
    return address if "@" in address and len(address) <= 320 else None


def _event_id(dsn_id: str, index: int) -> str:
    candidate = f"dsn:{dsn_id}:{index}"
    if len(candidate) <= 255:
        return candidate
    return f"dsn:sha256:{hashlib.sha256(dsn_id.encode()).hexdigest()}:{index}"


def is_delivery_report(message: Message) -> bool:
    try:
        if message.get_content_type() != "multipart/report":
            return False
        report_type = message.get_param("report-type")
    except Exception:  # an unreadable Content-Type is no report
        return False
    return isinstance(report_type, str) and report_type.strip().lower() == "delivery-status"


def delivery_failures(
    message: Message,
    *,
    dsn_id: str,
    id_domain: str,
    occurred_at: dt.datetime | None,
) -> list[ChannelEvent]:
    """One event per failed recipient of the DSN ``message`` (maybe none)."""
    status_part = next((p for p in message.walk() if p.get_content_type() in _STATUS_PARTS), None)
    if status_part is None:
        return []
    blocks = _blocks(status_part)
    original = _original_message_id(message)
    thread = ThreadHints(
        in_reply_to=[original] if original else [],
        reply_token=hints.token_from_ids([original], id_domain) if original else None,
    )
    reporting = _field(blocks[0], "reporting-mta") if blocks else None
    events: list[ChannelEvent] = []
    for block in blocks[1:]:
        action = (_field(block, "action") or "").lower()
        if action != "failed":
            continue
        recipient = _address(_field(block, "final-recipient")) or _address(
            _field(block, "original-recipient")
        )
        if recipient is None:
            continue
        status = (_field(block, "status") or "").split(" ", 1)[0][:16] or None
        diagnostic = _field(block, "diagnostic-code")
        data: dict[str, str | None] = {
            "failed_recipient": recipient,
            "status": status,
            "original_message_id": original,
            "action": action,
            "diagnostic": diagnostic[:500] if diagnostic else None,
            "reporting_mta": reporting[:200] if reporting else None,
        }
        events.append(
            ChannelEvent(
                external_id=_event_id(dsn_id, len(events)),
                kind="delivery_status",
                thread=thread,
                occurred_at=occurred_at,
                data=data,
            )
        )
    return events
