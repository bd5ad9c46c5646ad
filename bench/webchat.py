#!/usr/bin/env python3
"""Web chat benchmark: many visitor sockets on one app process.

Prints figures; never asserts timings. One ``frontdesk serve`` process
(embedded: SQLite, the in-process broker and pub/sub; or PostgreSQL and
Redis with ``--backend postgres``) serves a web chat channel; this process
opens ``--visitors`` sockets to it, as that many open widgets would, and
reports:

* memory per connection: the server's resident set size (``/proc``) after
  the sockets said hello, minus before, divided by the number of sockets;
* message round trip: a steady ``--rate`` of messages per second from
  random visitors for ``--seconds``; each from just before it is sent to its
  ``ack`` (through the intake: verified, stored, masked, ingest job sent,
  recorded in the transcript), p50 / p99 / max;
* reply round trip: for ``--replies`` of those visitors, an agent's reply
  posted to the API until it arrives on the visitor's socket (the deliver
  job, the transcript, the pub/sub), p50 / p99 / max.

    python bench/webchat.py --visitors 2000 --rate 50 --seconds 20

PostgreSQL and Redis for ``--backend postgres`` come from
FRONTDESK_BENCH_POSTGRES_URL / FRONTDESK_BENCH_REDIS_URL (else the test
suite's FRONTDESK_TEST_* URLs, else the local defaults); the PostgreSQL URL
must be a superuser (a database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
FRONTDESK = Path(sys.executable).with_name("frontdesk")
PG_URL = os.environ.get(
    "FRONTDESK_BENCH_POSTGRES_URL",
    os.environ.get("FRONTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
REDIS_URL = os.environ.get(
    "FRONTDESK_BENCH_REDIS_URL",
    os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
)
WAIT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    ms = [v * 1000 for v in values]
    return (
        f"{name}: n={len(ms)} p50={statistics.median(ms):.1f} ms "
        f"p99={percentile(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )


class Visitor:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.agent: asyncio.Queue[float] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame["type"] == "ack" and frame["id"] in self.waiting:
                self.waiting.pop(frame["id"]).set_result(None)
            elif frame["type"] == "entry" and frame["entry"]["author"] == "agent":
                self.agent.put_nowait(time.perf_counter())
            elif frame["type"] == "error":
                print(f"  error frame: {frame}", file=sys.stderr)

    async def say(self, text: str) -> float:
        message_id = uuid.uuid4().hex[:16]
        done = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = done
        start = time.perf_counter()
        await self.ws.send(json.dumps({"type": "message", "id": message_id, "text": text}))
        await asyncio.wait_for(done, WAIT)
        return time.perf_counter() - start


async def open_visitor(url: str) -> Visitor:
    # No keepalive pings from this side (browsers send none): on a loaded machine the
    # benchmark's own pings time out before the server is measured.
    ws = await connect(url, open_timeout=WAIT, max_queue=None, ping_interval=None)
    await ws.send(json.dumps({"type": "hello"}))
    welcome = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert welcome["type"] == "welcome", welcome
    return Visitor(ws)


async def run(args: argparse.Namespace, base: str, pid: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as http:
        slug = f"bench-{uuid.uuid4().hex[:8]}"
        r = await http.post(
            "/api/v1/signup",
            json={
                "tenant_name": "Bench",
                "tenant_slug": slug,
                "admin_email": f"admin@{slug}.example.com",
                "admin_name": "Bench Admin",
                "password": "correct horse battery",
            },
        )
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['tokens']['access_token']}"}
        r = await http.post(
            "/api/v1/channels",
            headers=headers,
            json={
                "kind": "webchat",
                "name": "bench",
                "config": {
                    "secret": secrets.token_urlsafe(24),
                    "visitor_messages_per_minute": 10_000,
                    "ip_messages_per_minute": 100_000,
                },
            },
        )
        r.raise_for_status()
        public_id = r.json()["webhook_url"].rsplit("/", 1)[1]
        url = f"{base.replace('http', 'ws', 1)}/channels/webchat/ws/{public_id}"

        before = rss_kib(pid)
        visitors: list[Visitor] = []
        started = time.perf_counter()
        for batch in range(0, args.visitors, 100):
            count = min(100, args.visitors - batch)
            visitors += await asyncio.gather(*(open_visitor(url) for _ in range(count)))
        opened = time.perf_counter() - started
        await asyncio.sleep(1)  # let the server settle before reading its memory
        after = rss_kib(pid)
        print(f"visitors: {len(visitors)} open (opened in {opened:.1f} s)")
        print(
            f"server RSS: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after: "
            f"{(after - before) / len(visitors):.1f} KiB per connection"
        )

        # Steady rate: one message every 1/rate s, each from a random visitor.
        round_trips: list[float] = []
        tasks = []
        total = int(args.rate * args.seconds)
        first_from: dict[int, Visitor] = {}
        t0 = time.perf_counter()
        for i in range(total):
            delay = t0 + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            index = random.randrange(len(visitors))
            first_from.setdefault(index, visitors[index])
            tasks.append(asyncio.create_task(visitors[index].say(f"message {i}")))
        round_trips = list(await asyncio.gather(*tasks))
        print(f"offered {args.rate}/s for {args.seconds} s")
        print(describe("message → ack", round_trips))

        # Replies: wait until the sample's tickets exist, then answer each.
        sample = list(first_from.values())[: args.replies]
        deadline = time.perf_counter() + 120
        tickets: list[dict[str, Any]] = []
        while time.perf_counter() < deadline:
            r = await http.get("/api/v1/tickets", headers=headers, params={"limit": 100})
            r.raise_for_status()
            tickets = r.json()["items"]
            if len(tickets) >= len(sample):
                break
            await asyncio.sleep(0.5)
        # Which visitor a ticket belongs to is not visible to the API client;
        # any reply goes to its own ticket's visitor, so wait on all of them.
        reply_times: list[float] = []
        for ticket in tickets[: len(sample)]:
            start = time.perf_counter()
            r = await http.post(
                f"/api/v1/tickets/{ticket['id']}/messages",
                headers=headers,
                json={"kind": "reply", "body": "Thanks, looking into it."},
            )
            r.raise_for_status()
            arrived = await first_agent_entry(visitors)
            reply_times.append(arrived - start)
        print(describe("agent reply → visitor", reply_times))
        for visitor in visitors:
            visitor.reader.cancel()
            await visitor.ws.close()


async def first_agent_entry(visitors: list[Visitor]) -> float:
    getters = [asyncio.create_task(v.agent.get()) for v in visitors]
    try:
        done, _ = await asyncio.wait(getters, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if not done:
            raise TimeoutError("a reply never arrived")
        return min(t.result() for t in done)
    finally:
        for task in getters:
            task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--replies", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    data = Path(tempfile.mkdtemp(prefix="frontdesk-bench-webchat-"))
    env = {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(data),
        "FRONTDESK_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "FRONTDESK_INSECURE_FAST_PASSWORD_HASHING": "1",
    }
    pg_name = ""
    if args.backend == "postgres":
        pg_name = f"frontdesk_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg(f'CREATE DATABASE "{pg_name}"'))
        env["FRONTDESK_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + f"/{pg_name}"
        env["FRONTDESK_REDIS_URL"] = REDIS_URL
        env["FRONTDESK_REDIS_NAMESPACE"] = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    server = worker = None
    try:
        subprocess.run([FRONTDESK, "db", "upgrade"], env=env, check=True, cwd=ROOT)  # noqa: S603
        server = subprocess.Popen(  # noqa: S603 - our own command
            [FRONTDESK, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT
        )
        if args.backend == "postgres":
            worker = subprocess.Popen([FRONTDESK, "worker"], env=env, cwd=ROOT)  # noqa: S603
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        print(f"backend: {args.backend}; one app process (pid {server.pid}); {os.cpu_count()} CPUs")
        asyncio.run(run(args, base, server.pid))
    finally:
        for proc in (worker, server):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
