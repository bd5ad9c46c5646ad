"""Properties: parse, given any bytes or any mangling of real mail, returns a result or
raises MalformedPayload, nothing else, and the same result every time.

The intake answers 400 to MalformedPayload; anything else would be a 500 and a
provider (or a sending mail server) retrying forever.
"""

from __future__ import annotations

import msgspec
from email_corpus import CASES
from email_support import make_adapter, raw_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.channels import MalformedPayload, Parsed
from frontdesk_email.parsing import Envelope, parse_mime

ADAPTER = make_adapter()
SETTINGS = ADAPTER._settings
# The small ones: hypothesis mutates them thousands of times.
SEEDS = [c.raw for c in CASES if len(c.raw) < 20_000]


def parse_or_refuse(raw: bytes, envelope: Envelope | None = None) -> Parsed | None:
    try:
        parsed = parse_mime(raw, SETTINGS, envelope)
    except MalformedPayload as exc:
        assert str(exc)
        return None
    # Storable as the intake stores it, and deterministic.
    assert msgspec.json.decode(msgspec.json.encode(parsed), type=Parsed) == parsed
    assert parse_mime(raw, SETTINGS, envelope) == parsed
    for message in parsed.messages:
        thread = message.thread
        strings = [message.text, message.subject or "", message.sender.value, message.external_id]
        strings += [*thread.in_reply_to, *thread.references, thread.reply_token or ""]
        strings += [a.filename for a in message.attachments]
        for text in strings:
            assert "\x00" not in text
            text.encode("utf-8")
        assert message.sender.kind == "email" and message.sender.value
        assert 0 < len(message.external_id) <= 255
    for event in parsed.events:
        assert 0 < len(event.external_id) <= 255
        for value in [event.external_id, *event.thread.in_reply_to, *event.data.values()]:
            assert value is None or ("\x00" not in value and value.encode("utf-8"))
    return parsed


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    parse_or_refuse(raw)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        if action == "flip":
            raw[at] = draw(st.integers(0, 255))
        elif action == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [
                        b"=?",
                        b"?=",
                        b"--",
                        b"\r\n",
                        b"\r\n\r\n",
                        b";",
                        b"*0*=",
                        b"\x00",
                        b"\xff",
                        b"<",
                        b">",
                        b"@",
                        b'"',
                        b"boundary=",
                        b"charset=",
                        b"Content-Type: ",
                        b"multipart/mixed",
                        b"message/rfc822",
                        b"base64",
                        b"=?utf-8?B?",
                    ]
                )
                | st.binary(max_size=20)
            )
        elif action == "delete":
            del raw[at : at + draw(st.integers(1, 50))]
        elif action == "truncate":
            del raw[at:]
        else:
            other = draw(st.sampled_from(SEEDS))
            raw[at:] = other[draw(st.integers(0, len(other))) :]
    return bytes(raw)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mutated())
def test_mutated_real_mail(raw: bytes) -> None:
    parse_or_refuse(raw)


@settings(max_examples=200, deadline=None)
@given(
    raw=st.sampled_from(SEEDS),
    mail_from=st.none() | st.text(max_size=40),
    rcpt=st.lists(st.text(max_size=40), max_size=3),
)
def test_any_envelope(raw: bytes, mail_from: str | None, rcpt: list[str]) -> None:
    parse_or_refuse(raw, Envelope(mail_from=mail_from, rcpt_to=tuple(rcpt)))


@settings(max_examples=200, deadline=None)
@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "From",
                    "To",
                    "Cc",
                    "Subject",
                    "Message-ID",
                    "In-Reply-To",
                    "References",
                    "Date",
                    "Content-Type",
                    "Content-Disposition",
                    "Content-Transfer-Encoding",
                    "Auto-Submitted",
                    "Return-Path",
                    "Delivered-To",
                    "X-Weird",
                ]
            ),
            st.text(max_size=60).map(lambda t: t.replace("\n", " ").replace("\r", " ")),
        ),
        max_size=10,
    ),
    body=st.text(max_size=200),
)
def test_any_header_values(headers: list[tuple[str, str]], body: str) -> None:
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n" + body
    parse_or_refuse(raw.encode("utf-8", "surrogatepass"))


async def test_through_the_adapter_too() -> None:
    for raw in SEEDS[:5]:
        request = raw_request(raw)
        assert await ADAPTER.parse(request) == await ADAPTER.parse(request)
