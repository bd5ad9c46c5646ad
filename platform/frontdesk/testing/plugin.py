"""The contract kit's pytest plugin: the fixtures ``ChannelContract`` asks for.

Loaded in every pytest run where frontdesk is installed (the ``pytest11``
entry point ``frontdesk``), so it only defines fixtures and imports nothing
heavy. Fixtures an adapter must provide fail with a message saying so; the
others have defaults an adapter's ``conftest.py`` may override.

=========================  ========  =================================================
fixture                    needed    what it is
=========================  ========  =================================================
``adapter_class``          yes       the ``ChannelAdapter`` subclass under test
``channel_config``         yes       an ``adapter_class.config_type`` instance; points
                                     delivery at ``provider.url`` with a short timeout
``signed_requests``        yes       ``list[InboundRequest]`` the provider really sends,
                                     correctly signed; at least one carries a message
``sign_request``           yes       ``(InboundRequest) -> InboundRequest``: signs any
                                     request as the provider would (for fuzzing)
``bad_signature_requests`` yes       ``list[InboundRequest]`` with wrong signatures
``unsigned_requests``      yes       ``list[InboundRequest]`` with no signature at all
``malformed_requests``     yes       ``list[InboundRequest]``, correctly signed, that
                                     ``parse`` cannot understand
``provider``               default   a ``ProviderServer`` on 127.0.0.1 (or your own
                                     ``DeliveryProvider``)
``outbound_message``       default   an ``OutboundMessage`` to a recipient of the
                                     adapter's ``contact_kind``
``channel_context``        default   a ``ChannelContext`` for a channel at
                                     ``https://frontdesk.example/hooks/contract-kit``
``adapter_plugin``         default   the module your entry point names (default
                                     ``None``: the kit registers ``adapter_class``
                                     itself); given, the kit loads the adapter
                                     through it, as the platform does
=========================  ========  =================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from frontdesk.channels.adapter import ChannelAdapter, ChannelContext
from frontdesk.channels.types import ContactRef, OutboundMessage
from frontdesk.testing.provider import ProviderServer

DOCS = "docs/writing-an-adapter.md (section 'The contract kit')"

#: Where the default channel_context says the channel's webhook is.
PUBLIC_URL = "https://frontdesk.example"
WEBHOOK_URL = f"{PUBLIC_URL}/hooks/contract-kit"

_RECIPIENTS: dict[str, ContactRef] = {
    "email": ContactRef(kind="email", value="customer@example.com", display_name="Ada Customer"),
    "phone": ContactRef(kind="phone", value="+14155550123"),
    "webchat": ContactRef(kind="webchat", value="visitor-contract-kit"),
    "im": ContactRef(kind="im", value="contract-kit-user", display_name="Ada Customer"),
}


def _needed(name: str, what: str) -> NoReturn:
    pytest.fail(
        f"the frontdesk contract kit needs the fixture {name!r} ({what}); "
        f"define it in your tests' conftest.py: see {DOCS}",
        pytrace=False,
    )


@pytest.fixture
def adapter_class() -> type[ChannelAdapter[Any]]:
    """The ChannelAdapter subclass under test. Provide it in your conftest.py."""
    _needed("adapter_class", "the ChannelAdapter subclass under test")


@pytest.fixture
def channel_config() -> Any:
    """An instance of adapter_class.config_type. Provide it in your conftest.py."""
    _needed("channel_config", "an instance of adapter_class.config_type")


@pytest.fixture
def signed_requests() -> Any:
    """Genuine, correctly signed provider requests. Provide it in your conftest.py."""
    _needed("signed_requests", "a list of correctly signed InboundRequests")


@pytest.fixture
def sign_request() -> Any:
    """A function signing a request as the provider would. Provide it in your conftest.py."""
    _needed("sign_request", "a function (InboundRequest) -> InboundRequest that signs it")


@pytest.fixture
def bad_signature_requests() -> Any:
    """Requests with wrong signatures. Provide it in your conftest.py."""
    _needed("bad_signature_requests", "a list of InboundRequests with wrong signatures")


@pytest.fixture
def unsigned_requests() -> Any:
    """Requests with no signature. Provide it in your conftest.py."""
    _needed("unsigned_requests", "a list of InboundRequests without a signature")


@pytest.fixture
def malformed_requests() -> Any:
    """Correctly signed requests parse cannot understand. Provide it in your conftest.py."""
    _needed("malformed_requests", "a list of signed InboundRequests that parse must refuse")


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    """A scripted HTTP provider on 127.0.0.1, closed after the test."""
    with ProviderServer() as server:
        yield server


@pytest.fixture
def channel_context() -> ChannelContext:
    """What the core tells an adapter about its channel instance."""
    return ChannelContext(channel_id="contract-kit", webhook_url=WEBHOOK_URL, public_url=PUBLIC_URL)


@pytest.fixture
def outbound_message(adapter_class: type[ChannelAdapter[Any]]) -> OutboundMessage:
    """An agent's reply to a recipient of the adapter's contact kind."""
    recipient = _RECIPIENTS.get(adapter_class.contact_kind, _RECIPIENTS["im"])
    if recipient.kind == "im":
        recipient = ContactRef(
            kind="im",
            value=recipient.value,
            provider=adapter_class.kind,
            display_name=recipient.display_name,
        )
    return OutboundMessage(
        id="contract-kit-delivery-1",
        recipient=recipient,
        text="Hello from the Frontdesk contract kit.",
        subject="Re: Your request [CS-2026-000042]",
        ticket_number="CS-2026-000042",
    )


@pytest.fixture
def adapter_plugin() -> object | None:
    """The module your ``frontdesk.channels`` entry point names, or None."""
    return None
