"""verify and the request shapes: the shared secret (header or Basic auth), raw MIME and forms."""

# (test secrets and reply tokens are fixed strings on purpose)

from __future__ import annotations

import json

import pytest
from email_corpus import mail
from email_support import SECRET, basic, form_request, make_adapter, raw_request

from frontdesk.channels import MalformedPayload, SignatureInvalid
from frontdesk_email import EmailAdapter

MESSAGE = mail(
    "From: li.wei@example.com\nTo: support@acme.example\nSubject: hello\n"
    "Message-ID: <in-1@example.com>",
    "body\n",
)


async def test_the_token_header_is_accepted(adapter: EmailAdapter) -> None:
    await adapter.verify(raw_request(MESSAGE))


@pytest.mark.parametrize("user", ["sendgrid", "", "any user at all"])
async def test_basic_auth_with_the_secret_as_password(adapter: EmailAdapter, user: str) -> None:
    await adapter.verify(
        raw_request(MESSAGE, token=None, headers={"authorization": basic(SECRET, user)})
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"x-frontdesk-email-token": ""}, "does not match"),
        ({"x-frontdesk-email-token": SECRET + " "}, "does not match"),
        ({"x-frontdesk-email-token": SECRET.upper()}, "does not match"),
        ({"x-frontdesk-email-token": "é" * 20}, "does not match"),
        ({"authorization": basic(SECRET + "x")}, "password"),
        ({"authorization": basic("")}, "password"),
        ({"authorization": "Basic " + "c2VjcmV0"}, "password"),  # "secret", no colon
        ({"authorization": "Basic %%%"}, "malformed"),
        ({"authorization": "Basic //79"}, "malformed"),  # not UTF-8
        ({"authorization": f"Bearer {SECRET}"}, "only Basic"),
        ({"x-frontdesk-email-local": "0" * 64, "x-frontdesk-email-token": SECRET}, "local"),
    ],
)
async def test_everything_else_is_refused(
    adapter: EmailAdapter, headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        await adapter.verify(raw_request(MESSAGE, token=None, headers=headers))


async def test_without_a_webhook_secret_http_is_closed() -> None:
    adapter = make_adapter(webhook_secret=None)
    with pytest.raises(SignatureInvalid, match="webhook_secret is not set"):
        await adapter.verify(raw_request(MESSAGE))


@pytest.mark.parametrize(
    "content_type", ["message/rfc822", "application/octet-stream", "text/plain", ""]
)
async def test_raw_mime_in_any_raw_content_type(adapter: EmailAdapter, content_type: str) -> None:
    [message] = (await adapter.parse(raw_request(MESSAGE, content_type=content_type))).messages
    assert message.external_id == "<in-1@example.com>"


async def test_sendgrid_form_with_raw_mime_and_envelope(adapter: EmailAdapter) -> None:
    envelope = json.dumps({"to": ["support+tok9@acme.example"], "from": "li.wei@example.com"})
    request = form_request(
        {
            "headers": b"Received: ...",
            "dkim": b"{@example.com : pass}",
            "email": MESSAGE,
            "to": b"support@acme.example",
            "envelope": envelope.encode(),
            "charsets": b'{"to":"UTF-8","subject":"UTF-8"}',
        }
    )
    await adapter.verify(request)
    [message] = (await adapter.parse(request)).messages
    assert message.external_id == "<in-1@example.com>"
    assert message.thread.reply_token == "tok9"  # from SendGrid's envelope


async def test_mailgun_body_mime_field(adapter: EmailAdapter) -> None:
    [message] = (await adapter.parse(form_request({"body-mime": MESSAGE}))).messages
    assert message.text == "body"


async def test_the_same_message_has_the_same_id_whichever_way_it_came(
    adapter: EmailAdapter,
) -> None:
    ways = [raw_request(MESSAGE), form_request({"email": MESSAGE})]
    ids = {(await adapter.parse(r)).messages[0].external_id for r in ways}
    assert ids == {"<in-1@example.com>"}


@pytest.mark.parametrize(
    ("request_kwargs", "reason"),
    [
        ({"raw": b'{"a": 1}', "content_type": "application/json"}, "not raw MIME"),
        ({"raw": b"a=b", "content_type": "application/x-www-form-urlencoded"}, "not raw MIME"),
        ({"raw": b"garbage", "content_type": "multipart/form-data"}, "no parts"),
    ],
)
async def test_other_shapes_are_malformed(
    adapter: EmailAdapter, request_kwargs: dict[str, object], reason: str
) -> None:
    raw = request_kwargs.pop("raw")
    assert isinstance(raw, bytes)
    with pytest.raises(MalformedPayload, match=reason):
        await adapter.parse(raw_request(raw, **request_kwargs))  # type: ignore[arg-type]


async def test_a_form_without_the_raw_message_says_what_to_turn_on(adapter: EmailAdapter) -> None:
    with pytest.raises(MalformedPayload, match="raw MIME"):
        await adapter.parse(form_request({"text": b"parsed fields only", "from": b"a@b.c"}))


async def test_a_big_message_parses_off_the_event_loop(adapter: EmailAdapter) -> None:
    big = mail("From: a@example.com\nSubject: big", ("line of text\n" * 40_000))
    [message] = (await adapter.parse(raw_request(big))).messages
    assert message.text.count("line of text") == 40_000
