#!/usr/bin/env python3
"""Report benchmark: how long a tenant's report takes on PostgreSQL over 1,000,000 tickets.

Prints figures; never asserts timings. On a database of its own (dropped
afterwards unless ``--keep``): tenants signed up through the API, then,
with SQL ``generate_series`` as the tables' owner, a year of tickets with
their SLA clocks, timeline events (one "created" each, reopenings) and
hand-offs. One large tenant holds ``--large`` tickets; ``--small`` tenants
hold ``--each`` tickets apiece (default 500,000 + 50 × 10,000). Then each
report runs through ``reports.service.build_report`` as the app role with
row-level security on, exactly as ``GET /api/v1/reports`` runs it: for the
large tenant over a week, a month, a month narrowed to one channel, and a
year; for every small tenant over a month. Each timing is the median of
``--repeat`` warm runs.

    python bench/reports.py
    python bench/reports.py --large 100000 --small 10 --each 5000 --keep
    python bench/reports.py --database frontdesk_bench_reports_1a2b3c4d   # time again
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import os
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

os.environ.setdefault("FRONTDESK_INSECURE_FAST_PASSWORD_HASHING", "1")

from frontdesk.app import create_app
from frontdesk.config import Settings, normalise_database_url
from frontdesk.migrate import upgrade
from frontdesk.reports import rollups
from frontdesk.reports.service import ReportFilters, build_report
from frontdesk.runtime import Runtime
from frontdesk.tickets.states import Priority

PG_URL = os.environ.get("FRONTDESK_BENCH_POSTGRES_URL") or os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# The last day of the generated year (tickets fall in the 365 days before it).
LAST_DAY = dt.date(2026, 11, 30)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _sign_up(runtime: Runtime, count: int) -> list[uuid.UUID]:
    app = create_app(runtime=runtime)
    app.state.runtime = runtime
    out = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        for i in range(count):
            slug = f"bench-{i}-{uuid.uuid4().hex[:6]}"
            r = await client.post(
                "/api/v1/signup",
                json={
                    "tenant_name": f"Bench {i}",
                    "tenant_slug": slug,
                    "admin_email": f"admin@{slug}.example.com",
                    "admin_name": "Bench",
                    "password": "correct horse battery",
                },
            )
            r.raise_for_status()
            out.append(uuid.UUID(r.json()["tenant_id"]))
    return out


# Per tenant (size in the VALUES list): a customer, then its tickets. Random
# but repeatable (setseed). Times: a year before LAST_DAY, replies within 8 h
# (10 % never answered), resolutions within 4 days. Open: 30 % of the last
# two weeks' tickets and 1 % of older ones; the rest resolved (82 %) or closed.
FILL = """
SELECT setseed(0.42);
CREATE TEMP TABLE bench_sizes (tenant_id uuid, n int, offset_n bigint);
INSERT INTO bench_sizes VALUES {sizes};
INSERT INTO customers (tenant_id, id, display_name, tier, created_at, updated_at)
SELECT tenant_id, gen_random_uuid(), 'Bench customer', 'new', now(), now() FROM bench_sizes;
CREATE TEMP TABLE bench_teams AS
SELECT t.tenant_id, array_agg(t.id ORDER BY t.slug) AS ids FROM teams t
JOIN bench_sizes s USING (tenant_id) GROUP BY t.tenant_id;
INSERT INTO tickets (tenant_id, id, number, subject, state, priority, category, channel,
    customer_id, team_id, tags, created_at, updated_at, first_response_at, resolved_at, closed_at)
SELECT s.tenant_id, gen_random_uuid(), 'B-' || g, 'Bench ticket',
    y.state,
    (ARRAY['urgent','high','normal','normal','normal','low'])[1 + (g % 6)],
    (ARRAY['pre_sales','fault','return_exchange','complaint','care','collaboration'])
        [1 + (g % 7 % 6)],
    (ARRAY['email','webchat','phone','im','webhook'])[1 + (g % 5)],
    c.id, tm.ids[1 + (g % array_length(tm.ids, 1))],
    CASE g % 4 WHEN 0 THEN '["vip"]' WHEN 1 THEN '["billing","refund"]' ELSE '[]' END::json,
    x.created, x.created,
    CASE WHEN y.state <> 'open' OR x.r < 0.9 THEN x.created + x.reply END,
    CASE WHEN y.state <> 'open' THEN x.created + x.reply + x.resolve END,
    CASE WHEN y.state = 'closed' THEN x.created + x.reply + x.resolve + interval '1 day' END
FROM bench_sizes s
JOIN customers c ON c.tenant_id = s.tenant_id
JOIN bench_teams tm ON tm.tenant_id = s.tenant_id
CROSS JOIN LATERAL generate_series(1, s.n) AS g
CROSS JOIN LATERAL (SELECT
    random() AS r,
    timestamptz '{last}' - random() * interval '365 days' AS created,
    random() * interval '8 hours' AS reply,
    random() * interval '96 hours' AS resolve
    WHERE g > 0) AS x
CROSS JOIN LATERAL (SELECT CASE
    WHEN (x.created > timestamptz '{last}' - interval '14 days' AND x.r < 0.3) OR x.r > 0.99
    THEN 'open' WHEN x.r < 0.82 THEN 'resolved' ELSE 'closed' END AS state) AS y
-- Rows land in time order, as they do when tickets arrive one after another.
ORDER BY x.created;
INSERT INTO ticket_slas (tenant_id, ticket_id, metric, policy, target_seconds, generation, state,
    started_at, consumed_seconds, met_at, breached_at, due_at)
SELECT tenant_id, id, 'first_response', 'Email and messages', 14400, 1,
    CASE WHEN first_response_at IS NULL THEN 'running' ELSE 'met' END,
    created_at, coalesce(extract(epoch FROM first_response_at - created_at) * 0.6, 0),
    first_response_at,
    CASE WHEN first_response_at - created_at > interval '4 hours'
        THEN created_at + interval '4 hours' END,
    created_at + interval '4 hours'
FROM tickets;
INSERT INTO ticket_slas (tenant_id, ticket_id, metric, policy, target_seconds, generation, state,
    started_at, consumed_seconds, met_at, breached_at, due_at)
SELECT tenant_id, id, 'resolution', 'Inquiries resolved within 24 h', 86400, 1,
    CASE WHEN resolved_at IS NULL THEN 'running' ELSE 'met' END,
    created_at, coalesce(extract(epoch FROM resolved_at - created_at) * 0.4, 0),
    resolved_at,
    CASE WHEN resolved_at - created_at > interval '60 hours'
        THEN created_at + interval '60 hours' END,
    created_at + interval '60 hours'
FROM tickets;
INSERT INTO ticket_events (tenant_id, id, ticket_id, kind, data, created_at)
SELECT tenant_id, gen_random_uuid(), id, 'created', '{{}}'::json, created_at FROM tickets;
INSERT INTO ticket_events (tenant_id, id, ticket_id, kind, data, created_at)
SELECT tenant_id, gen_random_uuid(), id, 'state_changed',
    '{{"before": "resolved", "after": "open"}}'::json, resolved_at - interval '1 hour'
FROM tickets WHERE resolved_at IS NOT NULL AND random() < 0.03;
INSERT INTO handoffs (tenant_id, id, ticket_id, team_id, from_team_id, description, status,
    due_at, escalated_to, created_at, updated_at, resolved_at, overdue_at)
SELECT t.tenant_id, gen_random_uuid(), t.id,
    tm.ids[1 + ((abs(hashtext(t.id::text)) + 1) % array_length(tm.ids, 1))],
    t.team_id, 'Bench hand-off', CASE WHEN random() < 0.8 THEN 'done' ELSE 'requested' END,
    t.created_at + interval '9 hours', '[]'::json, t.created_at + interval '1 hour',
    t.created_at + interval '1 hour',
    t.created_at + interval '1 hour' + random() * interval '48 hours',
    NULL
FROM tickets t JOIN bench_teams tm ON tm.tenant_id = t.tenant_id
WHERE random() < 0.02;
UPDATE handoffs SET resolved_at = NULL WHERE status = 'requested';
"""


async def _fill(owner_dsn: str, sizes: list[tuple[uuid.UUID, int]]) -> None:
    values = ", ".join(f"('{t}', {n}, 0)" for t, n in sizes)
    sql = FILL.format(sizes=values, last=f"{LAST_DAY + dt.timedelta(days=1)} 00:00+00")
    conn = await asyncpg.connect(owner_dsn)
    try:
        await conn.execute(sql)
        # What autovacuum does in production: statistics, and the visibility map
        # that lets a report read an index alone.
        await conn.execute("VACUUM ANALYZE")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM ticket_slas),"
            " (SELECT count(*) FROM ticket_events), (SELECT count(*) FROM handoffs)"
        )
        print(
            f"rows: {counts[0]:,} tickets, {counts[1]:,} SLA clocks, "
            f"{counts[2]:,} ticket events, {counts[3]:,} hand-offs"
        )
    finally:
        await conn.close()


async def _time(
    runtime: Runtime, tenant_id: uuid.UUID, filters: ReportFilters, repeat: int
) -> tuple[float, int, str]:
    """Median seconds of ``repeat`` runs after one warm-up; the report's new tickets;
    where its days came from."""
    runs = []
    new = 0
    source = ""
    for i in range(repeat + 1):
        async with runtime.db.session(tenant_id) as session:
            started = time.perf_counter()
            report = await build_report(session, filters)
            elapsed = time.perf_counter() - started
        new = report.volume.new
        source = f"{report.source.rollup_days} rolled up, {report.source.live_days} live"
        if i:
            runs.append(elapsed)
    return statistics.median(runs), new, source


async def _refresh(runtime: Runtime, tenants: list[uuid.UUID]) -> None:
    """Each tenant's roll-ups, as the ``refresh_report_rollups`` job brings them up to date."""
    for n, tenant_id in enumerate(tenants):
        started = time.perf_counter()
        async with runtime.db.session(tenant_id) as session:
            done = await rollups.refresh(session)
        if n == 0 or n == len(tenants) - 1:
            print(
                f"refreshed roll-ups of tenant {n}: {done.days} days, {done.rows:,} rows "
                f"in {time.perf_counter() - started:.1f} s"
            )


async def _explain(runtime: Runtime, tenant_id: uuid.UUID, filters: ReportFilters) -> None:
    """Each query of the report computed from the rows alone, with its time; then
    ``EXPLAIN (ANALYZE, BUFFERS)`` of the slowest, as the app role with RLS on."""
    from sqlalchemy import event, text

    spent: list[tuple[float, str, Any]] = []
    engine = runtime.db.engine.sync_engine

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        started = conn.info.pop("bench_started")
        spent.append((time.perf_counter() - started, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        async with runtime.db.session(tenant_id) as session:
            started = time.perf_counter()
            await build_report(session, filters, rollups=False)
            total = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    spent.sort(key=lambda x: -x[0])
    print(f"\nthe year from the rows alone: {total * 1000:.0f} ms; its queries:")
    for seconds, statement, _ in spent:
        print(f"  {seconds * 1000:7.1f} ms  {' '.join(statement.split())[:140]}")
    for _, statement, parameters in spent[:4]:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        async with runtime.db.session(tenant_id) as session:
            await session.execute(text("SET LOCAL work_mem = '64MB'"))
            conn = await session.connection()
            plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print("\n" + " ".join(statement.split())[:300])
            for (line,) in list(plan)[:14]:
                print("   ", line)


def _period(days: int) -> ReportFilters:
    return ReportFilters(start=LAST_DAY - dt.timedelta(days=days - 1), end=LAST_DAY)


async def _existing_tenants(dsn: str) -> list[tuple[uuid.UUID, int]]:
    """A kept database's tenants by ticket count, largest first."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT tenant_id, count(*) FROM tickets GROUP BY tenant_id ORDER BY 2 DESC"
        )
    finally:
        await conn.close()
    return [(row[0], row[1]) for row in rows]


async def main(args: argparse.Namespace) -> None:
    reuse = args.database is not None
    name = args.database or f"frontdesk_bench_reports_{uuid.uuid4().hex[:8]}"
    if not reuse:
        await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(normalise_database_url(PG_URL)).set(database=name)
    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    settings = Settings(
        data_dir=tmp,
        database_url=url.render_as_string(hide_password=False),
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        embedded=False,
    )
    try:
        await upgrade(settings)
        runtime = Runtime(settings, pool_size=2)
        await runtime.start(worker=False)
        try:
            if reuse:
                sizes = await _existing_tenants(_dsn(settings.database_url))
                args.large, args.small, args.each = sizes[0][1], len(sizes) - 1, sizes[-1][1]
                tenants = [t for t, _ in sizes]
            else:
                tenants = await _sign_up(runtime, 1 + args.small)
                sizes = [(tenants[0], args.large)] + [(t, args.each) for t in tenants[1:]]
                started = time.perf_counter()
                await _fill(_dsn(settings.database_url), sizes)
                print(f"generated in {time.perf_counter() - started:.0f} s")
            large = tenants[0]
            started = time.perf_counter()
            await _refresh(runtime, tenants)
            print(f"refreshed every tenant's roll-ups in {time.perf_counter() - started:.0f} s")
            if args.explain:
                await _explain(runtime, large, _period(365))
            print(f"\nlarge tenant ({args.large:,} tickets over a year), median of {args.repeat}:")
            for label, filters in (
                ("week", _period(7)),
                ("month", _period(30)),
                (
                    "month, one channel",
                    ReportFilters(**{**_fields(_period(30)), "channel": "email"}),
                ),
                (
                    "month, priority high",
                    ReportFilters(**{**_fields(_period(30)), "priority": Priority.HIGH}),
                ),
                (
                    "month, one channel and priority high",
                    ReportFilters(
                        **{**_fields(_period(30)), "channel": "email", "priority": Priority.HIGH}
                    ),
                ),
                ("a quarter (90 days)", _period(90)),
                ("year", _period(365)),
                (
                    "year, one channel",
                    ReportFilters(**{**_fields(_period(365)), "channel": "email"}),
                ),
                (
                    "year, priority high",
                    ReportFilters(**{**_fields(_period(365)), "priority": Priority.HIGH}),
                ),
                (
                    "year, one channel and priority high (from the rows)",
                    ReportFilters(
                        **{**_fields(_period(365)), "channel": "email", "priority": Priority.HIGH}
                    ),
                ),
            ):
                seconds, new, source = await _time(runtime, large, filters, args.repeat)
                print(f"  {label:<52} {seconds * 1000:7.0f} ms  ({new:,} new tickets; {source})")
            if args.small:
                for label, period in (("month", _period(30)), ("year", _period(365))):
                    times = [(await _time(runtime, t, period, args.repeat))[0] for t in tenants[1:]]
                    print(
                        f"\n{args.small} tenants of {args.each:,} tickets, {label} report: "
                        f"median {statistics.median(times) * 1000:.0f} ms, "
                        f"max {max(times) * 1000:.0f} ms"
                    )
        finally:
            await runtime.close()
    finally:
        if args.keep or reuse:
            print(f"kept database {name}")
        else:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fields(f: ReportFilters) -> dict[str, object]:
    return {"start": f.start, "end": f.end}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--large", type=int, default=500_000, help="tickets of the large tenant")
    parser.add_argument("--small", type=int, default=50, help="how many small tenants")
    parser.add_argument("--each", type=int, default=10_000, help="tickets per small tenant")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per report")
    parser.add_argument("--keep", action="store_true", help="leave the database for a look")
    parser.add_argument(
        "--explain", action="store_true", help="time each query of the year from the rows"
    )
    parser.add_argument(
        "--database",
        help="time the reports on a database kept by --keep (no new rows; not dropped)",
    )
    asyncio.run(main(parser.parse_args()))
