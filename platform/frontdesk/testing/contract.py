"""The channel adapter contract: one test suite every adapter must pass.

An adapter package subclasses ``ChannelContract`` in its tests and provides
the fixtures the suite asks for (see ``frontdesk.testing.plugin`` and
``docs/writing-an-adapter.md``). The checks are what the core relies on:
the intake trusts ``verify`` and ``parse`` to fail only with the SDK's
errors, redeliveries are dropped by ``external_id``, and delivery retries
depend on ``deliver`` reporting failures as receipts.

The tests are plain (synchronous) functions that run each adapter call in an
event loop of their own, so the suite behaves the same with pytest-asyncio in
auto mode, in strict mode, or not installed at all.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from functools import partial
from typing import Any, ClassVar, Protocol, TypeVar, get_args

import msgspec
import pytest

from frontdesk.channels.adapter import ChannelAdapter, ChannelContext
from frontdesk.channels.errors import MalformedPayload, SignatureInvalid
from frontdesk.channels.hookspecs import hookimpl
from frontdesk.channels.registry import registry_with
from frontdesk.channels.types import (
    Capabilities,
    ContactKindName,
    DeliveryReceipt,
    InboundRequest,
    OutboundMessage,
    Parsed,
)
from frontdesk.errors import ConfigurationError

__all__ = [
    "ChannelContract",
    "ContractViolation",
    "DeadlineExceeded",
    "DeliveryProvider",
    "EventLoop",
    "SignRequest",
]

T = TypeVar("T")

AdapterClass = type[ChannelAdapter[Any]]
#: Signs a request as the provider would, for its current body, headers and
#: query; any signature already on it is replaced.
SignRequest = Callable[[InboundRequest], InboundRequest]

#: The longest external id the intake stores.
MAX_EXTERNAL_ID = 255


class ContractViolation(AssertionError):
    """The adapter broke the channel adapter contract; the message says how."""


class DeadlineExceeded(ContractViolation):
    """An adapter call did not finish within ``ChannelContract.deadline``."""


class DeliveryProvider(Protocol):
    """What the delivery checks need from the ``provider`` fixture.

    ``frontdesk.testing.ProviderServer`` implements it for HTTP providers; an
    adapter that delivers another way (SMTP, say) provides its own object
    with these methods.
    """

    def accept(self) -> None:
        """Accept deliveries from now on (HTTP 200)."""

    def fail(self) -> None:
        """Answer deliveries with a temporary failure from now on (HTTP 500)."""

    def stall(self, seconds: float) -> None:
        """Take deliveries in but answer only after ``seconds`` from now on."""

    @property
    def received(self) -> int:
        """How many deliveries reached the provider so far."""


class _OnePlugin:
    """A plugin providing exactly one adapter class, as an entry point would."""

    def __init__(self, adapter_class: AdapterClass) -> None:
        self._adapter_class = adapter_class

    @hookimpl
    def frontdesk_channel_adapters(self) -> list[AdapterClass]:
        return [self._adapter_class]


class EventLoop:
    """One event loop for one test; runs each adapter call within a deadline.

    The loop lives as long as the test, so an adapter may keep loop-bound
    caches (an HTTP client session) between calls, as it may in the platform.
    It is not ``asyncio.run``, whose exit waits for every executor thread:
    an adapter thread stuck on a silent provider would hang the test instead
    of failing it.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._loop = asyncio.new_event_loop()

    def run(self, what: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """``call()``'s result; ``DeadlineExceeded`` if it takes longer than the deadline."""
        started = time.monotonic()
        try:
            result = self._loop.run_until_complete(asyncio.wait_for(call(), self.deadline))
        except TimeoutError:
            raise DeadlineExceeded(f"{what} did not finish within {self.deadline:g} s") from None
        # wait_for cannot interrupt code that blocks the loop itself (a
        # synchronous HTTP call inside a coroutine); the clock can tell.
        elapsed = time.monotonic() - started
        if elapsed > self.deadline:
            raise DeadlineExceeded(
                f"{what} took {elapsed:.1f} s, more than {self.deadline:g} s: does it block "
                "the event loop? Run blocking I/O with asyncio.to_thread"
            )
        return result

    def outcome(self, what: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T | Exception:
        """Like ``run``, but an exception ``call()`` raises is returned, not raised."""

        async def caught() -> T | Exception:
            try:
                return await call()
            except Exception as exc:
                return exc

        return self.run(what, caught)

    def close(self) -> None:
        loop = self._loop
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        # Closing shuts the default executor down without waiting for its threads.
        loop.close()

    def __enter__(self) -> EventLoop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run(call: Callable[[], Coroutine[Any, Any, T]], *, deadline: float, what: str) -> T:
    """Run one coroutine in an event loop of its own, within ``deadline`` seconds."""
    with EventLoop(deadline) as loop:
        return loop.run(what, call)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class ChannelContract:
    """The contract suite. Subclass it in a test module of your adapter package::

        from frontdesk.testing import ChannelContract

        class TestContract(ChannelContract):
            pass

    The fixtures it needs are listed in ``frontdesk.testing.plugin``. To skip
    a check that cannot apply to your channel, override the test method and
    call ``pytest.skip`` with the reason.
    """

    #: Seconds the kit waits for any one adapter call. ``deliver`` against a
    #: provider that does not answer must give up (with a failed, retryable
    #: receipt) before this: give the adapter a shorter timeout in ``channel_config``.
    deadline: ClassVar[float] = 5.0
    #: Hypothesis examples per fuzz test.
    fuzz_examples: ClassVar[int] = 200

    # -- helpers -----------------------------------------------------------

    def _adapter(
        self, adapter_class: AdapterClass, config: msgspec.Struct, context: ChannelContext
    ) -> ChannelAdapter[Any]:
        return adapter_class(config, context)

    @pytest.fixture(autouse=True)
    def _frontdesk_event_loop(self) -> Iterator[None]:
        # pytest makes a fresh instance of the class for every test.
        self._loop = EventLoop(self.deadline)
        yield
        self._loop.close()

    def _call(self, what: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T | Exception:
        return self._loop.outcome(what, call)

    def _verify(self, adapter: ChannelAdapter[Any], request: InboundRequest, what: str) -> None:
        """Verify must accept ``request``."""
        outcome = self._call(f"verify({what})", partial(adapter.verify, request))
        if isinstance(outcome, Exception):
            raise ContractViolation(
                f"verify refused {what}, which must be accepted: {_describe(outcome)}"
            ) from outcome

    def _parse(self, adapter: ChannelAdapter[Any], request: InboundRequest, what: str) -> Parsed:
        outcome = self._call(f"parse({what})", partial(adapter.parse, request))
        if isinstance(outcome, Exception):
            raise ContractViolation(
                f"parse failed on {what}, which must parse: {_describe(outcome)}"
            ) from outcome
        _check_parsed(outcome, what)
        return outcome

    def _deliver(
        self, adapter: ChannelAdapter[Any], message: OutboundMessage, what: str
    ) -> DeliveryReceipt:
        outcome = self._call(f"deliver against {what}", partial(adapter.deliver, message))
        if isinstance(outcome, Exception):
            raise ContractViolation(
                f"deliver raised against {what}: {_describe(outcome)}; report provider "
                "failures as DeliveryReceipt(status='failed', retryable=...) instead"
            ) from outcome
        if not isinstance(outcome, DeliveryReceipt):
            raise ContractViolation(
                f"deliver returned {type(outcome).__name__} against {what}, not a DeliveryReceipt"
            )
        return outcome

    # -- the adapter class -------------------------------------------------

    def test_adapter_class_is_valid(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        adapter_plugin: object | None,
    ) -> None:
        """The checks the platform makes when it loads the plugin, and the config's storage."""
        plugin = _OnePlugin(adapter_class) if adapter_plugin is None else adapter_plugin
        try:
            registry = registry_with(plugin)
        except ConfigurationError as exc:
            raise ContractViolation(f"the platform would refuse to load it: {exc}") from None
        if registry.kinds() != [adapter_class.kind] or registry.get(adapter_class.kind) is not (
            adapter_class
        ):
            raise ContractViolation(
                f"adapter_plugin {adapter_plugin!r} must provide exactly adapter_class "
                f"({adapter_class.__name__}); it provides {registry.kinds()}"
            )
        if adapter_class.contact_kind not in get_args(ContactKindName):
            raise ContractViolation(
                f"contact_kind {adapter_class.contact_kind!r} is not one of "
                f"{', '.join(get_args(ContactKindName))}"
            )
        if not isinstance(adapter_class.capabilities, Capabilities):
            raise ContractViolation("capabilities must be a frontdesk.channels.Capabilities")
        if not isinstance(channel_config, adapter_class.config_type):
            raise ContractViolation(
                f"the channel_config fixture is a {type(channel_config).__name__}, "
                f"not an instance of config_type {adapter_class.config_type.__name__}"
            )
        # The core stores a channel's configuration as JSON (secrets apart,
        # encrypted) and rebuilds it with msgspec.convert for every call.
        try:
            stored = msgspec.json.decode(msgspec.json.encode(channel_config))
            rebuilt = msgspec.convert(stored, adapter_class.config_type)
        except (msgspec.EncodeError, msgspec.ValidationError) as exc:
            raise ContractViolation(
                f"config_type does not survive storage as JSON: {exc}"
            ) from None
        if rebuilt != channel_config:
            raise ContractViolation(
                "config_type does not survive storage as JSON: "
                f"{channel_config!r} comes back as {rebuilt!r}"
            )
        self._adapter(adapter_class, channel_config, channel_context)

    # -- verify ------------------------------------------------------------

    def test_verify_accepts_signed_requests(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        signed_requests: Sequence[InboundRequest],
    ) -> None:
        _require(signed_requests, "signed_requests")
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        for i, request in enumerate(signed_requests):
            self._verify(adapter, request, f"signed_requests[{i}]")

    def test_verify_rejects_bad_signatures(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        bad_signature_requests: Sequence[InboundRequest],
    ) -> None:
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        self._check_refused(adapter, bad_signature_requests, "bad_signature_requests")

    def test_verify_rejects_unsigned_requests(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        unsigned_requests: Sequence[InboundRequest],
    ) -> None:
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        self._check_refused(adapter, unsigned_requests, "unsigned_requests")

    def _check_refused(
        self, adapter: ChannelAdapter[Any], requests: Sequence[InboundRequest], name: str
    ) -> None:
        _require(requests, name)
        for i, request in enumerate(requests):
            outcome = self._call(f"verify({name}[{i}])", partial(adapter.verify, request))
            if not isinstance(outcome, Exception):
                raise ContractViolation(f"verify accepted {name}[{i}]: {request!r}")
            if not isinstance(outcome, SignatureInvalid):
                raise ContractViolation(
                    f"verify refused {name}[{i}] with {_describe(outcome)}; it must raise "
                    "SignatureInvalid (the intake answers 401 to that, and 500 to anything else)"
                ) from outcome

    # -- parse -------------------------------------------------------------

    def test_signed_requests_parse(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        signed_requests: Sequence[InboundRequest],
    ) -> None:
        """Each parses into a valid Parsed; together they carry someone to answer."""
        _require(signed_requests, "signed_requests")
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        senders = 0
        for i, request in enumerate(signed_requests):
            parsed = self._parse(adapter, request, f"signed_requests[{i}]")
            senders += len(parsed.messages) + sum(1 for e in parsed.events if e.sender)
        if not senders:
            raise ContractViolation(
                "signed_requests gave no message and no event with a sender: include at "
                "least one request carrying a customer's message, so the kit can check it"
            )

    def test_parse_is_deterministic(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        signed_requests: Sequence[InboundRequest],
    ) -> None:
        """The same request gives an equal Parsed: again, and in another process."""
        _require(signed_requests, "signed_requests")
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        other = self._adapter(adapter_class, channel_config, channel_context)
        for i, request in enumerate(signed_requests):
            what = f"signed_requests[{i}]"
            first = self._parse(adapter, request, what)
            again = self._parse(adapter, request, what)
            elsewhere = self._parse(other, request, what)
            if not first == again == elsewhere:
                raise ContractViolation(
                    f"parse({what}) is not deterministic:\n  {first!r}\n  {again!r}\n"
                    f"  {elsewhere!r}"
                )

    def test_external_ids_are_stable(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        signed_requests: Sequence[InboundRequest],
    ) -> None:
        """A redelivered request must be recognised by its ids, whichever process parses it."""
        _require(signed_requests, "signed_requests")
        for i, request in enumerate(signed_requests):
            what = f"signed_requests[{i}]"
            # Fresh instances: as two processes would parse a redelivery.
            adapters = [
                self._adapter(adapter_class, channel_config, channel_context) for _ in range(2)
            ]
            seen = [_ids(self._parse(adapter, request, what)) for adapter in adapters]
            if seen[0] != seen[1]:
                raise ContractViolation(
                    f"parse({what}) gave other external ids the second time: "
                    f"{seen[0]} then {seen[1]}; derive them from the provider's ids, "
                    "never from the clock or randomness"
                )

    def test_malformed_requests_raise_malformed_payload(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        malformed_requests: Sequence[InboundRequest],
    ) -> None:
        _require(malformed_requests, "malformed_requests")
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        for i, request in enumerate(malformed_requests):
            what = f"malformed_requests[{i}]"
            # They must pass verify, or this would test verify rather than parse.
            self._verify(adapter, request, f"{what} (sign it: parse is what is tested)")
            outcome = self._call(f"parse({what})", partial(adapter.parse, request))
            if not isinstance(outcome, Exception):
                raise ContractViolation(f"parse accepted {what}: it returned {outcome!r}")
            if not isinstance(outcome, MalformedPayload):
                raise ContractViolation(
                    f"parse({what}) raised {_describe(outcome)}; it must raise MalformedPayload "
                    "(the intake answers 400 to that, and 500 to anything else)"
                ) from outcome

    def test_contact_kind_matches(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        signed_requests: Sequence[InboundRequest],
    ) -> None:
        _require(signed_requests, "signed_requests")
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        for i, request in enumerate(signed_requests):
            parsed = self._parse(adapter, request, f"signed_requests[{i}]")
            _check_contact_kinds(parsed, adapter_class, f"signed_requests[{i}]")

    # -- fuzz --------------------------------------------------------------

    def test_fuzz_unverified_requests(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        signed_requests: Sequence[InboundRequest],
    ) -> None:
        """Requests near the signed ones (headers, query and body altered, not
        re-signed) and random ones: verify and parse fail only with SDK errors.
        """
        _require(signed_requests, "signed_requests")
        _need_hypothesis()
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        from frontdesk.testing import fuzz

        templates = list(signed_requests)
        random_requests = st.builds(
            InboundRequest,
            method=st.sampled_from(["POST", "GET", "PUT"]),
            url=st.just(templates[0].url),
            headers=st.dictionaries(
                st.sampled_from(sorted({k for r in templates for k in r.headers}) or ["x"])
                | st.text(min_size=1, max_size=20).map(str.lower),
                fuzz.header_values(),
                max_size=6,
            ),
            query=st.just({}),
            body=st.binary(max_size=200),
        )
        strategy = st.one_of(*(fuzz.requests_like(r) for r in templates), random_requests)

        @settings(
            max_examples=self.fuzz_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(request=strategy)
        def check(request: InboundRequest) -> None:
            self._fuzz_one(adapter_class, channel_config, channel_context, request, signed=False)

        check()

    def test_fuzz_signed_payloads(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        signed_requests: Sequence[InboundRequest],
        sign_request: SignRequest,
    ) -> None:
        """Bodies and queries near the real ones, and garbage, correctly signed:
        verify lets them through to parse, which returns a valid Parsed or
        raises MalformedPayload.
        """
        _require(signed_requests, "signed_requests")
        _need_hypothesis()
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        from frontdesk.testing import fuzz

        strategy = st.one_of(*(fuzz.requests_like(r, keep_headers=True) for r in signed_requests))

        @settings(
            max_examples=self.fuzz_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(request=strategy)
        def check(request: InboundRequest) -> None:
            signed = sign_request(request)
            self._fuzz_one(adapter_class, channel_config, channel_context, signed, signed=True)

        check()

    def _fuzz_one(
        self,
        adapter_class: AdapterClass,
        config: msgspec.Struct,
        context: ChannelContext,
        request: InboundRequest,
        *,
        signed: bool,
    ) -> None:
        adapter = self._adapter(adapter_class, config, context)
        verified = self._call("verify", partial(adapter.verify, request))
        if isinstance(verified, SignatureInvalid) and signed:
            raise ContractViolation(
                f"verify refused a request signed by the sign_request fixture: "
                f"{_describe(verified)}\n  {request!r}"
            ) from verified
        if isinstance(verified, SignatureInvalid | MalformedPayload):
            return
        if isinstance(verified, Exception):
            raise ContractViolation(
                f"verify raised {_describe(verified)}; only SignatureInvalid (or "
                f"MalformedPayload) may come out of it\n  {request!r}"
            ) from verified
        parsed = self._call("parse", partial(adapter.parse, request))
        if isinstance(parsed, MalformedPayload):
            return
        if isinstance(parsed, Exception):
            raise ContractViolation(
                f"parse raised {_describe(parsed)}; only MalformedPayload may come out of it"
                f"\n  {request!r}"
            ) from parsed
        _check_parsed(parsed, repr(request))
        _check_contact_kinds(parsed, adapter_class, repr(request))

    # -- deliver -----------------------------------------------------------

    def test_deliver_sent_when_provider_accepts(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        outbound_message: OutboundMessage,
        provider: DeliveryProvider,
    ) -> None:
        provider.accept()
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        before = provider.received
        receipt = self._deliver(adapter, outbound_message, "a provider that accepts it")
        if receipt.status != "sent":
            raise ContractViolation(
                f"deliver returned {receipt!r} against a provider that accepted it; "
                "expected status 'sent'"
            )
        if provider.received == before:
            raise ContractViolation(
                "deliver said 'sent' but the provider received nothing: does "
                "channel_config point the adapter at the provider fixture (provider.url)?"
            )

    def test_deliver_failed_retryable_on_server_error(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        outbound_message: OutboundMessage,
        provider: DeliveryProvider,
    ) -> None:
        provider.fail()
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        receipt = self._deliver(adapter, outbound_message, "a provider answering 500")
        _check_retryable_failure(receipt, "a provider answering 500")
        if provider.received == 0:
            raise ContractViolation(
                "the provider received nothing: does channel_config point the adapter at "
                "the provider fixture (provider.url)?"
            )

    def test_deliver_failed_retryable_on_timeout(
        self,
        adapter_class: AdapterClass,
        channel_config: msgspec.Struct,
        channel_context: ChannelContext,
        outbound_message: OutboundMessage,
        provider: DeliveryProvider,
    ) -> None:
        # Held back for longer than the kit waits: the adapter must give up first.
        provider.stall(self.deadline * 2 + 5)
        adapter = self._adapter(adapter_class, channel_config, channel_context)
        try:
            receipt = self._deliver(adapter, outbound_message, "a provider that does not answer")
        except DeadlineExceeded as exc:
            raise ContractViolation(
                f"{exc}. The kit waits {self.deadline:g} s for deliver against a provider "
                "that does not answer: give the adapter a request timeout, and set it "
                "short (about 1 s) in the channel_config fixture"
            ) from None
        _check_retryable_failure(receipt, "a provider that does not answer")


def _require(requests: Sequence[InboundRequest], name: str) -> None:
    if isinstance(requests, InboundRequest) or not requests:
        raise ContractViolation(f"the {name} fixture must be a non-empty list of InboundRequest")
    for i, request in enumerate(requests):
        if not isinstance(request, InboundRequest):
            raise ContractViolation(
                f"{name}[{i}] is a {type(request).__name__}, not an InboundRequest"
            )


def _need_hypothesis() -> None:
    # Imported only here, so the plugin loads in projects without hypothesis.
    if importlib.util.find_spec("hypothesis") is None:  # pragma: no cover
        pytest.fail(
            "the contract kit's fuzz tests need hypothesis: install frontdesk[testing]",
            pytrace=False,
        )


def _ids(parsed: Parsed) -> tuple[list[str], list[str]]:
    return [m.external_id for m in parsed.messages], [e.external_id for e in parsed.events]


def _check_parsed(parsed: object, what: str) -> None:
    """What the intake needs from a Parsed: storable, with usable external ids."""
    if not isinstance(parsed, Parsed):
        raise ContractViolation(f"parse({what}) returned {type(parsed).__name__}, not Parsed")
    # msgspec does not validate on construction; the intake stores the
    # result as JSON and reads it back with validation, so do the same.
    try:
        msgspec.json.decode(msgspec.json.encode(parsed), type=Parsed)
    except (msgspec.EncodeError, msgspec.ValidationError) as exc:
        raise ContractViolation(
            f"parse({what}) returned a Parsed that cannot be stored: {exc}"
        ) from None
    for label, items in (("message", parsed.messages), ("event", parsed.events)):
        ids = [item.external_id for item in items]
        for external_id in ids:
            if not external_id.strip():
                raise ContractViolation(f"parse({what}) gave a {label} an empty external_id")
            if len(external_id) > MAX_EXTERNAL_ID:
                raise ContractViolation(
                    f"parse({what}) gave a {label} an external_id longer than "
                    f"{MAX_EXTERNAL_ID} characters: {external_id[:40]!r}…"
                )
        if len(set(ids)) != len(ids):
            raise ContractViolation(
                f"parse({what}) gave two {label}s the same external_id: {ids}; the second "
                "would be dropped as a redelivery"
            )


def _check_contact_kinds(parsed: Parsed, adapter_class: AdapterClass, what: str) -> None:
    senders = [m.sender for m in parsed.messages] + [e.sender for e in parsed.events if e.sender]
    allowed = adapter_class.sender_kinds()
    for sender in senders:
        if sender.kind not in allowed:
            raise ContractViolation(
                f"parse({what}) gave a sender of kind {sender.kind!r}; this adapter declares "
                f"{sorted(allowed)} (contact_kind, or contact_kinds for several)"
            )
        if not sender.value.strip():
            raise ContractViolation(f"parse({what}) gave a sender with an empty value")


def _check_retryable_failure(receipt: DeliveryReceipt, what: str) -> None:
    if receipt.status != "failed" or not receipt.retryable:
        raise ContractViolation(
            f"deliver returned {receipt!r} against {what}; expected "
            "DeliveryReceipt(status='failed', retryable=True, error=...)"
        )
    if not receipt.error:
        raise ContractViolation(
            f"deliver failed against {what} without saying why: set error (it is shown "
            "on the ticket)"
        )
