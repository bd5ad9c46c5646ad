"""The contract kit's suite, run against the web chat adapter (fixtures in conftest.py)."""

from __future__ import annotations

from frontdesk.testing import ChannelContract


class TestContract(ChannelContract):
    """Every check the platform relies on; delivery against in-memory services."""
