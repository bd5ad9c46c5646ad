"""The console in a real Chromium: an admin connects a channel and adds a routing rule;
a customer's message arrives through that channel, follows the rule and appears live
in an agent's inbox; the agent opens it while a colleague is on it too (each sees the
other), replies, and the reply is delivered through the channel; then @mentions the
colleague in a note through the mention picker.

Debian's Chromium (``/usr/bin/chromium``) driven by Playwright, as the web chat
widget's tests do; one browser for the whole story (browser start-ups are the slow
part), a context per person. Screenshots at 1280×800 go to ``$FRONTDESK_SCREENSHOTS``
(default ``tests/web/screenshots/``, git-ignored) for a person to look at.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PASSWORD, Actor, TenantUnderTest, drain
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer
from frontdesk_webhook import SIGNATURE_HEADER, sign
from realtime.live import WAIT, LiveServer, serve
from web.test_webchat_widget import _browser_or_skip

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("FRONTDESK_SCREENSHOTS", Path(__file__).parent / "screenshots"))
SECRET = "a-shared-secret-of-some-length"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
async def live(worker: Runtime) -> AsyncIterator[LiveServer]:
    async with serve(worker) as server:
        yield server


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def signed_in(chromium: Any, live: LiveServer, actor: Actor) -> Any:
    """A new browser context (a person), signed in through the form; on the inbox."""
    from playwright.async_api import expect

    context = await chromium.new_context(viewport=VIEWPORT, locale="en-US")
    page = await context.new_page()
    await page.goto(f"{live.http_url}/app/inbox")  # → the sign-in page
    await page.locator("input[name=tenant]").fill(actor.slug)
    await page.locator("input[name=email]").fill(actor.email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("table.inbox")).to_be_visible()
    return page


async def shoot(page: Any, name: str) -> None:
    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# One backend: browser tests are the suite's slowest, and the same pages run on
# SQLite in test_console_pages.py. PostgreSQL is the one with row-level security
# live under the pages, the websocket and the search.
@pytest.mark.postgres_only
async def test_a_message_arrives_live_follows_a_rule_and_the_reply_goes_out(
    chromium: Any,
    live: LiveServer,
    provider: ProviderServer,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
) -> None:
    from playwright.async_api import expect

    # The admin connects a channel and adds a routing rule, in the console.
    admin = await signed_in(chromium, live, tenant.admin)
    await admin.goto(f"{live.http_url}/app/admin/channels")
    await admin.locator("select[name=kind]").select_option("webhook")
    await admin.locator("input[name=name]").fill("Shop backend")
    await admin.locator("textarea[name=config]").fill(
        json.dumps({"secret": SECRET, "callback_url": provider.url})
    )
    await admin.get_by_role("button", name="Add").click()
    row = admin.locator("table.channels tr", has_text="Shop backend")
    await expect(row).to_be_visible()
    webhook_url = (await row.locator("code.webhook-url").inner_text()).strip()
    assert "********" in await row.inner_text()  # the secret is never shown again
    await admin.goto(f"{live.http_url}/app/admin/routing")
    await admin.locator("input[name=name]").fill("Refunds go to engineering")
    await admin.locator("input[name=keywords]").fill("refund, 退款")
    await admin.locator("select[name=team]").select_option("engineering")
    await admin.locator("select[name=priority]").select_option("high")
    await admin.get_by_role("button", name="Add").click()
    await expect(admin.locator("li.rule", has_text="Refunds go to engineering")).to_be_visible()
    await shoot(admin, "admin-routing")
    await admin.goto(f"{live.http_url}/app/admin/channels")
    await shoot(admin, "admin-channels")

    # An agent's inbox is open and live.
    agent = await signed_in(chromium, live, tenant.users["agent"])
    await expect(agent.locator("body[data-live='1']")).to_be_attached()

    # A customer writes through the channel.
    body = json.dumps(
        {
            "id": "order-77-1",
            "sender": {"kind": "email", "value": "chen.jie@example.com", "name": "Chen Jie"},
            "subject": "Refund for order 77",
            "text": "The blender arrived broken. I would like my money back.",
        }
    ).encode()
    path = httpx.URL(webhook_url).path
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        r = await http.post(
            path,
            content=body,
            headers={
                SIGNATURE_HEADER: sign(SECRET, body, int(time.time())),
                "content-type": "application/json",
            },
        )
        assert r.status_code == 200, r.text
    await drain(worker)

    # It appears without a reload, routed by the new rule.
    row = agent.locator("#rows tr", has_text="Refund for order 77")
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("Chen Jie")
    await expect(row).to_contain_text("Engineering")
    await expect(row).to_contain_text("high")
    await expect(row.locator(".channel")).to_have_attribute("title", "webhook")
    await expect(row.locator(".sla")).to_be_visible()
    await shoot(agent, "inbox")

    # A colleague opens the ticket, then the agent: each is told the other is there.
    colleague = await signed_in(chromium, live, tenant.users["success_manager"])
    await colleague.locator("#rows a", has_text="Refund for order 77").click()
    await expect(colleague.locator("body[data-live='1']")).to_be_attached()
    await row.locator("a").click()
    await expect(agent.locator(".timeline")).to_contain_text("The blender arrived broken.")
    await expect(agent.locator("#presence")).to_contain_text(
        "Success_Manager is viewing this ticket"
    )
    await expect(colleague.locator("#presence")).to_contain_text("Agent is viewing this ticket")
    await agent.locator("#body").type("Sorry to hear that")
    await expect(colleague.locator("#presence")).to_contain_text("Agent is typing a reply")

    # The agent replies; it is delivered through the channel the customer used.
    await agent.locator("#body").fill("Sorry about the blender. The refund is on its way.")
    await agent.get_by_role("button", name="Reply (webhook)").click()
    await expect(agent.locator(".entry.reply.outbound")).to_contain_text(
        "The refund is on its way."
    )
    # Back on the ticket after the post, the agent is told again who else is there.
    await expect(agent.locator("#presence")).to_contain_text(
        "Success_Manager is viewing this ticket"
    )
    await expect(agent.locator(".timeline")).to_contain_text("team_changed")
    await expect(agent.locator(".timeline")).to_contain_text("after=Engineering")
    await drain(worker)
    delivered = [req.json() for req in provider.requests]
    assert [d["text"] for d in delivered] == ["Sorry about the blender. The refund is on its way."]
    # The colleague's timeline shows the reply without a reload.
    await expect(colleague.locator(".timeline")).to_contain_text("The refund is on its way.")
    # A note mentioning the colleague through the picker: the name is put in the
    # text at the cursor, highlighted once posted, and the colleague is notified.
    await agent.locator("#body").fill("Refund approved?")
    await agent.locator("#mention").select_option("Success_Manager")
    assert await agent.locator("#body").input_value() == "Refund approved? @Success_Manager "
    await agent.get_by_role("button", name="Note").click()
    await expect(agent.locator(".entry.note mark.mention")).to_have_text("@Success_Manager")
    r = await client.get("/api/v1/notifications", headers=tenant.users["success_manager"].headers)
    assert [n["kind"] for n in r.json()["items"]].count("mentioned") == 1
    await shoot(agent, "ticket")
    await asyncio.gather(*(p.context.close() for p in (admin, agent, colleague)))
