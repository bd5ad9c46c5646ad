"""The ticket page's timeline shows the ticket's calls (wait, duration, recording,
transcript), its callback tasks and the customer's satisfaction answer: calls come
in as signed Twilio webhooks, the survey is sent by the follow-ups' timer and
answered on the public page. Every free text among them renders escaped."""

from __future__ import annotations

import re

import httpx

from channels.test_phone_channel import (
    agent_answers,
    completed,
    make_line,
    nobody_answered,
    ringing,
    transcription,
    voicemail,
)
from conftest import TenantUnderTest, drain
from followups.support import tick
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer
from web.test_console_pages import XSS, browser, browser_sign_in

SURVEY_URL = re.compile(r"/surveys/([A-Za-z0-9_-]{43})")
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


async def test_calls_callbacks_and_the_satisfaction_score_on_the_ticket_page(
    client: httpx.AsyncClient, tenant: TenantUnderTest, worker: Runtime, clock: Clock
) -> None:
    h = tenant.admin.headers
    with ProviderServer() as provider:
        line = await make_line(client, tenant, provider)
        await line.send(
            ringing("CA1"),
            nobody_answered("CA1"),
            voicemail("CA1"),
            completed("CA1", 60, 60),
            transcription("CA1", f"Please call me back {XSS}"),
        )
        await line.send(ringing("CA2", 120), agent_answers("CA2", 128), completed("CA2", 220, 92))
        await drain(worker)
        [ticket] = (await client.get("/api/v1/tickets", headers=h)).json()["items"]
        url = f"/api/v1/tickets/{ticket['id']}"
        r = await client.post(f"{url}/state", headers=h, json={"state": "resolved"})
        assert r.status_code == 200, r.text
        await tick(worker, tenant)
        messages = (await client.get(f"{url}/messages", headers=h)).json()["items"]
        [token] = [m.group(1) for i in messages if (m := SURVEY_URL.search(i["body_text"]))]
        r = await client.post(f"/surveys/{token}", json={"score": 4, "comment": f"Slow {XSS}"})
        assert r.status_code == 201, r.text

    async with browser(client) as b:
        await browser_sign_in(b, tenant.users["agent"])
        page = (await b.get(f"/app/tickets/{ticket['id']}")).text
    assert "<script>alert" not in page and "<img src=x" not in page
    missed, answered = re.findall(r'<article class="entry call ([a-z_ ]+)"', page)
    assert (missed, answered) == ("missed", "completed")
    # The voicemail: its recording linked, its transcript (escaped).
    assert 'href="https://api.twilio.com/2010-04-01/Accounts/' in page
    assert f"Please call me back {ESCAPED}" in page
    # The answered call: 8 s to answer, 1:32 long, by the agent.
    assert '<span class="wait">8 s</span>' in page
    assert '<span class="duration">1:32</span>' in page
    # The missed call's callback task, open.
    assert re.search(r'<p class="entry task open[^"]*" data-task=', page)
    # The satisfaction answer on the timeline and beside it.
    assert '<strong class="score">4/5</strong>' in page
    assert f'<span class="comment">Slow {ESCAPED}</span>' in page
    assert '<p class="satisfaction"><strong>4/5</strong>' in page
