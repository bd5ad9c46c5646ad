"""The agents' live inbox over a real server: what a signed-in user's socket shows.

A socket's frames arrive in the order they were sent, so "nothing else
arrived" is checked with a sentinel: after the actions whose events must not
reach a socket, one more action that it must see; anything leaked would have
come before the sentinel's frame. No test waits for silence or measures time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from conftest import Actor, TenantUnderTest, add_user, sign_up
from frontdesk.config import Settings
from frontdesk.realtime.pubsub import LocalPubSub
from frontdesk.runtime import Runtime
from realtime.live import (
    WAIT,
    Frame,
    LiveServer,
    OpenInbox,
    RedisRuntimes,
    SlowToSubscribe,
    serve,
)

CLOSE_UNAUTHENTICATED = 4401


# --- helpers: what a user does, over HTTP ----------------------------------------


async def new_customer(http: httpx.AsyncClient, actor: Actor) -> str:
    r = await http.post(
        "/api/v1/customers", headers=actor.headers, json={"display_name": "Chen Jie"}
    )
    assert r.status_code == 201, r.text
    customer_id: str = r.json()["id"]
    return customer_id


async def new_ticket(http: httpx.AsyncClient, actor: Actor, customer_id: str, **fields: Any) -> str:
    body = {"customer_id": customer_id, "subject": "Router keeps dropping", **fields}
    r = await http.post("/api/v1/tickets", headers=actor.headers, json=body)
    assert r.status_code == 201, r.text
    ticket_id: str = r.json()["id"]
    return ticket_id


async def post_message(
    http: httpx.AsyncClient, actor: Actor, ticket_id: str, kind: str = "note"
) -> str:
    r = await http.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=actor.headers,
        json={"kind": kind, "body": f"a {kind} on {ticket_id}"},
    )
    assert r.status_code == 201, r.text
    message_id: str = r.json()["id"]
    return message_id


async def assign(http: httpx.AsyncClient, actor: Actor, ticket_id: str, **fields: Any) -> None:
    r = await http.post(f"/api/v1/tickets/{ticket_id}/assign", headers=actor.headers, json=fields)
    assert r.status_code == 200, r.text


def created(ticket_id: str) -> Callable[[Frame], bool]:
    """Matches the frame of the ticket's creation."""

    def match(frame: Frame) -> bool:
        return bool(
            frame["type"] == "ticket.event"
            and frame["ticket_id"] == ticket_id
            and frame["data"]["kind"] == "created"
        )

    return match


def message(message_id: str) -> Callable[[Frame], bool]:
    """Matches the frame of the message's arrival."""

    def match(frame: Frame) -> bool:
        return bool(
            frame["type"] == "message.created" and frame["data"]["message_id"] == message_id
        )

    return match


def ticket_ids(frames: list[Frame]) -> set[str]:
    return {f["ticket_id"] for f in frames}


# --- 1. tenants ------------------------------------------------------------------


async def test_agent_sees_own_tenants_events_and_never_anothers(
    http: httpx.AsyncClient,
    open_inbox: OpenInbox,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
) -> None:
    agent = tenant.users["agent"]
    theirs = other_tenant.admin
    inbox = await open_inbox(agent)
    their_inbox = await open_inbox(theirs)
    our_customer, their_customer = await asyncio.gather(
        new_customer(http, agent), new_customer(http, theirs)
    )

    async def work(actor: Actor, customer_id: str) -> tuple[str, str]:
        ticket_id = await new_ticket(http, actor, customer_id)
        return ticket_id, await post_message(http, actor, ticket_id)

    # Both tenants at once, as two companies' agents would be.
    (our_ticket, our_note), (their_ticket, their_note) = await asyncio.gather(
        work(agent, our_customer), work(theirs, their_customer)
    )

    frames = await inbox.until(message(our_note))
    first = next(f for f in frames if created(our_ticket)(f))
    assert first["tenant_id"] == str(tenant.id)
    assert first["data"]["state"] == "new"
    assert first["data"]["number"].startswith("CS-")
    note = frames[-1]
    assert note["ticket_id"] == our_ticket
    assert (note["data"]["kind"], note["data"]["direction"]) == ("note", "internal")

    # The sentinel: one more action of our own, seen after anything B could have leaked.
    sentinel = await post_message(http, agent, our_ticket, kind="reply")
    frames += await inbox.until(message(sentinel))
    assert {f["tenant_id"] for f in frames} == {str(tenant.id)}
    assert their_ticket not in ticket_ids(frames)
    assert their_note not in {f["data"].get("message_id") for f in frames}

    # And the other way round: B's admin sees B's work and none of ours.
    theirs_seen = await their_inbox.until(message(their_note))
    their_sentinel = await post_message(http, theirs, their_ticket)
    theirs_seen += await their_inbox.until(message(their_sentinel))
    assert any(created(their_ticket)(f) for f in theirs_seen)
    assert {f["tenant_id"] for f in theirs_seen} == {str(other_tenant.id)}
    assert our_ticket not in ticket_ids(theirs_seen)


async def test_sign_in_with_a_first_frame(
    http: httpx.AsyncClient, connect_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    """Browsers cannot set headers on a websocket; the token may come as the first frame."""
    agent = tenant.users["agent"]
    inbox = await connect_inbox()
    await inbox.send({"type": "auth", "token": agent.token})
    assert await inbox.next() == {"type": "ready", "user_id": str(agent.user_id)}
    ticket_id = await new_ticket(http, agent, await new_customer(http, agent))
    await inbox.until(created(ticket_id))


# --- 2. teams --------------------------------------------------------------------


async def test_engineer_sees_engineering_and_own_tickets_agent_sees_all(
    http: httpx.AsyncClient, open_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    engineering = str(tenant.teams["engineering"])
    front_line = str(tenant.teams["front-line"])
    engineer_inbox = await open_inbox(engineer)
    agent_inbox = await open_inbox(agent)
    customer = await new_customer(http, agent)

    handed_off = await new_ticket(http, agent, customer, team_id=engineering)
    theirs = await new_ticket(http, agent, customer, assignee_id=str(engineer.user_id))
    front = await new_ticket(http, agent, customer)  # the default team: front-line
    front_note = await post_message(http, agent, front)
    theirs_note = await post_message(http, agent, theirs)
    sentinel = await post_message(http, agent, handed_off)

    seen = await engineer_inbox.until(message(sentinel))
    assert any(created(handed_off)(f) for f in seen)
    mine = next(f for f in seen if created(theirs)(f))
    assert (mine["team_id"], mine["assignee_id"]) == (front_line, str(engineer.user_id))
    assert any(message(theirs_note)(f) for f in seen)
    assert front not in ticket_ids(seen)

    everything = await agent_inbox.until(message(sentinel))
    assert ticket_ids(everything) == {handed_off, theirs, front}
    assert any(created(front)(f) for f in everything)
    assert any(message(front_note)(f) for f in everything)

    # Handed to engineering: from then on the engineer sees the ticket.
    await assign(http, agent, front, team_id=engineering)
    moved = await engineer_inbox.until(
        lambda f: f["ticket_id"] == front and f["data"]["kind"] == "team_changed"
    )
    assert moved[-1]["data"]["before"] == front_line
    assert moved[-1]["data"]["after"] == engineering
    assert front not in ticket_ids(moved[:-1])
    assert ticket_ids(moved) <= {handed_off, theirs, front}


async def test_engineer_is_told_when_a_ticket_leaves_them(
    http: httpx.AsyncClient, open_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    """Handed back or unassigned: the one frame that lets the inbox drop the ticket."""
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    engineering = str(tenant.teams["engineering"])
    front_line = str(tenant.teams["front-line"])
    engineer_inbox = await open_inbox(engineer)
    customer = await new_customer(http, agent)
    handed_off = await new_ticket(http, agent, customer, team_id=engineering)
    theirs = await new_ticket(http, agent, customer, assignee_id=str(engineer.user_id))
    await engineer_inbox.until(created(theirs))

    await assign(http, agent, handed_off, team_id=front_line)
    frames = await engineer_inbox.until(lambda f: f["ticket_id"] == handed_off)
    assert frames[-1]["data"]["kind"] == "team_changed"
    assert frames[-1]["data"]["after"] == front_line

    await assign(http, agent, theirs, assignee_id=None)
    frames = await engineer_inbox.until(lambda f: f["ticket_id"] == theirs)
    assert frames[-1]["data"]["kind"] == "assigned"
    assert frames[-1]["data"]["after"] is None

    # Gone from their view: later work on those tickets is not shown to them.
    gone = [await post_message(http, agent, t) for t in (handed_off, theirs)]
    sentinel_ticket = await new_ticket(http, agent, customer, team_id=engineering)
    frames = await engineer_inbox.until(created(sentinel_ticket))
    assert ticket_ids(frames) == {sentinel_ticket}
    assert not any(message(m)(f) for m in gone for f in frames)


# --- 3. sign-in ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "?access_token=not-a-token",
        "?access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "?access_token=fda_00000000000000000000000000000000_nope",
    ],
    ids=["garbage", "forged-jwt", "unknown-api-token"],
)
async def test_bad_token_is_closed_4401(
    http: httpx.AsyncClient, connect_inbox: OpenInbox, tenant: TenantUnderTest, query: str
) -> None:
    inbox = await connect_inbox(query)
    assert await inbox.closed_code() == CLOSE_UNAUTHENTICATED


@pytest.mark.parametrize(
    "first_frame",
    [
        "",
        "hello",
        json.dumps({"type": "auth"}),
        json.dumps({"type": "auth", "token": ""}),
        json.dumps({"type": "auth", "token": 42}),
        json.dumps({"type": "auth", "token": "x" * 10_000}),
        b"\x00\x01",
    ],
    ids=["empty", "not-json", "no-token", "empty-token", "number", "huge", "binary"],
)
async def test_missing_token_is_closed_4401(
    connect_inbox: OpenInbox, tenant: TenantUnderTest, first_frame: str | bytes
) -> None:
    inbox = await connect_inbox()
    await inbox.send(first_frame)
    assert await inbox.closed_code() == CLOSE_UNAUTHENTICATED


async def test_client_that_leaves_before_signing_in(
    http: httpx.AsyncClient, live: LiveServer, open_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    """A socket closed before its first frame costs the server nothing; others carry on."""
    async with connect(f"{live.ws_url}/ws/inbox", open_timeout=WAIT) as ws:
        await ws.send(b"\x00\x01")
    agent = tenant.users["agent"]
    inbox = await open_inbox(agent)
    ticket_id = await new_ticket(http, agent, await new_customer(http, agent))
    await inbox.until(created(ticket_id))


async def test_another_tenants_token_shows_only_its_own(
    http: httpx.AsyncClient,
    open_inbox: OpenInbox,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
) -> None:
    """A valid token is a valid token of *its* tenant: nothing else comes through."""
    stranger = await open_inbox(other_tenant.admin)
    agent = tenant.users["agent"]
    ours = await new_ticket(http, agent, await new_customer(http, agent))
    theirs = await new_ticket(
        http, other_tenant.admin, await new_customer(http, other_tenant.admin)
    )
    frames = await stranger.until(created(theirs))
    assert ours not in ticket_ids(frames)


async def test_deactivated_user_is_refused(
    http: httpx.AsyncClient, connect_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    engineer = tenant.users["engineer"]
    r = await http.patch(
        f"/api/v1/users/{engineer.user_id}",
        headers=tenant.admin.headers,
        json={"is_active": False},
    )
    assert r.status_code == 200, r.text
    by_url = await connect_inbox(f"?access_token={engineer.token}")
    assert await by_url.closed_code() == CLOSE_UNAUTHENTICATED
    by_frame = await connect_inbox()
    await by_frame.send({"type": "auth", "token": engineer.token})
    assert await by_frame.closed_code() == CLOSE_UNAUTHENTICATED


async def test_deactivated_users_open_socket_is_closed(
    http: httpx.AsyncClient, open_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    """Someone who leaves the company stops seeing tickets at once, not when they reconnect."""
    agent = await add_user(http, tenant, "agent", teams=["front-line"])
    inbox = await open_inbox(agent)
    r = await http.patch(
        f"/api/v1/users/{agent.user_id}", headers=tenant.admin.headers, json={"is_active": False}
    )
    assert r.status_code == 200, r.text
    assert await inbox.closed_code() == CLOSE_UNAUTHENTICATED


async def test_team_changes_take_effect_on_an_open_socket(
    http: httpx.AsyncClient, open_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    """Joining or leaving a team changes what an open inbox shows, as it does the ticket list."""
    agent, engineer = tenant.users["agent"], tenant.users["engineer"]
    success, engineering = str(tenant.teams["success"]), str(tenant.teams["engineering"])
    members = f"/api/v1/teams/{{team}}/members/{engineer.user_id}"
    inbox = await open_inbox(engineer)
    customer = await new_customer(http, agent)

    r = await http.put(members.format(team=success), headers=tenant.admin.headers, json={})
    assert r.status_code == 200, r.text
    joined = await new_ticket(http, agent, customer, team_id=success)
    await inbox.until(created(joined))

    r = await http.delete(members.format(team=engineering), headers=tenant.admin.headers)
    assert r.status_code == 204, r.text
    left = await new_ticket(http, agent, customer, team_id=engineering)
    sentinel = await post_message(http, agent, joined)
    frames = await inbox.until(message(sentinel))
    assert left not in ticket_ids(frames)


async def test_ready_means_nothing_after_it_is_missed(
    settings: Settings, open_inbox: OpenInbox, tenant: TenantUnderTest
) -> None:
    """The first ticket after the inbox opens is shown, however slow the subscription is."""
    slow = Runtime(settings, pool_size=2, pubsub=SlowToSubscribe(LocalPubSub()))
    await slow.start(worker=False)
    try:
        async with serve(slow) as server:
            agent = tenant.users["agent"]
            inbox = await open_inbox(agent, server=server)
            async with httpx.AsyncClient(base_url=server.http_url, timeout=WAIT) as http:
                ticket_id = await new_ticket(http, agent, await new_customer(http, agent))
            await inbox.until(created(ticket_id))
            await inbox.close()
    finally:
        await slow.close()


# --- 4. several app processes: Redis pub/sub -------------------------------------


async def test_events_reach_the_socket_whichever_process_holds_it(
    redis_runtimes: RedisRuntimes,
    open_inbox: OpenInbox,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
) -> None:
    """Two app processes on one database and one Redis: a reply made through one
    reaches agents whose sockets the other serves, and only the right tenant's."""
    agent = tenant.users["agent"]
    first, second = await redis_runtimes.new(), await redis_runtimes.new()
    async with serve(first) as holds_socket, serve(second) as takes_request:
        inbox = await open_inbox(agent, server=holds_socket)
        local = await open_inbox(agent, server=takes_request)
        stranger = await open_inbox(other_tenant.admin, server=holds_socket)
        async with httpx.AsyncClient(base_url=takes_request.http_url, timeout=WAIT) as http:
            ticket_id = await new_ticket(http, agent, await new_customer(http, agent))
            reply = await post_message(http, agent, ticket_id, kind="reply")
            theirs = await new_ticket(
                http, other_tenant.admin, await new_customer(http, other_tenant.admin)
            )

        frames = await inbox.until(message(reply))
        assert any(created(ticket_id)(f) for f in frames)
        assert frames[-1]["data"]["direction"] == "outbound"
        assert {f["tenant_id"] for f in frames} == {str(tenant.id)}
        # The process that made the change serves its own sockets the same way.
        await local.until(message(reply))
        # The other tenant's socket on the same process: its own ticket, nothing of ours.
        theirs_seen = await stranger.until(created(theirs))
        assert ticket_id not in ticket_ids(theirs_seen)
        for socket in (inbox, local, stranger):
            await socket.close()


async def test_second_tenant_signs_up_through_another_process(
    redis_runtimes: RedisRuntimes, open_inbox: OpenInbox
) -> None:
    """A tenant whose sign-up and socket are on different processes still gets its events."""
    first, second = await redis_runtimes.new(), await redis_runtimes.new()
    async with (
        serve(first) as one,
        serve(second) as two,
        httpx.AsyncClient(base_url=one.http_url, timeout=WAIT) as http_one,
        httpx.AsyncClient(base_url=two.http_url, timeout=WAIT) as http_two,
    ):
        company = await sign_up(http_one)
        inbox = await open_inbox(company.admin, server=two)
        ticket_id = await new_ticket(
            http_one, company.admin, await new_customer(http_one, company.admin)
        )
        note = await post_message(http_two, company.admin, ticket_id)
        frames = await inbox.until(message(note))
        assert any(created(ticket_id)(f) for f in frames)
        await inbox.close()
