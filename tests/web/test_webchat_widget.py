"""The web chat widget in a real Chromium: a shop's page with the one script tag, a
visitor writing, an agent answering through the API, the answer on the page, a reload.

Debian's Chromium (``/usr/bin/chromium``, installed by ``dev.py test``) driven by
Playwright; never Playwright's own browser download. Under CI a missing browser
fails the test instead of skipping it.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.webchat.live import make_webchat_channel, messages_of, reply, tickets_of
from conftest import IN_CI, TenantUnderTest, drain
from frontdesk.runtime import Runtime
from realtime.live import WAIT, LiveServer, serve

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
PAGE = """<!doctype html>
<html lang="en"><head><title>Acme shop</title>
<style>* {{ font-family: serif !important; color: red; }} button {{ display: none; }}</style>
</head><body><h1>Acme shop</h1><a href="#top">Top</a>
<script src="{frontdesk}/channels/webchat/widget.js" data-channel="{public_id}" defer></script>
</body></html>"""


def _browser_or_skip() -> None:
    if not CHROMIUM.exists() or os.environ.get("FRONTDESK_BROWSER_TESTS") == "0":
        message = f"{CHROMIUM} is not installed (python3 dev.py test installs it)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)


@pytest.fixture
async def live(worker: Runtime) -> AsyncIterator[LiveServer]:
    async with serve(worker) as server:
        yield server


class ShopPage:
    """The host site: one page with the widget's script tag, on an origin of its own."""

    def __init__(self) -> None:
        self.html = b""
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(page.html)))
                self.end_headers()
                self.wfile.write(page.html)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop() -> Iterator[ShopPage]:
    page = ShopPage()
    try:
        yield page
    finally:
        page.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_a_visitor_chats_with_an_agent_from_a_shops_page(
    browser: Any,
    shop: ShopPage,
    live: LiveServer,
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

    # By keyboard: Tab reaches the launcher, Enter opens it and puts the cursor
    # in the message box, Enter sends.
    launcher = page.locator("button.launcher")
    await page.keyboard.press("Tab")  # the page's own link
    await page.keyboard.press("Tab")
    await expect(launcher).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("[role=dialog]")).to_be_visible()
    box = page.locator("textarea")
    await expect(box).to_be_focused()
    await box.type("Hello, my parcel is late")
    await page.keyboard.press("Enter")
    await expect(page.locator(".entry.visitor")).to_have_text(["Hello, my parcel is late"])
    await expect(page.locator(".entry.visitor.pending")).to_have_count(0)  # acknowledged

    # The agent sees it in the inbox API and answers.
    await drain(worker)
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        [ticket] = await tickets_of(http, tenant)
        [message] = await messages_of(http, tenant, ticket["id"])
        assert message["body_text"] == "Hello, my parcel is late"
        await reply(http, tenant, ticket["id"], "It leaves the warehouse today.")
    await drain(worker)
    await expect(page.locator(".entry.agent")).to_have_text(["It leaves the warehouse today."])

    # The host page's styles did not reach the widget (shadow DOM).
    assert await launcher.is_visible()

    # Escape closes the window and gives focus back to the launcher.
    await page.keyboard.press("Escape")
    await expect(page.locator("[role=dialog]")).to_be_hidden()
    await expect(launcher).to_be_focused()

    # A reload keeps the conversation.
    await page.reload()
    await page.locator("button.launcher").click()
    await expect(page.locator(".entry")).to_have_text(
        ["Hello, my parcel is late", "It leaves the warehouse today."]
    )
    await context.close()


async def test_outside_opening_hours_the_widget_asks_for_an_email_first(
    browser: Any,
    shop: ShopPage,
    live: LiveServer,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    worker: Runtime,
) -> None:
    from playwright.async_api import expect

    today = dt.datetime.now(dt.UTC).isoweekday()
    channel = await make_webchat_channel(
        client,
        tenant,
        allowed_origins=[shop.origin],
        opening_hours=[
            {"days": [d for d in range(1, 8) if d != today], "opens": "00:00", "closes": "24:00"}
        ],
        offline_message="We are away. Leave your email and we will write back.",
    )
    shop.html = PAGE.format(frontdesk=live.http_url, public_id=channel.public_id).encode()
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{shop.origin}/")
    await page.locator("button.launcher").click()
    await expect(page.locator(".entry.greeting")).to_have_text(
        ["We are away. Leave your email and we will write back."]
    )
    # The pre-chat form comes first, its email required; the message box waits.
    email = page.get_by_label("Your email")
    await expect(email).to_be_visible()
    await expect(page.locator("textarea")).to_be_hidden()
    await page.get_by_label("Your name").fill("Pat")
    await email.fill("pat@example.com")
    await page.keyboard.press("Enter")
    box = page.locator("textarea")
    await expect(box).to_be_focused()
    await box.fill("Can I return a gift?")
    await page.keyboard.press("Enter")
    await expect(page.locator(".entry.visitor:not(.pending)")).to_have_text(
        ["Can I return a gift?"]
    )
    await drain(worker)
    async with httpx.AsyncClient(base_url=live.http_url, timeout=WAIT) as http:
        [ticket] = await tickets_of(http, tenant)
        assert ticket["subject"] == "Message left outside opening hours"
    await context.close()
