"""The Frontdesk contract kit's suite, run against the WeCom adapter (fixtures in conftest.py)."""

from __future__ import annotations

from frontdesk.testing import ChannelContract


class TestContract(ChannelContract):
    """Every check the platform relies on."""
