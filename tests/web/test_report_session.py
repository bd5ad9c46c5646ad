"""The report from the console: linked in its navigation for those who may read
reports, and fetched with the console's session cookie as well as a bearer
token; ``reports.read`` applies either way, and the cookie only reads."""

from __future__ import annotations

import httpx

from conftest import TenantUnderTest
from web.test_console_pages import browser, browser_sign_in

PERIOD = {"start": "2026-11-01", "end": "2026-11-30"}


async def test_the_console_links_the_report_and_its_session_reads_it(
    client: httpx.AsyncClient, tenant: TenantUnderTest
) -> None:
    async with browser(client) as admin, browser(client) as agent:
        await browser_sign_in(admin, tenant.admin)
        inbox = await admin.get("/app/inbox")
        assert 'href="/reports"' in inbox.text
        shell = await admin.get("/reports")
        assert shell.status_code == 200 and 'href="/app/inbox"' in shell.text

        # No Authorization header: the cookie alone signs the reads in.
        r = await admin.get("/api/v1/reports", params=PERIOD)
        assert r.status_code == 200, r.text
        assert r.json()["filters"]["start"] == PERIOD["start"]
        r = await admin.get("/api/v1/reports/fragment", params=PERIOD)
        assert r.status_code == 200 and "Satisfaction" in r.text
        r = await admin.get("/api/v1/reports/export.csv", params=PERIOD)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        # A bearer token still works, and wins over a cookie sent with it.
        r = await agent.get("/api/v1/reports", headers=tenant.admin.headers, params=PERIOD)
        assert r.status_code == 200, r.text
        # The weekly review's switch changes state: a cookie is not enough there.
        r = await admin.put("/api/v1/reports/weekly-review")
        assert r.status_code == 401, r.text

        # An agent has no reports.read: no link, and 403 with the cookie too.
        await browser_sign_in(agent, tenant.users["agent"])
        assert 'href="/reports"' not in (await agent.get("/app/inbox")).text
        for path in ("/api/v1/reports", "/api/v1/reports/fragment", "/api/v1/reports/export.csv"):
            r = await agent.get(path, params=PERIOD)
            assert r.status_code == 403, (path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")

        # A made-up or ended session: 401 problem details, not a page.
        forged = f"fd_session=fds_{tenant.id.hex}_forged"
        for cookie in (forged, "fd_session=garbage"):
            r = await client.get("/api/v1/reports", headers={"cookie": cookie}, params=PERIOD)
            assert r.status_code == 401, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
