"""Settings read from the environment: what an operator can set, and a clear refusal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from frontdesk.config import load_settings
from frontdesk.db import create_engine
from frontdesk.errors import ConfigurationError


def test_sqlite_syncs_every_commit_unless_told_otherwise(tmp_path: Path) -> None:
    env = {"FRONTDESK_DATA_DIR": str(tmp_path)}
    assert load_settings(env).sqlite_synchronous == "full"
    relaxed = load_settings({**env, "FRONTDESK_SQLITE_SYNCHRONOUS": "Normal"})
    assert relaxed.sqlite_synchronous == "normal"


def test_an_unknown_synchronous_mode_is_refused_by_name(tmp_path: Path) -> None:
    env = {"FRONTDESK_DATA_DIR": str(tmp_path), "FRONTDESK_SQLITE_SYNCHRONOUS": "off"}
    with pytest.raises(ConfigurationError, match="FRONTDESK_SQLITE_SYNCHRONOUS"):
        load_settings(env)


@pytest.mark.parametrize(("mode", "pragma"), [("full", 2), ("normal", 1)])
async def test_the_engine_applies_the_mode(tmp_path: Path, mode: str, pragma: int) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    engine = create_engine(url, sqlite_synchronous=mode)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            cursor = await driver.execute("PRAGMA synchronous")
            row = await cursor.fetchone()
            assert row is not None and row[0] == pragma
    finally:
        await engine.dispose()
    assert sqlite3.connect(tmp_path / "db.sqlite3").execute("PRAGMA journal_mode").fetchone() == (
        "wal",
    )
