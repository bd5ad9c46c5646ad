"""HTTP API for routing rules, SLA policies, business hours, and a ticket's SLA clocks."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec
from litestar import Controller, delete, get, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from frontdesk.api.deps import Actor, Db, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.auth.service import get_team
from frontdesk.routing import rules, sla
from frontdesk.routing.calendar import CalendarSpec
from frontdesk.tickets.service import get_ticket


class PoliciesIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole ordered list; an empty list returns to the defaults."""

    policies: list[sla.PolicySpec]


class PoliciesOut(msgspec.Struct, frozen=True, kw_only=True):
    policies: list[sla.PolicySpec]
    source: Literal["default", "tenant"]


class CalendarOut(msgspec.Struct, frozen=True, kw_only=True):
    # None: no calendar here (a team falls back to the tenant's; the tenant's
    # absence means always open).
    calendar: CalendarSpec | None


async def _policies_out(db: Db) -> PoliciesOut:
    policies, default = await sla.get_policies(db)
    return PoliciesOut(policies=policies, source="default" if default else "tenant")


class RulesIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole ordered list; an empty list returns to the defaults."""

    rules: list[rules.RuleSpec]


class RulesOut(msgspec.Struct, frozen=True, kw_only=True):
    rules: list[rules.RuleSpec]
    source: Literal["default", "tenant"]


async def _rules_out(db: Db) -> RulesOut:
    found, default = await rules.get_rules(db)
    return RulesOut(rules=found, source="default" if default else "tenant")


class RoutingController(Controller):
    path = "/api/v1/routing-rules"
    tags = ["routing"]

    @get("/", opt=needs(P.ROUTING_MANAGE))
    async def get_rules(self, db: Db, principal: Actor) -> RulesOut:
        """In order: the first rule whose conditions all match a routed ticket applies."""
        return await _rules_out(db)

    @put("/", opt=needs(P.ROUTING_MANAGE), status_code=HTTP_200_OK)
    async def put_rules(self, data: JSONBody[RulesIn], db: Db, principal: Actor) -> RulesOut:
        """Replace the list; tickets routed from now on are evaluated against it."""
        await rules.put_rules(db, principal.user_id, data.rules)
        return await _rules_out(db)


class SlaController(Controller):
    path = "/api/v1"
    tags = ["sla"]

    @get("/sla-policies", opt=needs(P.SLA_MANAGE))
    async def get_policies(self, db: Db, principal: Actor) -> PoliciesOut:
        """In order: for each metric the first matching policy that sets it gives the target."""
        return await _policies_out(db)

    @put("/sla-policies", opt=needs(P.SLA_MANAGE), status_code=HTTP_200_OK)
    async def put_policies(
        self, data: JSONBody[PoliciesIn], db: Db, principal: Actor
    ) -> PoliciesOut:
        """Replace the list; clocks already running keep their targets."""
        await sla.put_policies(db, principal.user_id, data.policies)
        return await _policies_out(db)

    @get("/business-hours", opt=needs(P.SLA_MANAGE))
    async def get_hours(self, db: Db, principal: Actor) -> CalendarOut:
        return CalendarOut(calendar=await sla.get_calendar(db, None))

    @put("/business-hours", opt=needs(P.SLA_MANAGE), status_code=HTTP_200_OK)
    async def put_hours(
        self, data: JSONBody[CalendarSpec], db: Db, principal: Actor
    ) -> CalendarOut:
        """The tenant's calendar; clocks started after this count by it."""
        await sla.put_calendar(db, principal.user_id, None, data)
        return CalendarOut(calendar=await sla.get_calendar(db, None))

    @delete("/business-hours", opt=needs(P.SLA_MANAGE))
    async def delete_hours(self, db: Db, principal: Actor) -> None:
        await sla.put_calendar(db, principal.user_id, None, None)

    @get("/teams/{team_id:uuid}/business-hours", opt=needs(P.SLA_MANAGE))
    async def get_team_hours(
        self, team_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> CalendarOut:
        team = await get_team(db, team_id)
        return CalendarOut(calendar=await sla.get_calendar(db, team.id))

    @put("/teams/{team_id:uuid}/business-hours", opt=needs(P.SLA_MANAGE), status_code=HTTP_200_OK)
    async def put_team_hours(
        self, team_id: FromPath[uuid.UUID], data: JSONBody[CalendarSpec], db: Db, principal: Actor
    ) -> CalendarOut:
        team = await get_team(db, team_id)
        await sla.put_calendar(db, principal.user_id, team.id, data)
        return CalendarOut(calendar=await sla.get_calendar(db, team.id))

    @delete("/teams/{team_id:uuid}/business-hours", opt=needs(P.SLA_MANAGE))
    async def delete_team_hours(
        self, team_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> None:
        team = await get_team(db, team_id)
        await sla.put_calendar(db, principal.user_id, team.id, None)

    @get("/tickets/{ticket_id:uuid}/sla", opt=needs(P.TICKETS_READ))
    async def ticket_sla(
        self, ticket_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[sla.ClockOut]:
        """The ticket's SLA clocks: target, business time used, due, warned, breached, met."""
        ticket = await get_ticket(db, principal, ticket_id)
        return await sla.ticket_status(db, ticket)


CONTROLLERS = [RoutingController, SlaController]
