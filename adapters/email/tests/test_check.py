"""check (SDK 1.3): the console's connection test logs in to real SMTP and IMAP servers
on 127.0.0.1 and sends nothing."""

# (test secrets are fixed strings on purpose)

from __future__ import annotations

import ssl

import pytest
from email_servers import (
    IMAP_PASSWORD,
    IMAP_USER,
    Certificate,
    ImapServer,
    SmtpServer,
    authenticator,
    free_port,
)
from email_support import SECRET, make_adapter

from frontdesk_email import EmailAdapter


@pytest.fixture
def relay(certificate: Certificate) -> SmtpServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    server = SmtpServer(
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator("relay-user", SECRET),
    )
    yield server  # type: ignore[misc]
    server.close()


def checked(relay: SmtpServer, certificate: Certificate, password: str) -> EmailAdapter:
    return make_adapter(
        smtp_host="127.0.0.1",
        smtp_port=relay.port,
        smtp_security="starttls",
        smtp_ca_pem=certificate.cert_pem,
        smtp_username="relay-user",
        smtp_password=password,
        smtp_timeout_seconds=5.0,
    )


async def test_smtp_login_is_checked_and_nothing_is_sent(
    relay: SmtpServer, certificate: Certificate
) -> None:
    assert EmailAdapter.supports("check")
    good = await checked(relay, certificate, SECRET).check()
    assert good.ok and len(good.steps) == 1
    assert "logged in as relay-user" in good.steps[0].detail
    bad = await checked(relay, certificate, "not-the-password").check()
    assert not bad.ok
    assert "login failed: 535" in bad.steps[0].detail
    assert SECRET not in bad.steps[0].detail and "not-the-password" not in bad.steps[0].detail
    assert relay.messages == []


async def test_imap_login_and_mailbox_and_an_unreachable_server(
    imap_server: ImapServer,
) -> None:
    fields = {
        "imap_host": "127.0.0.1",
        "imap_port": imap_server.port,
        "imap_security": "none",
        "imap_username": IMAP_USER,
        "imap_timeout_seconds": 5.0,
    }
    good = await make_adapter(**fields, imap_password=IMAP_PASSWORD).check()
    assert good.ok, good.steps
    assert "INBOX" in good.steps[0].detail
    wrong = await make_adapter(**fields, imap_password="wrong-password").check()
    assert not wrong.ok and "IMAP login failed" in wrong.steps[0].detail
    missing = await make_adapter(
        **fields, imap_password=IMAP_PASSWORD, imap_mailbox="No Such Box"
    ).check()
    assert not missing.ok and "cannot be opened" in missing.steps[0].detail
    closed = await make_adapter(
        **{**fields, "imap_port": free_port()}, imap_password=IMAP_PASSWORD
    ).check()
    assert not closed.ok and "could not reach" in closed.steps[0].detail


async def test_a_channel_with_no_server_has_nothing_to_check() -> None:
    result = await make_adapter().check()
    assert result.steps == [] and result.ok
