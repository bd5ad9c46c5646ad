"""listen: the SMTP/LMTP listener on 127.0.0.1, fed by smtplib as a mail server would.

``submit`` here does what the core's does: verify, then parse, in this process.
"""

# (test secrets and reply tokens are fixed strings on purpose)

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from email_corpus import dsn, mail
from email_servers import Certificate, free_port
from email_support import CONTEXT, make_adapter, raw_request

from frontdesk.channels import ChannelContext, InboundRequest, Parsed, SignatureInvalid
from frontdesk_email import EmailAdapter
from frontdesk_email.listener import accepts

MESSAGE = mail(
    "From: Li Wei <li.wei@example.com>\nTo: Acme Support <support@acme.example>\n"
    "Subject: Where is my order?\nMessage-ID: <listener-1@example.com>\n"
    "Content-Type: text/plain; charset=utf-8",
    "Ordered two weeks ago. 两周前下的单。\n",
)


class Intake:
    """Stands in for the core's submit: verify and parse in-process, keep the result."""

    def __init__(self, adapter: EmailAdapter, fail: Exception | None = None) -> None:
        self.adapter = adapter
        self.fail = fail
        self.requests: list[InboundRequest] = []
        self.parsed: list[Parsed] = []

    async def __call__(self, request: InboundRequest) -> None:
        self.requests.append(request)
        if self.fail is not None:
            raise self.fail
        await self.adapter.verify(request)
        self.parsed.append(await self.adapter.parse(request))


@asynccontextmanager
async def listening(adapter: EmailAdapter, intake: Intake) -> AsyncIterator[int]:
    task = asyncio.create_task(adapter.listen(intake))
    try:
        for _ in range(200):
            if adapter.listen_address is not None or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        assert adapter.listen_address is not None
        yield adapter.listen_address[1]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def send(port: int, recipients: list[str], data: bytes, *, lmtp: bool = False, **kw: Any) -> Any:
    client: smtplib.SMTP = (
        smtplib.LMTP("127.0.0.1", port) if lmtp else smtplib.SMTP("127.0.0.1", port, timeout=10)
    )
    try:
        starttls: ssl.SSLContext | None = kw.pop("starttls", None)
        if starttls is not None:
            client.starttls(context=starttls)
        return client.sendmail(kw.pop("mail_from", "li.wei@example.com"), recipients, data)
    finally:
        client.quit()


def listener(**config: Any) -> EmailAdapter:
    config.setdefault("listen_port", 0)
    return make_adapter(addresses=["help@acme.example"], **config)


async def test_mail_sent_with_smtplib_reaches_submit() -> None:
    adapter = listener()
    intake = Intake(adapter)
    async with listening(adapter, intake) as port:
        refused = await asyncio.to_thread(send, port, ["support+tok42@acme.example"], MESSAGE)
    assert refused == {}
    [request] = intake.requests
    assert request.body == MESSAGE
    assert request.headers["content-type"] == "message/rfc822"
    assert request.headers["x-frontdesk-email-source"] == "smtp"
    assert request.headers["x-frontdesk-email-envelope-from"] == "li.wei@example.com"
    assert request.headers["x-frontdesk-email-envelope-to"] == "support+tok42@acme.example"
    assert request.url == CONTEXT.webhook_url
    [parsed] = intake.parsed
    [message] = parsed.messages
    assert message.sender.value == "li.wei@example.com"
    # The token came from the envelope: the message's own headers do not carry it.
    assert message.thread.reply_token == "tok42"


async def test_the_seal_is_not_accepted_from_anyone_else() -> None:
    adapter = listener(webhook_secret=None)
    intake = Intake(adapter)
    async with listening(adapter, intake) as port:
        await asyncio.to_thread(send, port, ["support@acme.example"], MESSAGE)
    [sealed] = intake.requests
    await adapter.verify(sealed)
    # The same request with another body, channel, envelope or a copied seal: refused.
    changed = [
        raw_request(MESSAGE + b"tampered", token=None, headers=dict(sealed.headers)),
        raw_request(
            MESSAGE,
            token=None,
            headers={
                **sealed.headers,
                "x-frontdesk-email-envelope-to": "support+evil@acme.example",
            },
        ),
        raw_request(MESSAGE, token=None, headers={"x-frontdesk-email-local": "f" * 64}),
    ]
    for request in changed:
        with pytest.raises(SignatureInvalid):
            await adapter.verify(request)
    other_channel = make_adapter(
        context=ChannelContext(channel_id="ch_other", webhook_url="u", public_url="p"),
        webhook_secret=None,
    )
    with pytest.raises(SignatureInvalid):
        await other_channel.verify(sealed)
    # And without a webhook_secret, nothing unsealed gets in over HTTP.
    with pytest.raises(SignatureInvalid, match="webhook_secret is not set"):
        await adapter.verify(raw_request(MESSAGE, token="anything-at-all-000"))


async def test_only_the_channels_addresses_are_accepted() -> None:
    adapter = listener()
    intake = Intake(adapter)
    async with listening(adapter, intake) as port:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await asyncio.to_thread(send, port, ["someone@elsewhere.example"], MESSAGE)
        assert refused.value.recipients["someone@elsewhere.example"][0] == 550
        # One good and one bad recipient: the good one gets it, the bad one is listed.
        partial = await asyncio.to_thread(
            send, port, ["HELP@acme.example", "relay@victim.example"], MESSAGE
        )
    assert list(partial) == ["relay@victim.example"]
    [request] = intake.requests
    assert request.headers["x-frontdesk-email-envelope-to"] == "HELP@acme.example"


async def test_bounces_with_a_null_sender_are_accepted() -> None:
    adapter = listener()
    intake = Intake(adapter)
    async with listening(adapter, intake) as port:
        await asyncio.to_thread(
            send,
            port,
            ["support@acme.example"],
            dsn(("a@example.com", "failed", "5.1.1")),
            mail_from="",
        )
    [parsed] = intake.parsed
    assert parsed.events[0].data["failed_recipient"] == "a@example.com"
    assert intake.requests[0].headers["x-frontdesk-email-envelope-from"] == ""


async def test_unreadable_mail_is_refused_with_the_reason() -> None:
    adapter = listener()
    intake = Intake(adapter)
    async with listening(adapter, intake) as port:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(
                send, port, ["support@acme.example"], mail("To: support@acme.example"), mail_from=""
            )
    assert refused.value.smtp_code == 554
    assert b"no usable sender" in refused.value.smtp_error


async def test_an_intake_failure_asks_the_sender_to_retry() -> None:
    adapter = listener()
    intake = Intake(adapter, fail=RuntimeError("database is down"))
    async with listening(adapter, intake) as port:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(send, port, ["support@acme.example"], MESSAGE)
    assert refused.value.smtp_code == 451


async def test_too_large_mail_is_refused() -> None:
    adapter = listener(max_message_bytes=64 * 1024)
    intake = Intake(adapter)
    big = mail("From: a@example.com\nSubject: big", "x" * 100 + "\n" + ("y" * 70 + "\n") * 2000)
    async with listening(adapter, intake) as port:
        with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as refused:
            await asyncio.to_thread(send, port, ["support@acme.example"], big)
    assert refused.value.smtp_code == 552
    assert intake.requests == []


async def test_lmtp_answers_per_recipient() -> None:
    adapter = listener(listen_lmtp=True)
    intake = Intake(adapter)
    async with listening(adapter, intake) as port:
        refused = await asyncio.to_thread(
            send, port, ["support@acme.example", "help+t1@acme.example"], MESSAGE, lmtp=True
        )
    assert refused == {}
    [request] = intake.requests  # one message, stored once
    assert request.headers["x-frontdesk-email-source"] == "lmtp"


async def test_starttls(certificate: Certificate) -> None:
    adapter = listener(
        listen_tls_cert_pem=certificate.cert_pem, listen_tls_key_pem=certificate.key_pem
    )
    intake = Intake(adapter)
    client_tls = ssl.create_default_context(cadata=certificate.cert_pem)
    async with listening(adapter, intake) as port:
        await asyncio.to_thread(send, port, ["support@acme.example"], MESSAGE, starttls=client_tls)
    assert len(intake.parsed) == 1


async def test_without_a_port_there_is_no_listener() -> None:
    adapter = make_adapter()
    await asyncio.wait_for(adapter.listen(Intake(adapter)), 1)
    assert adapter.listen_address is None


async def test_cancelling_stops_listening() -> None:
    adapter = listener(listen_port=free_port())
    intake = Intake(adapter)
    async with listening(adapter, intake) as port:
        pass
    with pytest.raises(OSError):
        await asyncio.to_thread(send, port, ["support@acme.example"], MESSAGE)


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("support@acme.example", True),
        ("SUPPORT@ACME.EXAMPLE", True),
        ("support+anything@acme.example", True),
        ("<help@acme.example>", True),
        ("support@acme.example.evil", False),
        ("evil+support@acme.example", False),
        ("support", False),
    ],
)
def test_accepts(address: str, ok: bool) -> None:
    assert accepts(address, frozenset({"support@acme.example", "help@acme.example"})) is ok
