#!/usr/bin/env python3
"""End-to-end ingestion benchmark: signed webhook in → customer, ticket, message stored and routed.

Prints figures; never asserts timings. Three measurements, each on a
database of its own that is dropped afterwards:

* ``sqlite``: the embedded mode, as ``frontdesk demo`` runs it: one
  ``frontdesk serve`` process, SQLite, the in-process broker and its
  worker threads.
* ``postgres``: production: ``--api-processes`` ``frontdesk serve``
  processes (the client spreads requests over them round-robin, as a load
  balancer would), ``--workers`` ``frontdesk worker`` processes, PostgreSQL
  and the Redis broker.
* ``floor``: the rows one message leaves in PostgreSQL (inbound event,
  customer, contact point, audit entry, ticket number, ticket, message, two
  ticket events, a message ref, two SLA clocks with their timers, the event
  marked processed) written by plain asyncpg
  statements as the application's role (row-level security on), in the
  pipeline's two transactions (intake, then ingest), with the same
  concurrency and no HTTP or broker: the least work this schema asks of
  the database for one message.

Each pipeline is measured twice after a warm-up. The throughput run posts
``--messages`` with ``--concurrency`` requests in flight (closed loop) and
counts until the last one is ingested; its latencies are mostly queueing,
since intake outruns ingestion. The latency run then offers a steady rate
(open loop, half the measured throughput unless ``--latency-rate``) for
``--latency-seconds``. Latency is per message, from just before its POST to
the ``processed_at`` its ingest transaction wrote (the commit follows in the
same job), on one machine's clock.

The HTTP side is real: uvicorn processes started with ``frontdesk serve`` on
localhost, posted to by a minimal keep-alive HTTP/1.1 client in this
process (httpx cost more CPU than the server it measured); every
message is signed as a customer's system would sign it. CPU seconds are
reported per component (Linux ``/proc``), including "rest of the machine":
on a shared box, other work shows up there and the figures are low.

    python bench/ingest.py                          # all three, defaults
    python bench/ingest.py --backend postgres --messages 5000 --workers 2
    python bench/ingest.py --payload email          # raw MIME in → ticket (email channel)

With ``--payload email`` each message is a raw multipart mail posted to an
email channel's webhook URL (as an inbound-parse service posts it), parsed
by the email adapter; the ``floor`` does not change with it.

PostgreSQL and Redis come from FRONTDESK_BENCH_POSTGRES_URL /
FRONTDESK_BENCH_REDIS_URL (else the test suite's FRONTDESK_TEST_* URLs,
else the local defaults). The PostgreSQL URL must be a superuser: the
benchmark creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import itertools
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis

from frontdesk_webhook import SIGNATURE_HEADER, sign

FRONTDESK = Path(sys.executable).parent / "frontdesk"
PG_URL = os.environ.get("FRONTDESK_BENCH_POSTGRES_URL") or os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FRONTDESK_BENCH_REDIS_URL") or os.environ.get(
    "FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
)
SECRET = "bench-shared-secret-of-some-length"  # noqa: S105 - a test channel's
PASSWORD = "bench horse battery staple"  # noqa: S105 - a throwaway tenant's
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
TEXT = (
    "Hello, my router drops the connection every evening around 8 pm and comes back "
    "after a few minutes. I have restarted it twice. Order 2026-{i}. Could you help?"
)


# --- processes ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds this machine's processes ran, summed over every core, since boot (Linux).

    user + nice + system + irq + softirq; idle, I/O wait and time stolen by a
    hypervisor are left out.
    """
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in first[:7])
    return (user + nice + system + irq + softirq) / CLK_TCK


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Processes:
    """Subprocesses of one scenario; every one is stopped on the way out."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own commands
                args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.procs[name] = proc
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.tail(name)}")

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def cpu(self, prefix: str) -> float:
        return sum(proc_cpu_seconds(p.pid) for n, p in self.procs.items() if n.startswith(prefix))

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def run_cli(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - our own CLI
        [str(FRONTDESK), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"frontdesk {' '.join(args)} failed:\n{result.stderr}{result.stdout}")


async def wait_healthy(url: str, procs: Processes, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        while True:
            procs.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not become ready")
            await asyncio.sleep(0.2)


# --no-quotas: every quota 0 (no limit), which skips the rate-limit checks, to
# measure what they cost.
QUOTAS_OFF = {
    "FRONTDESK_QUOTA_API_PER_MINUTE": "0",
    "FRONTDESK_QUOTA_TOKEN_API_PER_MINUTE": "0",
    "FRONTDESK_QUOTA_INBOUND_PER_MINUTE": "0",
}
_quotas_off = False


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        FRONTDESK_DATA_DIR=str(data_dir),
        FRONTDESK_MASTER_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    if _quotas_off:
        env.update(QUOTAS_OFF)
    return env


def serve(procs: Processes, env: dict[str, str], count: int) -> list[str]:
    urls = []
    for n in range(count):
        port = free_port()
        procs.start(f"api-{n + 1}", [str(FRONTDESK), "serve", "--port", str(port)], env)
        urls.append(f"http://127.0.0.1:{port}")
    return urls


# --- PostgreSQL and Redis --------------------------------------------------------


def pg_url_for(database: str) -> str:
    parts = urlsplit(PG_URL)
    return urlunsplit(parts._replace(path=f"/{database}"))


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.asynccontextmanager
async def pg_database(prefix: str, keep: bool) -> Any:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(asyncpg_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name
    finally:
        if not keep:
            admin = await asyncpg.connect(asyncpg_dsn(PG_URL))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


@contextlib.contextmanager
def redis_namespace() -> Iterator[str]:
    ns = f"frontdesk-bench-{uuid.uuid4().hex[:10]}"
    try:
        yield ns
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{ns}:*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i : i + 500])
        finally:
            client.close()


# --- the load --------------------------------------------------------------------


@dataclass
class Hook:
    tenant_id: uuid.UUID
    path: str


async def create_tenant_and_channel(url: str) -> Hook:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await sign_up_with_channel(client)


async def sign_up_with_channel(client: httpx.AsyncClient) -> Hook:
    """A new tenant (through the public sign-up) with one channel (webhook or email)."""
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    r = await client.post(
        "/api/v1/signup",
        json={
            "tenant_name": "Bench Company",
            "tenant_slug": slug,
            "admin_email": f"admin@{slug}.example.com",
            "admin_name": "Bench Admin",
            "password": PASSWORD,
        },
    )
    r.raise_for_status()
    body = r.json()
    headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
    r = await client.post("/api/v1/channels", headers=headers, json=channel_json())
    r.raise_for_status()
    return Hook(uuid.UUID(body["tenant_id"]), httpx.URL(r.json()["webhook_url"]).path)


#: What is posted: "webhook" (signed JSON to the reference webhook adapter) or
#: "email" (raw MIME to an email channel's webhook URL, as an inbound-parse
#: service posts it). Set from ``--payload``.
PAYLOAD = "webhook"
EMAIL_SECRET = "bench-email-webhook-secret-0123"  # noqa: S105 - a test channel's


def event_key(prefix: str, i: int) -> str:
    """The external id the intake stores for message ``i`` (the email one is its Message-ID)."""
    if PAYLOAD == "email":
        return f"<{prefix}-{i:06d}@bench.example>"
    return f"{prefix}-{i:06d}"


def key_pattern(prefix: str) -> str:
    """A LIKE pattern matching every ``event_key`` of this prefix."""
    return f"<{prefix}-%" if PAYLOAD == "email" else f"{prefix}-%"


def channel_json() -> dict[str, Any]:
    if PAYLOAD == "email":
        return {
            "kind": "email",
            "name": "bench",
            "config": {"from_address": "support@bench.example", "webhook_secret": EMAIL_SECRET},
        }
    return {"kind": "webhook", "name": "bench", "config": {"secret": SECRET}}


def request_headers(body: bytes) -> dict[str, str]:
    if PAYLOAD == "email":
        return {"content-type": "message/rfc822", "x-frontdesk-email-token": EMAIL_SECRET}
    return {
        SIGNATURE_HEADER: sign(SECRET, body, int(time.time())),
        "content-type": "application/json",
    }


def email_body(prefix: str, i: int, who: int) -> bytes:
    """A plain customer mail as mail programs send it: multipart text and HTML."""
    text = TEXT.format(i=i)
    return (
        f"From: Customer {who} <customer-{prefix}-{who}@example.com>\r\n"
        "To: Bench Support <support@bench.example>\r\n"
        f"Subject: Connection drops (case {i})\r\n"
        f"Message-ID: {event_key(prefix, i)}\r\n"
        "Date: Mon, 02 Mar 2026 09:30:00 +0800\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{text}</p>\r\n--b--\r\n"
    ).encode()


def message_body(prefix: str, i: int, customers: int) -> bytes:
    who = i if customers <= 0 else i % customers
    if PAYLOAD == "email":
        return email_body(prefix, i, who)
    return json.dumps(
        {
            "id": f"{prefix}-{i:06d}",
            "sender": {
                "kind": "email",
                "value": f"customer-{prefix}-{who}@example.com",
                "name": f"Customer {who}",
            },
            "subject": f"Connection drops (case {i})",
            "text": TEXT.format(i=i),
        }
    ).encode()


@dataclass
class Load:
    sent_at: dict[str, float] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    errors: list[str] = field(default_factory=list)
    retried: int = 0


class Http1:
    """A keep-alive HTTP/1.1 connection that POSTs and reads the answer, nothing more.

    The load generator shares the two cores with what it measures; httpx
    spent 2.3 ms of CPU per request here, this spends a tenth of that, so
    the figures are the platform's rather than the client's.
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        reader, writer = await self._connect()
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        close = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        answer = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, answer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def post_once_more(
    client: Http1, path: str, body: bytes, headers: dict[str, str], load: Load
) -> tuple[int, bytes]:
    """POST; a connection the server closed while idle (keep-alive ran out) is retried once,
    as a provider would. The signed body is the same, so a retry is a redelivery."""
    try:
        return await client.post(path, body, headers)
    except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
        load.retried += 1
        await client.close()
        return await client.post(path, body, headers)


async def post_messages(
    urls: list[str], path: str, prefix: str, count: int, concurrency: int, customers: int
) -> Load:
    load = Load()
    numbers = iter(range(count))

    async def run(n: int) -> None:
        # Connection n goes to server n mod the count, as a load balancer would.
        client = Http1(urls[n % len(urls)])
        try:
            for i in numbers:
                body = message_body(prefix, i, customers)
                headers = request_headers(body)
                sent = time.time()
                try:
                    status, answer = await post_once_more(client, path, body, headers, load)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    load.errors.append(f"{type(exc).__name__}: {exc}")
                    await client.close()
                    continue
                if status != 200:
                    load.errors.append(f"{status}: {answer[:200]!r}")
                    continue
                load.sent_at[event_key(prefix, i)] = sent
        finally:
            await client.close()

    load.started = time.time()
    await asyncio.gather(*(run(n) for n in range(concurrency)))
    load.finished = time.time()
    return load


async def post_paced(
    urls: list[str], path: str, prefix: str, rate: float, seconds: float, customers: int
) -> Load:
    """Open loop: message i is sent at start + i / rate, whether or not earlier ones answered."""
    load = Load()
    count = max(1, int(rate * seconds))
    idle: list[list[Http1]] = [[] for _ in urls]

    async def one(i: int, start: float) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        body = message_body(prefix, i, customers)
        headers = request_headers(body)
        pool = idle[i % len(urls)]
        client = pool.pop() if pool else Http1(urls[i % len(urls)])
        sent = time.time()
        try:
            status, answer = await post_once_more(client, path, body, headers, load)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            load.errors.append(f"{type(exc).__name__}: {exc}")
            await client.close()
            return
        pool.append(client)
        if status != 200:
            load.errors.append(f"{status}: {answer[:200]!r}")
            return
        load.sent_at[event_key(prefix, i)] = sent

    try:
        load.started = time.time()
        start = time.monotonic()
        await asyncio.gather(*(one(i, start) for i in range(count)))
        load.finished = time.time()
    finally:
        for pool in idle:
            for client in pool:
                await client.close()
    return load


async def wait_until(
    count: Callable[[], Awaitable[int]],
    target: int,
    within: float,
    procs: Processes | None = None,
) -> None:
    deadline = time.monotonic() + within
    while True:
        done = await count()
        if done >= target:
            return
        if procs is not None:
            procs.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {target} processed after {within:.0f} s")
        await asyncio.sleep(0.1)


# --- results ---------------------------------------------------------------------


def quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


@dataclass
class Result:
    name: str
    config: str
    messages: int
    seconds: float
    intake_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The latency run: offered rate (messages/s), messages, p50 and p99 in seconds.
    paced: tuple[float, int, float, float] | None = None
    summary_only: bool = False

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


def latencies_of(load: Load, processed_at: dict[str, float]) -> list[float]:
    return sorted(processed_at[e] - sent for e, sent in load.sent_at.items() if e in processed_at)


def pipeline_result(
    name: str, config: str, load: Load, processed_at: dict[str, float], cpu: dict[str, float]
) -> Result:
    latencies = latencies_of(load, processed_at)
    last = max(processed_at.values()) if processed_at else load.finished
    return Result(
        name=name,
        config=config,
        messages=len(latencies),
        seconds=last - load.started,
        intake_per_s=len(load.sent_at) / (load.finished - load.started),
        p50_ms=quantile(latencies, 0.50) * 1000,
        p99_ms=quantile(latencies, 0.99) * 1000,
        cpu=cpu,
        errors=list(load.errors),
    )


class Profiler:
    """``py-spy record`` on every subprocess over the measured window (``--py-spy DIR``)."""

    def __init__(self, procs: Processes, out: Path | None) -> None:
        self.procs = procs
        self.out = out
        self.spies: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Profiler:
        if self.out is None:
            return self
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.out.mkdir(parents=True, exist_ok=True)
        for name, proc in self.procs.procs.items():
            self.spies.append(
                subprocess.Popen(  # noqa: S603 - our own command
                    [spy, "record", "--format", "raw", "--rate", "100", "--gil",
                     "-o", str(self.out / f"{name}.txt"), "-p", str(proc.pid)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        time.sleep(1)  # attached before the load starts
        return self

    def __exit__(self, *exc: object) -> None:
        for spy in self.spies:
            spy.send_signal(signal.SIGINT)
        for spy in self.spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()


class CpuMeter:
    """CPU seconds per component over the measured window (Linux ``/proc``).

    Our subprocesses by name prefix; with ``database``, the PostgreSQL
    backends serving it plus the server's background processes (WAL writer,
    checkpointer, ...), sampled while the run lasts since pooled connections
    come and go; Redis by its pid. What the machine spent besides is shown as
    "rest of the machine": other work on a shared box shows up there.
    """

    def __init__(
        self, procs: Processes | None, components: list[str], database: str | None = None
    ) -> None:
        self.procs = procs
        self.components = components
        self.database = database
        self.pg_first: dict[int, float] = {}
        self.pg_last: dict[int, float] = {}
        self.redis_pid: int | None = None

    async def _pg_sample(self, conn: asyncpg.Connection, *, initial: bool = False) -> None:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE (datname = $1 OR datname IS NULL) "
            "AND pid <> pg_backend_pid()",
            self.database,
        )
        for r in rows:
            cpu = proc_cpu_seconds(r["pid"])
            # A backend born during the run counts from zero.
            self.pg_first.setdefault(r["pid"], cpu if initial else 0.0)
            self.pg_last[r["pid"]] = cpu

    async def _sampler(self, conn: asyncpg.Connection) -> None:
        while True:
            await asyncio.sleep(0.5)
            await self._pg_sample(conn)

    async def __aenter__(self) -> CpuMeter:
        self.conn: asyncpg.Connection | None = None
        self.task: asyncio.Task[None] | None = None
        if self.database is not None:
            self.conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
            await self._pg_sample(self.conn, initial=True)
            self.task = asyncio.create_task(self._sampler(self.conn))
            client = redis.Redis.from_url(REDIS_URL)
            try:
                self.redis_pid = int(client.info("server")["process_id"])
            finally:
                client.close()
        self.start = {c: self.procs.cpu(c) for c in self.components} if self.procs else {}
        self.start_redis = proc_cpu_seconds(self.redis_pid) if self.redis_pid else 0.0
        self.start_self = self_cpu_seconds()
        self.start_machine = machine_busy_seconds()
        self.start_wall = time.monotonic()
        return self

    async def stop(self, client_label: str = "bench client") -> dict[str, float]:
        out = {c: self.procs.cpu(c) - self.start[c] for c in self.components} if self.procs else {}
        out[client_label] = self_cpu_seconds() - self.start_self
        if self.conn is not None:
            await self._pg_sample(self.conn)
            out["PostgreSQL"] = sum(self.pg_last[p] - self.pg_first[p] for p in self.pg_last)
        if self.redis_pid:
            out["Redis"] = proc_cpu_seconds(self.redis_pid) - self.start_redis
        machine = machine_busy_seconds() - self.start_machine
        out["rest of the machine"] = max(0.0, machine - sum(out.values()))
        out["wall"] = time.monotonic() - self.start_wall
        return out

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.conn is not None:
            await self.conn.close()


def parse_sqlite_time(value: str) -> float:
    when = dt.datetime.fromisoformat(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


# --- scenarios -------------------------------------------------------------------


@dataclass
class Target:
    """A running pipeline to measure: where to post, how to read back what it did."""

    urls: list[str]
    hook: Hook
    procs: Processes
    components: list[str]
    database: str | None
    processed: Callable[[str], Awaitable[int]]  # count of processed events with a prefix
    times: Callable[[str], Awaitable[dict[str, float]]]  # external id → processed_at


async def measure(name: str, config: str, target: Target, args: argparse.Namespace) -> Result:
    """Warm up, then the throughput run (closed loop), then the latency run (paced)."""
    run = uuid.uuid4().hex[:6]
    urls, path, procs = target.urls, target.hook.path, target.procs
    if args.warmup:
        await post_messages(urls, path, f"w{run}", args.warmup, args.concurrency, 0)
        await wait_until(lambda: target.processed(f"w{run}"), args.warmup, 300, procs)
    prefix = f"m{run}"
    with Profiler(procs, args.py_spy):
        async with CpuMeter(procs, target.components, target.database) as meter:
            load = await post_messages(
                urls, path, prefix, args.messages, args.concurrency, args.customers
            )
            await wait_until(
                lambda: target.processed(prefix), len(load.sent_at), args.timeout, procs
            )
            cpu = await meter.stop()
    result = pipeline_result(name, config, load, await target.times(prefix), cpu)
    if load.retried:
        result.notes.append(
            f"{load.retried} request(s) sent twice: the server had closed the idle connection"
        )
    if args.latency_seconds > 0:
        rate = args.latency_rate or max(1.0, round(result.per_s / 2))
        paced = f"l{run}"
        load = await post_paced(urls, path, paced, rate, args.latency_seconds, args.customers)
        await wait_until(lambda: target.processed(paced), len(load.sent_at), args.timeout, procs)
        latencies = latencies_of(load, await target.times(paced))
        result.paced = (rate, len(latencies), quantile(latencies, 0.5), quantile(latencies, 0.99))
        result.errors += load.errors
    return result


async def bench_sqlite(args: argparse.Namespace, work: Path) -> Result:
    data = work / "sqlite"
    data.mkdir()
    env = base_env(data)
    env["FRONTDESK_WORKER_THREADS"] = str(args.threads)
    procs = Processes(work)
    db_file = data / "frontdesk.sqlite3"
    try:
        run_cli(["db", "upgrade"], env)
        [url] = serve(procs, env, 1)
        await wait_healthy(url, procs)
        hook = await create_tenant_and_channel(url)
        db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)

        async def processed(prefix: str) -> int:
            row = db.execute(
                "SELECT count(*) FROM inbound_events WHERE status = 'processed' "
                "AND external_id LIKE ?",
                (key_pattern(prefix),),
            ).fetchone()
            return int(row[0])

        async def times(prefix: str) -> dict[str, float]:
            rows = db.execute(
                "SELECT external_id, processed_at FROM inbound_events "
                "WHERE status = 'processed' AND external_id LIKE ?",
                (key_pattern(prefix),),
            ).fetchall()
            return {e: parse_sqlite_time(t) for e, t in rows}

        config = (
            "embedded: 1 `frontdesk serve` process, SQLite (WAL), in-process broker with "
            f"{args.threads} worker threads"
        )
        target = Target([url], hook, procs, ["api"], None, processed, times)
        try:
            return await measure("sqlite", config, target, args)
        finally:
            db.close()
    finally:
        procs.stop_all()


async def bench_postgres(args: argparse.Namespace, work: Path) -> Result:
    data = work / "postgres"
    data.mkdir()
    procs = Processes(work)
    async with pg_database("frontdesk_bench", args.keep) as name:
        with redis_namespace() as ns:
            env = base_env(data)
            env.update(
                FRONTDESK_DATABASE_URL=pg_url_for(name),
                FRONTDESK_REDIS_URL=REDIS_URL,
                FRONTDESK_REDIS_NAMESPACE=ns,
                FRONTDESK_WORKER_THREADS=str(args.threads),
            )
            try:
                run_cli(["db", "upgrade"], env)
                urls = serve(procs, env, args.api_processes)
                for n in range(args.workers):
                    procs.start(f"worker-{n + 1}", [str(FRONTDESK), "worker"], env)
                for url in urls:
                    await wait_healthy(url, procs)
                hook = await create_tenant_and_channel(urls[0])
                # The owner connects as a superuser: row-level security does not apply.
                conn = await asyncpg.connect(asyncpg_dsn(pg_url_for(name)))

                async def processed(prefix: str) -> int:
                    return int(
                        await conn.fetchval(
                            "SELECT count(*) FROM inbound_events "
                            "WHERE status = 'processed' AND external_id LIKE $1",
                            key_pattern(prefix),
                        )
                    )

                async def times(prefix: str) -> dict[str, float]:
                    rows = await conn.fetch(
                        "SELECT external_id, processed_at FROM inbound_events "
                        "WHERE status = 'processed' AND external_id LIKE $1",
                        key_pattern(prefix),
                    )
                    return {r["external_id"]: r["processed_at"].timestamp() for r in rows}

                config = (
                    f"production: {args.api_processes} `frontdesk serve` process(es), "
                    f"{args.workers} `frontdesk worker` process(es) × {args.threads} threads, "
                    "PostgreSQL + Redis broker"
                )
                target = Target(urls, hook, procs, ["api", "worker"], name, processed, times)
                try:
                    before = await table_counts(conn)
                    sessions = await sessions_opened(conn, name)
                    result = await measure("postgres", config, target, args)
                    sessions = await sessions_opened(conn, name) - sessions
                    after = await table_counts(conn)
                finally:
                    await conn.close()
            finally:
                procs.stop_all()
    # Per inbound event stored (warm-up, measured and paced runs alike).
    made = max(1, after["inbound_events"] - before.get("inbound_events", 0))
    written = {
        t: (after[t] - before.get(t, 0)) / made
        for t in after
        if (after[t] - before.get(t, 0)) / made >= 0.01
    }
    result.notes.append(
        "rows per message: " + ", ".join(f"{t} {n:g}" for t, n in sorted(written.items()))
    )
    result.notes.append(
        f"PostgreSQL connections opened while measuring: {sessions} "
        "(pools of 10 + 10 overflow per process; overflow connections close when returned)"
    )
    return result


async def sessions_opened(conn: asyncpg.Connection, database: str) -> int:
    return int(
        await conn.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = $1", database)
        or 0
    )


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    tables = [
        r["tablename"]
        for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    out = {}
    for t in tables:
        out[t] = int(await conn.fetchval(f'SELECT count(*) FROM "{t}"'))
    return out


FLOOR_INTAKE = """
INSERT INTO inbound_events (tenant_id, id, channel_id, external_id, kind, payload_encrypted,
                            status, attempts, received_at)
VALUES ($1, $2, $3, $4, 'message', $5, 'received', 0, now())
ON CONFLICT (tenant_id, channel_id, external_id) DO NOTHING
RETURNING id
"""
NEXT_NUMBER = """
UPDATE ticket_counters SET last_number = last_number + 1
WHERE tenant_id = $1 AND year = $2 RETURNING last_number
"""


async def bench_floor(args: argparse.Namespace, work: Path) -> Result:
    data = work / "floor"
    data.mkdir()
    procs = Processes(work)
    async with pg_database("frontdesk_floor", args.keep) as name:
        env = base_env(data)
        env["FRONTDESK_DATABASE_URL"] = pg_url_for(name)
        run_cli(["db", "upgrade"], env)
        try:
            [url] = serve(procs, env, 1)
            await wait_healthy(url, procs)
            hook = await create_tenant_and_channel(url)
        finally:
            procs.stop_all()
        owner = await asyncpg.connect(asyncpg_dsn(pg_url_for(name)))
        channel_id = await owner.fetchval(
            "SELECT id FROM channels WHERE tenant_id = $1", hook.tenant_id
        )
        team_id = await owner.fetchval(
            "SELECT id FROM teams WHERE tenant_id = $1 AND is_default", hook.tenant_id
        )
        await owner.close()
        app_url = urlsplit(pg_url_for(name))._replace(
            netloc=f"frontdesk_app@{urlsplit(PG_URL).hostname}:{urlsplit(PG_URL).port or 5432}"
        )
        pool = await asyncpg.create_pool(
            urlunsplit(app_url), min_size=args.concurrency, max_size=args.concurrency
        )
        assert pool is not None
        payload = base64.b64encode(secrets.token_bytes(420)).decode()  # an encrypted payload
        sealed = base64.b64encode(secrets.token_bytes(80)).decode()  # an encrypted address
        tenant = hook.tenant_id
        year = dt.datetime.now(dt.UTC).year
        numbers = itertools.count()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
            await conn.execute(
                "INSERT INTO ticket_counters (tenant_id, year, last_number) "
                "VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
                tenant,
                year,
            )

        async def one(conn: asyncpg.Connection, i: int) -> None:
            external_id = f"floor-{i:06d}"
            subject = f"Connection drops (case {i})"
            async with conn.transaction():  # intake: the event, durably, before the 2xx
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
                event_id = await conn.fetchval(
                    FLOOR_INTAKE, tenant, uuid.uuid4(), channel_id, external_id, payload
                )
            customer_id, point_id = uuid.uuid4(), uuid.uuid4()
            ticket_id, message_id = uuid.uuid4(), uuid.uuid4()
            async with conn.transaction():  # ingest
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
                await conn.fetchval(
                    "SELECT status FROM inbound_events WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                    tenant,
                    event_id,
                )
                await conn.execute(
                    "INSERT INTO customers (tenant_id, id, display_name, tier, created_at, "
                    "updated_at) VALUES ($1, $2, $3, 'new', now(), now())",
                    tenant,
                    customer_id,
                    f"Customer {i}",
                )
                await conn.execute(
                    "INSERT INTO contact_points (tenant_id, id, customer_id, kind, "
                    "value_encrypted, value_index, verified, created_at) "
                    "VALUES ($1, $2, $3, 'email', $4, $5, false, now())",
                    tenant,
                    point_id,
                    customer_id,
                    sealed,
                    secrets.token_hex(32),
                )
                await conn.execute(
                    "INSERT INTO audit_log (tenant_id, id, action, subject_type, subject_id, "
                    "data, created_at) VALUES ($1, $2, 'customer.created', 'customer', $3, "
                    '\'{"source": "channel"}\', now())',
                    tenant,
                    uuid.uuid4(),
                    customer_id,
                )
                number = await conn.fetchval(NEXT_NUMBER, tenant, year)
                await conn.execute(
                    "INSERT INTO tickets (tenant_id, id, number, subject, state, priority, "
                    "channel, customer_id, team_id, tags, created_at, updated_at, channel_id, "
                    "contact_point_id) VALUES ($1, $2, $3, $4, 'new', 'normal', 'webhook', $5, "
                    "$6, '[]', now(), now(), $7, $8)",
                    tenant,
                    ticket_id,
                    f"CS-{year}-{number:06d}",
                    subject,
                    customer_id,
                    team_id,
                    channel_id,
                    point_id,
                )
                events = [
                    ("created", {"channel": "webhook", "priority": "normal",
                                 "team_id": str(team_id), "assignee_id": None}),
                    ("message_received", {"message_id": str(message_id)}),
                ]  # fmt: skip
                await conn.execute(
                    "INSERT INTO messages (tenant_id, id, ticket_id, kind, direction, channel, "
                    "author_customer_id, body_text, created_at, channel_id, external_id, "
                    "subject, meta) VALUES ($1, $2, $3, 'reply', 'inbound', 'webhook', $4, $5, "
                    "now(), $6, $7, $8, $9)",
                    tenant,
                    message_id,
                    ticket_id,
                    customer_id,
                    TEXT.format(i=i),
                    channel_id,
                    external_id,
                    subject,
                    json.dumps({"thread_reason": "new conversation", "attachments": []}),
                )
                for kind, data in events:
                    await conn.execute(
                        "INSERT INTO ticket_events (tenant_id, id, ticket_id, kind, data, "
                        "created_at) VALUES ($1, $2, $3, $4, $5, now())",
                        tenant,
                        uuid.uuid4(),
                        ticket_id,
                        kind,
                        json.dumps(data),
                    )
                # Email's threading index: the provider's id, hashed.
                await conn.execute(
                    "INSERT INTO message_refs (tenant_id, id, ref_index, ticket_id, message_id, "
                    "direction, created_at) VALUES ($1, $2, $3, $4, $5, 'inbound', now())",
                    tenant,
                    uuid.uuid4(),
                    secrets.token_hex(32),
                    ticket_id,
                    message_id,
                )
                # The SLA clocks the hand-off starts, each with its warning timer.
                for metric, hours in (("first_response", 4), ("resolution", 24)):
                    timer_id = uuid.uuid4()
                    await conn.execute(
                        "INSERT INTO timers (tenant_id, id, kind, ticket_id, due_at, payload, "
                        "state, attempts, created_at) VALUES ($1, $2, 'sla_warning', $3, "
                        "now() + make_interval(hours => $4), $5, 'pending', 0, now())",
                        tenant,
                        timer_id,
                        ticket_id,
                        hours,
                        json.dumps({"metric": metric, "generation": 1}),
                    )
                    await conn.execute(
                        "INSERT INTO ticket_slas (tenant_id, ticket_id, metric, policy, "
                        "target_seconds, generation, state, started_at, running_since, "
                        "consumed_seconds, due_at, warning_timer_id) VALUES ($1, $2, $3, "
                        "'default', $4, 1, 'running', now(), now(), 0, "
                        "now() + make_interval(hours => $5), $6)",
                        tenant,
                        ticket_id,
                        metric,
                        hours * 3600,
                        hours,
                        timer_id,
                    )
                await conn.execute(
                    "UPDATE inbound_events SET status = 'processed', attempts = 1, "
                    "processed_at = now(), ticket_id = $3, message_id = $4 "
                    "WHERE tenant_id = $1 AND id = $2",
                    tenant,
                    event_id,
                    ticket_id,
                    message_id,
                )

        async def run() -> None:
            async with pool.acquire() as conn:
                for i in numbers:
                    if i >= args.messages:
                        return
                    await one(conn, i)

        try:
            async with CpuMeter(None, [], name) as meter:
                started = time.time()
                await asyncio.gather(*(run() for _ in range(args.concurrency)))
                seconds = time.time() - started
                cpu = await meter.stop("bench client (asyncpg)")
            cpu.pop("Redis", None)
        finally:
            await pool.close()
    config = (
        f"plain asyncpg as the app role (row-level security on), {args.concurrency} "
        "connections, 2 transactions per message, no HTTP, no broker"
    )
    return Result("floor", config, args.messages, seconds, cpu=cpu)


async def bench_steps(args: argparse.Namespace, work: Path) -> Result:
    """The pipeline's two steps called in this process, one at a time: CPU and statements each."""
    from sqlalchemy import event, select

    from frontdesk.app import create_app
    from frontdesk.channels.ingest import ingest_event, ingest_pending
    from frontdesk.channels.intake import receive
    from frontdesk.channels.models import InboundEvent
    from frontdesk.channels.types import InboundRequest
    from frontdesk.config import load_settings
    from frontdesk.runtime import Runtime

    data = work / "steps"
    data.mkdir()
    count = min(args.messages, 500)
    warm = 20
    async with pg_database("frontdesk_steps", args.keep) as name:
        env = base_env(data)
        env["FRONTDESK_DATABASE_URL"] = pg_url_for(name)
        run_cli(["db", "upgrade"], env)
        settings = load_settings(env)
        runtime = Runtime(settings)
        # The in-process broker and no worker threads: ingest jobs are only queued.
        await runtime.start(worker=False)
        try:
            app = create_app(runtime=runtime)
            app.state.runtime = runtime
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                hook = await sign_up_with_channel(client)
            token = hook.path.rsplit("/", 1)[1]
            statements = 0

            def counted(*_: object) -> None:
                nonlocal statements
                statements += 1

            event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", counted)

            def request(prefix: str, i: int) -> InboundRequest:
                body = message_body(prefix, i, 0)
                return InboundRequest(
                    method="POST",
                    url=settings.public_url + hook.path,
                    headers={k.lower(): v for k, v in request_headers(body).items()},
                    query={},
                    body=body,
                )

            async def events(prefix: str) -> list[uuid.UUID]:
                async with runtime.db.session(hook.tenant_id) as session:
                    stmt = select(InboundEvent.id).where(
                        InboundEvent.external_id.like(key_pattern(prefix))
                    )
                    return list((await session.scalars(stmt.order_by(InboundEvent.id))).all())

            for i in range(warm):
                await receive(runtime, token, request("w", i))
            for event_id in await events("w"):
                await ingest_event(runtime, hook.tenant_id, event_id)
            statements = 0
            async with CpuMeter(None, [], name) as meter:
                for i in range(count):
                    await receive(runtime, token, request("s", i))
                intake = await meter.stop("Python")
            intake_statements, statements = statements, 0
            queued = await events("s")
            statements = 0
            async with CpuMeter(None, [], name) as meter:
                for event_id in queued[: len(queued) // 2]:
                    await ingest_event(runtime, hook.tenant_id, event_id)
                single = await meter.stop("Python")
            single_statements, statements = statements, 0
            async with CpuMeter(None, [], name) as meter:
                await ingest_pending(runtime, hook.tenant_id)
                batched = await meter.stop("Python")
            batched_statements = statements
        finally:
            await runtime.close()
    halves = (len(queued) // 2, len(queued) - len(queued) // 2)
    result = Result(
        "steps",
        "in this process on PostgreSQL, one call at a time: no HTTP, no broker, no concurrency",
        count,
        batched["wall"],
        summary_only=True,
    )
    for step, cpu, n, messages in (
        ("intake, one request at a time", intake, intake_statements, count),
        ("ingest, one event per transaction", single, single_statements, halves[0]),
        (
            f"ingest in batches of up to {runtime.settings.ingest_batch_size}",
            batched,
            batched_statements,
            halves[1],
        ),
    ):
        messages = max(1, messages)
        result.notes.append(
            f"{step}: {1000 * cpu['Python'] / messages:.2f} ms Python CPU and "
            f"{1000 * cpu.get('PostgreSQL', 0.0) / messages:.2f} ms PostgreSQL CPU per message, "
            f"{n / messages:.3g} SQL statements (plus BEGIN, COMMIT and the pool's pre-ping "
            "per transaction)"
        )
        others = cpu.get("rest of the machine", 0.0)
        if others > 0.1 * cpu["wall"]:
            result.notes.append(
                f"  WARNING: other work used {others / cpu['wall']:.1f} cores during the {step} run"
            )
    return result


# --- main ------------------------------------------------------------------------


def report(results: list[Result], args: argparse.Namespace) -> None:
    floor = next((r for r in results if r.name == "floor"), None)
    print()
    print(f"frontdesk ingest benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    senders = (
        "one new customer per message" if args.customers <= 0 else f"{args.customers} customers"
    )
    print(
        f"load: {args.messages} {args.payload} messages, {args.concurrency} requests in flight, "
        f"{senders}"
        f", {args.warmup} warm-up messages first; HTTP: real uvicorn (`frontdesk serve`) "
        "on localhost, minimal keep-alive HTTP/1.1 client in this process"
    )
    for r in results:
        print()
        print(f"[{r.name}] {r.config}")
        if r.summary_only:
            for note in r.notes:
                print(f"  {note}")
            continue
        line = f"  {r.per_s:8.1f} messages/s end to end ({r.messages} in {r.seconds:.2f} s)"
        if r.intake_per_s is not None:
            line += f"; intake alone {r.intake_per_s:.1f} requests/s"
        print(line)
        if r.p50_ms is not None:
            print(
                f"  latency POST → processed, saturated (mostly queueing): "
                f"p50 {r.p50_ms:.0f} ms, p99 {r.p99_ms:.0f} ms"
            )
        if r.paced is not None:
            rate, n, p50, p99 = r.paced
            print(
                f"  latency POST → processed at {rate:g} messages/s offered ({n} messages): "
                f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
            )
        if floor is not None and r is not floor:
            print(f"  ratio to the asyncpg floor: {r.per_s / floor.per_s:.2f}")
        if r.errors:
            print(
                f"  {len(r.errors)} request(s) failed, e.g.: {'; '.join(sorted(set(r.errors))[:3])}"
            )
        if r.cpu:
            wall = r.cpu.get("wall", 0.0)
            others = r.cpu.get("rest of the machine", 0.0)
            if wall and others > 0.1 * wall * (os.cpu_count() or 1):
                print(
                    f"  WARNING: other work used {others / wall:.1f} of the "
                    f"{os.cpu_count()} cores during this run; the figures are low"
                )
            parts = ", ".join(
                f"{k} {v:.1f} s" for k, v in r.cpu.items() if k != "wall" and v >= 0.05
            )
            print(f"  CPU over {wall:.1f} s wall ({os.cpu_count()} cores): {parts}")
        for note in r.notes:
            print(f"  {note}")
    print()


async def main(args: argparse.Namespace) -> int:
    global PAYLOAD, _quotas_off
    PAYLOAD = args.payload
    _quotas_off = args.no_quotas
    backends = ["sqlite", "postgres", "floor"] if args.backend == "all" else [args.backend]
    work = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    results: list[Result] = []
    try:
        for backend in backends:
            print(f"running {backend} …", file=sys.stderr, flush=True)
            if backend == "sqlite":
                results.append(await bench_sqlite(args, work))
            elif backend == "postgres":
                results.append(await bench_postgres(args, work))
            elif backend == "steps":
                results.append(await bench_steps(args, work))
            else:
                results.append(await bench_floor(args, work))
    finally:
        if args.keep:
            print(f"kept logs and data in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(results, args)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--backend",
        choices=["all", "sqlite", "postgres", "floor", "steps"],
        default="all",
        help="all: sqlite, postgres and floor; steps: intake and ingest alone, in-process",
    )
    p.add_argument("--messages", type=int, default=2000, help="measured messages per backend")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    p.add_argument("--workers", type=int, default=2, help="`frontdesk worker` processes")
    p.add_argument("--threads", type=int, default=8, help="worker threads per worker process")
    p.add_argument("--api-processes", type=int, default=2, help="`frontdesk serve` processes")
    p.add_argument(
        "--customers",
        type=int,
        default=0,
        help="distinct senders (0: a new customer for every message, like the floor)",
    )
    p.add_argument("--warmup", type=int, default=200, help="unmeasured messages first")
    p.add_argument(
        "--latency-seconds",
        type=float,
        default=10,
        help="length of the paced latency run after the throughput run (0: none)",
    )
    p.add_argument(
        "--latency-rate",
        type=float,
        default=0,
        help="messages/s offered in the latency run (0: half the measured throughput)",
    )
    p.add_argument(
        "--payload",
        choices=["webhook", "email"],
        default="webhook",
        help="webhook: signed JSON; email: raw MIME (multipart text and HTML) posted to an "
        "email channel, raw mail in → ticket",
    )
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for ingestion")
    p.add_argument("--keep", action="store_true", help="keep databases, logs (debugging)")
    p.add_argument(
        "--no-quotas",
        action="store_true",
        help="every rate quota 0 (no limit): the rate-limit checks are skipped",
    )
    p.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile every server process with py-spy (raw stacks into DIR)",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
