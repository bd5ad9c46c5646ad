"""Properties: any correctly signed notification is parsed or refused as MalformedPayload,
with unique external ids, and senders that are WhatsApp ids."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels import MalformedPayload
from frontdesk.testing import fuzz
from frontdesk_im.whatsapp import WhatsAppAdapter

Wa = Any
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

wa_ids = st.from_regex(r"[0-9]{8,15}", fullmatch=True)
types = st.sampled_from(
    [
        "text",
        "image",
        "document",
        "audio",
        "video",
        "sticker",
        "location",
        "button",
        "interactive",
        "edit",
        "revoke",
        "reaction",
        "unsupported",
        "x",
    ]
)
media = st.fixed_dictionaries(
    {"id": st.text(max_size=8)},
    optional={
        "mime_type": st.text(max_size=12),
        "caption": st.text(max_size=9),
        "filename": st.text(max_size=9),
    },
)
messages = st.fixed_dictionaries(
    {"from": wa_ids | fuzz.json_values(), "id": st.text(max_size=12), "type": types},
    optional={
        "timestamp": st.integers(-5, 2**40).map(str) | fuzz.json_values(),
        "text": st.fixed_dictionaries({"body": st.text(max_size=30)}) | fuzz.json_values(),
        "image": media,
        "document": media,
        "audio": media,
        "location": st.fixed_dictionaries({"latitude": st.floats(), "longitude": st.floats()}),
        "interactive": st.fixed_dictionaries(
            {
                "type": st.just("button_reply"),
                "button_reply": st.fixed_dictionaries(
                    {"id": st.text(max_size=3), "title": st.text(max_size=9)}
                ),
            }
        ),
        "edit": st.fixed_dictionaries({"original_message_id": st.text(max_size=9)}),
        "revoke": st.fixed_dictionaries({"original_message_id": st.text(max_size=9)})
        | fuzz.json_values(),
        "context": st.fixed_dictionaries({}, optional={"id": st.text(max_size=9)}),
    },
)
statuses = st.fixed_dictionaries(
    {
        "id": st.text(max_size=12),
        "status": st.sampled_from(["sent", "delivered", "read", "failed", "Bad"]),
        "timestamp": st.integers(0, 2**34).map(str),
    },
    optional={
        "recipient_id": wa_ids | st.text(max_size=5),
        "errors": st.lists(
            st.fixed_dictionaries({"code": st.integers(), "title": st.text(max_size=9)}), max_size=2
        ),
    },
)


@SETTINGS
@given(
    msgs=st.lists(messages, max_size=3),
    sts=st.lists(statuses, max_size=2),
    number=st.sampled_from(["106540352242922", "1"]),
)
async def test_any_signed_notification_is_parsed_or_malformed(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa, msgs: list[Any], sts: list[Any], number: str
) -> None:
    body = wa.notification(*msgs, statuses=sts, phone_number_id=number)
    request = wa.signed(body)
    await whatsapp_adapter.verify(request)
    try:
        parsed = await whatsapp_adapter.parse(request)
    except MalformedPayload as exc:
        assert str(exc)
        return
    assert await whatsapp_adapter.parse(request) == parsed
    ids = [i.external_id for i in [*parsed.messages, *parsed.events]]
    assert len(ids) == len(set(ids))
    for message in parsed.messages:
        assert message.sender.value.isdigit() and message.text.strip()


@SETTINGS
@given(body=fuzz.json_values() | st.binary(max_size=100))
async def test_any_signed_body_is_parsed_or_malformed(
    whatsapp_adapter: WhatsAppAdapter, wa: Wa, body: Any
) -> None:
    request = wa.signed(body)
    await whatsapp_adapter.verify(request)
    with contextlib.suppress(MalformedPayload):
        await whatsapp_adapter.parse(request)
