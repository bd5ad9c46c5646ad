"""What every provider's parser needs: strict decoding, times, names and identifiers.

Providers retry a webhook that is not answered 2xx (WhatsApp for days), so
``MalformedPayload`` is kept for payloads that are broken, not merely new:
unknown fields and update types are ignored, and odd but readable content is
kept with a placeholder text rather than refused.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, TypeVar

import msgspec

from frontdesk.channels import ContactRef, MalformedPayload

T = TypeVar("T")

#: Seconds since the epoch, up to the end of year 9999 (what ``datetime`` holds).
UnixSeconds = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799)]
#: A provider's id for a message, an update or a user: printable, no spaces,
#: short enough for the intake's 255-character external ids once prefixed.
ProviderId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f\x7f]+$")
]

_NAME_LIMIT = 200
_DIGITS = re.compile(r"[0-9]{1,12}")


def decode_json(body: bytes, type: type[T], provider: str) -> T:
    """``body`` decoded strictly as ``type``, or ``MalformedPayload`` saying why."""
    try:
        return msgspec.json.decode(body, type=type)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"invalid {provider} payload: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"the body is not JSON (UTF-8): {exc}") from None
    except RecursionError:
        raise MalformedPayload("the body is nested too deeply") from None


def at(seconds: int) -> dt.datetime:
    """A provider's unix time as an aware datetime."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def digits_time(value: str, where: str) -> dt.datetime:
    """A unix time sent as a string of digits (WhatsApp, WeCom)."""
    if not _DIGITS.fullmatch(value):
        raise MalformedPayload(f"{where} is not a unix time: {value[:20]!r}")
    seconds = int(value)
    if seconds > 253_402_300_799:
        raise MalformedPayload(f"{where} is out of range")
    return at(seconds)


def clean(text: str) -> str:
    """Text with NUL characters removed: valid in JSON, refused by PostgreSQL.

    Dropped rather than refused: a provider would resend a refused message
    again and again, and a NUL carries nothing a reader would miss.
    """
    return text.replace("\x00", "")


def name(*parts: str | None) -> str | None:
    """A display name from its parts (first and last name), or ``None``."""
    joined = " ".join(clean(p).strip() for p in parts if p and clean(p).strip())
    return joined[:_NAME_LIMIT] or None


def sender(provider: str, value: str, display_name: str | None = None) -> ContactRef:
    return ContactRef(kind="im", provider=provider, value=value, display_name=display_name)


def compact(**fields: Any) -> dict[str, Any]:
    """Metadata without the fields that have no value."""
    return {key: value for key, value in fields.items() if value not in (None, [], {}, "")}
