"""deliver: replies submitted to a real SMTP server on 127.0.0.1 (aiosmtpd), read back as mail.

smtplib is not mocked: what the server received is parsed with the standard
library and with the adapter's own parse, as the customer's side would see it.
"""

# (test secrets and reply tokens are fixed strings on purpose)

from __future__ import annotations

import re
import ssl
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from email_corpus import SUPPORT
from email_servers import Certificate, SmtpServer, authenticator, free_port
from email_support import SECRET, make_adapter, raw_request

from frontdesk.channels import Attachment, ContactRef, OutboundMessage, ThreadHints
from frontdesk_email import EmailAdapter

REPLY = OutboundMessage(
    id="out-7f3a",
    recipient=ContactRef(kind="email", value="li.wei@example.com", display_name="李伟"),
    text="您好，您的订单已发出。\nTracking: SF123",
    subject="Re: 订单 5521 [CS-2026-000042]",
    html="<p>您好，您的订单<b>已发出</b>。</p>",
    ticket_number="CS-2026-000042",
    reply_token="tok42",
    thread=ThreadHints(
        in_reply_to=["<CAF=abc@mail.gmail.com>"],
        references=["<first@mail.gmail.com>", "<CAF=abc@mail.gmail.com>"],
    ),
)


def wired(server: SmtpServer, **config: object) -> EmailAdapter:
    fields: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_security": "none",
        "smtp_timeout_seconds": 2.0,
        "signature": "Acme Support\n400-000-0000",
    }
    fields.update(config)
    return make_adapter(**fields)


def received(server: SmtpServer) -> EmailMessage:
    [got] = server.messages
    message = BytesParser(policy=policy.default).parsebytes(got.data)
    assert isinstance(message, EmailMessage)
    return message


async def test_a_reply_is_threaded_signed_and_multipart(smtp_server: SmtpServer) -> None:
    receipt = await wired(smtp_server).deliver(REPLY)
    assert receipt.status == "sent", receipt.error
    [envelope] = smtp_server.messages
    assert envelope.mail_from == SUPPORT
    assert envelope.rcpt_tos == ["li.wei@example.com"]

    mail = received(smtp_server)
    message_id = mail["Message-ID"]
    assert receipt.external_id == message_id
    assert re.fullmatch(r"<r\.tok42\.[0-9a-f]{16}@acme\.example>", message_id)
    assert mail["From"] == "Acme Support <support@acme.example>"
    assert mail["To"] == "李伟 <li.wei@example.com>"
    assert mail["Reply-To"] == "Acme Support <support+tok42@acme.example>"
    # The ticket number was already there: not added twice.
    assert mail["Subject"] == "Re: 订单 5521 [CS-2026-000042]"
    assert mail["In-Reply-To"] == "<CAF=abc@mail.gmail.com>"
    assert mail["References"] == "<first@mail.gmail.com> <CAF=abc@mail.gmail.com>"
    assert mail["Auto-Submitted"] is None  # an agent's reply is not automatic
    assert mail["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert mail["Date"] is not None
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    # MIME's canonical form for text is CRLF, inside the base64 too.
    assert text.get_content().replace("\r\n", "\n") == (
        "您好，您的订单已发出。\nTracking: SF123\n\n-- \nAcme Support\n400-000-0000\n"
    )
    assert "<b>已发出</b>" in html.get_content() and "400-000-0000" in html.get_content()
    # 7-bit on the wire: any server takes it.
    assert max(envelope.data) < 0x80


async def test_the_customers_reply_threads_back_by_token_and_headers(
    smtp_server: SmtpServer,
) -> None:
    receipt = await wired(smtp_server).deliver(REPLY)
    ours = received(smtp_server)
    # What our own mail looks like if it ever comes back: marked, never auto-answered.
    [looped] = (await make_adapter().parse(raw_request(smtp_server.messages[0].data))).messages
    assert looped.metadata["auto"] == "own-message-id"

    answer = EmailMessage(policy=policy.SMTP)
    answer["From"] = "李伟 <li.wei@example.com>"
    answer["To"] = ours["Reply-To"]
    answer["Subject"] = "Re: " + ours["Subject"]
    answer["Message-ID"] = "<reply-1@mail.example.com>"
    answer["In-Reply-To"] = ours["Message-ID"]
    answer["References"] = f"{ours['References']} {ours['Message-ID']}"
    answer.set_content("收到，谢谢！\n\n> 您好，您的订单已发出。\n")
    [message] = (await make_adapter().parse(raw_request(answer.as_bytes()))).messages
    assert message.thread.reply_token == "tok42"
    assert message.thread.in_reply_to == [receipt.external_id]
    assert message.thread.references[-1] == receipt.external_id
    assert message.thread.ticket_number == "CS-2026-000042"
    assert "auto" not in message.metadata
    assert message.text.startswith("收到，谢谢！")


async def test_a_redelivery_has_the_same_message_id(smtp_server: SmtpServer) -> None:
    adapter = wired(smtp_server)
    first = await adapter.deliver(REPLY)
    again = await adapter.deliver(REPLY)
    other = await adapter.deliver(OutboundMessage(**{**_fields(REPLY), "id": "out-8000"}))
    assert first.external_id == again.external_id != other.external_id
    assert len(smtp_server.messages) == 3


def _fields(message: OutboundMessage) -> dict[str, object]:
    return {f: getattr(message, f) for f in message.__struct_fields__}


async def test_without_a_reply_token_there_is_no_reply_to(smtp_server: SmtpServer) -> None:
    plain = OutboundMessage(
        id="out-9",
        recipient=ContactRef(kind="email", value="ada@example.com"),
        text="Hello",
        subject="Your request",
        ticket_number="CS-2026-000043",
    )
    receipt = await wired(smtp_server, signature=None).deliver(plain)
    mail = received(smtp_server)
    assert re.fullmatch(r"<d\.out-9\.[0-9a-f]{16}@acme\.example>", mail["Message-ID"])
    assert receipt.external_id == mail["Message-ID"]
    assert mail["Reply-To"] is None
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert mail["Subject"] == "Your request [CS-2026-000043]"
    assert mail["To"] == "ada@example.com"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().replace("\r\n", "\n") == "Hello\n"


async def test_automatic_messages_say_so(smtp_server: SmtpServer) -> None:
    ack = OutboundMessage(**{**_fields(REPLY), "id": "ack-1", "automatic": True})
    assert (await wired(smtp_server).deliver(ack)).status == "sent"
    assert received(smtp_server)["Auto-Submitted"] == "auto-replied"


async def test_attachments_are_sent(smtp_server: SmtpServer) -> None:
    with_files = OutboundMessage(
        **{
            **_fields(REPLY),
            "attachments": [
                Attachment(
                    filename="../发票.pdf", content_type="application/pdf", size=4, content=b"%PDF"
                ),
                Attachment(filename="x", content_type="not a type", size=1, content=b"x"),
            ],
        }
    )
    assert (await wired(smtp_server).deliver(with_files)).status == "sent"
    mail = received(smtp_server)
    assert mail.get_content_type() == "multipart/mixed"
    files = [
        (p.get_filename(), p.get_content_type(), p.get_content()) for p in mail.iter_attachments()
    ]
    assert files == [
        ("发票.pdf", "application/pdf", b"%PDF"),
        ("x", "application/octet-stream", b"x"),
    ]


async def test_a_long_thread_keeps_message_ids_intact(smtp_server: SmtpServer) -> None:
    ids = [f"<{'m' * 60}-{i}@mail.example.com>" for i in range(40)]
    long = OutboundMessage(**{**_fields(REPLY), "thread": ThreadHints(references=ids)})
    assert (await wired(smtp_server).deliver(long)).status == "sent"
    mail = received(smtp_server)
    references = str(mail["References"]).split()
    assert references == ids[-len(references) :]  # the newest kept, whole
    assert 5 < len(references) < 40
    raw = smtp_server.messages[0].data.decode()
    raw_references = raw.split("\r\nReferences: ", 1)[1].split("\r\n", 1)[0]
    assert "=?" not in raw_references and raw_references.split() == references
    assert mail["In-Reply-To"] == ids[-1]


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ("451 4.3.0 Mailbox temporarily unavailable", True),
        ("452 4.3.1 Insufficient system storage", True),
        ("550 5.7.1 Message rejected as spam", False),
        ("554 5.6.0 Message content rejected", False),
    ],
)
async def test_smtp_replies_decide_retrying(
    smtp_server: SmtpServer, reply: str, retryable: bool
) -> None:
    smtp_server.fail(reply)
    receipt = await wired(smtp_server).deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", retryable)
    assert receipt.error is not None and reply[:3] in receipt.error and reply[4:9] in receipt.error


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 No such user", False), ("450 4.2.1 Greylisted, try later", True)],
)
async def test_a_refused_recipient(smtp_server: SmtpServer, reply: str, retryable: bool) -> None:
    smtp_server.behaviour.rcpt_reply = reply
    receipt = await wired(smtp_server).deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", retryable)
    assert receipt.error is not None and "recipient" in receipt.error and reply[:3] in receipt.error


async def test_a_server_that_does_not_answer_is_retryable(smtp_server: SmtpServer) -> None:
    smtp_server.stall(30)
    started = time.monotonic()
    receipt = await wired(smtp_server, smtp_timeout_seconds=0.5).deliver(REPLY)
    assert time.monotonic() - started < 3
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error == "the SMTP server did not answer within 0.5 s"


async def test_no_server_listening_is_retryable() -> None:
    adapter = make_adapter(
        smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none", smtp_timeout_seconds=1.0
    )
    receipt = await adapter.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and "ConnectionRefusedError" in receipt.error


async def test_a_server_that_is_not_smtp_is_retryable_and_not_quoted() -> None:
    import asyncio

    async def not_smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"-ERR internal redis 10.0.0.5 secret-ish\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_smtp, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        adapter = make_adapter(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        receipt = await adapter.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", True)
    assert receipt.error is not None and "10.0.0.5" not in receipt.error


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (
            OutboundMessage(
                id="o", recipient=ContactRef(kind="phone", value="+8613800138000"), text="x"
            ),
            "not an email address",
        ),
        (
            OutboundMessage(
                id="o", recipient=ContactRef(kind="email", value="not an address"), text="x"
            ),
            "not a usable email address",
        ),
        (
            OutboundMessage(
                id="o",
                recipient=ContactRef(kind="email", value="a@example.com\r\nBcc: x@evil.example"),
                text="x",
            ),
            "not a usable email address",
        ),
        (
            OutboundMessage(
                id="o",
                recipient=ContactRef(kind="email", value="a@example.com"),
                text="x",
                reply_token="has space",
            ),
            "reply token",
        ),
        (
            OutboundMessage(
                id="o",
                recipient=ContactRef(kind="email", value="a@example.com"),
                text="x",
                attachments=[
                    Attachment(
                        filename="a.pdf", content_type="application/pdf", size=9, url="https://x"
                    )
                ],
            ),
            "has no content",
        ),
    ],
)
async def test_unsendable_replies_fail_for_good_and_send_nothing(
    smtp_server: SmtpServer, message: OutboundMessage, error: str
) -> None:
    receipt = await wired(smtp_server).deliver(message)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and error in receipt.error
    assert smtp_server.received == 0


async def test_a_subject_cannot_inject_headers(smtp_server: SmtpServer) -> None:
    sneaky = OutboundMessage(**{**_fields(REPLY), "subject": "Hi\r\nBcc: victim@example.com"})
    assert (await wired(smtp_server).deliver(sneaky)).status == "sent"
    assert received(smtp_server)["Bcc"] is None
    assert smtp_server.messages[0].rcpt_tos == ["li.wei@example.com"]


async def test_without_smtp_host_the_channel_cannot_reply() -> None:
    receipt = await make_adapter().deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "smtp_host" in receipt.error


# --- TLS and AUTH ---------------------------------------------------------------------


def _server_tls(certificate: Certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    return context


@pytest.fixture
def starttls_server(certificate: Certificate) -> SmtpServer:
    server = SmtpServer(
        tls_context=_server_tls(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator("relay-user", SECRET),
    )
    yield server  # type: ignore[misc]
    server.close()


async def test_starttls_and_auth(starttls_server: SmtpServer, certificate: Certificate) -> None:
    adapter = wired(
        starttls_server,
        smtp_security="starttls",
        smtp_ca_pem=certificate.cert_pem,
        smtp_username="relay-user",
        smtp_password=SECRET,
    )
    receipt = await adapter.deliver(REPLY)
    assert receipt.status == "sent", receipt.error
    [got] = starttls_server.messages
    assert got.authenticated_as == "relay-user"


async def test_a_wrong_password_is_final(
    starttls_server: SmtpServer, certificate: Certificate
) -> None:
    adapter = wired(
        starttls_server,
        smtp_security="starttls",
        smtp_ca_pem=certificate.cert_pem,
        smtp_username="relay-user",
        smtp_password="not-the-password",
    )
    receipt = await adapter.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "login failed: 535" in receipt.error


async def test_an_untrusted_certificate_is_final(starttls_server: SmtpServer) -> None:
    adapter = wired(
        starttls_server,
        smtp_security="starttls",
        smtp_username="relay-user",
        smtp_password=SECRET,
    )
    receipt = await adapter.deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "certificate is not trusted" in receipt.error


async def test_starttls_required_but_not_offered_is_final(smtp_server: SmtpServer) -> None:
    receipt = await wired(smtp_server, smtp_security="starttls").deliver(REPLY)
    assert (receipt.status, receipt.retryable) == ("failed", False)
    assert receipt.error is not None and "smtp_security" in receipt.error
    assert smtp_server.received == 0


async def test_implicit_tls(certificate: Certificate) -> None:
    server = SmtpServer(ssl_context=_server_tls(certificate))
    try:
        adapter = wired(server, smtp_security="tls", smtp_ca_pem=certificate.cert_pem)
        receipt = await adapter.deliver(REPLY)
        assert receipt.status == "sent", receipt.error
        assert len(server.messages) == 1
    finally:
        server.close()
