"""The corpus: every message becomes a message, events, or a MalformedPayload with a reason."""

from __future__ import annotations

import msgspec
import pytest
from email_corpus import CASES, Case
from email_support import make_adapter, raw_request

from frontdesk.channels import MalformedPayload, Parsed

ADAPTER = make_adapter()


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 50
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.expect for c in CASES} == {"message", "events", "malformed"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_each_message_parses_as_expected(case: Case) -> None:
    request = raw_request(case.raw)
    await ADAPTER.verify(request)
    if case.expect == "malformed":
        with pytest.raises(MalformedPayload) as refused:
            await ADAPTER.parse(request)
        assert str(refused.value)
        assert "could not be read" not in str(refused.value)  # a reason, not the safety net
        return
    parsed = await ADAPTER.parse(request)
    if case.expect == "message":
        assert len(parsed.messages) == 1
    else:
        assert parsed.messages == [] and parsed.events
    # What the intake stores must survive JSON with validation, and parse is deterministic.
    assert msgspec.json.decode(msgspec.json.encode(parsed), type=Parsed) == parsed
    assert await ADAPTER.parse(request) == parsed
    for message in parsed.messages:
        assert message.sender.kind == "email" and "@" in message.sender.value
        assert 0 < len(message.external_id) <= 255
        for text in (message.text, message.subject or "", message.html or ""):
            assert "\x00" not in text
    if case.check is not None:
        case.check(parsed)
