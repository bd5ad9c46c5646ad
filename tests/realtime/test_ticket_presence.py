"""Presence frames on the inbox socket (the pages' collision notice): relayed to those
who may see the ticket, never across tenants, never for a ticket the sender cannot read."""

from __future__ import annotations

import asyncio

import httpx

from conftest import TenantUnderTest, sign_up
from realtime.live import Inbox, OpenInbox
from realtime.test_inbox_socket import new_customer, new_ticket


async def _nothing_more(inbox: Inbox) -> None:
    """No frame arrives within a short while."""
    try:
        frame = await asyncio.wait_for(inbox.ws.recv(), timeout=0.3)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected frame {frame!r}")


async def test_presence_reaches_colleagues_and_never_another_tenant(
    http: httpx.AsyncClient, tenant: TenantUnderTest, open_inbox: OpenInbox
) -> None:
    other = await sign_up(http)
    agent, colleague = tenant.users["agent"], tenant.users["success_manager"]
    ours = await new_ticket(http, tenant.admin, await new_customer(http, tenant.admin))
    theirs = await new_ticket(http, other.admin, await new_customer(http, other.admin))
    sender = await open_inbox(agent)
    watcher = await open_inbox(colleague)
    outsider = await open_inbox(other.admin)

    # Another tenant's ticket, a made-up activity, not JSON at all: dropped without a word.
    await sender.send({"type": "presence", "ticket_id": theirs, "activity": "viewing"})
    await sender.send({"type": "presence", "ticket_id": ours, "activity": "shouting"})
    await sender.send("not json")
    await sender.send({"type": "presence", "ticket_id": ours, "activity": "typing"})
    frame = await watcher.next()
    assert frame["type"] == "presence"
    assert frame["ticket_id"] == ours
    assert frame["data"] == {
        "user_id": str(agent.user_id),
        "name": "Agent",
        "activity": "typing",
    }
    await _nothing_more(watcher)
    await _nothing_more(outsider)
