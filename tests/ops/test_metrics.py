"""/metrics scraped before and after a message arrives: intake, SLA clocks and the
breach they lead to, jobs and requests all move."""

from __future__ import annotations

import datetime as dt

import httpx
from prometheus_client.parser import text_string_to_metric_families

from channels.test_pipeline import make_channel, payload, post_signed
from conftest import TenantUnderTest, drain
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.timers.service import run_due


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_move_when_a_message_arrives_and_its_sla_breaches(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    channel = await make_channel(client, tenant)
    before = await scrape(client)
    r = await post_signed(client, channel, payload("metrics-1", "The router is down again."))
    assert r.status_code == 200, r.text
    # A redelivery is acknowledged, not counted again.
    r = await post_signed(client, channel, payload("metrics-1", "The router is down again."))
    assert r.status_code == 200, r.text
    await drain(worker)
    after = await scrape(client)

    intake = "frontdesk_intake_total"
    assert value(after, intake, channel="webhook", kind="message") == (
        value(before, intake, channel="webhook", kind="message") + 1
    )
    started = "frontdesk_sla_clocks_started_total"
    for metric in ("first_response", "resolution"):
        assert value(after, started, metric=metric) == value(before, started, metric=metric) + 1
    jobs = "frontdesk_job_seconds_count"
    assert value(after, jobs, job="ingest_pending", outcome="ok") > value(
        before, jobs, job="ingest_pending", outcome="ok"
    )
    assert ("frontdesk_queue_depth", frozenset({("queue", "intake")})) in after
    requests = "frontdesk_requests_total"
    webhook_posts = sum(
        v
        for (name, labels), v in after.items()
        if name == requests
        and ("method", "POST") in labels
        and dict(labels).get("path", "").startswith("/hooks/")
    )
    assert webhook_posts >= 2

    # Four business hours later (no calendar: always open) the first reply is late.
    breaches = "frontdesk_sla_breaches_total"
    clock.advance(dt.timedelta(hours=4, minutes=1))
    for _ in range(2):  # the warning fires, and schedules the breach, which is due too
        await run_due(worker, tenant_ids=[tenant.id])
        await drain(worker)
    late = await scrape(client)
    assert value(late, breaches, metric="first_response") == (
        value(after, breaches, metric="first_response") + 1
    )
    assert value(late, "frontdesk_sla_warnings_total", metric="first_response") == (
        value(after, "frontdesk_sla_warnings_total", metric="first_response") + 1
    )
