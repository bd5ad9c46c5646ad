"""Fixtures for the report tests."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.clock import Clock
from frontdesk.tickets import service as tickets_service


@pytest.fixture
def ticket_time_follows_clock(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Clock:
    """Ticket rows (created, resolved, their events) stamped by the test clock too,
    so a month can be laid out in minutes; SLA clocks and hand-offs read it already."""
    monkeypatch.setattr(tickets_service, "utcnow", clock.now)
    original = tickets_service._event

    def stamped(*args: Any, **kwargs: Any) -> Any:
        event = original(*args, **kwargs)
        event.created_at = clock.now()
        return event

    monkeypatch.setattr(tickets_service, "_event", stamped)
    return clock
