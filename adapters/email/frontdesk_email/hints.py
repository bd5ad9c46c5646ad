"""Message-IDs (ours and theirs), reply tokens and ticket numbers: what threads an email.

The Message-IDs we generate are ``<r.{reply_token}.{nonce}@{domain}>`` (a reply
with a reply token) or ``<d.{delivery id}.{nonce}@{domain}>`` (one without),
where ``nonce`` is 16 hex digits derived from the delivery id: a redelivery
after a crash carries the same Message-ID, so the customer's mail program
shows the reply once. The leading ``r.``/``d.`` keeps a delivery id from ever
being read as a reply token.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

#: What a reply token may look like: it must fit in an address's local part
#: after the ``+`` and survive mail systems that change case (match it
#: case-insensitively, or generate lower-case tokens).
REPLY_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The longest Message-ID kept as a thread hint (the intake's external id limit).
MAX_ID = 255

_ANGLED = re.compile(r"<([^<>\s]{1,1000})>")
_BARE = re.compile(r"^[^<>\s@]+@[^<>\s@]+$")
_ANY_PREFIX = r"[A-Z][A-Z0-9]{0,9}"


def normalise_id(value: str) -> str | None:
    """``<local@domain>`` with the domain lower-cased, or None if it is no Message-ID."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    # Printable only: ids become external ids and header values (no NUL, no controls).
    if not value or not value.isprintable() or any(c.isspace() or c in "<>" for c in value):
        return None
    local, at, domain = value.rpartition("@")
    normalised = f"<{local}@{domain.lower()}>" if at and local else f"<{value}>"
    return normalised if len(normalised) <= MAX_ID else None


def message_ids(value: str | None, *, limit: int) -> list[str]:
    """The Message-IDs in an In-Reply-To or References value, in order, no repeats.

    Keeps the last ``limit`` (References grows at the front; the newest are last).
    Text around them (``Your message of …``, comments) is ignored.
    """
    if not value:
        return []
    found = _ANGLED.findall(value)
    if not found and _BARE.match(value.strip()):
        found = [value.strip()]
    out: list[str] = []
    for raw in found:
        normalised = normalise_id(raw)
        if normalised is not None and normalised not in out:
            out.append(normalised)
    return out[-limit:]


def nonce(delivery_id: str) -> str:
    return hashlib.sha256(delivery_id.encode()).hexdigest()[:16]


def make_message_id(*, delivery_id: str, reply_token: str | None, domain: str) -> str:
    """Our Message-ID for one delivery (see the module's docstring)."""
    if reply_token is not None:
        return f"<r.{reply_token}.{nonce(delivery_id)}@{domain}>"
    safe_id = re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]", "-", delivery_id).strip(".") or "x"
    return f"<d.{safe_id[:150]}.{nonce(delivery_id)}@{domain}>"


def ours(message_id: str, domain: str) -> re.Match[str] | None:
    """A match (group ``kind`` ``r``/``d``, group ``value``) if we generated this Message-ID."""
    pattern = rf"<(?P<kind>[rd])\.(?P<value>.+)\.[0-9a-f]{{16}}@{re.escape(domain)}>"
    return re.fullmatch(pattern, message_id, flags=re.IGNORECASE)


def token_from_ids(ids: Iterable[str], domain: str) -> str | None:
    """The reply token in the first of ``ids`` that is one of our ``r.`` Message-IDs."""
    for message_id in ids:
        match = ours(message_id, domain)
        if match and match["kind"].lower() == "r" and REPLY_TOKEN.fullmatch(match["value"]):
            return match["value"]
    return None


def token_from_addresses(addresses: Iterable[str], own: frozenset[str]) -> str | None:
    """The ``<token>`` of the first ``base+<token>@domain`` whose ``base@domain`` is ours."""
    for address in addresses:
        local, at, domain = address.strip().rpartition("@")
        base, plus, token = local.partition("+")
        if at and plus and f"{base}@{domain}".lower() in own and REPLY_TOKEN.fullmatch(token):
            return token
    return None


def plus_address(address: str, token: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local}+{token}@{domain}"


def ticket_pattern(prefixes: Iterable[str]) -> re.Pattern[str]:
    """``[PREFIX-YYYY-NNNNNN]`` in a subject, with the configured prefixes (or any)."""
    listed = "|".join(re.escape(p) for p in prefixes) or _ANY_PREFIX
    return re.compile(rf"\[\s*((?:{listed})-\d{{4}}-\d{{4,12}})\s*\]", re.IGNORECASE)


def ticket_number(subject: str | None, pattern: re.Pattern[str]) -> str | None:
    if not subject:
        return None
    match = pattern.search(subject)
    return match.group(1).upper() if match else None
