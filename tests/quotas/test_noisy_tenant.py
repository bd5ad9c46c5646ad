"""A noisy tenant cannot crowd out the others: its flood is refused past its own
limit (429, which providers retry), and what it got in does not hold up another
tenant's messages in ingestion."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import msgspec
from sqlalchemy import select

from channels.test_pipeline import make_channel, payload, post_signed
from conftest import drain, sign_up
from frontdesk.channels.models import InboundEvent
from frontdesk.quotas.service import LimitChanges, set_limits
from frontdesk.runtime import Runtime

FLOOD = 80
A_LIMIT = 40
B_MESSAGES = 6


def _from(who: str, n: int) -> bytes:
    sender = {"kind": "email", "value": f"{who}{n}@example.com", "name": f"{who} {n}"}
    return payload(f"{who}-{n}", f"message {n} from {who}", sender=sender)


async def _events(runtime: Runtime, tenant_id: uuid.UUID) -> list[InboundEvent]:
    async with runtime.db.session(tenant_id) as session:
        return list((await session.scalars(select(InboundEvent))).all())


async def test_a_flooding_tenant_is_limited_and_does_not_hold_up_another(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await sign_up(client)
    b = await sign_up(client)
    a_channel = await make_channel(client, a)
    b_channel = await make_channel(client, b)
    async with runtime.db.session(a.id) as session:
        await set_limits(session, runtime.settings, LimitChanges(inbound_per_minute=A_LIMIT))
    runtime.quotas.forget_limits(a.id)  # another process would see it within seconds
    # Small batches, one worker thread: the fairness of the job order is all there is.
    runtime.jobs.settings = msgspec.structs.replace(runtime.settings, ingest_batch_size=5)

    # A's flood, with B's messages in the middle of it, all in flight at once.
    # A's first message goes ahead, so A's ingest job is queued first.
    first = await post_signed(client, a_channel, _from("a", 0))
    assert first.status_code == 200
    posts = [("a", n) for n in range(1, FLOOD)]
    for k in range(B_MESSAGES):
        posts.insert(10 + 8 * k, ("b", k))
    replies = await asyncio.gather(
        *(
            post_signed(client, a_channel if who == "a" else b_channel, _from(who, n))
            for who, n in posts
        )
    )
    by_tenant: dict[str, list[httpx.Response]] = {"a": [first], "b": []}
    for (who, _), reply in zip(posts, replies, strict=True):
        by_tenant[who].append(reply)

    # B never hears 429; A is refused past its limit, told when to retry.
    assert [r.status_code for r in by_tenant["b"]] == [200] * B_MESSAGES
    # The allowance refills as real time passes (one message per 1.5 s at 40 a
    # minute), so a slow machine lets a few more through: at least the burst,
    # and far from all of them.
    a_codes = [r.status_code for r in by_tenant["a"]]
    assert set(a_codes) == {200, 429}
    accepted = a_codes.count(200)
    assert A_LIMIT <= accepted < FLOOD - 10
    for r in by_tenant["a"]:
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
    # What A was refused is not kept (the provider will send it again).
    assert len(await _events(runtime, a.id)) == accepted

    runtime.jobs.start_worker(threads=1)
    await drain(runtime)

    a_events = await _events(runtime, a.id)
    b_events = await _events(runtime, b.id)
    assert {e.status for e in a_events} == {"processed"}
    assert {e.status for e in b_events} == {"processed"}
    # B's messages went in while A's backlog was still being worked through,
    # not after it: most of A's events were ingested after B's last one.
    b_done = max(e.processed_at for e in b_events if e.processed_at)
    a_after_b = [e for e in a_events if e.processed_at and e.processed_at > b_done]
    assert len(a_after_b) >= A_LIMIT // 2, (len(a_after_b), A_LIMIT)

    # Every one of B's messages is a ticket, as usual.
    r = await client.get("/api/v1/tickets?limit=100", headers=b.admin.headers)
    assert r.status_code == 200
    subjects = sorted(t["subject"] for t in r.json()["items"])
    assert len(subjects) == B_MESSAGES
    r = await client.get("/api/v1/tickets?limit=100", headers=a.admin.headers)
    assert len(r.json()["items"]) == accepted
