"""The inbox's search: a subject's words and every message's, following erasure, edits
and moved messages, within the tenant only."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import delete, text, update

from conftest import Actor, sign_up
from frontdesk.auth import service as auth
from frontdesk.runtime import Runtime
from frontdesk.tickets.inbox import InboxQuery, View, inbox_page
from frontdesk.tickets.models import Message

# Unique to this run: the database is shared with other tests.
TAG = uuid.uuid4().hex[:6]
KETTLE = f"kettle{TAG}"  # in a subject
THERMOSTAT = f"thermostat{TAG}"  # in a later message


async def search(runtime: Runtime, actor: Actor, q: str) -> list[str]:
    """The ids the inbox lists for ``q`` (every ticket, newest first), as ``actor`` sees it."""
    async with runtime.db.session(actor.tenant_id) as session:
        principal = await auth.principal_for_user(
            session, await auth.get_user(session, actor.user_id)
        )
        found = await inbox_page(session, principal, InboxQuery(view=View.ALL, q=q), limit=51)
    return [str(t.id) for t in found]


async def a_ticket(
    client: httpx.AsyncClient, actor: Actor, *, subject: str, body: str
) -> tuple[str, str]:
    """A new customer's ticket; returns the ticket's id and the customer's."""
    customer = await client.post(
        "/api/v1/customers",
        headers=actor.headers,
        json={
            "display_name": "Li Wei",
            "contacts": [{"kind": "email", "value": f"li.wei.{uuid.uuid4().hex[:6]}@example.com"}],
        },
    )
    assert customer.status_code == 201, customer.text
    r = await client.post(
        "/api/v1/tickets",
        headers=actor.headers,
        json={"customer_id": customer.json()["id"], "subject": subject, "body": body},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], customer.json()["id"]


async def note(client: httpx.AsyncClient, actor: Actor, ticket_id: str, body: str) -> None:
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        headers=actor.headers,
        json={"kind": "note", "body": body},
    )
    assert r.status_code == 201, r.text


async def test_search_finds_the_subjects_words_and_a_later_messages_in_its_tenant_only(
    client: httpx.AsyncClient, runtime: Runtime, backend: str
) -> None:
    ours, theirs = await sign_up(client), await sign_up(client)
    kettle, _ = await a_ticket(
        client, ours.admin, subject=f"The {KETTLE} leaks", body="It started on Monday"
    )
    other, _ = await a_ticket(client, ours.admin, subject="Router drops", body="Every night")
    await note(client, ours.admin, kettle, f"The {THERMOSTAT} is stuck at 100")
    # The other tenant's ticket holds the same words, and is newer.
    await a_ticket(client, theirs.admin, subject=f"My {KETTLE}", body=f"{THERMOSTAT} too")

    assert await search(runtime, ours.admin, KETTLE) == [kettle]
    assert await search(runtime, ours.admin, THERMOSTAT) == [kettle]
    assert await search(runtime, ours.admin, "router") == [other]
    assert await search(runtime, ours.admin, f"nothing{TAG}") == []
    if backend == "postgres":
        # Full text: every word, wherever on the ticket each one is.
        assert await search(runtime, ours.admin, f"{THERMOSTAT} {KETTLE}") == [kettle]
        assert await search(runtime, ours.admin, f"{THERMOSTAT} router") == []
    assert len(await search(runtime, theirs.admin, KETTLE)) == 1


async def test_an_erased_customers_words_are_no_longer_found(
    client: httpx.AsyncClient, runtime: Runtime, backend: str
) -> None:
    t = await sign_up(client)
    ticket, customer = await a_ticket(
        client, t.admin, subject=f"The {KETTLE} leaks", body="It started on Monday"
    )
    await note(client, t.admin, ticket, f"The {THERMOSTAT} is stuck")
    assert await search(runtime, t.admin, THERMOSTAT) == [ticket]

    r = await client.post(f"/api/v1/customers/{customer}/erase", headers=t.admin.headers)
    assert r.status_code == 200, r.text

    for word in (KETTLE, THERMOSTAT, "monday", "stuck"):
        assert await search(runtime, t.admin, word) == [], word
    if backend == "postgres":
        # The stored words are text at rest too: only the erased subject's are left.
        async with runtime.db.session(t.id) as session:
            stored = await session.scalar(
                text("SELECT search_vector::text FROM tickets WHERE id = :id"), {"id": ticket}
            )
        assert stored == "'erased'"


@pytest.mark.postgres_only
async def test_search_follows_a_message_edited_moved_or_deleted(
    client: httpx.AsyncClient, runtime: Runtime, backend: str
) -> None:
    """No feature edits, moves or deletes a message one by one yet (a ticket merge
    would move them); the triggers keep search right whichever code does it."""
    t = await sign_up(client)
    kettle, _ = await a_ticket(client, t.admin, subject="Kettle", body=f"The {THERMOSTAT}")
    router, _ = await a_ticket(client, t.admin, subject="Router", body="Drops every night")
    tenant_id = t.id

    async def set_body(ticket_id: str, body: str) -> None:
        async with runtime.db.session(tenant_id) as session:
            await session.execute(
                update(Message)
                .where(Message.ticket_id == uuid.UUID(ticket_id))
                .values(body_text=body)
            )

    await set_body(kettle, "The element")  # redacted
    assert await search(runtime, t.admin, THERMOSTAT) == []
    assert await search(runtime, t.admin, "element") == [kettle]

    async with runtime.db.session(tenant_id) as session:  # merged into the router's ticket
        await session.execute(
            update(Message)
            .where(Message.ticket_id == uuid.UUID(kettle))
            .values(ticket_id=uuid.UUID(router))
        )
    assert await search(runtime, t.admin, "element") == [router]
    assert await search(runtime, t.admin, "kettle") == [kettle]  # its subject stays

    async with runtime.db.session(tenant_id) as session:
        await session.execute(delete(Message).where(Message.ticket_id == uuid.UUID(router)))
    assert await search(runtime, t.admin, "element") == []
    assert await search(runtime, t.admin, "drops") == []
    assert await search(runtime, t.admin, "router") == [router]


@pytest.mark.postgres_only
async def test_only_the_match_operator_is_leakproof(runtime: Runtime, backend: str) -> None:
    """``@@`` (``ts_match_vq``) must be LEAKPROOF for the GIN index to serve a search under
    row-level security (docs/benchmarks.md); ``to_tsvector`` no longer needs to be, and is not."""
    async with runtime.db.session() as session:
        marked = {
            name: leakproof
            for name, leakproof in await session.execute(
                text(
                    "SELECT CAST(oid AS regprocedure)::text, proleakproof FROM pg_proc "
                    "WHERE oid IN (CAST('to_tsvector(regconfig, text)' AS regprocedure), "
                    "CAST('ts_match_vq(tsvector, tsquery)' AS regprocedure))"
                )
            )
        }
    assert marked == {
        "to_tsvector(regconfig,text)": False,
        "ts_match_vq(tsvector,tsquery)": True,
    }
