"""The admin console's editing pages (SLA policies, business hours, teams), a channel's
connection test, quota usage, and the console's sign-in hardening: on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import msgspec

from conftest import PASSWORD, TenantUnderTest, add_user, sign_up
from frontdesk.runtime import Runtime
from frontdesk.testing import ProviderResponse, ProviderServer
from web.test_console_pages import browser, browser_sign_in


async def audit(client: httpx.AsyncClient, t: TenantUnderTest, action: str) -> list[Any]:
    r = await client.get("/api/v1/audit-log", headers=t.admin.headers, params={"action": action})
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["items"]
    return items


async def test_agents_are_refused_posts_need_the_token_and_gets_change_nothing(
    client: httpx.AsyncClient,
) -> None:
    t = await sign_up(client)
    agent = await add_user(client, t, "agent", teams=["front-line"])
    team = t.teams["front-line"]
    gets = ["/app/admin/teams", f"/app/admin/teams/{team}", "/app/admin/usage", "/app/admin/sla"]
    posts = {
        "/app/admin/sla/policies": {"policies": "[]"},
        "/app/admin/sla/policies/add": {"name": "x", "first_response": "1"},
        "/app/admin/sla/policies/0/remove": {},
        "/app/admin/business-hours": {"timezone": "UTC", "hours_mon": "09:00-18:00"},
        "/app/admin/teams": {"slug": "night-shift", "name": "Night"},
        f"/app/admin/teams/{team}": {"name": "Renamed"},
        f"/app/admin/teams/{team}/members": {"user_id": str(agent.user_id), "is_lead": "on"},
        f"/app/admin/teams/{team}/business-hours": {"hours_mon": "09:00-18:00"},
        f"/app/admin/channels/{uuid.uuid4()}/test": {},
    }
    async with browser(client) as b:
        csrf = await browser_sign_in(b, agent)
        for url in gets:
            assert (await b.get(url)).status_code == 403, url
        for url, form in posts.items():
            assert (await b.post(url, data={**form, "_csrf": csrf})).status_code == 403, url
    async with browser(client) as b:
        csrf = await browser_sign_in(b, t.admin)
        for url, form in posts.items():
            # No token, a forged one: refused. A GET to a form's address: not allowed.
            assert (await b.post(url, data=form)).status_code == 403, url
            assert (await b.post(url, data={**form, "_csrf": "forged"})).status_code == 403
            assert (await b.get(url)).status_code in (200, 405), url
    teams = (await client.get("/api/v1/teams", headers=t.admin.headers)).json()
    assert "Renamed" not in {x["name"] for x in teams}
    assert "night-shift" not in {x["slug"] for x in teams}
    hours = await client.get("/api/v1/business-hours", headers=t.admin.headers)
    assert hours.json()["calendar"] is None
    members = await client.get(f"/api/v1/teams/{team}/members", headers=t.admin.headers)
    assert str(agent.user_id) not in {m["user_id"] for m in members.json() if m["is_lead"]}


async def test_sla_policies_and_business_hours_are_edited_and_bad_input_stores_nothing(
    client: httpx.AsyncClient,
) -> None:
    t = await sign_up(client)
    h = t.admin.headers
    async with browser(client) as b:
        csrf = await browser_sign_in(b, t.admin)
        page = await b.get("/app/admin/sla")
        assert page.status_code == 200 and 'name="policies"' in page.text
        # Not JSON, a target set to nothing, a missing name: the form again, with why.
        for text, why in (
            ("[{", "not JSON"),
            ('[{"name": "Nothing"}]', "sets no target"),
            ('[{"first_response": {"seconds": 60}}]', "name"),
        ):
            r = await b.post("/app/admin/sla/policies", data={"policies": text, "_csrf": csrf})
            assert r.status_code == 400, r.text
            assert 'role="alert"' in r.text and why in r.text
        assert (await client.get("/api/v1/sla-policies", headers=h)).json()["source"] == "default"
        mine = '[{"name": "Everything in 2 h", "first_response": {"seconds": 7200}}]'
        r = await b.post("/app/admin/sla/policies", data={"policies": mine, "_csrf": csrf})
        assert r.status_code == 303, r.text
        got = (await client.get("/api/v1/sla-policies", headers=h)).json()
        assert got["source"] == "tenant"
        assert [p["name"] for p in got["policies"]] == ["Everything in 2 h"]
        # One policy at a time, from the form: before the first, in minutes.
        for bad, why in (({}, "sets no target"), ({"first_response": "soon"}, "whole number")):
            r = await b.post(
                "/app/admin/sla/policies/add",
                data={"name": "Bad", "priority_urgent": "on", **bad, "_csrf": csrf},
            )
            assert r.status_code == 400 and why in r.text
        r = await b.post(
            "/app/admin/sla/policies/add",
            data={
                "name": "Urgent in 30 min",
                "priority_urgent": "on",
                "first_response": "30",
                "first_response_unit": "minutes",
                "resolution": "2",
                "resolution_unit": "business_days",
                "notify_admins": "on",
                "position": "0",
                "_csrf": csrf,
            },
        )
        assert r.status_code == 303, r.text
        got = (await client.get("/api/v1/sla-policies", headers=h)).json()["policies"]
        assert [p["name"] for p in got] == ["Urgent in 30 min", "Everything in 2 h"]
        assert got[0]["priorities"] == ["urgent"]
        assert got[0]["first_response"] == {"seconds": 1800, "business_days": None}
        assert got[0]["resolution"]["business_days"] == 2
        assert got[0]["escalation"][0]["notify"] == ["admins"]
        shown = (await b.get("/app/admin/sla")).text
        assert "30 min" in shown and "2 d*" in shown
        r = await b.post("/app/admin/sla/policies/1/up", data={"_csrf": csrf})
        assert r.status_code == 303
        r = await b.post("/app/admin/sla/policies/1/remove", data={"_csrf": csrf})
        assert r.status_code == 303
        got = (await client.get("/api/v1/sla-policies", headers=h)).json()["policies"]
        assert [p["name"] for p in got] == ["Everything in 2 h"]
        # Business hours: a bad range, a bad holiday, an unknown time zone.
        form = {"timezone": "Asia/Shanghai", "hours_mon": "09:00-12:00, 13:00-18:00"}
        for bad, why in (
            ({"hours_tue": "nine to five"}, "tue"),
            ({"holidays": "2026-13-01"}, "2026-13-01"),
            ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ):
            r = await b.post("/app/admin/business-hours", data={**form, **bad, "_csrf": csrf})
            assert r.status_code == 400, r.text
            assert why in r.text
        assert (await client.get("/api/v1/business-hours", headers=h)).json()["calendar"] is None
        r = await b.post(
            "/app/admin/business-hours",
            data={**form, "holidays": "2026-10-01\n2026-10-02", "_csrf": csrf},
        )
        assert r.status_code == 303, r.text
        calendar = (await client.get("/api/v1/business-hours", headers=h)).json()["calendar"]
        assert calendar["timezone"] == "Asia/Shanghai"
        assert calendar["hours"] == {"mon": [["09:00", "12:00"], ["13:00", "18:00"]]}
        assert calendar["holidays"] == ["2026-10-01", "2026-10-02"]
        shown = (await b.get("/app/admin/sla")).text
        assert "09:00-12:00, 13:00-18:00" in shown and "2026-10-02" in shown
        r = await b.post("/app/admin/business-hours", data={"remove": "1", "_csrf": csrf})
        assert r.status_code == 303
        assert (await client.get("/api/v1/business-hours", headers=h)).json()["calendar"] is None


async def test_teams_are_created_renamed_staffed_and_led_in_the_console(
    client: httpx.AsyncClient,
) -> None:
    t = await sign_up(client)
    h = t.admin.headers
    agent = await add_user(client, t, "agent")
    async with browser(client) as b:
        csrf = await browser_sign_in(b, t.admin)
        bad = await b.post(
            "/app/admin/teams", data={"slug": "Night Shift!", "name": "Night", "_csrf": csrf}
        )
        assert bad.status_code == 400 and "slug" in bad.text
        taken = await b.post(
            "/app/admin/teams", data={"slug": "engineering", "name": "Eng 2", "_csrf": csrf}
        )
        assert taken.status_code == 400 and "exists" in taken.text
        r = await b.post(
            "/app/admin/teams",
            data={"slug": "night-shift", "name": "Night", "kind": "front_line", "_csrf": csrf},
        )
        assert r.status_code == 303, r.text
        team_id = r.headers["location"].rsplit("/", 1)[1]
        blank = await b.post(f"/app/admin/teams/{team_id}", data={"name": " ", "_csrf": csrf})
        assert blank.status_code == 400 and "1–200" in blank.text
        r = await b.post(
            f"/app/admin/teams/{team_id}", data={"name": "夜班", "kind": "other", "_csrf": csrf}
        )
        assert r.status_code == 303
        r = await b.post(
            f"/app/admin/teams/{team_id}/members",
            data={"user_id": str(agent.user_id), "is_lead": "on", "_csrf": csrf},
        )
        assert r.status_code == 303
        page = await b.get(f"/app/admin/teams/{team_id}")
        assert "夜班" in page.text and "Agent" in page.text
        team = (await client.get(f"/api/v1/teams/{team_id}", headers=h)).json()
        assert (team["name"], team["kind"]) == ("夜班", "other")
        members = (await client.get(f"/api/v1/teams/{team_id}/members", headers=h)).json()
        assert members == [{"team_id": team_id, "user_id": str(agent.user_id), "is_lead": True}]
        # The team's own business hours, then back to the company's.
        r = await b.post(
            f"/app/admin/teams/{team_id}/business-hours",
            data={"timezone": "UTC", "hours_sat": "10:00-16:00", "_csrf": csrf},
        )
        assert r.status_code == 303, r.text
        hours = await client.get(f"/api/v1/teams/{team_id}/business-hours", headers=h)
        assert hours.json()["calendar"]["hours"] == {"sat": [["10:00", "16:00"]]}
        r = await b.post(
            f"/app/admin/teams/{team_id}/members/{agent.user_id}/remove", data={"_csrf": csrf}
        )
        assert r.status_code == 303
        assert (await client.get(f"/api/v1/teams/{team_id}/members", headers=h)).json() == []
    updates = await audit(client, t, "team.updated")
    assert updates and updates[0]["subject_id"] == team_id


async def test_testing_a_channel_shows_what_its_check_found(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    t = await sign_up(client)
    h = t.admin.headers
    with ProviderServer() as shop:
        ids = {}
        for name, config in (
            ("shop", {"secret": "s" * 20, "callback_url": f"{shop.url}/replies"}),
            ("inbound only", {"secret": "s" * 20}),
        ):
            r = await client.post(
                "/api/v1/channels",
                headers=h,
                json={"kind": "webhook", "name": name, "config": config},
            )
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        async with browser(client) as b:
            csrf = await browser_sign_in(b, t.admin)
            listed = await b.get("/app/admin/channels")
            assert f"/app/admin/channels/{ids['shop']}/test" in listed.text
            assert not shop.requests  # showing the page tests nothing
            r = await b.post(f"/app/admin/channels/{ids['shop']}/test", data={"_csrf": csrf})
            assert r.status_code == 200, r.text
            assert 'class="check-result ok"' in r.text and f"{shop.url}/replies" in r.text
            assert shop.requests[0].headers["x-frontdesk-event"] == "ping"
            shop.answer(ProviderResponse(status=503, body=b"", headers={}))
            r = await b.post(f"/app/admin/channels/{ids['shop']}/test", data={"_csrf": csrf})
            assert 'class="check-result failed"' in r.text and "503" in r.text
            r = await b.post(
                f"/app/admin/channels/{ids['inbound only']}/test", data={"_csrf": csrf}
            )
            assert "names no server to test" in r.text
            # In production a private address is not contacted by the Test button either.
            asked = len(shop.requests)
            runtime.settings = msgspec.structs.replace(
                runtime.settings, allow_private_targets=False
            )
            r = await b.post(f"/app/admin/channels/{ids['shop']}/test", data={"_csrf": csrf})
            assert 'class="check-result failed"' in r.text and "127.0.0.1" in r.text
            assert len(shop.requests) == asked
            assert (
                await b.post(f"/app/admin/channels/{ids['shop']}/test", data={})
            ).status_code == 403
    tested = await audit(client, t, "channel.tested")
    assert [e["data"]["ok"] for e in reversed(tested)] == [True, False, True, False]


async def test_usage_page_shows_the_quotas(client: httpx.AsyncClient) -> None:
    t = await sign_up(client)
    async with browser(client) as b:
        await browser_sign_in(b, t.admin)
        page = await b.get("/app/admin/usage")
        assert page.status_code == 200, page.text
        assert "6,000" in page.text  # the default API requests per minute
        assert 'class="attachment_bytes"' in page.text


async def test_failed_sign_ins_are_audited_without_the_password(
    client: httpx.AsyncClient,
) -> None:
    t = await sign_up(client)
    api = await client.post(
        "/api/v1/auth/login",
        json={"tenant": t.slug, "email": t.admin.email, "password": "hunter2-wrong"},
    )
    assert api.status_code == 401
    assert api.json()["detail"] == "wrong email or password"
    async with browser(client) as b:
        page = await b.post(
            "/app/login",
            data={"tenant": t.slug, "email": "nobody@elsewhere.example", "password": "pw-x"},
        )
        assert page.status_code == 401
    failed = await audit(client, t, "user.sign_in_failed")
    console, by_api = failed  # newest first
    assert by_api["subject_id"] == str(t.admin.user_id)
    assert by_api["data"]["via"] == "api" and by_api["data"]["reason"] == "wrong_password"
    assert by_api["data"]["ip"]
    assert console["subject_id"] is None
    assert console["data"]["via"] == "console"
    assert console["data"]["email"] == "n***@elsewhere.example"
    assert "hunter2" not in str(failed) and "pw-x" not in str(failed)
    # The console's audit page shows whose sign-in failed, from where, and why.
    async with browser(client) as b:
        await browser_sign_in(b, t.admin)
        shown = (await b.get("/app/admin/audit")).text
        assert "user.sign_in_failed" in shown and "reason=wrong_password" in shown
        assert "email=n***@elsewhere.example" in shown
    # A right password still signs in, and is not a failure.
    ok = await client.post(
        "/api/v1/auth/login", json={"tenant": t.slug, "email": t.admin.email, "password": PASSWORD}
    )
    assert ok.status_code == 200
    assert len(await audit(client, t, "user.sign_in_failed")) == 2


async def test_the_session_cookie_is_secure_when_the_public_url_is_https(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    t = await sign_up(client)
    form = {"tenant": t.slug, "email": t.admin.email, "password": PASSWORD}
    # The default public URL is http: no Secure, even on a request that came by https.
    async with httpx.AsyncClient(transport=client._transport, base_url="https://testserver") as b:
        cookie = (await b.post("/app/login", data=form)).headers["set-cookie"]
        assert cookie.startswith("fd_session=") and "secure" not in cookie.lower()
    # Behind a proxy that ends TLS: the request is http, the public URL https.
    # (The same app and runtime, its settings swapped for this test: building
    # another app costs seconds.)
    plain = runtime.settings
    runtime.settings = msgspec.structs.replace(plain, public_url="https://desk.example.com")
    try:
        async with browser(client) as b:
            r = await b.post("/app/login", data=form)
            assert r.status_code == 303, r.text
            assert "secure" in r.headers["set-cookie"].lower()
    finally:
        runtime.settings = plain
