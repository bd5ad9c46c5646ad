"""What is at rest: every row of every table, read as the tables' owner."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from frontdesk.config import Settings
from frontdesk.db import create_engine


async def dump_chunks(settings: Settings) -> list[str]:
    """Every row of every table, read as the owner; for SQLite also the file and its WAL."""
    engine = create_engine(settings.database_url, pool_size=1)
    chunks: list[str] = []
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: c.dialect.get_table_names(c))
            for name in names:
                if conn.dialect.name == "postgresql":
                    rows = await conn.execute(text(f'SELECT t::text FROM "{name}" t'))
                else:
                    rows = await conn.execute(text(f'SELECT * FROM "{name}"'))
                chunks.extend(repr(tuple(r)) for r in rows)
    finally:
        await engine.dispose()
    if settings.is_sqlite:
        path = Path(settings.database_url.split("///", 1)[1])
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                chunks.append(file.read_bytes().decode("latin-1"))
    return chunks


async def dump_database(settings: Settings) -> str:
    return "\n".join(await dump_chunks(settings))
