"""The report page in a real Chromium: an admin signs in to the console, follows
its Reports link, opens /reports for a month, sees the figures and the charts
(a screenshot is kept), and downloads the CSV, which holds the same figures as
the API; the console's session cookie is the only credential the page has."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PASSWORD, TenantUnderTest
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from realtime.live import LiveServer, serve
from reports.month import (
    END,
    START,
    build,
    month,
    ticket_time_follows_clock,  # noqa: F401 (a fixture)
)
from web.test_webchat_widget import browser  # noqa: F401 (a fixture)

SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture
async def live(worker: Runtime) -> AsyncIterator[LiveServer]:
    async with serve(worker) as server:
        yield server


async def test_the_report_page_shows_charts_and_exports_the_same_figures(
    browser: Any,  # noqa: F811
    live: LiveServer,
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    ticket_time_follows_clock: Clock,  # noqa: F811
    backend: str,
) -> None:
    from playwright.async_api import expect

    await build(client, tenant, ticket_time_follows_clock, month()[:6])
    period = {"start": START.isoformat(), "end": END.isoformat()}
    r = await client.get("/api/v1/reports", headers=tenant.admin.headers, params=period)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["volume"]["new"] > 0

    context = await browser.new_context(
        accept_downloads=True, viewport={"width": 1400, "height": 1200}
    )
    page = await context.new_page()
    # Signed in through the console's form: its session cookie is all the page uses.
    await page.goto(f"{live.http_url}/app/login")
    await page.locator("input[name=tenant]").fill(tenant.slug)
    await page.locator("input[name=email]").fill(tenant.admin.email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("header.top nav").get_by_role("link", name="Reports").click()
    await expect(page).to_have_url(f"{live.http_url}/reports")
    await page.goto(f"{live.http_url}/reports?start={START}&end={END}")
    # Generous: the machine the suite runs on may be busy.
    await expect(page.locator("body[data-loaded='1']")).to_have_count(1, timeout=20_000)

    cards = page.locator(".card")
    await expect(cards.filter(has_text="New").locator(".value")).to_have_text(
        str(report["volume"]["new"])
    )
    await expect(cards.filter(has_text="Backlog").locator(".value")).to_have_text(
        str(report["volume"]["backlog"])
    )
    charts = page.locator("svg.chart")
    assert await charts.count() >= 5
    titles = [await t.text_content() for t in await page.locator("svg.chart > title").all()]
    assert "New and resolved tickets per day" in titles
    assert "SLA attainment per target" in titles
    # The daily series is drawn: one line per series, a point per day.
    lines = page.locator("svg.chart polyline")
    assert await lines.count() == 2
    points = (await lines.first.get_attribute("points") or "").split()
    assert len(points) == len(report["days"])
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"reports-{backend}.png"), full_page=True)

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="CSV").click()
    download = await download_info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    rows = {(s, i, m): v for s, i, m, v in list(csv.reader(io.StringIO(text)))[1:]}
    assert int(rows["volume", "new", "tickets"]) == report["volume"]["new"]
    assert int(rows["volume", "resolved", "tickets"]) == report["volume"]["resolved"]
    assert int(rows["first_response", "all", "count"]) == report["first_response"]["count"]
    for day in report["days"]:
        assert int(rows["day", day["day"], "new"]) == day["new"]
    await context.close()
