"""A tenant cannot point the platform at its own network: a channel's callback URL
resolving to a private address is refused when set, and a reply is not sent
(a mailbox not polled) once the name has come to resolve to one (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import httpx
import msgspec
import pytest

from channels.email_platform import make_email_channel
from channels.test_pipeline import (
    SECRET,
    _reply,
    _wait_for_delivery,
    make_channel,
    messages_of,
    payload,
    post_signed,
    tickets_of,
)
from conftest import TenantUnderTest, drain
from frontdesk import egress
from frontdesk.channels import runner
from frontdesk.runtime import Runtime

HOST = "shop.rebinding.example"


@pytest.fixture
def production(runtime: Runtime) -> Runtime:
    """Private targets refused, as in production; jobs run."""
    settings = msgspec.structs.replace(runtime.settings, allow_private_targets=False)
    runtime.settings = runtime.jobs.settings = settings
    runtime.jobs.start_worker(threads=2)
    return runtime


async def test_a_private_callback_url_is_refused_and_one_that_turns_private_fails_the_reply(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    production: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = await client.post(
        "/api/v1/channels",
        headers=tenant.admin.headers,
        json={
            "kind": "webhook",
            "name": "metadata",
            "config": {"secret": SECRET, "callback_url": "http://169.254.169.254/latest/"},
        },
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = r.json()
    assert "callback_url" in problem["detail"] and "link-local" in problem["detail"]
    assert (await client.get("/api/v1/channels", headers=tenant.admin.headers)).json() == []

    # A name that resolves to a public address when the channel is saved…
    answers = {HOST: "8.8.8.8"}

    async def resolve(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address(answers.get(host, host))]

    monkeypatch.setattr(egress, "_resolve", resolve)
    channel = await make_channel(client, tenant, callback_url=f"https://{HOST}/hook")
    await post_signed(client, channel, payload("m-1", "help"))
    await drain(production)
    ticket = (await tickets_of(client, tenant))[0]
    # …and to the loopback by the time a reply goes out.
    answers[HOST] = "127.0.0.1"
    message_id = await _reply(client, tenant, ticket["id"])
    await _wait_for_delivery(client, tenant, ticket["id"], production)
    [reply] = [m for m in await messages_of(client, tenant, ticket["id"]) if m["id"] == message_id]
    assert reply["delivery"] == "failed"
    assert reply["delivery_error"].startswith("refused: ")
    assert f"{HOST} resolves to 127.0.0.1, a loopback address" in reply["delivery_error"]
    r = await client.get(f"/api/v1/tickets/{ticket['id']}/deliveries", headers=tenant.admin.headers)
    [delivery] = r.json()
    assert len(delivery["attempts"]) == 1  # not retried: it would be refused again


async def test_a_mailbox_whose_host_turns_private_is_not_polled(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    production: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {HOST: "8.8.8.8"}

    async def resolve(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address(answers.get(host, host))]

    monkeypatch.setattr(egress, "_resolve", resolve)
    channel = await make_email_channel(
        client,
        tenant,
        imap_host=HOST,
        imap_username="support",
        imap_password="mailbox-password",
    )
    answers[HOST] = "10.0.0.7"
    outcome = await runner.poll_channel(production, tenant.id, uuid.UUID(channel.id), force=True)
    assert outcome.polled and not outcome.cursor_saved
    assert outcome.error and f"imap_host {HOST} resolves to 10.0.0.7, a private" in outcome.error
