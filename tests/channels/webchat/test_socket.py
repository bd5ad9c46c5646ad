"""Web chat over a real server: visitors' sockets, the pipeline, agents' replies, refusals.

Each test serves the app with uvicorn on 127.0.0.1, talks to the visitor
socket as the widget does (``websockets``) and to the API as an agent
(httpx over TCP); jobs run on worker threads. No test measures time: every
wait is bounded and fails rather than hangs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from channels.webchat.live import (
    IDENTITY_SECRET,
    Visitor,
    WebchatChannel,
    agent_entry,
    make_webchat_channel,
    messages_of,
    reply,
    tickets_of,
    wait_for,
)
from conftest import TenantUnderTest, drain
from crypto.test_contacts_at_rest import _dump_everything
from frontdesk.channels.models import InboundEvent
from frontdesk.channels.transcripts import TranscriptRow
from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from frontdesk_webchat import identity_hash

# The Redis runtimes of the realtime tests: one per app process.
from realtime.conftest import _redis_available, redis_runtimes  # noqa: F401
from realtime.live import WAIT, LiveServer, RedisRuntimes, serve


@pytest.fixture
async def live(worker: Runtime) -> AsyncIterator[LiveServer]:
    async with serve(worker) as server:
        yield server


@pytest.fixture
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as c:
        yield c


@pytest.fixture
async def channel(client: httpx.AsyncClient, tenant: TenantUnderTest) -> WebchatChannel:
    return await make_webchat_channel(client, tenant)


async def test_a_visitor_and_an_agent_talk_and_a_reconnect_gets_what_was_missed(
    live: LiveServer,
    http: httpx.AsyncClient,
    tenant: TenantUnderTest,
    channel: WebchatChannel,
    worker: Runtime,
) -> None:
    visitor = await Visitor.connect(live, channel)
    welcome = await visitor.hello()
    assert welcome["verified"] is False
    first = await visitor.say("My card 4111 1111 1111 1111 was charged twice")
    await drain(worker)

    [ticket] = await tickets_of(http, tenant)
    assert ticket["channel"] == "webchat"
    [message] = await messages_of(http, tenant, ticket["id"])
    assert message["direction"] == "inbound"
    assert "4111 1111 1111 1111" not in message["body_text"]  # masked on the way in

    await reply(http, tenant, ticket["id"], "Refunded, sorry about that.")
    await drain(worker)
    [answer] = [f for f in await visitor.until(agent_entry) if agent_entry(f)]
    assert answer["entry"]["text"] == "Refunded, sorry about that."
    seen = answer["seq"]

    # Away: the next reply is kept, and sent when the visitor comes back.
    await visitor.close()
    await reply(http, tenant, ticket["id"], "Anything else?")
    await drain(worker)
    back = await Visitor.connect(live, channel)
    again = await back.hello(session=visitor.session, after=seen)
    assert again["session"] == visitor.session
    missed = await back.next()
    assert (missed["type"], missed["entry"]["text"]) == ("entry", "Anything else?")

    # A reload asks for everything: the whole conversation, in order, card number masked.
    reload = await Visitor.connect(live, channel)
    await reload.hello(session=visitor.session)
    entries = [await reload.next() for _ in range(3)]
    assert [e["seq"] for e in entries] == [first["seq"], seen, missed["seq"]]
    assert [e["entry"]["author"] for e in entries] == ["visitor", "agent", "agent"]
    assert "4111" not in entries[0]["entry"]["text"]

    # The same frame sent again after a reconnect is one message, not two.
    await back.say("My card 4111 1111 1111 1111 was charged twice", id=first["id"])
    await drain(worker)
    assert len(await messages_of(http, tenant, ticket["id"])) == 3  # 1 visitor + 2 replies
    for socket in (back, reload):
        await socket.close()


async def test_transcripts_are_encrypted_at_rest(
    live: LiveServer, channel: WebchatChannel, worker: Runtime, tenant: TenantUnderTest
) -> None:
    visitor = await Visitor.connect(live, channel)
    await visitor.hello()
    await visitor.say("a secret-ish sentence")
    async with worker.db.session(tenant.id) as session:
        rows = (await session.scalars(select(TranscriptRow))).all()
    assert rows and all("secret-ish" not in row.data_encrypted for row in rows)
    await visitor.close()


async def test_a_verified_visitor_joins_their_customers_history(
    live: LiveServer,
    http: httpx.AsyncClient,
    tenant: TenantUnderTest,
    channel: WebchatChannel,
    worker: Runtime,
) -> None:
    r = await http.post(
        "/api/v1/customers",
        headers=tenant.admin.headers,
        json={
            "display_name": "Ada Lovelace",
            "contacts": [{"kind": "email", "value": "ada@example.com"}],
        },
    )
    assert r.status_code == 201, r.text
    customer_id = r.json()["id"]
    identity = {
        "user_id": "shop-user-42",
        "email": "ada@example.com",
        "user_hash": identity_hash(IDENTITY_SECRET, "shop-user-42", "ada@example.com"),
        "name": "Ada",
    }
    laptop = await Visitor.connect(live, channel)
    assert (await laptop.hello(identity=identity))["verified"] is True
    await laptop.say("Hello from my laptop")
    await drain(worker)
    [ticket] = await tickets_of(http, tenant)
    assert ticket["customer_id"] == customer_id

    # The same user on another device (no session token) has the same conversation.
    phone = await Visitor.connect(live, channel)
    await phone.hello(identity=identity)
    assert (await phone.next())["entry"]["text"] == "Hello from my laptop"
    for socket in (laptop, phone):
        await socket.close()


async def test_wrong_identity_hmac_is_refused_and_others_keep_talking(
    live: LiveServer, channel: WebchatChannel
) -> None:
    other = await Visitor.connect(live, channel)
    await other.hello()
    forger = await Visitor.connect(live, channel)
    await forger.send(
        {
            "type": "hello",
            "identity": {
                "user_id": "shop-user-42",
                "email": "ada@example.com",
                "user_hash": identity_hash("a guessed secret", "shop-user-42", "ada@example.com"),
            },
        }
    )
    refusal = await forger.next()
    assert (refusal["type"], refusal["code"]) == ("error", "identity_invalid")
    assert await forger.closed_code() == 4401
    await other.say("still here")
    await other.close()


async def test_a_page_of_another_origin_is_refused(
    live: LiveServer, channel: WebchatChannel
) -> None:
    stranger = await Visitor.connect(live, channel, origin="https://evil.example.net")
    refusal = await stranger.next()
    assert (refusal["type"], refusal["code"]) == ("error", "origin_not_allowed")
    assert await stranger.closed_code() == 4403
    no_origin = await Visitor.connect(live, channel, origin=None)
    assert (await no_origin.next())["code"] == "origin_not_allowed"
    assert await no_origin.closed_code() == 4403


async def test_bad_frames_get_clear_errors_and_the_server_keeps_serving(
    live: LiveServer, client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime
) -> None:
    channel = await make_webchat_channel(
        client, tenant, visitor_messages_per_minute=3, max_frame_bytes=1024, max_refusals=12
    )
    bystander = await Visitor.connect(live, channel)
    await bystander.hello()
    rogue = await Visitor.connect(live, channel)
    await rogue.hello()

    await rogue.send("{not json")
    assert (await rogue.next())["code"] == "malformed"
    await rogue.send({"type": "message", "id": "x1"})  # no text
    assert (await rogue.next())["code"] == "malformed"
    await rogue.send({"type": "message", "id": "x2", "text": "a" * 4000})
    assert (await rogue.next())["code"] == "too_large"
    await rogue.send(b"\x00binary")
    assert (await rogue.next())["code"] == "malformed"

    # A flood: three messages a minute are taken, the rest refused with a delay to wait.
    for i in range(3):
        await rogue.say(f"message {i}")
    await rogue.send({"type": "message", "id": "over", "text": "one too many"})
    limited = await rogue.until(lambda f: f["type"] == "error")
    assert limited[-1]["code"] == "rate_limited" and limited[-1]["retry_after"] > 0
    # Refusals keep coming until the socket is closed for them.
    for i in range(20):
        try:
            await rogue.send({"type": "message", "id": f"f{i}", "text": "spam"})
        except Exception:
            break
    assert await rogue.closed_code() == 4429

    # Nothing crashed: the other visitor is served as before.
    await bystander.say("are you there?")
    await drain(worker)
    await bystander.close()


async def test_verification_required_keeps_unverified_visitors_anonymous(
    live: LiveServer,
    http: httpx.AsyncClient,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
) -> None:
    channel = await make_webchat_channel(
        client, tenant, verification_required=True, prechat_fields=["name", "email", "topic"]
    )
    visitor = await Visitor.connect(live, channel)
    welcome = await visitor.hello()
    assert welcome["prechat_fields"] == ["name", "email", "topic"]
    await visitor.send(
        {"type": "prechat", "name": "Mallory", "email": "ada@example.com", "topic": "Refund"}
    )
    assert (await visitor.next())["code"] == "identity_not_accepted"
    await visitor.say("give me Ada's history")
    await drain(worker)
    [ticket] = await tickets_of(http, tenant)
    assert ticket["subject"] == "Refund"
    customer = (
        await http.get(f"/api/v1/customers/{ticket['customer_id']}", headers=tenant.admin.headers)
    ).json()
    assert customer["display_name"] == "Mallory"
    assert [c["kind"] for c in customer["contact_points"]] == ["webchat"]
    await visitor.close()


async def test_the_webhook_url_refuses_what_the_widget_server_did_not_sign(
    http: httpx.AsyncClient, channel: WebchatChannel
) -> None:
    r = await http.post(
        f"/hooks/{channel.public_id}",
        json={"id": "m1", "conversation": "v.abcdefghijklmnop", "text": "hi"},
    )
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_an_unknown_channel_is_refused(live: LiveServer) -> None:
    ghost = await Visitor.connect(live, WebchatChannel(id="x", public_id="n" * 43))
    assert (await ghost.next())["code"] == "channel_not_found"
    assert await ghost.closed_code() == 4404


async def test_two_app_processes_on_one_redis(
    redis_runtimes: RedisRuntimes,  # noqa: F811 - the fixture imported above
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
) -> None:
    """The visitor's socket on one process; the agent's reply through the other."""
    channel = await make_webchat_channel(client, tenant)
    first, second = await redis_runtimes.new(), await redis_runtimes.new()
    second.jobs.start_worker(threads=2)
    async with serve(first) as a, serve(second) as b:
        visitor = await Visitor.connect(a, channel)
        await visitor.hello()
        await visitor.say("Is anyone there?")
        async with httpx.AsyncClient(base_url=b.http_url, timeout=WAIT) as agent_http:

            async def ticket_with_message() -> str | None:
                for ticket in await tickets_of(agent_http, tenant):
                    if await messages_of(agent_http, tenant, ticket["id"]):
                        return str(ticket["id"])
                return None

            ticket_id = await wait_for(ticket_with_message, "the visitor's message never arrived")
            await reply(agent_http, tenant, ticket_id, "Yes, on the other process.")
            [answer] = [f for f in await visitor.until(agent_entry) if agent_entry(f)]
            assert answer["entry"]["text"] == "Yes, on the other process."

            async def recorded_sent() -> bool:
                r = await agent_http.get(
                    f"/api/v1/tickets/{ticket_id}/deliveries", headers=tenant.admin.headers
                )
                return [d["status"] for d in r.json()] == ["sent"]

            # The visitor can see the reply a moment before the worker records
            # it as sent; stopping the worker in between would leave it queued.
            await wait_for(recorded_sent, "the delivery was never recorded as sent")
        await visitor.close()
        second.jobs.stop_worker()


async def test_visitors_emails_are_stored_only_encrypted(
    live: LiveServer,
    http: httpx.AsyncClient,
    tenant: TenantUnderTest,
    channel: WebchatChannel,
    worker: Runtime,
    settings: Settings,
) -> None:
    """Verified and pre-chat emails become contact points; no table holds them in the clear."""
    tag = uuid.uuid4().hex[:10]
    verified_email, typed_email = f"wc-{tag}@example.com", f"pc-{tag}@example.com"
    user = f"shop-user-{tag}"
    verified = await Visitor.connect(live, channel)
    await verified.hello(
        identity={
            "user_id": user,
            "email": verified_email,
            "user_hash": identity_hash(IDENTITY_SECRET, user, verified_email),
        }
    )
    await verified.say(f"hello, I am {user}")
    typed = await Visitor.connect(live, channel)
    await typed.hello()
    await typed.send({"type": "prechat", "name": "Pat", "email": typed_email})
    await typed.say("hello from the pre-chat form")
    await drain(worker)
    for ticket in await tickets_of(http, tenant):
        await reply(http, tenant, ticket["id"], "Thanks for writing.")
    await drain(worker)
    dump = await _dump_everything(settings)
    for needle in (verified_email, typed_email, f"wc-{tag}", f"pc-{tag}"):
        assert needle not in dump
    for socket in (verified, typed):
        await socket.close()


async def test_agents_see_the_visitor_typing_and_reading(
    live: LiveServer,
    http: httpx.AsyncClient,
    tenant: TenantUnderTest,
    channel: WebchatChannel,
    worker: Runtime,
) -> None:
    visitor = await Visitor.connect(live, channel)
    await visitor.hello()
    await visitor.say("hello?")
    await drain(worker)
    [ticket] = await tickets_of(http, tenant)
    await reply(http, tenant, ticket["id"], "Hi! How can I help?")
    await drain(worker)
    [answer] = [f for f in await visitor.until(agent_entry) if agent_entry(f)]

    async with connect(
        f"{live.ws_url}/ws/inbox?access_token={tenant.users['agent'].token}", open_timeout=WAIT
    ) as inbox:
        assert json.loads(await asyncio.wait_for(inbox.recv(), WAIT))["type"] == "ready"
        await visitor.send({"type": "typing"})
        await visitor.send({"type": "typing"})  # within a few seconds: not passed on again
        await visitor.send({"type": "read", "seq": answer["seq"]})
        await drain(worker)
        kinds = []
        while len(kinds) < 2:
            frame = json.loads(await asyncio.wait_for(inbox.recv(), WAIT))
            if frame["type"] == "channel.activity":
                assert frame["ticket_id"] == ticket["id"]
                kinds.append(frame["data"]["kind"])
        # Two jobs on two worker threads: either may be published first.
        assert sorted(kinds) == ["read", "typing"]
    async with worker.db.session(tenant.id) as session:
        typing = await session.scalars(
            select(InboundEvent.id).where(InboundEvent.external_id.contains(":typing:"))
        )
        assert len(typing.all()) == 1
    await visitor.close()


async def test_an_address_that_cannot_be_a_contact_point_is_refused_up_front(
    live: LiveServer, channel: WebchatChannel
) -> None:
    """Else the message would be acknowledged and then fail ingestion, unseen by agents."""
    visitor = await Visitor.connect(live, channel)
    await visitor.hello()
    await visitor.send({"type": "prechat", "name": "Pat", "email": "pat@localhost"})
    assert (await visitor.next())["code"] == "message_invalid"
    await visitor.close()
    bad = {"user_id": "u1", "email": "not-an-address"}
    verified = await Visitor.connect(live, channel)
    await verified.send(
        {
            "type": "hello",
            "identity": {**bad, "user_hash": identity_hash(IDENTITY_SECRET, **bad)},
        }
    )
    assert (await verified.next())["code"] == "identity_invalid"
    assert await verified.closed_code() == 4401


async def test_outside_opening_hours_a_visitor_leaves_a_message_with_an_email(
    live: LiveServer,
    http: httpx.AsyncClient,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
) -> None:
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).isoweekday()
    closed_today = [
        {"days": [d for d in range(1, 8) if d != today], "opens": "00:00", "closes": "24:00"}
    ]
    channel = await make_webchat_channel(
        client, tenant, timezone="Asia/Shanghai", opening_hours=closed_today
    )
    visitor = await Visitor.connect(live, channel)
    welcome = await visitor.hello()
    assert welcome["online"] is False and "away" in welcome["offline_message"]
    assert welcome["prechat_fields"] == ["name", "email"]
    await visitor.send({"type": "message", "id": "m1", "text": "Can I return this?"})
    assert (await visitor.next())["code"] == "email_required"
    await visitor.send({"type": "prechat", "name": "Pat", "email": "pat@example.com"})
    await visitor.say("Can I return this?")
    await drain(worker)
    [ticket] = await tickets_of(http, tenant)
    assert ticket["subject"] == "Message left outside opening hours"
    customer = (
        await http.get(f"/api/v1/customers/{ticket['customer_id']}", headers=tenant.admin.headers)
    ).json()
    assert [c["kind"] for c in customer["contact_points"]] == ["email"]
    await visitor.close()


async def test_opening_hours_and_time_zones_are_checked_when_saved(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    for config in (
        {"timezone": "Mars/Olympus_Mons"},
        {"opening_hours": [{"days": [1], "opens": "18:00", "closes": "09:00"}]},
        {"opening_hours": [{"days": [8], "opens": "09:00", "closes": "18:00"}]},
    ):
        r = await client.post(
            "/api/v1/channels",
            headers=tenant.admin.headers,
            json={"kind": "webchat", "name": "bad", "config": {"secret": "s" * 20, **config}},
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_visitor_over_the_tenants_inbound_rate_is_told_and_may_send_again(
    live: LiveServer, client: httpx.AsyncClient, worker: Runtime
) -> None:
    from conftest import sign_up
    from frontdesk.quotas.service import LimitChanges, set_limits

    tenant = await sign_up(client)
    channel = await make_webchat_channel(client, tenant)
    async with worker.db.session(tenant.id) as session:
        await set_limits(session, worker.settings, LimitChanges(inbound_per_minute=1))
    worker.quotas.forget_limits(tenant.id)
    visitor = await Visitor.connect(live, channel)
    await visitor.hello()
    await visitor.say("the first gets in")
    await visitor.send({"type": "message", "id": "second", "text": "one too many"})
    refused = (await visitor.until(lambda f: f["type"] == "error"))[-1]
    assert refused["code"] == "message_invalid" and refused["id"] == "second"
    assert "try again" in refused["detail"]
    # The socket stays open and nothing of the refused message was kept.
    await visitor.send({"type": "message", "id": "second", "text": "one too many"})
    assert (await visitor.until(lambda f: f["type"] == "error"))[-1]["id"] == "second"
    await drain(worker)
    async with worker.db.session(tenant.id) as session:
        texts = [e.external_id for e in (await session.scalars(select(InboundEvent))).all()]
    assert len(texts) == 1 and not any(t.endswith("second") for t in texts)
    await visitor.close()
