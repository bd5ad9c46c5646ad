"""The console's pages over HTTP: sign-in, the session and its CSRF token, escaping,
tenant isolation and permissions. The browser tests (test_console_browser.py)
drive the same pages in Chromium; these cover what a browser would not show.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from conftest import PASSWORD, Actor, TenantUnderTest, sign_up
from frontdesk.attachments import service as attachments
from frontdesk.channels import Attachment, ContactRef, InboundMessage, Parsed
from frontdesk.channels import service as channels
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.runtime import Runtime
from frontdesk.tickets.models import Message

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def browser_sign_in(client: httpx.AsyncClient, actor: Actor) -> str:
    """Sign in through the form; returns the page's CSRF token. The cookie stays in ``client``."""
    r = await client.post(
        "/app/login", data={"tenant": actor.slug, "email": actor.email, "password": PASSWORD}
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/app/inbox"
    inbox = await client.get("/app/inbox")
    assert inbox.status_code == 200, inbox.text
    match = re.search(r'data-csrf="([^"]+)"', inbox.text)
    assert match
    return match.group(1)


def browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second cookie jar on the same app: another browser."""
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver")


async def a_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest, *, subject: str, name: str
) -> dict[str, Any]:
    h = tenant.admin.headers
    customer = await client.post(
        "/api/v1/customers",
        headers=h,
        json={
            "display_name": name,
            "contacts": [{"kind": "email", "value": f"li.wei.{uuid.uuid4().hex[:6]}@example.com"}],
        },
    )
    assert customer.status_code == 201, customer.text
    r = await client.post(
        "/api/v1/tickets",
        headers=h,
        json={"customer_id": customer.json()["id"], "subject": subject, "body": XSS},
    )
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


async def test_sign_in_session_cookie_sign_out_and_deactivation(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    async with browser(client) as b:
        r = await b.get("/app/inbox")
        assert r.status_code == 303 and r.headers["location"] == "/app/login"
        wrong = await b.post(
            "/app/login",
            data={"tenant": tenant.slug, "email": tenant.admin.email, "password": "nope"},
        )
        assert wrong.status_code == 401
        assert "fd_session" not in b.cookies
        agent = tenant.users["agent"]
        r = await b.post(
            "/app/login", data={"tenant": agent.slug, "email": agent.email, "password": PASSWORD}
        )
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("fd_session=fds_")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        page = await b.get("/app/inbox")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        # An agent is not an admin: the console's pages are refused, as the API's are.
        assert (await b.get("/app/admin/channels")).status_code == 403
        csrf = re.search(r'data-csrf="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        # Chinese: by the browser's language before sign-in, by the switch after.
        login_zh = await b.get("/app/login", headers={"accept-language": "zh-CN,zh;q=0.9"})
        assert "登录" in login_zh.text and 'lang="zh-CN"' in login_zh.text
        assert "收件箱" not in page.text
        r = await b.post("/app/language", data={"_csrf": csrf, "next": "/app/inbox"})
        assert r.status_code == 303
        assert "收件箱" in (await b.get("/app/inbox")).text
        # Signing out is a POST with the token; a GET changes nothing.
        assert (await b.get("/app/logout")).status_code == 405
        assert (await b.get("/app/inbox")).status_code == 200
        r = await b.post("/app/logout", data={"_csrf": csrf})
        assert r.status_code == 303
        assert (await b.get("/app/inbox")).status_code == 303
        # Deactivating a user ends their browser sessions at once.
        await browser_sign_in(b, agent)
        r = await client.patch(
            f"/api/v1/users/{agent.user_id}",
            headers=tenant.admin.headers,
            json={"is_active": False},
        )
        assert r.status_code == 200, r.text
        r = await b.get("/app/inbox")
        assert r.status_code == 303 and r.headers["location"] == "/app/login"


async def test_a_post_without_the_csrf_token_changes_nothing(
    client: httpx.AsyncClient, tenant: TenantUnderTest, runtime: Runtime
) -> None:
    ticket = await a_ticket(client, tenant, subject="Printer on fire", name="Li Wei")
    async with browser(client) as b:
        csrf = await browser_sign_in(b, tenant.users["agent"])
        url = f"/app/tickets/{ticket['id']}/messages"
        for sent in ({}, {"_csrf": "forged"}):
            r = await b.post(url, data={"kind": "note", "body": "sneaky", **sent})
            assert r.status_code == 403
            assert r.headers["content-type"].startswith("application/problem+json")
        # the right token, but posted from another site's page
        r = await b.post(
            url,
            data={"kind": "note", "body": "sneaky", "_csrf": csrf},
            headers={"origin": "https://evil.example.com"},
        )
        assert r.status_code == 403
        r = await b.post(url, data={"kind": "note", "body": "Checked the fuse.", "_csrf": csrf})
        assert r.status_code == 303
        assert r.headers["location"] == f"/app/tickets/{ticket['id']}"
        # Bad input: a problem, and nothing half-written.
        r = await b.post(url, data={"kind": "note", "body": "   ", "_csrf": csrf})
        assert r.status_code == 400
    async with runtime.db.session(tenant.id) as session:
        from sqlalchemy import select

        bodies = (
            await session.scalars(
                select(Message.body_text).where(Message.ticket_id == uuid.UUID(ticket["id"]))
            )
        ).all()
    assert "sneaky" not in bodies
    assert "Checked the fuse." in bodies


async def test_stored_xss_in_every_free_text_field_renders_as_text(
    client: httpx.AsyncClient, tenant: TenantUnderTest, runtime: Runtime
) -> None:
    ticket = await a_ticket(client, tenant, subject=f"Subject {XSS}", name=f"Name {XSS}")
    r = await client.post(
        "/api/v1/canned-replies",
        headers=tenant.admin.headers,
        json={"title": f"Title {XSS}", "body": f"Dear {{{{customer.name}}}}, {XSS}"},
    )
    assert r.status_code == 201, r.text
    # An attachment whose file name is the payload, stored as the channels store them.
    channel = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={"kind": "webhook", "name": f"shop {XSS}", "config": {"secret": "s" * 20}},
    )
    assert channel.status_code == 201, channel.text
    note = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        headers=tenant.admin.headers,
        json={"kind": "note", "body": "with a file"},
    )
    external_id = f"<{uuid.uuid4().hex}@example.com>"
    message = InboundMessage(
        external_id=external_id,
        sender=ContactRef(kind="email", value="x@example.com"),
        text="",
        attachments=[
            Attachment(filename=f"{XSS}.txt", content_type="text/plain", size=2, content=b"hi")
        ],
    )
    async with runtime.db.session(tenant.id) as session:
        cipher = await load_tenant_cipher(session, runtime.keyring, tenant.id)
        instance = await channels.get_channel(session, uuid.UUID(channel.json()["id"]))
        await attachments.detach(
            session, runtime.attachments, cipher, instance, Parsed(messages=[message])
        )
        await attachments.link(
            session,
            cipher,
            channel_id=instance.id,
            external_id=external_id,
            message_id=uuid.UUID(note.json()["id"]),
        )
    # A user whose name is the payload, @mentioned in a note: highlighted, escaped.
    agent = tenant.users["agent"]
    r = await client.patch(
        f"/api/v1/users/{agent.user_id}",
        headers=tenant.admin.headers,
        json={"display_name": f"Agent {XSS}"},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        headers=tenant.admin.headers,
        json={"kind": "note", "body": f"Ask @Agent {XSS} and @Nobody {XSS}"},
    )
    assert r.status_code == 201, r.text
    async with browser(client) as b:
        await browser_sign_in(b, tenant.admin)
        pages = [
            await b.get("/app/inbox"),
            await b.get(f"/app/tickets/{ticket['id']}"),
            await b.get("/app/admin/canned"),
        ]
    for page in pages:
        assert page.status_code == 200, page.text
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
    inbox, ticket_page, canned_page = (p.text for p in pages)
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    assert f"Subject {escaped}" in inbox and f"Name {escaped}" in inbox
    assert f"Subject {escaped}" in ticket_page and f"Name {escaped}" in ticket_page
    assert f"{escaped}&lt;img src=x onerror=alert(1)&gt;.txt" in ticket_page  # the file name
    assert f"shop {escaped}" in ticket_page  # the channel, in the reply picker
    full = f"{escaped}&lt;img src=x onerror=alert(1)&gt;"
    assert f'Ask <mark class="mention">@Agent {full}</mark> and @Nobody {full}' in ticket_page
    assert f'<option value="Agent {full}">@Agent {full}</option>' in ticket_page  # the picker
    assert f"Title {escaped}" in canned_page
    # The canned reply, filled in for this ticket, is an attribute value, escaped too.
    assert f'data-text="Dear Name {escaped}' in ticket_page


async def test_another_tenants_ticket_by_url_is_not_found(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    other = await sign_up(client)
    theirs = await a_ticket(client, other, subject="Their secret", name="Their customer")
    async with browser(client) as b:
        csrf = await browser_sign_in(b, tenant.admin)
        for url in (f"/app/tickets/{theirs['id']}", f"/app/tickets/{theirs['id']}/timeline"):
            r = await b.get(url)
            assert r.status_code == 404
            assert "Their secret" not in r.text
        r = await b.post(
            f"/app/tickets/{theirs['id']}/messages",
            data={"kind": "note", "body": "x", "_csrf": csrf},
        )
        assert r.status_code == 404
        assert "Their secret" not in (await b.get("/app/inbox?view=all")).text


async def test_inbox_views_search_and_pages(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    blender = await a_ticket(client, tenant, subject="Broken blender", name="Chen Jie")
    router = await a_ticket(client, tenant, subject="Router drops", name="Li Wei")
    r = await client.post(
        f"/api/v1/tickets/{router['id']}/messages",
        headers=tenant.admin.headers,
        json={"kind": "note", "body": "Customer says the firmware update bricked it"},
    )
    assert r.status_code == 201, r.text
    agent = tenant.users["agent"]
    r = await client.post(
        f"/api/v1/tickets/{router['id']}/assign",
        headers=tenant.admin.headers,
        json={"assignee_id": str(agent.user_id)},
    )
    assert r.status_code == 200, r.text
    async with browser(client) as b:
        await browser_sign_in(b, agent)

        async def listed(query: str) -> list[str]:
            page = await b.get(f"/app/inbox/rows?{query}", headers={"x-csrf-token": "-"})
            assert page.status_code == 200, page.text
            return re.findall(r'<tr data-ticket="([^"]+)"', page.text)

        assert await listed("") == [router["id"], blender["id"]]  # newest first
        assert await listed("q=firmware") == [router["id"]]  # a message's words
        assert await listed("q=blender") == [blender["id"]]  # the subject's
        assert await listed("q=nothing-like-this") == []
        assert await listed("view=mine") == [router["id"]]
        assert await listed("view=unassigned") == [blender["id"]]
        assert await listed("view=escalated") == []
        assert await listed("priority=urgent") == []
        bad = await b.get("/app/inbox/rows?view=everything", headers={"x-csrf-token": "-"})
        assert bad.status_code == 400
        # Keyset pages: the cursor of the first row's page leads to the older one.
        from frontdesk.api.pagination import encode_cursor

        assert await listed(f"cursor={encode_cursor(uuid.UUID(router['id']))}") == [blender["id"]]


async def test_customer_page_masks_reveals_with_audit_merges_and_undoes(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    ticket = await a_ticket(client, tenant, subject="Lost parcel", name="Li Wei")
    customer_id = ticket["customer_id"]
    dup = await client.post(
        "/api/v1/customers", headers=tenant.admin.headers, json={"display_name": "Li Wei (dup)"}
    )
    assert dup.status_code == 201, dup.text
    other = await sign_up(client)
    theirs = await a_ticket(client, other, subject="Theirs", name="Their customer")
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        headers=tenant.admin.headers,
        json={"team_id": str(tenant.teams["engineering"])},
    )
    assert r.status_code == 200, r.text
    async with browser(client) as b:
        # An engineer sees neither contact values nor a way to reveal them.
        await browser_sign_in(b, tenant.users["engineer"])
        page = await b.get(f"/app/customers/{customer_id}")
        assert page.status_code == 200
        assert "li.wei." not in page.text and "Reveal" not in page.text
        page = await b.get(f"/app/tickets/{ticket['id']}")
        assert page.status_code == 200
        assert "Lost parcel" in page.text and "@example.com" in page.text  # masked
        assert "li.wei." not in page.text
        # Engineers do not reply to customers: no reply button, only notes.
        assert 'value="reply"' not in page.text and 'value="note"' in page.text
    async with browser(client) as b:
        csrf = await browser_sign_in(b, tenant.users["agent"])
        assert (await b.get(f"/app/customers/{theirs['customer_id']}")).status_code == 404
        page = await b.get(f"/app/customers/{customer_id}")
        assert "Lost parcel" in page.text and "li.wei." not in page.text
        reveal = re.search(r'action="(/app/customers/[^"]+/reveal)"', page.text)
        assert reveal
        shown = await b.post(reveal.group(1), data={"_csrf": csrf})
        assert shown.status_code == 200
        assert "li.wei." in shown.text
        r = await b.post(
            f"/app/customers/{customer_id}/merge",
            data={"source_customer_id": dup.json()["id"], "_csrf": csrf},
        )
        assert r.status_code == 303
        page = await b.get(f"/app/customers/{customer_id}")
        assert "Li Wei (dup) → Li Wei" in page.text
        undo = re.search(r'action="(/app/customer-merges/[^"]+/undo)"', page.text)
        assert undo
        assert (await b.post(undo.group(1), data={"_csrf": csrf})).status_code == 303
        assert "(undone)" in (await b.get(f"/app/customers/{customer_id}")).text
    audit = await client.get(
        "/api/v1/audit-log", headers=tenant.admin.headers, params={"action": "contact.revealed"}
    )
    assert audit.status_code == 200
    assert [e["actor_user_id"] for e in audit.json()["items"]] == [
        str(tenant.users["agent"].user_id)
    ]


async def test_reply_picker_offers_the_customers_linked_channels_masked(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    ticket = await a_ticket(client, tenant, subject="Where is my parcel", name="Li Wei")
    h = tenant.admin.headers
    phone = await client.post(
        f"/api/v1/customers/{ticket['customer_id']}/contact-points",
        headers=h,
        json={"kind": "phone", "value": "+8613812345678"},
    )
    assert phone.status_code == 201, phone.text
    other = await a_ticket(client, tenant, subject="Someone else's", name="Chen Jie")
    others = await client.get(f"/api/v1/customers/{other['customer_id']}", headers=h)
    channel = await client.post(
        "/api/v1/channels",
        headers=h,
        json={"kind": "webhook", "name": "SMS gateway", "config": {"secret": "s" * 20}},
    )
    assert channel.status_code == 201, channel.text
    sms = channel.json()["id"]
    async with browser(client) as b:
        csrf = await browser_sign_in(b, tenant.users["agent"])
        page = await b.get(f"/app/tickets/{ticket['id']}")
        assert page.status_code == 200
        options = re.findall(
            r'<option value="([^"]*)" data-kind="webhook"[^>]*>([^<]*)<', page.text
        )
        assert [label for _, label in options] == [
            "SMS gateway → email: l***@example.com",
            "SMS gateway → phone: +86 138****5678",
        ]
        assert "li.wei." not in page.text and "12345678" not in page.text  # masked
        url = f"/app/tickets/{ticket['id']}/messages"
        bad = f"{sms}:{others.json()['contact_points'][0]['id']}"
        r = await b.post(url, data={"kind": "reply", "body": "Hi", "route": bad, "_csrf": csrf})
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await b.post(
            url,
            data={"kind": "reply", "body": "Texting you", "route": options[1][0], "_csrf": csrf},
        )
        assert r.status_code == 303, r.text
        # On the timeline with the channel it went out on.
        page = await b.get(f"/app/tickets/{ticket['id']}/timeline", headers={"x-csrf-token": "-"})
        assert '<span class="via">SMS gateway</span>' in page.text
    messages = await client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=h)
    replies = [m for m in messages.json()["items"] if m["kind"] == "reply"]
    assert [(m["body_text"], m["channel_id"], m["delivery"]) for m in replies] == [
        ("Texting you", sms, "queued")
    ]


async def test_merging_a_ticket_from_its_page(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    first = await a_ticket(client, tenant, subject=f"Dup {XSS}", name="Li Wei")
    r = await client.post(
        "/api/v1/tickets",
        headers=tenant.admin.headers,
        json={"customer_id": first["customer_id"], "subject": f"Keep {XSS}", "body": "kept"},
    )
    assert r.status_code == 201, r.text
    keep = r.json()
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    async with browser(client) as b:
        csrf = await browser_sign_in(b, tenant.users["agent"])
        page = await b.get(f"/app/tickets/{first['id']}")
        assert f'<option value="{keep["id"]}">{keep["number"]} · Keep {escaped}' in page.text
        r = await b.post(
            f"/app/tickets/{first['id']}/merge", data={"into_ticket_id": keep["id"], "_csrf": csrf}
        )
        assert r.status_code == 303 and r.headers["location"] == f"/app/tickets/{keep['id']}"
        page = await b.get(f"/app/tickets/{keep['id']}")
        assert (
            f'Merged here: <a href="/app/tickets/{first["id"]}">{first["number"]}</a>' in page.text
        )
        assert f"source_number={first['number']}" in page.text
        assert f"{escaped}&lt;img" in page.text  # the merged ticket's note, escaped
        page = await b.get(f"/app/tickets/{first['id']}")
        assert f'Merged into <a href="/app/tickets/{keep["id"]}">' in page.text
        assert 'action="/app/tickets/' + first["id"] + '/merge"' not in page.text
        # Merging again is refused as a problem.
        r = await b.post(
            f"/app/tickets/{first['id']}/merge", data={"into_ticket_id": keep["id"], "_csrf": csrf}
        )
        assert r.status_code == 409
