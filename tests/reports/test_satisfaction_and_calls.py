"""The report's satisfaction and phone-answer sections over real surveys and calls.

Surveys are sent by the follow-ups' timer when tickets are resolved and
answered on the public survey page; calls come in as signed Twilio webhooks
to a phone channel. Each figure is checked against the same figure worked
out here from the answers and call times the test chose.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from statistics import mean
from typing import Any

import httpx

from channels.test_phone_channel import (
    T0,
    agent_answers,
    completed,
    make_line,
    nobody_answered,
    ringing,
)
from conftest import TenantUnderTest, drain
from followups.support import tick
from frontdesk.clock import Clock
from frontdesk.runtime import Runtime
from frontdesk.testing.provider import ProviderServer

SURVEY_URL = re.compile(r"/surveys/([A-Za-z0-9_-]{43})")
# Scores given, one per resolved ticket; None: the customer never answered.
SCORES = [5, 4, 4, 2, None, None]
# Inbound calls of the day of T0: seconds after T0 it rang, after T0 it was answered.
CALLS: dict[str, tuple[int, int | None]] = {
    "CAquick": (0, 8),
    "CAedge": (100, 115),  # exactly 15 s: within the target
    "CAslow": (200, 216),
    "CAmissed": (300, None),
}


async def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def report(
    client: httpx.AsyncClient, tenant: TenantUnderTest, start: dt.date, end: dt.date
) -> dict[str, Any]:
    params = {"start": start.isoformat(), "end": end.isoformat()}
    found: dict[str, Any] = await ok(
        await client.get("/api/v1/reports", headers=tenant.admin.headers, params=params)
    )
    return found


async def test_satisfaction_and_phone_answer_figures_from_real_surveys_and_calls(
    client: httpx.AsyncClient,
    tenant: TenantUnderTest,
    other_tenant: TenantUnderTest,
    worker: Runtime,
    clock: Clock,
) -> None:
    h = tenant.admin.headers
    customer = await ok(
        await client.post("/api/v1/customers", headers=h, json={"display_name": "Wang Fang"}), 201
    )
    tickets = []
    for n in range(len(SCORES)):
        ticket = await ok(
            await client.post(
                "/api/v1/tickets",
                headers=h,
                json={"customer_id": customer["id"], "subject": f"Question {n}"},
            ),
            201,
        )
        await ok(
            await client.post(
                f"/api/v1/tickets/{ticket['id']}/state", headers=h, json={"state": "resolved"}
            )
        )
        tickets.append(ticket["id"])
    await tick(worker, tenant)

    sent_on: list[dt.date] = []
    for ticket_id, score in zip(tickets, SCORES, strict=True):
        [survey] = await ok(await client.get(f"/api/v1/tickets/{ticket_id}/surveys", headers=h))
        sent_on.append(dt.datetime.fromisoformat(survey["created_at"]).astimezone(dt.UTC).date())
        messages = await ok(await client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=h))
        [token] = [
            m.group(1) for item in messages["items"] if (m := SURVEY_URL.search(item["body_text"]))
        ]
        if score is not None:
            # The customer's browser: no credentials, only the link.
            await ok(await client.post(f"/surveys/{token}", json={"score": score}), 201)

    with ProviderServer() as provider:
        line = await make_line(client, tenant, provider)
        for sid, (rang, answered) in CALLS.items():
            steps = [ringing(sid, rang)]
            if answered is None:
                steps.append(nobody_answered(sid))
            else:
                steps += [agent_answers(sid, answered), completed(sid, answered + 30, 30)]
            await line.send(*steps)
        # The day before: outside the period.
        await line.send(
            ringing("CAearlier", -86_400),
            agent_answers("CAearlier", -86_390),
            completed("CAearlier", -86_300, 90),
        )
        await drain(worker)

    # Satisfaction: surveys sent in the period (rows are stamped with real time).
    answered = [s for s in SCORES if s is not None]
    got = (await report(client, tenant, min(sent_on), max(sent_on)))["satisfaction"]
    assert got["available"] is True
    assert got["asked"] == len(SCORES)
    assert got["responses"] == len(answered)
    assert got["response_rate"] == len(answered) / len(SCORES)
    assert got["average"] == mean(answered)
    assert got["distribution"] == {str(k): answered.count(k) for k in range(1, 6)}
    r = await client.get(
        "/api/v1/reports/export.csv",
        headers=h,
        params={"start": min(sent_on).isoformat(), "end": max(sent_on).isoformat()},
    )
    assert r.status_code == 200, r.text
    rows = {(s, i, m): v for s, i, m, v in list(csv.reader(io.StringIO(r.text)))[1:]}
    assert float(rows["satisfaction", "all", "average"]) == round(mean(answered), 2)
    assert int(rows["satisfaction", "score 4", "responses"]) == answered.count(4)
    before = min(sent_on) - dt.timedelta(days=3)
    assert (await report(client, tenant, before, before))["satisfaction"]["asked"] == 0

    # Phone: inbound calls that rang on the day of T0, answered within 15 s or not.
    day = T0.date()
    waits = [a - r for r, a in CALLS.values() if a is not None]
    phone = (await report(client, tenant, day, day))["phone_answer"]
    assert phone["available"] is True
    assert phone["calls"] == len(CALLS)
    assert phone["answered"] == len(waits)
    assert phone["within_target"] == sum(1 for w in waits if w <= 15)
    assert phone["target_seconds"] == 15
    assert phone["attainment"] == sum(1 for w in waits if w <= 15) / len(CALLS)
    both_days = await report(client, tenant, day - dt.timedelta(days=1), day)
    assert both_days["phone_answer"]["calls"] == len(CALLS) + 1
    assert both_days["phone_answer"]["within_target"] == phone["within_target"] + 1

    # Another tenant's report holds none of it.
    for start, end in ((min(sent_on), max(sent_on)), (day, day)):
        theirs = await report(client, other_tenant, start, end)
        assert theirs["satisfaction"]["asked"] == 0 and theirs["phone_answer"]["calls"] == 0
