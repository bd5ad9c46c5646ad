"""The Frontdesk contract kit's suite, against both dialects of the phone adapter."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from phone_support import CALLER, NUMBER, VONAGE_SECRET, vonage_config, vonage_request

from frontdesk.channels import InboundRequest
from frontdesk.testing import ChannelContract, ProviderServer
from frontdesk_phone import PhoneConfig


class TestTwilioContract(ChannelContract):
    """Every check the platform relies on, in Twilio's dialect (fixtures in conftest.py)."""


VONAGE_SMS = {
    "channel": "sms",
    "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-000000000001",
    "to": NUMBER.lstrip("+"),
    "from": CALLER.lstrip("+"),
    "timestamp": "2026-11-27T09:00:00Z",
    "text": "Hello, is anyone there?",
    "message_type": "text",
}
VONAGE_RINGING = {
    "from": CALLER.lstrip("+"),
    "to": NUMBER.lstrip("+"),
    "uuid": "leg-1",
    "conversation_uuid": "CON-0001",
    "status": "ringing",
    "direction": "inbound",
    "timestamp": "2026-11-27T09:00:00.000Z",
}


def _vonage_resign(request: InboundRequest) -> InboundRequest:
    signed = vonage_request(request.body, url=request.url)
    return msgspec.structs.replace(request, headers={**request.headers, **signed.headers})


class TestVonageContract(ChannelContract):
    """The same checks in Vonage's dialect."""

    # The kit's fuzzing runs in full on Twilio's dialect; here it runs lighter,
    # over the JWT check and JSON parsing the other dialect does not share.
    fuzz_examples = 60

    @pytest.fixture
    def channel_config(self, provider: ProviderServer) -> PhoneConfig:
        return vonage_config(api_base_url=provider.url, timeout_seconds=1.0)

    @pytest.fixture
    def sign_request(self) -> Callable[[InboundRequest], InboundRequest]:
        return _vonage_resign

    @pytest.fixture
    def signed_requests(self) -> list[InboundRequest]:
        return [vonage_request(VONAGE_SMS), vonage_request(VONAGE_RINGING)]

    @pytest.fixture
    def bad_signature_requests(self) -> list[InboundRequest]:
        genuine = vonage_request(VONAGE_SMS)
        return [
            vonage_request(VONAGE_SMS, secret="another-accounts-signature-secret"),
            msgspec.structs.replace(genuine, body=genuine.body.replace(b"anyone", b"someone")),
        ]

    @pytest.fixture
    def unsigned_requests(self) -> list[InboundRequest]:
        return [vonage_request(VONAGE_SMS, secret=None)]

    @pytest.fixture
    def malformed_requests(self) -> list[InboundRequest]:
        return [
            vonage_request(b"not json"),
            vonage_request(b"[1, 2]"),
            vonage_request({"hello": "world"}),
            vonage_request({**VONAGE_SMS, "text": " "}),
            vonage_request({**VONAGE_RINGING, "timestamp": "yesterday"}),
        ]


def test_a_vonage_channel_needs_its_signature_secret() -> None:
    with pytest.raises(ValueError, match="signature_secret"):
        vonage_config(signature_secret=None)
    assert vonage_config().signature_secret == VONAGE_SECRET
