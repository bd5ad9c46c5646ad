"""Prometheus metrics for operators: what came in, what the jobs did, what broke.

Counters live in the process's default registry and are exposed at
``/metrics`` (HTTP request metrics come from Litestar's Prometheus
middleware, under the same prefix). Labels are channel kinds, metrics and
job names, never tenants or ids: their number stays small whatever the load.
Each process counts its own work (app, worker): scrape every process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from frontdesk.jobs import Jobs

log = logging.getLogger("frontdesk.metrics")

PREFIX = "frontdesk"

INTAKE = Counter(
    f"{PREFIX}_intake_total",
    "Inbound messages and channel events stored by the intake (redeliveries not counted).",
    ["channel", "kind"],
)
SLA_CLOCKS_STARTED = Counter(
    f"{PREFIX}_sla_clocks_started_total", "SLA clocks started on tickets.", ["metric"]
)
SLA_WARNINGS = Counter(
    f"{PREFIX}_sla_warnings_total", "SLA clocks that reached 80 % of their target.", ["metric"]
)
SLA_BREACHES = Counter(
    f"{PREFIX}_sla_breaches_total", "SLA clocks that passed their target.", ["metric"]
)
DELIVERY_FAILURES = Counter(
    f"{PREFIX}_delivery_failures_total",
    "Outbound messages given up on after their last attempt.",
    ["channel"],
)
DELIVERY_ATTEMPTS_FAILED = Counter(
    f"{PREFIX}_delivery_attempts_failed_total",
    "Delivery attempts that failed (retried or not).",
    ["channel"],
)
JOB_SECONDS = Histogram(
    f"{PREFIX}_job_seconds",
    "How long background jobs (dramatiq actors) ran, by job and outcome.",
    ["job", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


class _Timed:
    """``with timed_job(name):`` records the job's duration and whether it raised."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = 0.0

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        outcome = "ok" if kind is None else "error"
        JOB_SECONDS.labels(self.name, outcome).observe(time.perf_counter() - self.started)


def timed_job(name: str) -> _Timed:
    return _Timed(name)


class QueueDepths(Collector):
    """Jobs waiting per queue, read from the broker when scraped."""

    def __init__(self) -> None:
        self.jobs: Jobs | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            f"{PREFIX}_queue_depth", "Jobs waiting in each broker queue.", labels=["queue"]
        )
        jobs = self.jobs
        if jobs is not None:
            try:
                for queue, depth in jobs.queue_depths().items():
                    family.add_metric([queue], depth)
            except Exception as exc:  # a scrape reports what it can; Redis may be away
                log.warning("queue depths unavailable: %s", exc)
        yield family


QUEUE_DEPTHS = QueueDepths()
REGISTRY.register(QUEUE_DEPTHS)


def watch_queues(jobs: Jobs) -> None:
    """The broker whose queues ``/metrics`` reports (the latest runtime started here)."""
    QUEUE_DEPTHS.jobs = jobs
