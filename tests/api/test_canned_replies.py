"""Canned replies (话术库) over the API: placeholders checked and filled once, as plain text."""

from __future__ import annotations

import httpx

from conftest import TenantUnderTest


async def test_canned_replies_are_managed_and_filled_in_for_a_ticket(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    h = tenant.admin.headers
    bad = await client.post(
        "/api/v1/canned-replies",
        headers=h,
        json={"title": "Typo", "body": "Dear {{customer.nmae}}"},
    )
    assert bad.status_code == 400
    assert "customer.nmae" in bad.json()["detail"]
    r = await client.post(
        "/api/v1/canned-replies",
        headers=h,
        json={
            "title": "Refund on its way",
            "body": "您好 {{customer.name}}, {{ticket.number}} is refunded. — {{agent.name}}",
        },
    )
    assert r.status_code == 201, r.text
    reply = r.json()
    again = await client.post(
        "/api/v1/canned-replies", headers=h, json={"title": "Refund on its way", "body": "x"}
    )
    assert again.status_code == 409
    # Agents use them but do not manage them.
    agent = tenant.users["agent"]
    assert (await client.get("/api/v1/canned-replies", headers=agent.headers)).status_code == 200
    denied = await client.patch(
        f"/api/v1/canned-replies/{reply['id']}", headers=agent.headers, json={"body": "x"}
    )
    assert denied.status_code == 403

    # A customer whose name looks like a placeholder: filled in once, never expanded again.
    customer = await client.post(
        "/api/v1/customers", headers=h, json={"display_name": "{{agent.name}} <b>Li</b>"}
    )
    ticket = await client.post(
        "/api/v1/tickets",
        headers=h,
        json={"customer_id": customer.json()["id"], "subject": "Refund"},
    )
    assert ticket.status_code == 201, ticket.text
    rendered = await client.get(
        f"/api/v1/tickets/{ticket.json()['id']}/canned-replies/{reply['id']}",
        headers=agent.headers,
    )
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["text"] == (
        f"您好 {{{{agent.name}}}} <b>Li</b>, {ticket.json()['number']} is refunded. — Agent"
    )

    r = await client.patch(
        f"/api/v1/canned-replies/{reply['id']}", headers=h, json={"body": "Hi {{tenant.name}}"}
    )
    assert r.status_code == 200 and r.json()["body"] == "Hi {{tenant.name}}"
    assert (
        await client.delete(f"/api/v1/canned-replies/{reply['id']}", headers=h)
    ).status_code == 204
    assert (await client.get("/api/v1/canned-replies", headers=h)).json() == []
    audit = await client.get(
        "/api/v1/audit-log", headers=h, params={"action": "canned_reply.deleted"}
    )
    assert len(audit.json()["items"]) == 1
