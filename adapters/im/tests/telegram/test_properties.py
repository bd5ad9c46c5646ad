"""Properties: any body with the right secret token is parsed or refused as MalformedPayload,
and a parsed update gives at most one item, known by its update_id."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels import MalformedPayload
from frontdesk.testing import fuzz
from frontdesk_im.telegram import TelegramAdapter

Tg = Any
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

messages = st.fixed_dictionaries(
    {},
    optional={
        "message_id": st.integers(-5, 2**40) | fuzz.json_values(),
        "date": st.integers(-5, 2**35) | fuzz.json_values(),
        "chat": st.fixed_dictionaries(
            {"id": st.integers(-(2**55), 2**55), "type": st.sampled_from(["private", "group"])}
        )
        | fuzz.json_values(),
        "from": st.fixed_dictionaries(
            {
                "id": st.integers(-5, 2**55),
                "is_bot": st.booleans(),
                "first_name": st.text(max_size=10),
            }
        )
        | fuzz.json_values(),
        "text": st.text(max_size=40) | fuzz.json_values(),
        "caption": st.text(max_size=20),
        "photo": st.lists(
            st.fixed_dictionaries(
                {
                    "file_id": st.text(max_size=5),
                    "width": st.integers(0, 9),
                    "height": st.integers(0, 9),
                }
            ),
            max_size=3,
        )
        | fuzz.json_values(),
        "document": st.fixed_dictionaries(
            {"file_id": st.text(max_size=5)},
            optional={"file_name": st.text(max_size=10), "mime_type": st.text(max_size=10)},
        ),
        "location": st.fixed_dictionaries({"latitude": st.floats(), "longitude": st.floats()}),
        "message_thread_id": st.integers(0, 99),
        "is_topic_message": st.booleans(),
    },
)
updates = st.fixed_dictionaries(
    {"update_id": st.integers(-2, 2**54) | fuzz.json_values()},
    optional={
        "message": messages,
        "edited_message": messages,
        "business_message": messages,
        "deleted_business_messages": fuzz.json_values(),
    },
)


@SETTINGS
@given(body=updates | fuzz.json_values())
async def test_any_update_is_parsed_or_malformed(
    telegram_adapter: TelegramAdapter, tg: Tg, body: Any
) -> None:
    request = tg.signed(body)
    await telegram_adapter.verify(request)
    try:
        parsed = await telegram_adapter.parse(request)
    except MalformedPayload as exc:
        assert str(exc)
        return
    assert await telegram_adapter.parse(request) == parsed
    items = [*parsed.messages, *parsed.events]
    assert len(items) <= 1
    for item in items:
        assert item.external_id == str(body["update_id"])
    for message in parsed.messages:
        assert message.text.strip() and "\x00" not in message.text
        assert message.sender.provider == "telegram" and message.sender.value.isdigit()


@SETTINGS
@given(body=st.binary(max_size=200))
async def test_any_bytes_are_parsed_or_malformed(
    telegram_adapter: TelegramAdapter, tg: Tg, body: bytes
) -> None:
    with contextlib.suppress(MalformedPayload):
        await telegram_adapter.parse(tg.signed(body))
