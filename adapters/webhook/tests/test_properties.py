"""Properties: a signed body of any shape is either parsed or refused as MalformedPayload.

The intake turns MalformedPayload into a 400; anything else escaping parse would
be a 500 and a provider retrying forever, so no input may cause one.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels import (
    ChannelContext,
    InboundRequest,
    MalformedPayload,
    Parsed,
    SignatureInvalid,
)
from frontdesk_webhook import WebhookAdapter, WebhookConfig, sign, verify_signature
from frontdesk_webhook.adapter import parse_body

SECRET = "whsec_property_0123456789"
URL = "https://desk.example/h/ch_prop"
# Module level, not a fixture: hypothesis runs many examples per test function.
ADAPTER = WebhookAdapter(
    WebhookConfig(secret=SECRET),
    ChannelContext(channel_id="ch_prop", webhook_url=URL, public_url="https://desk.example"),
)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

# Values that are sometimes right and often wrong, for fields the parser knows.
odd_strings = st.sampled_from(["", " ", "\u0000", "x" * 300, "2026-03-01T09:30:00", "im"])
field_values = (
    st.text(max_size=20)
    | odd_strings
    | st.integers()
    | st.none()
    | st.booleans()
    | st.lists(st.text(max_size=5), max_size=3)
    | st.dictionaries(st.text(max_size=5), scalars, max_size=3)
    | st.sampled_from(["2026-03-01T09:30:00Z", "2026-03-01T09:30:00+08:00"])
)
senders = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["email", "phone", "webchat", "im", "fax"]) | field_values,
        "value": st.text(max_size=20) | field_values,
        "provider": st.sampled_from(["telegram", "wecom", "Bad Name"]) | field_values,
        "name": field_values,
    },
)
events = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=10) | field_values,
        "kind": st.sampled_from(["typing", "read", "call_missed", "nope"]) | field_values,
        "conversation_id": field_values,
        "sender": senders | field_values,
        "occurred_at": field_values,
        "data": st.dictionaries(st.text(max_size=5), json_values, max_size=3) | field_values,
    },
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=10) | field_values,
        "sender": senders | field_values,
        "text": st.text(max_size=30) | field_values,
        "conversation_id": field_values,
        "subject": field_values,
        "html": st.text(max_size=40) | st.sampled_from(["<b>x</b>", "<script>x</script>"]),
        "sent_at": field_values,
        "ticket_number": field_values,
        "in_reply_to": field_values,
        "metadata": st.dictionaries(st.text(max_size=5), json_values, max_size=3) | field_values,
        "events": st.lists(events, max_size=3) | field_values,
    },
)
batches = st.fixed_dictionaries(
    {"messages": st.lists(messages, max_size=4) | field_values},
    optional={"events": st.lists(events, max_size=3) | field_values},
)

# Well-formed ones, so the success path is exercised as much as the refusals,
# and well-formed ones with one field swapped for something odd.
nonblank = st.text(min_size=1, max_size=30).filter(str.strip)
valid_senders = st.fixed_dictionaries(
    {"kind": st.sampled_from(["email", "phone", "webchat"]), "value": nonblank},
    optional={"name": st.text(max_size=20)},
) | st.fixed_dictionaries(
    {"kind": st.just("im"), "value": nonblank, "provider": st.sampled_from(["telegram", "shop"])}
)
timestamps = st.datetimes(
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])
).map(dt.datetime.isoformat)
flat = st.dictionaries(
    st.text(min_size=1, max_size=10),
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    max_size=5,
)
Strategies = dict[str, st.SearchStrategy[Any]]


def by_id(item: dict[str, Any]) -> Any:
    return item["id"]


valid_events: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=20),
        "kind": st.sampled_from(["typing", "read", "voicemail"]),
    },
    optional=Strategies(
        {
            "conversation_id": nonblank,
            "sender": valid_senders,
            "occurred_at": timestamps,
            "data": flat,
        }
    ),
)
valid_messages: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    Strategies({"id": st.text(min_size=1, max_size=20), "sender": valid_senders, "text": nonblank}),
    optional=Strategies(
        {
            "conversation_id": nonblank,
            "subject": st.text(max_size=40),
            "html": st.text(max_size=40) | st.sampled_from(["<p>x</p>", "<a href='/x'>y</a>"]),
            "sent_at": timestamps,
            "ticket_number": st.sampled_from(["CS-2026-000042", "T-1"]),
            "in_reply_to": nonblank,
            "metadata": flat,
            "events": st.lists(valid_events, max_size=2, unique_by=by_id),
        }
    ),
)
valid_batches: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    Strategies({"messages": st.lists(valid_messages, max_size=4, unique_by=by_id)}),
    optional=Strategies({"events": st.lists(valid_events, max_size=3, unique_by=by_id)}),
)
mutated = st.tuples(
    valid_messages, st.sampled_from(["id", "sender", "text", "sent_at", "metadata"]), field_values
).map(lambda t: {**t[0], t[1]: t[2]})

bodies = json_values | messages | batches | valid_messages | valid_batches | mutated


def signed_request(body: bytes) -> InboundRequest:
    header = sign(SECRET, body, int(time.time()))
    return InboundRequest(
        method="POST",
        url=URL,
        headers={"x-frontdesk-signature": header},
        query={},
        body=body,
    )


def parse_or_refuse(body: bytes) -> Parsed | None:
    try:
        return parse_body(body)
    except MalformedPayload:
        return None


# No deadline: a shared CI machine's pauses are not the parser's slowness.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, ascii_only=st.booleans())
async def test_any_signed_json_is_parsed_or_refused_as_malformed(
    body: Any, ascii_only: bool
) -> None:
    raw = json.dumps(body, ensure_ascii=ascii_only).encode()
    request = signed_request(raw)
    await ADAPTER.verify(request)
    try:
        parsed = await ADAPTER.parse(request)
    except MalformedPayload as exc:
        assert str(exc)  # always says what is wrong
        return
    # Deterministic, and every id in the result is one the sender gave.
    assert await ADAPTER.parse(request) == parsed
    given_ids = {m.external_id for m in parsed.messages} | {e.external_id for e in parsed.events}
    assert len(given_ids) == len(parsed.messages) + len(parsed.events)
    for msg in parsed.messages:
        assert msg.text.strip()
        assert msg.sender.kind != "im" or msg.sender.provider


@settings(deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_are_parsed_or_refused_as_malformed(body: bytes) -> None:
    parse_or_refuse(body)


@settings(deadline=None)
@given(body=bodies)
def test_a_json_text_with_a_byte_cut_off_is_never_a_crash(body: Any) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    parse_or_refuse(raw[:-1])


@given(secret=st.text(min_size=1), body=st.binary(), timestamp=st.integers(0, 10**12 - 1))
def test_what_sign_makes_verify_accepts(secret: str, body: bytes, timestamp: int) -> None:
    assert verify_signature(secret, body, sign(secret, body, timestamp), now=timestamp) == timestamp


@given(body=st.binary(min_size=1), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_changed_byte_is_caught(body: bytes, position: int, flip: int) -> None:
    header = sign(SECRET, body, 1000)
    i = position % len(body)
    changed = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    try:
        verify_signature(SECRET, changed, header, now=1000)
    except SignatureInvalid:
        return
    raise AssertionError("a changed body passed verification")
