"""The delivery plumbing every provider shares: Retry-After, and secrets kept off tickets."""

from __future__ import annotations

import datetime as dt

import pytest

from frontdesk.channels import DeliveryReceipt
from frontdesk_im import _http

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Sun, 01 Mar 2026 12:01:30 GMT", 90.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),  # in the past: now
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("٣", None),  # a digit to str.isdigit, not to HTTP
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert _http.retry_after(value, now=NOW) == seconds


def test_secrets_are_scrubbed() -> None:
    assert _http.scrub("GET /bot123:ABC/sendMessage failed", ["123:ABC", ""]) == (
        "GET /bot********/sendMessage failed"
    )


async def test_a_failure_after_some_parts_is_scrubbed_and_says_so() -> None:
    answers = iter([_http.sent("1"), _http.retry("timeout calling /botSECRET/x", 3.0)])

    async def send(part: str) -> DeliveryReceipt:
        return next(answers)

    receipt = await _http.send_parts(
        ["a", "b", "c"], send, provider="X", time_limit=1, secrets=["SECRET"]
    )
    assert receipt == DeliveryReceipt(
        status="failed",
        retryable=True,
        retry_after=3.0,
        error="timeout calling /bot********/x (after 1 of 3 parts of the reply were sent; "
        "a retry sends every part again)",
    )


async def test_a_transport_error_becomes_a_retryable_receipt() -> None:
    async def send(part: str) -> DeliveryReceipt:
        raise TimeoutError

    receipt = await _http.send_parts(["a"], send, provider="X", time_limit=2.5, secrets=[])
    assert receipt == DeliveryReceipt(
        status="failed", retryable=True, error="X did not answer within 2.5 s"
    )
