"""Calling a provider's API: one bounded request, and turning failures into receipts.

Shared by the four providers. ``deliver`` never raises for a provider's
failure: timeouts, refused connections, 5xx and 429 become retryable
receipts (with ``Retry-After``), anything the provider will refuse again
becomes a final one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from frontdesk.channels import DeliveryReceipt
from frontdesk_im._version import __version__

T = TypeVar("T")

USER_AGENT = f"frontdesk-im/{__version__}"

#: More of an answer than this is not read: providers' answers are small JSON.
MAX_ANSWER_BYTES = 256 * 1024


class Answer(msgspec.Struct, frozen=True):
    """A provider's answer: its status, headers, and body (``None`` if too large)."""

    status: int
    headers: Mapping[str, str]
    body: bytes | None


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    time_limit: float,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """One request, answer read in full, within ``time_limit`` seconds overall.

    httpx's own timeout applies to each phase (connect, each read); the outer
    one bounds the whole, so a provider trickling its answer cannot hold a
    worker. Raises ``TimeoutError`` or ``httpx.HTTPError``.
    """
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    async with asyncio.timeout(time_limit):
        async with client.stream(
            method, url, json=json, params=params, headers=all_headers
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    return Answer(response.status_code, dict(response.headers), None)
                chunks.append(chunk)
            return Answer(response.status_code, dict(response.headers), b"".join(chunks))


def client(timeout: float) -> httpx.AsyncClient:
    """An HTTP client for one delivery. Redirects are not followed: an API that
    redirects is misconfigured, and following would resend the message."""
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False)


def decode(answer: Answer, type: type[T]) -> T | None:
    """The answer's body as ``type``, or ``None`` if it is not that JSON."""
    if answer.body is None:
        return None
    try:
        return msgspec.json.decode(answer.body, type=type)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = dt.datetime.now(dt.UTC) if now is None else now
    return max(0.0, (when - current).total_seconds())


def sent(external_id: str | None) -> DeliveryReceipt:
    return DeliveryReceipt(status="sent", external_id=external_id)


def retry(error: str, after: float | None = None) -> DeliveryReceipt:
    """A failure worth trying again (later than ``after`` seconds, if given)."""
    return DeliveryReceipt(status="failed", error=error, retryable=True, retry_after=after)


def final(error: str) -> DeliveryReceipt:
    """A failure that trying again will not fix."""
    return DeliveryReceipt(status="failed", error=error)


def by_status(answer: Answer, error: str) -> DeliveryReceipt:
    """The receipt for a non-2xx answer, from its status alone: 408, 425, 429 and
    5xx are worth retrying (after ``Retry-After``), other statuses are final."""
    if answer.status >= 500 or answer.status in (408, 425, 429):
        return retry(error, retry_after(answer.headers.get("retry-after")))
    return final(error)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret in it replaced, for error messages shown on tickets."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def unreachable(
    exc: BaseException, provider: str, timeout: float, secrets: Iterable[str]
) -> DeliveryReceipt:
    """The receipt for a request that got no answer."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return retry(f"{provider} did not answer within {timeout:g} s")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return final(f"api_base_url is unusable: {scrub(str(exc), secrets)[:200]}")
    detail = scrub(str(exc), secrets)[:200]
    return retry(
        f"could not reach {provider}: {type(exc).__name__}" + (f": {detail}" if detail else "")
    )


SendPart = Callable[[str], Awaitable[DeliveryReceipt]]


async def send_parts(
    parts: list[str],
    send: SendPart,
    *,
    provider: str,
    time_limit: float,
    secrets: Iterable[str],
) -> DeliveryReceipt:
    """Send each part in order; stop at the first failure.

    The receipt of a complete send carries the first part's provider id. A
    failure after some parts went out says so: a retry sends every part again
    (none of these providers takes an idempotency key). ``secrets`` are
    removed from every error, which is shown on the ticket.
    """
    secrets = tuple(secrets)
    first_id: str | None = None
    for i, part in enumerate(parts):
        try:
            receipt = await send(part)
        except (TimeoutError, httpx.HTTPError) as exc:
            receipt = unreachable(exc, provider, time_limit, secrets)
        if receipt.status != "sent":
            # Providers echo URLs in their errors, and some URLs hold a token.
            error = scrub(receipt.error or "", secrets)
            if i > 0:
                error += (
                    f" (after {i} of {len(parts)} parts of the reply were sent; "
                    "a retry sends every part again)"
                )
            return msgspec.structs.replace(receipt, error=error)
        if i == 0:
            first_id = receipt.external_id
    return sent(first_id)
