#!/usr/bin/env python3
"""The inbox list on PostgreSQL at scale: its first page and each view and filter.

Builds a data set of ``--tenants`` tenants and about ``--tickets`` tickets in a
database of its own (``frontdesk_bench_inbox``, dropped afterwards unless
``--keep``): the largest tenant, signed up through the API with its teams and
``--agents`` agents, holds ``--largest`` tickets; the rest share the remainder.
Every ticket has one message (the search reads message bodies). Rows are made
by ``INSERT … SELECT generate_series`` as a superuser, with the inbox's indexes
dropped during the load and built again afterwards, then ``VACUUM ANALYZE``.
The load skips the triggers (``session_replication_role = replica``) and
writes each ticket's ``search_vector`` (subject and message, migration 0016)
in its own INSERT, which is what the triggers would leave; a sample is
checked against the triggers' function afterwards.

Then it measures server time of the real query function
(``frontdesk.tickets.inbox.inbox_page``, a page of 51 rows for 50 shown) in
the largest tenant, through the application's role with row-level security
on, ``--runs`` times per view and filter after one warm-up run per pooled
connection, and prints the slower warm-up run ("cold") and p50 and p99 in
milliseconds. Prints figures; never asserts timings.

    python bench/inbox.py                       # 1,000 tenants, 1,000,000 tickets
    python bench/inbox.py --tickets 100000 --largest 20000 --tenants 100 --keep
    python bench/inbox.py --reuse --runs 50       # measure again what --keep left

The PostgreSQL URL (FRONTDESK_BENCH_POSTGRES_URL, else FRONTDESK_TEST_POSTGRES_URL,
else the local default) must be a superuser: the benchmark creates and drops
its database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

os.environ.setdefault("FRONTDESK_INSECURE_FAST_PASSWORD_HASHING", "1")

from frontdesk.app import create_app
from frontdesk.auth import service as auth
from frontdesk.auth.service import Principal
from frontdesk.config import Settings, normalise_database_url
from frontdesk.migrate import upgrade
from frontdesk.runtime import Runtime
from frontdesk.tickets import inbox
from frontdesk.tickets.states import Priority, TicketState

PG_URL = os.environ.get("FRONTDESK_BENCH_POSTGRES_URL") or os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
NAME = "frontdesk_bench_inbox"
PASSWORD = "correct horse battery"  # noqa: S105 - the bench users' throwaway password

# Built again after the load (the same definitions as migration 0010 and the models).
INDEXES = {
    "ix_tickets_tenant_state": "tickets (tenant_id, state, id)",
    "ix_tickets_tenant_customer": "tickets (tenant_id, customer_id)",
    "ix_tickets_tenant_assignee": "tickets (tenant_id, assignee_id, state)",
    "ix_tickets_tenant_team": "tickets (tenant_id, team_id, state)",
    "ix_tickets_tenant_assignee_id": "tickets (tenant_id, assignee_id, id)",
    "ix_tickets_tenant_team_id": "tickets (tenant_id, team_id, id)",
    "ix_tickets_tenant_priority_id": "tickets (tenant_id, priority, id)",
    "ix_tickets_tenant_channel_id": "tickets (tenant_id, channel, id)",
    "ix_messages_tenant_ticket": "messages (tenant_id, ticket_id, id)",
    "ix_tickets_search_vector": "tickets USING gin (search_vector)",
}

# A time-ordered id (the first 48 bits are milliseconds, as UUIDv7's), so the
# keyset order is creation order as in the application.
ID = (
    "(lpad(to_hex((extract(epoch from {ts}) * 1000)::bigint), 12, '0') "
    "|| substr(md5({seed}), 1, 20))::uuid"
)

WORDS = "parcel refund router invoice password blender delivery screen battery login"

# A ticket's one message, from the ticket's id and number ($1: WORDS).
BODY = (
    "'Hello, about my ' || (string_to_array($1::text, ' '))[1 + abs(hashtext({id}::text)) % 10] "
    "|| ': it stopped working after the update, order ' || {number}"
)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _db_url(name: str) -> str:
    return (
        make_url(normalise_database_url(PG_URL))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _sign_up_largest(settings: Settings, agents: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The measured tenant, through the API as a company would; returns it and its agents."""
    runtime = Runtime(settings, pool_size=2)
    await runtime.start(worker=False)
    try:
        app = create_app(runtime=runtime)
        app.state.runtime = runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            r = await client.post(
                "/api/v1/signup",
                json={
                    "tenant_name": "Largest",
                    "tenant_slug": "largest",
                    "admin_email": "admin@largest.example.com",
                    "admin_name": "Admin",
                    "password": PASSWORD,
                },
            )
            r.raise_for_status()
            tenant_id = uuid.UUID(r.json()["tenant_id"])
            h = {"Authorization": f"Bearer {r.json()['tokens']['access_token']}"}
            teams = (await client.get("/api/v1/teams", headers=h)).json()
            front = next(t["id"] for t in teams if t["slug"] == "front-line")
            users = []
            for i in range(agents):
                r = await client.post(
                    "/api/v1/users",
                    headers=h,
                    json={
                        "email": f"agent{i}@largest.example.com",
                        "display_name": f"Agent {i}",
                        "role": "agent",
                        "password": PASSWORD,
                        "team_ids": [front],
                    },
                )
                r.raise_for_status()
                users.append(uuid.UUID(r.json()["id"]))
        return tenant_id, users
    finally:
        await runtime.close()


async def _load(tenant_id: uuid.UUID, largest: int, tenants: int, total: int) -> float:
    """Every other tenant, and every ticket and message, by SQL; returns seconds taken."""
    started = time.perf_counter()
    conn = await asyncpg.connect(_dsn(_db_url(NAME)))
    try:
        for index in INDEXES:
            await conn.execute(f"DROP INDEX IF EXISTS {index}")
        others = tenants - 1
        per_other = max(1, (total - largest) // max(1, others))
        await conn.execute(
            "INSERT INTO tenants (id, slug, name, ticket_prefix, status, created_at) "
            "SELECT gen_random_uuid(), 'tenant-' || g, 'Tenant ' || g, 'CS', 'active', now() "
            "FROM generate_series(1, $1) g",
            others,
        )
        # One customer per ten tickets in every tenant, each tenant's own.
        await conn.execute(
            """
            INSERT INTO customers (tenant_id, id, display_name, tier, created_at, updated_at)
            SELECT t.id, gen_random_uuid(), 'Customer ' || g, 'regular', now(), now()
            FROM tenants t
            CROSS JOIN LATERAL generate_series(
                1, greatest(1, (CASE WHEN t.id = $1 THEN $2::int ELSE $3::int END) / 10)
            ) g
            """,
            tenant_id,
            largest,
            per_other,
        )
        ts = "now() - (g * interval '7 seconds')"
        # The triggers (and the foreign keys' checks) are off for the load: the
        # rows are consistent by construction, and search_vector is written here.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            f"""
            INSERT INTO tickets (tenant_id, id, number, subject, state, priority, channel,
                                 customer_id, team_id, assignee_id, tags, created_at, updated_at,
                                 search_vector)
            SELECT tenant_id, id, number, subject, state, priority, channel, customer_id,
                   team_id, assignee_id, '[]', ts, ts,
                   strip(to_tsvector('simple', subject || ' '
                                     || {BODY.format(id="id", number="number")}))
            FROM (
              SELECT t.id AS tenant_id,
                     {ID.format(ts=ts, seed="t.id::text || g")} AS id,
                     'CS-2026-' || lpad(g::text, 7, '0') AS number,
                     (string_to_array($1::text, ' '))[1 + g % 10] || ' problem number ' || g
                       AS subject,
                     (ARRAY['closed','closed','closed','resolved','open','pending','new',
                            'escalated','closed','open'])[1 + (g * 7) % 10] AS state,
                     (ARRAY['normal','normal','normal','high','low','urgent'])[1 + (g * 5) % 6]
                       AS priority,
                     (ARRAY['email','webchat','phone','im','webhook'])[1 + (g * 11) % 5]
                       AS channel,
                     c.ids[1 + g % array_length(c.ids, 1)] AS customer_id,
                     tm.ids[1 + g % array_length(tm.ids, 1)] AS team_id,
                     CASE WHEN g % 4 = 0 OR u.ids IS NULL THEN NULL
                          ELSE u.ids[1 + g % array_length(u.ids, 1)] END AS assignee_id,
                     {ts} AS ts
              FROM tenants t
              CROSS JOIN LATERAL (SELECT array_agg(id) ids FROM customers
                                  WHERE tenant_id = t.id) c
              CROSS JOIN LATERAL (SELECT array_agg(id) ids FROM teams WHERE tenant_id = t.id) tm
              CROSS JOIN LATERAL (SELECT array_agg(id) ids FROM users WHERE tenant_id = t.id) u
              CROSS JOIN LATERAL generate_series(
                  1, CASE WHEN t.id = $2 THEN $3::int ELSE $4::int END) g
            ) s
            """,
            WORDS,
            tenant_id,
            largest,
            per_other,
        )
        # Tenants without teams (made by SQL above) leave team_id NULL: fine for the FK.
        await conn.execute(
            f"""
            INSERT INTO messages (tenant_id, id, ticket_id, kind, direction, channel,
                                  author_customer_id, body_text, meta, created_at)
            SELECT tenant_id, {ID.format(ts="created_at", seed="id::text")}, id, 'reply',
                   'inbound', channel, customer_id, {BODY.format(id="id", number="number")},
                   '{{}}', created_at
            FROM tickets
            """,
            WORDS,
        )
        await conn.execute("SET session_replication_role = DEFAULT")
        # What the triggers would have written, on a sample of the newest tickets.
        stale = await conn.fetchval(
            "SELECT count(*) FROM (SELECT * FROM tickets WHERE tenant_id = $1 "
            "ORDER BY id DESC LIMIT 1000) t "
            "WHERE search_vector IS DISTINCT FROM frontdesk_ticket_words(tenant_id, id, subject)",
            tenant_id,
        )
        if stale:
            raise RuntimeError(f"{stale} sampled tickets' search_vector differ from the triggers'")
        for index, definition in INDEXES.items():
            await conn.execute(f"CREATE INDEX {index} ON {definition}")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# The pool's connections: each prepares a statement the first time it runs it
# (and the first query of all loads the ORM's mappings). Those first runs are
# shown apart ("cold"), not counted in p50 and p99: a server answers warm.
POOL = 2
WARM_UP = POOL


def _figures(label: str, times: list[float], found: int) -> tuple[str, float, float, float, int]:
    """Prints one line: the slowest cold run, then p50 and p99 of the warm ones."""
    cold, warm = max(times[:WARM_UP]), times[WARM_UP:]
    line = (label, cold, statistics.median(warm), _percentile(warm, 99), found)
    print(f"{label:32} {cold:8.2f} {line[2]:8.2f} {line[3]:8.2f} {found:5d}", flush=True)
    return line


async def _measure(
    settings: Settings, tenant_id: uuid.UUID, agent_id: uuid.UUID, runs: int
) -> list[tuple[str, float, float, float, int]]:
    """Prints each line as it is measured, and returns them."""
    runtime = Runtime(settings, pool_size=POOL)
    await runtime.start(worker=False)
    try:
        async with runtime.db.session(tenant_id) as session:
            admin = await auth.principal_for_user(
                session, next(u for u in await auth.list_users(session, limit=1) if u)
            )
            agent = await auth.principal_for_user(session, await auth.get_user(session, agent_id))
            teams = await auth.list_teams(session)
        front = next(t.id for t in teams if t.slug == "front-line")
        cases: list[tuple[str, Principal, inbox.InboxQuery]] = [
            ("open (the default view)", admin, inbox.InboxQuery()),
            ("all", admin, inbox.InboxQuery(view=inbox.View.ALL)),
            ("mine", agent, inbox.InboxQuery(view=inbox.View.MINE)),
            ("my team", agent, inbox.InboxQuery(view=inbox.View.TEAM)),
            ("unassigned", admin, inbox.InboxQuery(view=inbox.View.UNASSIGNED)),
            ("escalated", admin, inbox.InboxQuery(view=inbox.View.ESCALATED)),
            ("breaching", admin, inbox.InboxQuery(view=inbox.View.BREACHING)),
            ("hand-offs to my team", agent, inbox.InboxQuery(view=inbox.View.HANDOFFS)),
            ("state = pending", admin, inbox.InboxQuery(state=TicketState.PENDING)),
            ("priority = urgent", admin, inbox.InboxQuery(priority=Priority.URGENT)),
            ("channel = phone", admin, inbox.InboxQuery(channel="phone")),
            ("team = front line", admin, inbox.InboxQuery(team_id=front)),
            # A word in one ticket in ten (subjects and messages), and one in a single ticket.
            ("search a common word", admin, inbox.InboxQuery(q="blender")),
            (
                "search a common word in all",
                admin,
                inbox.InboxQuery(view=inbox.View.ALL, q="blender"),
            ),
            ("search a rare word", admin, inbox.InboxQuery(view=inbox.View.ALL, q="123457")),
        ]
        out = []
        for label, principal, query in cases:
            times: list[float] = []
            found = 0
            for _ in range(WARM_UP + runs):
                async with runtime.db.session(tenant_id) as session:
                    started = time.perf_counter()
                    rows = await inbox.inbox_page(session, principal, query, limit=51)
                    times.append((time.perf_counter() - started) * 1000)
                    found = len(rows)
            out.append(_figures(label, times, found))
        # A later page: keyset, from the first page's last row.
        async with runtime.db.session(tenant_id) as session:
            first = await inbox.inbox_page(session, admin, inbox.InboxQuery(), limit=51)
        cursor = first[49].id
        times = []
        for _ in range(WARM_UP + runs):
            async with runtime.db.session(tenant_id) as session:
                started = time.perf_counter()
                rows = await inbox.inbox_page(
                    session, admin, inbox.InboxQuery(), limit=51, before=cursor
                )
                times.append((time.perf_counter() - started) * 1000)
        out.append(_figures("open, second page", times, len(rows)))
        return out
    finally:
        await runtime.close()


def main(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-inbox-"))
    settings = Settings(
        data_dir=tmp,
        database_url=_db_url(NAME),
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        embedded=False,
    )
    if not args.reuse:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        asyncio.run(_admin(f'CREATE DATABASE "{NAME}"'))
    try:
        if args.reuse:
            # A data set kept by an older checkout: bring its schema to this one's.
            asyncio.run(upgrade(settings))
            tenant_id, agent_id = asyncio.run(_kept())
        else:
            asyncio.run(upgrade(settings))
            tenant_id, agents = asyncio.run(_sign_up_largest(settings, args.agents))
            agent_id = agents[0]
            seconds = asyncio.run(_load(tenant_id, args.largest, args.tenants, args.tickets))
            print(f"loaded and indexed in {seconds:.0f} s")
        counts = asyncio.run(_counts())
        print(
            f"data set: {counts[0]:,} tickets, {counts[1]:,} messages, {counts[2]:,} tenants; "
            f"the largest has {counts[3]:,} tickets"
        )
        print(
            f"{'inbox query (largest tenant)':32} {'cold ms':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'rows':>5}"
        )
        asyncio.run(_measure(settings, tenant_id, agent_id, args.runs))
    finally:
        if not (args.keep or args.reuse):
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
    return 0


async def _counts() -> tuple[int, int, int, int]:
    conn = await asyncpg.connect(_dsn(_db_url(NAME)))
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM tickets"),
            await conn.fetchval("SELECT count(*) FROM messages"),
            await conn.fetchval("SELECT count(*) FROM tenants"),
            await conn.fetchval(
                "SELECT count(*) FROM tickets t JOIN tenants n ON n.id = t.tenant_id "
                "WHERE n.slug = 'largest'"
            ),
        )
    finally:
        await conn.close()


async def _kept() -> tuple[uuid.UUID, uuid.UUID]:
    """The largest tenant and its first agent, in a data set kept by ``--keep``."""
    conn = await asyncpg.connect(_dsn(_db_url(NAME)))
    try:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = 'largest'")
        agent_id = await conn.fetchval(
            "SELECT u.id FROM users u JOIN roles r ON r.tenant_id = u.tenant_id "
            "AND r.id = u.role_id WHERE u.tenant_id = $1 AND r.name = 'agent' ORDER BY u.id "
            "LIMIT 1",
            tenant_id,
        )
        return tenant_id, agent_id
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--largest", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the data set a run with --keep left"
    )
    sys.exit(main(parser.parse_args()))
