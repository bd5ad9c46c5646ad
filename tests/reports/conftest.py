"""Fixtures for the report tests."""

from __future__ import annotations

from reports.month import ticket_time_follows_clock  # noqa: F401 (a fixture)
