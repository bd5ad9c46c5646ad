"""What each provider webhook becomes: messages, call steps with their details, answers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from phone_support import ACCOUNT, CALLER, NUMBER, WEBHOOK, twilio_request, vonage_request

from frontdesk.channels import MalformedPayload, Parsed
from frontdesk_phone import PhoneAdapter
from frontdesk_phone.sms import split_sms


def twilio_call(status: str, **extra: str) -> dict[str, str]:
    return {
        "CallSid": "CA9",
        "AccountSid": ACCOUNT,
        "From": CALLER,
        "To": NUMBER,
        "CallStatus": status,
        "Direction": "inbound",
        **extra,
    }


async def parse(adapter: PhoneAdapter, params: dict[str, str], event: str = "") -> Parsed:
    url = WEBHOOK + (f"?event={event}" if event else "")
    return await adapter.parse(twilio_request(params, url=url))


def steps(parsed: Parsed) -> list[tuple[str, str, Any]]:
    return [(e.kind, e.external_id, e.call) for e in parsed.events]


async def test_a_ringing_call_is_answered_with_twiml_ringing_the_agents(
    twilio: PhoneAdapter,
) -> None:
    parsed = await parse(twilio, twilio_call("ringing"))
    [event] = parsed.events
    assert event.kind == "call_ringing" and event.external_id == "call:CA9:ringing"
    assert event.sender is not None and event.sender.value == CALLER
    assert event.call is not None and event.call.call_id == "CA9"
    assert event.call.direction == "inbound"
    assert parsed.reply is not None and parsed.reply.content_type == "application/xml"
    twiml = parsed.reply.body.decode()
    assert '<Dial timeout="20" action="' + WEBHOOK + '?event=dial">' in twiml
    assert f'statusCallback="{WEBHOOK}?event=agent"' in twiml and ">ada</Client>" in twiml


async def test_without_agents_to_dial_the_caller_goes_to_voicemail(
    twilio: PhoneAdapter,
) -> None:
    adapter = PhoneAdapter(
        twilio.config.__class__(**{**_fields(twilio), "dial": []}), twilio.context
    )
    parsed = await parse(adapter, twilio_call("ringing"))
    assert parsed.reply is not None
    assert b"<Record" in parsed.reply.body and b"event=transcription" in parsed.reply.body


def _fields(adapter: PhoneAdapter) -> dict[str, Any]:
    config = adapter.config
    return {f: getattr(config, f) for f in config.__struct_fields__}


async def test_each_step_of_a_call_carries_what_it_knows(twilio: PhoneAdapter) -> None:
    stamp = "Fri, 27 Nov 2026 09:00:08 +0000"
    answered = await parse(
        twilio,
        twilio_call(
            "in-progress",
            ParentCallSid="CA9",
            CallSid="CA9L",
            To="client:ada",
            Direction="outbound-dial",
            Timestamp=stamp,
        ),
        "agent",
    )
    [(kind, external_id, details)] = steps(answered)
    assert (kind, external_id) == ("call_answered", "call:CA9:agent:CA9L:answered")
    assert details.call_id == "CA9" and details.agent == "ada@example.com"
    assert answered.events[0].occurred_at == dt.datetime(2026, 11, 27, 9, 0, 8, tzinfo=dt.UTC)

    ended = await parse(twilio, twilio_call("completed", CallDuration="42", Timestamp=stamp))
    assert [(k, d.duration_seconds) for k, _, d in steps(ended)] == [("call_ended", 42)]

    busy = await parse(twilio, twilio_call("busy"))
    assert [(k, d.missed_reason) for k, _, d in steps(busy)] == [
        ("call_missed", "busy"),
        ("call_ended", None),
    ]

    dial = await parse(twilio, twilio_call("in-progress", DialCallStatus="no-answer"), "dial")
    assert [(k, d.missed_reason) for k, _, d in steps(dial)] == [("call_missed", "no-answer")]
    assert dial.reply is not None and b"<Record" in dial.reply.body

    # Twilio playing our TwiML is not an agent answering.
    assert (await parse(twilio, twilio_call("in-progress"))).events == []
    ended_reply = ended.reply
    assert ended_reply is not None and ended_reply.content_type == "application/xml"


async def test_a_voicemail_and_its_transcription(twilio: PhoneAdapter) -> None:
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE1"
    recording = await parse(
        twilio, twilio_call("completed", RecordingSid="RE1", RecordingUrl=url), "voicemail"
    )
    [(kind, external_id, details)] = steps(recording)
    assert (kind, external_id, details.recording_url) == (
        "voicemail",
        "call:CA9:recording:RE1",
        url,
    )
    text = await parse(
        twilio,
        twilio_call(
            "completed",
            TranscriptionSid="TR1",
            TranscriptionText="Please call me back",
            TranscriptionStatus="completed",
            RecordingSid="RE1",
            RecordingUrl=url,
        ),
        "transcription",
    )
    [(kind, external_id, details)] = steps(text)
    assert (kind, details.transcription) == ("voicemail", "Please call me back")
    # A recording of a conversation (not <Record>) is not a voicemail.
    conversation = await parse(
        twilio, twilio_call("completed", RecordingSid="RE2", RecordingSource="DialVerb")
    )
    assert [k for k, _, _ in steps(conversation)] == ["call_recorded"]


async def test_an_outbound_call_is_about_the_number_called(twilio: PhoneAdapter) -> None:
    params = twilio_call("in-progress", Direction="outbound-api", From=NUMBER, To=CALLER)
    [event] = (await parse(twilio, params)).events
    assert event.kind == "call_answered"
    assert event.sender is not None and event.sender.value == CALLER
    assert event.call is not None and event.call.direction == "outbound"


async def test_an_sms_with_media(twilio: PhoneAdapter) -> None:
    parsed = await parse(
        twilio,
        {
            "MessageSid": "MM1",
            "From": CALLER,
            "To": NUMBER,
            "Body": "",
            "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/media/ME1",
            "MediaContentType0": "image/jpeg",
        },
    )
    [message] = parsed.messages
    assert message.external_id == "sms:MM1" and message.sender.value == CALLER
    assert [(a.url, a.content_type) for a in message.attachments] == [
        ("https://api.twilio.com/media/ME1", "image/jpeg")
    ]
    assert parsed.reply is not None and parsed.reply.body.endswith(b"<Response></Response>")
    status = await parse(twilio, {"MessageSid": "SM2", "MessageStatus": "delivered"})
    assert status.messages == [] and status.events == []


async def test_vonage_calls_and_sms(vonage: PhoneAdapter) -> None:
    base = {"conversation_uuid": "CON-1", "uuid": "leg-1", "from": "14155550123", "to": "1"}
    answer = await vonage.parse(vonage_request(base))
    assert [e.kind for e in answer.events] == ["call_ringing"]
    assert answer.events[0].sender is not None
    assert answer.events[0].sender.value == CALLER
    assert answer.reply is not None
    assert json.loads(answer.reply.body)[1]["action"] == "record"
    done = await vonage.parse(
        vonage_request({**base, "status": "completed", "duration": "31", "direction": "inbound"})
    )
    assert [(e.kind, e.call and e.call.duration_seconds) for e in done.events] == [
        ("call_ended", 31)
    ]
    missed = await vonage.parse(vonage_request({**base, "status": "unanswered"}))
    assert [e.kind for e in missed.events] == ["call_missed", "call_ended"]
    recording = await vonage.parse(
        vonage_request(
            {"conversation_uuid": "CON-1", "recording_url": "https://api.nexmo.com/r/1"},
            url=WEBHOOK + "?event=voicemail",
        )
    )
    [event] = recording.events
    assert event.kind == "voicemail" and event.sender is None
    assert event.call is not None and event.call.recording_url == "https://api.nexmo.com/r/1"
    sms = await vonage.parse(
        vonage_request(
            {"channel": "sms", "message_uuid": "m-1", "from": "14155550123", "text": "hello"}
        )
    )
    assert [(m.external_id, m.sender.value, m.text) for m in sms.messages] == [
        ("sms:m-1", CALLER, "hello")
    ]


async def test_unknown_call_status_is_malformed(twilio: PhoneAdapter) -> None:
    with pytest.raises(MalformedPayload):
        await parse(twilio, twilio_call("teleported"))


@given(st.text(min_size=0, max_size=5000), st.integers(min_value=20, max_value=1600))
def test_split_sms_keeps_every_word_within_the_limit(text: str, limit: int) -> None:
    parts = split_sms(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())
