"""HTTP API for follow-up settings and a ticket's surveys, and the customer's public survey page."""

from __future__ import annotations

import html
import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.enums import MediaType
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from frontdesk.api.deps import Actor, Db, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.errors import Conflict, InvalidInput
from frontdesk.followups import service as followups
from frontdesk.followups.service import AnswerIn, Settings, SurveyOut
from frontdesk.tickets.service import get_ticket


class FollowupController(Controller):
    path = "/api/v1"
    tags = ["follow-ups"]

    @get("/followup-settings", opt=needs(P.SLA_MANAGE))
    async def get_settings(self, db: Db, principal: Actor) -> Settings:
        """Surveys (on/off, delay), the owner's follow-up reminder, auto-closing pending tickets."""
        return await followups.get_settings(db)

    @put("/followup-settings", opt=needs(P.SLA_MANAGE), status_code=HTTP_200_OK)
    async def put_settings(self, data: JSONBody[Settings], db: Db, principal: Actor) -> Settings:
        """Replace them; timers already scheduled keep their times."""
        return await followups.put_settings(db, principal.user_id, data)

    @get("/tickets/{ticket_id:uuid}/surveys", opt=needs(P.TICKETS_READ))
    async def surveys(
        self, ticket_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[SurveyOut]:
        """The satisfaction surveys sent for the ticket, with the customer's answers."""
        ticket = await get_ticket(db, principal, ticket_id)
        return [SurveyOut.of(s) for s in await followups.surveys_of(db, ticket)]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>How did we do?</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}
fieldset{{border:0;padding:0}}label{{margin-right:.75rem}}textarea{{width:100%;min-height:6rem}}
button{{margin-top:1rem;padding:.5rem 1.25rem}}</style></head>
<body><main>{body}</main></body></html>"""


def _page(body: str, status: int = 200, *, cors: bool = False) -> Response[str]:
    # The chat widget posts a rating from the host site's page: any origin may
    # read the outcome (the link's token is the only credential, no cookies).
    headers = {"access-control-allow-origin": "*"} if cors else None
    return Response(
        _PAGE.format(body=body), media_type=MediaType.HTML, status_code=status, headers=headers
    )


def _form(number: str) -> str:
    choices = "".join(
        f'<label><input type="radio" name="score" value="{n}" required> {n}</label>'
        for n in followups.SCORES
    )
    return (
        f"<h1>How did we do?</h1><p>About your request {html.escape(number)}: "
        "1 is poor, 5 is excellent.</p>"
        '<form method="post"><fieldset><legend>Your rating</legend>'
        f"{choices}</fieldset>"
        '<p><label for="comment">Anything you would like to tell us (optional)</label>'
        f'<textarea id="comment" name="comment" maxlength="{followups.MAX_COMMENT}"></textarea></p>'
        '<button type="submit">Send</button></form>'
    )


_THANKS = "<h1>Thank you</h1><p>Your answer has been recorded.</p>"
_ANSWERED = "<h1>Thank you</h1><p>This survey has been answered already.</p>"


class SurveyPage(Controller):
    """Public: the link's unguessable token is the only credential."""

    path = "/surveys"
    tags = ["surveys"]

    @get("/{token:str}", media_type=MediaType.HTML)
    async def show(self, token: FromPath[str], db: Db) -> Response[str]:
        """The rating form (or a note that it was answered); changes nothing."""
        survey, ticket = await followups.open_survey(db, token)
        if survey.status != "sent":
            return _page(_ANSWERED)
        return _page(_form(ticket.number))

    @post("/{token:str}", status_code=HTTP_201_CREATED)
    async def answer(
        self, token: FromPath[str], db: Db, request: Request[Any, Any, Any]
    ) -> Response[Any]:
        """The answer, from the form (HTML back) or as JSON ``{"score": 1–5, "comment"}``;
        a survey is answered once (a second answer: 409)."""
        survey, ticket = await followups.open_survey(db, token)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                answer = msgspec.json.decode(await request.body(), type=AnswerIn)
            except msgspec.ValidationError as exc:
                raise InvalidInput(str(exc)) from None
            except msgspec.DecodeError:
                raise InvalidInput("the body is not JSON") from None
            stored = await followups.answer_survey(db, survey, ticket, answer)
            return Response(SurveyOut.of(stored), status_code=HTTP_201_CREATED)
        form = await request.form()
        raw = form.get("score")
        if not isinstance(raw, str) or not raw.strip().isdigit():
            raise InvalidInput("choose a rating from 1 to 5")
        comment = form.get("comment")
        answer = AnswerIn(score=int(raw), comment=comment if isinstance(comment, str) else None)
        try:
            await followups.answer_survey(db, survey, ticket, answer)
        except Conflict:
            # A person at a browser (or the chat widget): a page, not problem details.
            return _page(_ANSWERED, status=HTTP_409_CONFLICT, cors=True)
        return _page(_THANKS, status=HTTP_201_CREATED, cors=True)


CONTROLLERS = [FollowupController, SurveyPage]
