"""Normalising and masking contact values: the form the blind index is computed over."""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers

from frontdesk.errors import InvalidInput


class ContactKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    WEBCHAT = "webchat"
    IM = "im"


# Deliberately plain: one @, a dotted domain, no spaces. Deliverability is the
# mail server's business; this only refuses what cannot be an address.
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput(f"not an email address: {value[:80]!r}")
    return email


def normalise_phone(value: str, default_region: str | None = None) -> str:
    """E.164; a number without a country code needs the tenant's default region."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"not a phone number: {value[:40]!r}") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"not a valid phone number: {value[:40]!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_handle(value: str) -> str:
    handle = value.strip()
    if not handle or len(handle) > 255 or any(c.isspace() for c in handle):
        raise InvalidInput("a handle is 1–255 characters with no spaces")
    return handle


def normalise(kind: ContactKind, value: str, *, default_region: str | None = None) -> str:
    if kind is ContactKind.EMAIL:
        return normalise_email(value)
    if kind is ContactKind.PHONE:
        return normalise_phone(value, default_region)
    return normalise_handle(value)


def mask_email(email: str) -> str:
    """a***@example.com"""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(e164: str) -> str:
    """+86 138****0000: country code, the first three and last four digits."""
    try:
        number = phonenumbers.parse(e164, None)
        cc = f"+{number.country_code}"
        national = str(number.national_number)
    except phonenumbers.NumberParseException:
        cc, national = "", e164.lstrip("+")
    if len(national) <= 7:
        return f"{cc} {national[:1]}****{national[-2:]}".strip()
    return f"{cc} {national[:3]}****{national[-4:]}".strip()


def mask_handle(handle: str) -> str:
    if len(handle) <= 4:
        return handle[:1] + "***"
    return f"{handle[:2]}***{handle[-2:]}"


def mask(kind: ContactKind, value: str) -> str:
    if kind is ContactKind.EMAIL:
        return mask_email(value)
    if kind is ContactKind.PHONE:
        return mask_phone(value)
    return mask_handle(value)
