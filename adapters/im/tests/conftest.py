"""Fixtures shared by the four providers' tests; each provider's folder has its own
conftest.py with the contract kit's fixtures and a stand-in for the provider.

The stand-ins sign and encrypt as the providers' documentation says, written
here independently of the adapters, so a test that passes shows the adapter
agrees with the documentation, not merely with itself.
"""

from __future__ import annotations

import socket

import pytest

from frontdesk.channels import ChannelContext

CONTEXT = ChannelContext(
    channel_id="ch_im_test",
    webhook_url="https://desk.example.com/hooks/ch_im_test",
    public_url="https://desk.example.com",
)


def pytest_configure(config: pytest.Config) -> None:
    # The kit's fixtures come from its pytest11 entry point when frontdesk is
    # installed; running from a source tree (PYTHONPATH) they must be loaded here.
    import frontdesk.testing.plugin as kit

    if not config.pluginmanager.is_registered(kit):
        config.pluginmanager.register(kit, "frontdesk-contract-kit")


@pytest.fixture(scope="session")
def context() -> ChannelContext:
    return CONTEXT


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
