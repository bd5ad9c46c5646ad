"""The satisfaction survey in the web chat widget, in a real Chromium: the survey's
link arrives as an agent's entry, the widget shows it as a 1–5 prompt, a click
stores the rating on the ticket; after a reload a second click is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from channels.webchat.live import make_webchat_channel, tickets_of
from conftest import TenantUnderTest, drain
from followups.support import tick
from frontdesk.runtime import Runtime
from realtime.live import WAIT, LiveServer
from web.test_webchat_widget import PAGE, ShopPage, browser, live, shop  # noqa: F401


# One backend: what is tested here is the widget; the survey's storage is
# tested on both (tests/followups/test_surveys.py), and a browser costs seconds.
@pytest.mark.postgres_only
async def test_a_visitor_rates_the_chat_from_the_widget(
    browser: Any,  # noqa: F811
    shop: ShopPage,  # noqa: F811
    live: LiveServer,  # noqa: F811
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
) -> None:
    from playwright.async_api import expect

    channel = await make_webchat_channel(client, tenant, allowed_origins=[shop.origin])
    shop.html = PAGE.format(frontdesk=live.http_url, public_id=channel.public_id).encode()
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{shop.origin}/")
    await page.locator("button.launcher").click()
    await page.locator("textarea").fill("Do you ship to Hangzhou?")
    await page.keyboard.press("Enter")
    await expect(page.locator(".entry.visitor.pending")).to_have_count(0)
    await drain(worker)

    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        [ticket] = await tickets_of(http, tenant)
        r = await http.post(
            f"/api/v1/tickets/{ticket['id']}/state",
            headers=tenant.admin.headers,
            json={"state": "resolved"},
        )
        assert r.status_code == 200, r.text
        await tick(worker, tenant)

        prompt = page.locator(".entry.agent .rating button")
        await expect(prompt).to_have_text(["1", "2", "3", "4", "5"])
        await page.get_by_role("button", name="4 of 5").click()
        await expect(page.locator(".entry.agent .rating")).to_have_text(
            "Thank you for your rating."
        )
        r = await http.get(f"/api/v1/tickets/{ticket['id']}/surveys", headers=tenant.admin.headers)
        [survey] = r.json()
        assert (survey["status"], survey["score"], survey["channel"]) == ("answered", 4, "webchat")

        # The transcript shows the prompt again after a reload; it is answered once.
        await page.reload()
        await page.locator("button.launcher").click()
        await page.get_by_role("button", name="1 of 5").click()
        await expect(page.locator(".entry.agent .rating")).to_have_text(
            "This was rated already. Thank you."
        )
        r = await http.get(f"/api/v1/tickets/{ticket['id']}/surveys", headers=tenant.admin.headers)
        assert r.json()[0]["score"] == 4
    await context.close()
