"""Fixtures: adapters of both dialects, and the contract kit's (Twilio's dialect here;
test_contract.py overrides them for Vonage's)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import msgspec
import pytest

# Appended, not prepended: the platform's own tests import a module named "conftest".
sys.path.append(str(Path(__file__).parent))

from phone_support import (
    ACCOUNT,
    CALLER,
    CONTEXT,
    NUMBER,
    TOKEN,
    WEBHOOK,
    twilio_config,
    twilio_request,
    twilio_signature,
    vonage_config,
)

from frontdesk.channels import InboundRequest
from frontdesk.testing import ProviderServer
from frontdesk_phone import PhoneAdapter, PhoneConfig, plugin


def pytest_configure(config: pytest.Config) -> None:
    # The kit's fixtures come from its pytest11 entry point when frontdesk is
    # installed; running from a source tree (PYTHONPATH) they must be loaded here.
    import frontdesk.testing.plugin as kit

    if not config.pluginmanager.is_registered(kit):
        config.pluginmanager.register(kit, "frontdesk-contract-kit")


@pytest.fixture
def twilio() -> PhoneAdapter:
    return PhoneAdapter(twilio_config(), CONTEXT)


@pytest.fixture
def vonage() -> PhoneAdapter:
    return PhoneAdapter(vonage_config(), CONTEXT)


RINGING = {
    "CallSid": "CA0001",
    "AccountSid": ACCOUNT,
    "From": CALLER,
    "To": NUMBER,
    "CallStatus": "ringing",
    "Direction": "inbound",
    "ApiVersion": "2010-04-01",
}
COMPLETED = {
    **RINGING,
    "CallStatus": "completed",
    "CallDuration": "42",
    "Timestamp": "Fri, 27 Nov 2026 09:00:50 +0000",
}
SMS = {
    "MessageSid": "SM0001",
    "AccountSid": ACCOUNT,
    "From": CALLER,
    "To": NUMBER,
    "Body": "Where is my order? 我的订单在哪里？",
    "NumMedia": "0",
}


@pytest.fixture
def adapter_class() -> type[PhoneAdapter]:
    return PhoneAdapter


@pytest.fixture
def adapter_plugin() -> object:
    return plugin


@pytest.fixture
def channel_config(provider: ProviderServer) -> PhoneConfig:
    return twilio_config(api_base_url=provider.url, timeout_seconds=1.0)


def _resign(request: InboundRequest) -> InboundRequest:
    params = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    headers = {
        **request.headers,
        "x-twilio-signature": twilio_signature(TOKEN, request.url, params),
    }
    return msgspec.structs.replace(request, headers=headers)


@pytest.fixture
def sign_request() -> Callable[[InboundRequest], InboundRequest]:
    return _resign


@pytest.fixture
def signed_requests() -> list[InboundRequest]:
    return [twilio_request(SMS), twilio_request(RINGING), twilio_request(COMPLETED)]


@pytest.fixture
def bad_signature_requests() -> list[InboundRequest]:
    genuine = twilio_request(SMS)
    tampered = genuine.body.replace(b"order", b"parcel")
    return [
        twilio_request(SMS, token="another-accounts-token"),
        msgspec.structs.replace(genuine, body=tampered),
        msgspec.structs.replace(genuine, url=WEBHOOK + "?event=agent"),
        msgspec.structs.replace(
            genuine, headers={**genuine.headers, "x-twilio-signature": "bm90IGl0"}
        ),
    ]


@pytest.fixture
def unsigned_requests() -> list[InboundRequest]:
    genuine = twilio_request(SMS)
    return [
        twilio_request(SMS, token=None),
        msgspec.structs.replace(genuine, headers={**genuine.headers, "x-twilio-signature": ""}),
    ]


@pytest.fixture
def malformed_requests() -> list[InboundRequest]:
    bodies = [
        {"AccountSid": ACCOUNT},
        {**SMS, "Body": "", "NumMedia": "0"},
        {**RINGING, "CallStatus": "teleported"},
        {**COMPLETED, "Timestamp": "yesterday"},
        {**COMPLETED, "CallDuration": "forever"},
        {k: v for k, v in RINGING.items() if k != "From"},
    ]
    return [twilio_request(b) for b in bodies]
