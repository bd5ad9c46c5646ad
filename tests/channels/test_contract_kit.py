"""The contract kit catches broken adapters, passes a sound one, and its provider works.

The kit's suite is run for real with pytester, against a sound adapter and
against variants each broken in one way a partner's adapter plausibly is;
each must fail exactly the checks that concern its fault.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import importlib
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from importlib import metadata
from typing import Annotated, Any

import httpx
import msgspec
import pytest

from frontdesk.channels import (
    SECRET,
    ChannelAdapter,
    ContactRef,
    DeliveryReceipt,
    InboundMessage,
    InboundRequest,
    MalformedPayload,
    OutboundMessage,
    Parsed,
    SignatureInvalid,
    hookimpl,
)
from frontdesk.testing import (
    ChannelContract,
    DeadlineExceeded,
    ProviderResponse,
    ProviderServer,
    make_request,
)
from frontdesk.testing.contract import run

# pytester's in-process runs drop the modules first imported inside them; if
# the kit's fuzz module (and hypothesis's strategies) were first imported
# there, the next run would mix two copies of hypothesis's classes.
importlib.import_module("frontdesk.testing.fuzz")

pytest_plugins = ["pytester"]

KIT_SECRET = "kit-secret-0123456789abcdef"
SIGNATURE = "x-kit-signature"

# Every check in the suite; each variant below names the ones it must fail.
ALL_CHECKS = {name for name in dir(ChannelContract) if name.startswith("test_")}


# -- a sound adapter, and its fixtures' data -------------------------------


class KitConfig(msgspec.Struct, frozen=True, kw_only=True):
    secret: Annotated[str, SECRET]
    url: str
    timeout: float = 0.5


class KitPayload(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
    sender: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
    text: str


def digest(body: bytes, secret: str = KIT_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class GoodAdapter(ChannelAdapter[KitConfig]):
    """Signed JSON in; JSON out, with urllib in a thread."""

    kind = "kit"
    display_name = "Kit"
    version = "1.0"
    config_type = KitConfig
    contact_kind = "im"

    async def verify(self, request: InboundRequest) -> None:
        given = request.headers.get(SIGNATURE, "")
        if not (given.isascii() and hmac.compare_digest(given, digest(request.body))):
            raise SignatureInvalid("bad signature")

    async def parse(self, request: InboundRequest) -> Parsed:
        try:
            payload = msgspec.json.decode(request.body, type=KitPayload)
        except msgspec.DecodeError as exc:
            raise MalformedPayload(str(exc)) from None
        return Parsed(messages=[self._message(payload.id, payload.sender, payload.text)])

    def _message(self, external_id: str, sender: str, text: str) -> InboundMessage:
        return InboundMessage(
            external_id=external_id,
            sender=ContactRef(kind="im", value=sender, provider="kit"),
            text=text,
        )

    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        return await asyncio.to_thread(self._post, message, self.config.timeout)

    def _post(self, message: OutboundMessage, timeout: float | None) -> DeliveryReceipt:
        try:
            send(self.config.url, message, timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            return DeliveryReceipt(
                status="failed", error=f"HTTP {exc.code}", retryable=exc.code >= 500
            )
        except OSError as exc:
            return DeliveryReceipt(status="failed", error=repr(exc), retryable=True)
        return DeliveryReceipt(status="sent")


def send(url: str, message: OutboundMessage, timeout: float | None) -> None:
    body = json.dumps({"text": message.text}).encode()
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - a test URL
    with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
        pass


def sign_request(request: InboundRequest) -> InboundRequest:
    return msgspec.structs.replace(
        request, headers={**request.headers, SIGNATURE: digest(request.body)}
    )


def signed_requests() -> list[InboundRequest]:
    return [
        sign_request(make_request({"id": "m-1", "sender": "u-1", "text": "Hello"})),
        sign_request(make_request({"id": "m-2", "sender": "u-1", "text": ""})),
    ]


def bad_signature_requests() -> list[InboundRequest]:
    genuine = signed_requests()[0]
    return [
        msgspec.structs.replace(
            genuine, headers={SIGNATURE: digest(genuine.body, "another-secret-0123456789")}
        ),
        msgspec.structs.replace(genuine, body=genuine.body.replace(b"Hello", b"Hallo")),
        msgspec.structs.replace(genuine, headers={SIGNATURE: "zz-not-hex"}),
    ]


def unsigned_requests() -> list[InboundRequest]:
    return [make_request({"id": "m-1", "sender": "u-1", "text": "Hello"})]


def malformed_requests() -> list[InboundRequest]:
    bodies: list[Any] = [b"{", [1, 2], {"id": "m-1"}, {"id": "", "sender": "u", "text": "x"}]
    return [sign_request(make_request(body)) for body in bodies]


class PluginFor:
    """What an adapter package's plugin module is, as an object."""

    def __init__(self, adapter_class: type[ChannelAdapter[Any]]) -> None:
        self.adapter_class = adapter_class

    @hookimpl
    def frontdesk_channel_adapters(self) -> list[type[ChannelAdapter[Any]]]:
        return [self.adapter_class]


class MisspeltPlugin:
    @hookimpl
    def frontdesk_channel_adapter(self) -> list[type[ChannelAdapter[Any]]]:
        return [GoodAdapter]


# -- broken adapters, one fault each ---------------------------------------


class AcceptsAnySignature(GoodAdapter):
    async def verify(self, request: InboundRequest) -> None:
        return None


class CrashesOnOddSignature(GoodAdapter):
    """Decodes the header before comparing: a non-hex value raises ValueError."""

    async def verify(self, request: InboundRequest) -> None:
        given = bytes.fromhex(request.headers.get(SIGNATURE, ""))
        if not hmac.compare_digest(given, bytes.fromhex(digest(request.body))):
            raise SignatureInvalid("bad signature")


class CrashesOnMalformed(GoodAdapter):
    """Trusts the payload: json.loads and key lookups raise ValueError and KeyError."""

    async def parse(self, request: InboundRequest) -> Parsed:
        payload = json.loads(request.body)
        return Parsed(messages=[self._message(payload["id"], payload["sender"], payload["text"])])


class RandomIds(GoodAdapter):
    async def parse(self, request: InboundRequest) -> Parsed:
        parsed = await super().parse(request)
        return Parsed(
            messages=[
                msgspec.structs.replace(m, external_id=uuid.uuid4().hex) for m in parsed.messages
            ]
        )


class WrongContactKind(GoodAdapter):
    async def parse(self, request: InboundRequest) -> Parsed:
        parsed = await super().parse(request)
        return Parsed(
            messages=[
                msgspec.structs.replace(m, sender=ContactRef(kind="email", value="a@example.com"))
                for m in parsed.messages
            ]
        )


class RaisesOnProviderFailure(GoodAdapter):
    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        await asyncio.to_thread(send, self.config.url, message, self.config.timeout)
        return DeliveryReceipt(status="sent")


class WaitsForever(GoodAdapter):
    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        return await asyncio.to_thread(self._post, message, None)


class ClaimsSentWithoutSending(GoodAdapter):
    async def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        return DeliveryReceipt(status="sent")


class NeedsNextSdk(GoodAdapter):
    sdk_versions = ">=2,<3"


# -- running the kit's suite with pytester ---------------------------------

CONFTEST = f"""
import sys

import pytest

kit = sys.modules[{__name__!r}]


@pytest.fixture
def adapter_class():
    return kit.GoodAdapter


@pytest.fixture
def adapter_plugin(adapter_class):
    return kit.PluginFor(adapter_class)


@pytest.fixture
def channel_config(provider):
    return kit.KitConfig(secret=kit.KIT_SECRET, url=provider.url + "/send")


@pytest.fixture
def sign_request():
    return kit.sign_request


@pytest.fixture
def signed_requests():
    return kit.signed_requests()


@pytest.fixture
def bad_signature_requests():
    return kit.bad_signature_requests()


@pytest.fixture
def unsigned_requests():
    return kit.unsigned_requests()


@pytest.fixture
def malformed_requests():
    return kit.malformed_requests()
"""

TEST_MODULE = f"""
import sys

import pytest

from frontdesk.testing import ChannelContract

kit = sys.modules[{__name__!r}]


class TestKit(ChannelContract):
    deadline = 2.0
    fuzz_examples = 40
"""


def kit_plugin_args() -> list[str]:
    """Load the kit's plugin explicitly unless its pytest11 entry point already does."""
    autoloaded = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and any(
        ep.value == "frontdesk.testing.plugin" for ep in metadata.entry_points(group="pytest11")
    )
    return [] if autoloaded else ["-p", "frontdesk.testing.plugin"]


class Outcome:
    def __init__(self, reprec: pytest.HookRecorder) -> None:
        reports = reprec.getreports("pytest_runtest_logreport")
        self.reports = {(r.nodeid.rsplit("::", 1)[-1], r.when): r for r in reports}
        self.passed = {
            name for (name, when), r in self.reports.items() if when == "call" and r.passed
        }
        self.failed = {
            name for (name, when), r in self.reports.items() if when == "call" and r.failed
        }
        self.errors = {
            name for (name, when), r in self.reports.items() if when != "call" and r.failed
        }
        self.skipped = {name for (name, _), r in self.reports.items() if r.skipped}

    def message(self, name: str, when: str = "call") -> str:
        return str(self.reports[(name, when)].longrepr)


def run_kit(pytester: pytest.Pytester, *extra: str, module: str = TEST_MODULE) -> Outcome:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_kit=module)
    options = [*kit_plugin_args(), "-p", "no:cacheprovider", *extra]
    if "no:asyncio" not in extra:
        # Only to keep pytest-asyncio's "unset option" warning out of the output.
        options += ["-o", "asyncio_default_fixture_loop_scope=function"]
    return Outcome(pytester.inline_run(*options))


def with_adapter(variant: str, fixture: str = "adapter_class") -> str:
    return (
        TEST_MODULE
        + f"""

@pytest.fixture
def {fixture}():
    return kit.{variant}
"""
    )


@pytest.mark.parametrize(
    "asyncio_option",
    [
        ["-p", "no:asyncio"],  # pytest-asyncio not installed in the adapter's environment
        ["-o", "asyncio_mode=strict"],
        ["-o", "asyncio_mode=auto"],
    ],
)
def test_a_sound_adapter_passes_every_check(
    pytester: pytest.Pytester, asyncio_option: list[str]
) -> None:
    outcome = run_kit(pytester, *asyncio_option)

    assert outcome.passed == ALL_CHECKS
    assert not (outcome.failed or outcome.errors or outcome.skipped)


BROKEN = {
    # variant: (checks it must fail, checks it may also fail, (a check, what it says))
    "AcceptsAnySignature": (
        {"test_verify_rejects_bad_signatures", "test_verify_rejects_unsigned_requests"},
        set(),
        ("test_verify_rejects_bad_signatures", "verify accepted bad_signature_requests[0]"),
    ),
    "CrashesOnOddSignature": (
        {"test_verify_rejects_bad_signatures", "test_fuzz_unverified_requests"},
        set(),
        ("test_verify_rejects_bad_signatures", "refused bad_signature_requests[2] with ValueError"),
    ),
    "CrashesOnMalformed": (
        {"test_malformed_requests_raise_malformed_payload", "test_fuzz_signed_payloads"},
        set(),
        ("test_malformed_requests_raise_malformed_payload", "it must raise MalformedPayload"),
    ),
    "RandomIds": (
        {"test_parse_is_deterministic", "test_external_ids_are_stable"},
        set(),
        ("test_external_ids_are_stable", "never from the clock or randomness"),
    ),
    "WrongContactKind": (
        {"test_contact_kind_matches"},
        # Fuzzing finds it too whenever an example parses: likely, not certain.
        {"test_fuzz_unverified_requests", "test_fuzz_signed_payloads"},
        ("test_contact_kind_matches", "this adapter declares ['im']"),
    ),
    "RaisesOnProviderFailure": (
        {
            "test_deliver_failed_retryable_on_server_error",
            "test_deliver_failed_retryable_on_timeout",
        },
        set(),
        ("test_deliver_failed_retryable_on_server_error", "deliver raised"),
    ),
    "WaitsForever": (
        {"test_deliver_failed_retryable_on_timeout"},
        set(),
        ("test_deliver_failed_retryable_on_timeout", "did not finish within 2 s"),
    ),
    "ClaimsSentWithoutSending": (
        {
            "test_deliver_sent_when_provider_accepts",
            "test_deliver_failed_retryable_on_server_error",
            "test_deliver_failed_retryable_on_timeout",
        },
        set(),
        ("test_deliver_sent_when_provider_accepts", "the provider received nothing"),
    ),
    "NeedsNextSdk": (
        {"test_adapter_class_is_valid"},
        set(),
        ("test_adapter_class_is_valid", "needs SDK >=2,<3"),
    ),
}


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_a_broken_adapter_fails_the_checks_about_its_fault(
    pytester: pytest.Pytester, variant: str
) -> None:
    must_fail, may_fail, (check, says) = BROKEN[variant]

    outcome = run_kit(pytester, module=with_adapter(variant))

    assert must_fail <= outcome.failed <= must_fail | may_fail
    assert outcome.passed == ALL_CHECKS - outcome.failed
    assert not outcome.errors
    assert says in outcome.message(check)


def test_a_misspelt_hook_fails_the_class_check(pytester: pytest.Pytester) -> None:
    outcome = run_kit(pytester, module=with_adapter("MisspeltPlugin()", fixture="adapter_plugin"))

    assert outcome.failed == {"test_adapter_class_is_valid"}
    assert "frontdesk_channel_adapter" in outcome.message("test_adapter_class_is_valid")


def test_a_plugin_providing_another_class_fails_the_class_check(
    pytester: pytest.Pytester,
) -> None:
    module = with_adapter("PluginFor(kit.AcceptsAnySignature)", fixture="adapter_plugin")

    outcome = run_kit(pytester, module=module)

    assert "test_adapter_class_is_valid" in outcome.failed
    assert "must provide exactly adapter_class" in outcome.message("test_adapter_class_is_valid")


def test_a_missing_fixture_is_named_with_where_to_read(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.replace("def sign_request", "def unused_sign_request"))
    pytester.makepyfile(test_kit=TEST_MODULE)

    outcome = Outcome(
        pytester.inline_run(
            *kit_plugin_args(),
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        )
    )

    assert outcome.errors == {"test_fuzz_signed_payloads"}
    message = outcome.message("test_fuzz_signed_payloads", "setup")
    assert "needs the fixture 'sign_request'" in message
    assert "writing-an-adapter.md" in message


def test_requests_given_as_one_request_instead_of_a_list_are_refused(
    pytester: pytest.Pytester,
) -> None:
    module = (
        TEST_MODULE
        + """

@pytest.fixture
def unsigned_requests():
    return kit.unsigned_requests()[0]
"""
    )
    outcome = run_kit(pytester, module=module)

    assert outcome.failed == {"test_verify_rejects_unsigned_requests"}
    assert "non-empty list" in outcome.message("test_verify_rejects_unsigned_requests")


# -- the runner and the provider server ------------------------------------


def test_run_fails_a_coroutine_that_blocks_the_event_loop() -> None:
    async def blocking() -> None:
        time.sleep(0.3)  # noqa: ASYNC251 - the fault under test

    with pytest.raises(DeadlineExceeded, match="block the event loop"):
        run(blocking, deadline=0.1, what="blocking()")


def test_run_fails_a_coroutine_that_never_returns() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"did not finish within 0\.2 s"):
        run(forever, deadline=0.2, what="forever()")
    assert time.monotonic() - started < 2


def test_provider_answers_queued_responses_in_order_then_the_standing_one() -> None:
    with ProviderServer() as provider:
        provider.queue(ProviderResponse(status=500), ProviderResponse(status=429))
        with httpx.Client(base_url=provider.url) as client:
            statuses = [
                client.post("/send?to=a", content=b"one", headers={"X-Key": "k"}).status_code,
                client.post("/send", content=b"two").status_code,
                client.get("/status").status_code,
            ]
        requests = provider.requests

    assert statuses == [500, 429, 200]
    assert [(r.method, r.path, r.body) for r in requests] == [
        ("POST", "/send", b"one"),
        ("POST", "/send", b"two"),
        ("GET", "/status", b""),
    ]
    assert requests[0].query == {"to": ["a"]}
    assert requests[0].headers["x-key"] == "k"


def test_provider_reassembles_a_chunked_body() -> None:
    with ProviderServer() as provider:
        connection = http.client.HTTPConnection("127.0.0.1", provider.port, timeout=5)
        connection.request("POST", "/send", body=iter([b'{"te', b'xt": "hi"}']))
        assert connection.getresponse().status == 200
        connection.close()

        assert provider.requests[0].json() == {"text": "hi"}


def test_a_stalling_provider_times_clients_out_and_closes_promptly() -> None:
    provider = ProviderServer()
    provider.stall(30)
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=0.3) as client:
        client.post(f"{provider.url}/send", content=b"x")
    assert provider.received == 1

    started = time.monotonic()
    provider.close()
    assert time.monotonic() - started < 2
