"""The Frontdesk contract kit's suite, on the webhook path (fixtures in conftest.py)."""

from __future__ import annotations

from frontdesk.testing import ChannelContract


class TestContract(ChannelContract):
    """Every check the platform relies on; deliveries go to a real SMTP server."""
