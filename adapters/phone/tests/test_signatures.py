"""Request verification: Twilio's published example, tampering, proxies; Vonage's signed JWTs."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlencode

import msgspec
import pytest
from phone_support import (
    CONTEXT,
    FORM,
    VONAGE_SECRET,
    twilio_config,
    twilio_request,
    vonage_request,
    vonage_token,
)

from frontdesk.channels import InboundRequest, SignatureInvalid
from frontdesk_phone import PhoneAdapter
from frontdesk_phone.twilio import signature

# Twilio's published example (twilio-php's "Validate Incoming Requests" page,
# the example Twilio's security documentation walks through): this auth token,
# URL and POST parameters are signed RSOYDt4T1cUTdK1PDd93/VVr8B8=.
EXAMPLE_TOKEN = "12345"
EXAMPLE_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
EXAMPLE_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
EXAMPLE_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def example_request(params: dict[str, str], url: str = EXAMPLE_URL) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url=url,
        headers={"content-type": FORM, "x-twilio-signature": EXAMPLE_SIGNATURE},
        query={},
        body=urlencode(params).encode(),
    )


def example_adapter(**overrides: str) -> PhoneAdapter:
    return PhoneAdapter(twilio_config(auth_token=EXAMPLE_TOKEN, **overrides), CONTEXT)


def test_the_published_example_signature_is_computed_and_accepted() -> None:
    params = {k: [v] for k, v in EXAMPLE_PARAMS.items()}
    assert signature(EXAMPLE_TOKEN, EXAMPLE_URL, params) == EXAMPLE_SIGNATURE


async def test_the_published_example_request_verifies() -> None:
    await example_adapter().verify(example_request(EXAMPLE_PARAMS))


@pytest.mark.parametrize(
    ("params", "url"),
    [
        ({**EXAMPLE_PARAMS, "Digits": "1235"}, EXAMPLE_URL),  # a parameter tampered with
        ({**EXAMPLE_PARAMS, "Extra": "1"}, EXAMPLE_URL),  # a parameter added
        ({k: v for k, v in EXAMPLE_PARAMS.items() if k != "Digits"}, EXAMPLE_URL),  # removed
        (EXAMPLE_PARAMS, "https://mycompany.com/myapp.php?foo=1&bar=3"),  # the URL's query
        (EXAMPLE_PARAMS, "http://mycompany.com/myapp.php?foo=1&bar=2"),  # the scheme
    ],
)
async def test_a_tampered_example_request_is_refused(params: dict[str, str], url: str) -> None:
    with pytest.raises(SignatureInvalid):
        await example_adapter().verify(example_request(params, url))


async def test_behind_a_proxy_the_configured_public_url_is_what_is_checked() -> None:
    # The platform thinks it is http://internal:8000; Twilio called https://mycompany.com.
    seen_inside = example_request(EXAMPLE_PARAMS, "http://internal:8000/myapp.php?foo=1&bar=2")
    with pytest.raises(SignatureInvalid):
        await example_adapter().verify(seen_inside)
    await example_adapter(public_url="https://mycompany.com").verify(seen_inside)


async def test_the_default_port_may_be_added_or_left_out() -> None:
    with_port = example_request(EXAMPLE_PARAMS, "https://mycompany.com:443/myapp.php?foo=1&bar=2")
    await example_adapter().verify(with_port)


async def test_a_json_body_is_checked_against_body_sha256_in_the_signed_url() -> None:
    body = b'{"CallSid": "CA1"}'
    url = f"https://frontdesk.example/hooks/x?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signed = signature(EXAMPLE_TOKEN, url, {})
    request = InboundRequest(
        method="POST",
        url=url,
        headers={"content-type": "application/json", "x-twilio-signature": signed},
        query={},
        body=body,
    )
    await example_adapter().verify(request)
    with pytest.raises(SignatureInvalid, match="bodySHA256"):
        await example_adapter().verify(msgspec.structs.replace(request, body=b'{"CallSid": "CA2"}'))


async def test_a_request_signed_with_another_token_or_unsigned_is_refused(
    twilio: PhoneAdapter,
) -> None:
    params = {"MessageSid": "SM1", "From": "+14155550123", "Body": "hi"}
    await twilio.verify(twilio_request(params))
    with pytest.raises(SignatureInvalid):
        await twilio.verify(twilio_request(params, token="someone-elses-token"))
    with pytest.raises(SignatureInvalid, match="no X-Twilio-Signature"):
        await twilio.verify(twilio_request(params, token=None))


# --- Vonage -------------------------------------------------------------------------

BODY = {"conversation_uuid": "CON-1", "status": "ringing", "from": "14155550123", "to": "1"}


async def test_a_vonage_token_signed_with_the_secret_over_this_body_verifies(
    vonage: PhoneAdapter,
) -> None:
    await vonage.verify(vonage_request(BODY))


async def test_vonage_tokens_that_do_not_fit_are_refused(vonage: PhoneAdapter) -> None:
    genuine = vonage_request(BODY)
    raw = genuine.body

    def bearer(token: str) -> InboundRequest:
        return msgspec.structs.replace(genuine, headers={"authorization": f"Bearer {token}"})

    head, claims, _ = vonage_token(VONAGE_SECRET, raw).split(".")
    refused = {
        "another secret": vonage_request(BODY, secret="another-signature-secret-000"),
        "tampered body": msgspec.structs.replace(genuine, body=raw.replace(b"ringing", b"answer")),
        "an hour old": bearer(vonage_token(VONAGE_SECRET, raw, iat=int(time.time()) - 3600)),
        "alg none": bearer(vonage_token(VONAGE_SECRET, raw, alg="none").rsplit(".", 1)[0] + "."),
        "no signature": bearer(f"{head}.{claims}."),
        "not bearer": msgspec.structs.replace(genuine, headers={"authorization": "Basic eDp5"}),
        "no header": vonage_request(BODY, secret=None),
    }
    for what, request in refused.items():
        with pytest.raises(SignatureInvalid):
            await vonage.verify(request)
            pytest.fail(f"{what} was accepted")


def test_a_repeated_parameter_is_signed_once_per_distinct_value_in_order() -> None:
    # Computed from the algorithm as documented (not a published vector).
    url = "https://frontdesk.example/hooks/x"
    events = {"StatusCallbackEvent": ["ringing", "answered", "ringing"]}
    by_hand = signature(
        EXAMPLE_TOKEN, url + "StatusCallbackEventansweredStatusCallbackEventringing", {}
    )
    assert signature(EXAMPLE_TOKEN, url, events) == by_hand
