"""The signature scheme, and verify: good signatures pass, every other request is refused."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from frontdesk.channels import InboundRequest, SignatureInvalid
from frontdesk_webhook import WebhookAdapter, sign, verify_signature

BODY = b'{"id":"m-1"}'
MESSAGE = {"id": "m-1", "sender": {"kind": "email", "value": "a@example.com"}, "text": "hi"}

RequestFor = Callable[..., InboundRequest]


def test_sign_matches_the_documented_scheme() -> None:
    # A fixed vector: changing the scheme breaks every customer, so it must show here.
    header = sign("whsec_test_0123456789abcdef", BODY, 1_700_000_000)
    assert header == (
        "t=1700000000,v1=6c2a5247cfaf79fb42d1c581802b7944781c4a3680f6f99ba9ad50e0cc8db3b3"
    )
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)


@pytest.mark.parametrize("timestamp", [-1, 10**12])
def test_sign_refuses_timestamps_verify_would_not_read(timestamp: int) -> None:
    with pytest.raises(ValueError):
        sign("k" * 16, BODY, timestamp)


async def test_a_correctly_signed_request_is_accepted(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    await adapter.verify(request_for(MESSAGE))


async def test_a_signature_made_with_another_secret_is_refused(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        await adapter.verify(request_for(MESSAGE, secret="whsec_someone_else_entirely"))


async def test_a_changed_body_is_refused(adapter: WebhookAdapter, request_for: RequestFor) -> None:
    good = request_for(MESSAGE)
    tampered = InboundRequest(
        method=good.method,
        url=good.url,
        headers=good.headers,
        query=good.query,
        body=good.body.replace(b'"hi"', b'"hI"'),
    )
    with pytest.raises(SignatureInvalid, match="does not match"):
        await adapter.verify(tampered)


async def test_a_missing_signature_is_refused(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    with pytest.raises(SignatureInvalid, match="missing"):
        await adapter.verify(request_for(MESSAGE, header=None))
    with pytest.raises(SignatureInvalid, match="missing"):
        await adapter.verify(request_for(MESSAGE, header="  "))


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "t=,v1=" + "0" * 64,
        "t=abc,v1=" + "0" * 64,
        "t=-5,v1=" + "0" * 64,
        "t=１２３,v1=" + "0" * 64,  # full-width digits are digits to str.isdigit, not to us
        "t=1700000000",
        "v1=" + "0" * 64,
        "t=1,t=2,v1=" + "0" * 64,
        "t=1700000000,v1=xyz",
        "t=1700000000,v1=" + "0" * 63,
        "t=1700000000;v1=" + "0" * 64,
    ],
)
async def test_a_malformed_signature_header_is_refused(
    adapter: WebhookAdapter, request_for: RequestFor, header: str
) -> None:
    with pytest.raises(SignatureInvalid):
        await adapter.verify(request_for(MESSAGE, header=header))


async def test_an_old_signature_is_refused_as_a_replay(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    old = int(time.time()) - 301
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        await adapter.verify(request_for(MESSAGE, timestamp=old))


async def test_a_signature_from_the_future_is_refused(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        await adapter.verify(request_for(MESSAGE, timestamp=int(time.time()) + 301))


async def test_a_little_clock_skew_is_tolerated(
    adapter: WebhookAdapter, request_for: RequestFor
) -> None:
    await adapter.verify(request_for(MESSAGE, timestamp=int(time.time()) - 290))
    await adapter.verify(request_for(MESSAGE, timestamp=int(time.time()) + 290))


async def test_the_tolerance_is_configurable(
    adapter_for: Callable[..., WebhookAdapter], request_for: RequestFor
) -> None:
    strict = adapter_for(tolerance_seconds=5)
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        await strict.verify(request_for(MESSAGE, timestamp=int(time.time()) - 60))


async def test_several_v1_signatures_pass_when_one_matches(
    adapter: WebhookAdapter, request_for: RequestFor, secret: str
) -> None:
    # How a sender rotates secrets: sign with the old and the new one at once.
    good = request_for(MESSAGE)
    now = int(time.time())
    old = sign("whsec_the_previous_secret_0", good.body, now).split(",")[1]
    new = sign(secret, good.body, now).split(",")[1]
    await adapter.verify(request_for(MESSAGE, header=f"t={now},{old},{new}"))
    # Unknown schemes are ignored, so a v2 can be introduced alongside v1.
    await adapter.verify(request_for(MESSAGE, header=f"t={now}, v2=abc, {new}"))


async def test_uppercase_hex_is_accepted(
    adapter: WebhookAdapter, request_for: RequestFor, secret: str
) -> None:
    body = request_for(MESSAGE).body
    now = int(time.time())
    t, v1 = sign(secret, body, now).split(",")
    await adapter.verify(request_for(MESSAGE, header=f"{t},{v1.upper().replace('V1', 'v1')}"))


def test_verify_signature_returns_the_timestamp(secret: str) -> None:
    assert verify_signature(secret, BODY, sign(secret, BODY, 1000), now=1100) == 1000
