"""Fixtures: adapters, requests as providers send them, real servers, and the contract kit's.

The kit's ``provider`` is replaced by a real SMTP server (aiosmtpd) that
implements its ``DeliveryProvider`` protocol: this channel delivers by SMTP.
"""

# (test secrets and reply tokens are fixed strings on purpose)

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

# Appended, not prepended: the platform's own tests import a module named "conftest".
sys.path.append(str(Path(__file__).parent))  # email_corpus, email_servers, email_support

from email_corpus import KIT_MESSAGE, dsn, mail
from email_servers import Certificate, ImapServer, SmtpServer, make_certificate
from email_support import SECRET, TOKEN, basic, form_request, make_adapter, make_config, raw_request

from frontdesk.channels import InboundRequest
from frontdesk_email import EmailAdapter, EmailConfig, plugin


@pytest.fixture
def adapter() -> EmailAdapter:
    return make_adapter()


def pytest_configure(config: pytest.Config) -> None:
    # From a source tree (PYTHONPATH) the kit's pytest11 entry point is not loaded.
    import frontdesk.testing.plugin as kit

    if not config.pluginmanager.is_registered(kit):
        config.pluginmanager.register(kit, "frontdesk-contract-kit")


# --- real servers ----------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def imap_server() -> Iterator[ImapServer]:
    if importlib.util.find_spec("pymap") is None:
        # Skipped on a developer's machine without it; under CI a skip would hide a gap.
        message = "the IMAP tests need pymap: pip install -e 'adapters/email[test]'"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = ImapServer()
    yield server
    server.close()


# --- the contract kit's fixtures ----------------------------------------------------------


@pytest.fixture
def adapter_class() -> type[EmailAdapter]:
    return EmailAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin


@pytest.fixture
def provider() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def channel_config(provider: SmtpServer) -> EmailConfig:
    # A short timeout: the kit waits 5 s for a delivery to a server that never answers.
    return make_config(
        smtp_host="127.0.0.1",
        smtp_port=provider.port,
        smtp_security="none",
        smtp_timeout_seconds=1.0,
    )


@pytest.fixture
def sign_request() -> Callable[[InboundRequest], InboundRequest]:
    def signed(request: InboundRequest) -> InboundRequest:
        return msgspec.structs.replace(request, headers={**request.headers, TOKEN: SECRET})

    return signed


@pytest.fixture
def signed_requests() -> list[InboundRequest]:
    return [
        raw_request(KIT_MESSAGE),
        form_request({"email": KIT_MESSAGE, "to": b"support@acme.example"}),
        raw_request(KIT_MESSAGE, token=None, headers={"authorization": basic(SECRET)}),
        raw_request(dsn(("ada@example.com", "failed", "5.1.1"))),
    ]


@pytest.fixture
def bad_signature_requests() -> list[InboundRequest]:
    return [
        raw_request(KIT_MESSAGE, token="whsec_another_tenants_secret_000"),
        raw_request(KIT_MESSAGE, token=SECRET[:-1]),
        raw_request(KIT_MESSAGE, token=None, headers={"authorization": basic("wrong-password")}),
        raw_request(KIT_MESSAGE, token=None, headers={"authorization": "Basic !!!"}),
        raw_request(KIT_MESSAGE, token=None, headers={"authorization": f"Bearer {SECRET}"}),
        # A forged listener seal is refused even alongside the right token.
        raw_request(KIT_MESSAGE, headers={"x-frontdesk-email-local": "0" * 64}),
    ]


@pytest.fixture
def unsigned_requests() -> list[InboundRequest]:
    return [raw_request(KIT_MESSAGE, token=None), raw_request(KIT_MESSAGE, token="")]


@pytest.fixture
def malformed_requests() -> list[InboundRequest]:
    return [
        raw_request(b""),
        raw_request(b"not an email at all"),
        raw_request(mail("To: support@acme.example\nSubject: no sender")),
        raw_request(mail("From: nobody\nSubject: no address")),
        raw_request(b'{"text": "hi"}', content_type="application/json"),
        form_request({"subject": b"hi", "text": b"no raw MIME field"}),
        raw_request(b"--x\r\n\r\n", content_type="multipart/form-data; boundary=nope"),
    ]
