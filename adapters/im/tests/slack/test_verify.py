"""verify: Slack's ``v0`` request signatures and their five-minute window."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest

from frontdesk.channels import SignatureInvalid
from frontdesk_im.slack import SlackAdapter, sign, verify_signature

Sl = Any  # conftest builders

# The example in Slack's "Verifying requests from Slack": a slash command's body.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = 1531420618
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F"
    b"96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slacks_documented_example() -> None:
    assert sign(DOC_SECRET, DOC_BODY, DOC_TIMESTAMP) == DOC_SIGNATURE
    verify_signature(
        DOC_SECRET, DOC_BODY, DOC_SIGNATURE, str(DOC_TIMESTAMP), now=DOC_TIMESTAMP + 60
    )
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        verify_signature(DOC_SECRET, DOC_BODY, DOC_SIGNATURE, str(DOC_TIMESTAMP))


async def test_a_signed_request_is_accepted(slack_adapter: SlackAdapter, sl: Sl) -> None:
    await slack_adapter.verify(sl.signed(sl.callback()))
    await slack_adapter.verify(sl.signed(sl.URL_VERIFICATION))


async def test_a_changed_body_is_refused(slack_adapter: SlackAdapter, sl: Sl) -> None:
    genuine = sl.signed(sl.callback())
    tampered = msgspec.structs.replace(
        genuine, body=genuine.body.replace(b"U2147483697", b"U2147483698")
    )
    with pytest.raises(SignatureInvalid, match="does not match"):
        await slack_adapter.verify(tampered)


async def test_another_apps_secret_is_refused(slack_adapter: SlackAdapter, sl: Sl) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        await slack_adapter.verify(sl.signed(sl.callback(), secret="the-other-apps-secret-0000"))


@pytest.mark.parametrize("age", [301, 3600, -301])
async def test_a_stale_or_future_timestamp_is_refused(
    slack_adapter: SlackAdapter, sl: Sl, age: int
) -> None:
    with pytest.raises(SignatureInvalid, match="outside the tolerance of 300 s"):
        await slack_adapter.verify(sl.signed(sl.callback(), timestamp=int(time.time()) - age))


async def test_within_five_minutes_is_accepted(slack_adapter: SlackAdapter, sl: Sl) -> None:
    for age in (-290, 0, 290):
        await slack_adapter.verify(sl.signed(sl.callback(), timestamp=int(time.time()) - age))


async def test_a_retry_is_signed_like_the_first_delivery(
    slack_adapter: SlackAdapter, sl: Sl
) -> None:
    retry = sl.signed(
        sl.callback(), headers={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    )
    await slack_adapter.verify(retry)


@pytest.mark.parametrize(
    ("signature", "timestamp", "why"),
    [
        (None, "1767225600", "missing"),
        ("v0=" + "0" * 64, None, "missing"),
        ("v0=" + "0" * 63, "1767225600", "malformed X-Slack-Signature"),
        ("sha256=" + "0" * 64, "1767225600", "malformed X-Slack-Signature"),
        ("v0=" + "0" * 64, "1767225600.5", "malformed X-Slack-Request-Timestamp"),
        ("v0=" + "0" * 64, "-1", "malformed X-Slack-Request-Timestamp"),
    ],
)
def test_malformed_headers_are_refused(
    signature: str | None, timestamp: str | None, why: str
) -> None:
    with pytest.raises(SignatureInvalid, match=why):
        verify_signature(DOC_SECRET, b"{}", signature, timestamp)


def test_uppercase_hex_is_accepted() -> None:
    upper = "v0=" + DOC_SIGNATURE[3:].upper()
    verify_signature(DOC_SECRET, DOC_BODY, upper, str(DOC_TIMESTAMP), now=DOC_TIMESTAMP)
