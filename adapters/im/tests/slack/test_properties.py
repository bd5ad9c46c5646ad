"""Properties: any correctly signed body is parsed or refused as MalformedPayload; what
``sign`` makes, ``verify_signature`` accepts, and any changed byte is caught."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels import MalformedPayload, SignatureInvalid
from frontdesk.testing import fuzz
from frontdesk_im.slack import SlackAdapter, sign, verify_signature

Sl = Any
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)
tss = st.from_regex(r"[0-9]{1,10}\.[0-9]{6}", fullmatch=True)
events = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "reaction_added", "app_mention"])},
    optional={
        "subtype": st.sampled_from(
            [
                "file_share",
                "bot_message",
                "message_changed",
                "message_deleted",
                "thread_broadcast",
                "channel_join",
            ]
        )
        | fuzz.json_values(),
        "channel": ids | fuzz.json_values(),
        "channel_type": st.sampled_from(["im", "channel", "group", "mpim"]),
        "user": ids | fuzz.json_values(),
        "bot_id": ids,
        "text": st.text(max_size=40) | fuzz.json_values(),
        "ts": tss | fuzz.json_values(),
        "thread_ts": tss,
        "deleted_ts": tss,
        "files": st.lists(
            st.fixed_dictionaries(
                {"id": ids}, optional={"name": st.text(max_size=8), "size": st.integers(-1, 99)}
            ),
            max_size=2,
        ),
        "message": st.fixed_dictionaries(
            {}, optional={"user": ids, "text": st.text(max_size=9), "ts": tss, "bot_id": ids}
        ),
        "previous_message": st.fixed_dictionaries({}, optional={"user": ids, "ts": tss}),
    },
)
envelopes = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_callback", "url_verification", "app_rate_limited"])},
    optional={
        "event_id": st.from_regex(r"Ev[A-Za-z0-9]{1,10}", fullmatch=True) | fuzz.json_values(),
        "event": events | fuzz.json_values(),
        "challenge": st.text(max_size=20),
    },
)


@SETTINGS
@given(body=envelopes | fuzz.json_values())
async def test_any_signed_callback_is_parsed_or_malformed(
    slack_adapter: SlackAdapter, sl: Sl, body: Any
) -> None:
    request = sl.signed(body)
    await slack_adapter.verify(request)
    try:
        parsed = await slack_adapter.parse(request)
    except MalformedPayload as exc:
        assert str(exc)
        return
    assert await slack_adapter.parse(request) == parsed
    for item in [*parsed.messages, *parsed.events]:
        assert item.external_id == body["event_id"]
    for message in parsed.messages:
        assert message.text.strip() and message.sender.value


@SETTINGS
@given(body=st.binary(max_size=200))
async def test_any_signed_bytes_are_parsed_or_malformed(
    slack_adapter: SlackAdapter, sl: Sl, body: bytes
) -> None:
    request = sl.signed(body)
    await slack_adapter.verify(request)
    with contextlib.suppress(MalformedPayload):
        await slack_adapter.parse(request)


@given(secret=st.text(min_size=1), body=st.binary(), timestamp=st.integers(0, 10**12 - 1))
def test_what_sign_makes_verify_accepts(secret: str, body: bytes, timestamp: int) -> None:
    verify_signature(secret, body, sign(secret, body, timestamp), str(timestamp), now=timestamp)


@given(body=st.binary(min_size=1), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_changed_byte_is_caught(body: bytes, position: int, flip: int) -> None:
    signature = sign("secret-0123456789", body, 1000)
    i = position % len(body)
    changed = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    try:
        verify_signature("secret-0123456789", changed, signature, "1000", now=1000)
    except SignatureInvalid:
        return
    raise AssertionError("a changed body passed verification")
