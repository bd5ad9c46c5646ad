"""HTTP API for routing rules, SLA policies, business hours, a ticket's SLA clocks,
assignment strategies, agents' capacity and skills, and one's own presence."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec
from litestar import Controller, delete, get, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from frontdesk.api.deps import Actor, Db, needs
from frontdesk.auth.permissions import Permission as P
from frontdesk.auth.service import get_team, get_user, team_members
from frontdesk.routing import assignment, rules, sla
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


class StrategyOut(msgspec.Struct, frozen=True, kw_only=True):
    team_id: uuid.UUID
    strategy: assignment.Strategy


class PresenceOut(msgspec.Struct, frozen=True, kw_only=True):
    status: assignment.Presence


class AssignmentController(Controller):
    path = "/api/v1"
    tags = ["assignment"]

    @get("/teams/{team_id:uuid}/assignment", opt=needs(P.ROUTING_MANAGE))
    async def get_strategy(
        self, team_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> StrategyOut:
        team = await get_team(db, team_id)
        return StrategyOut(team_id=team.id, strategy=await assignment.team_strategy(db, team.id))

    @put("/teams/{team_id:uuid}/assignment", opt=needs(P.ROUTING_MANAGE), status_code=HTTP_200_OK)
    async def put_strategy(
        self,
        team_id: FromPath[uuid.UUID],
        data: JSONBody[assignment.StrategyIn],
        db: Db,
        principal: Actor,
    ) -> StrategyOut:
        """How the team's new and reopened tickets find an agent (``manual``: they wait)."""
        team = await get_team(db, team_id)
        await assignment.set_team_strategy(db, principal.user_id, team.id, data.strategy)
        return StrategyOut(team_id=team.id, strategy=data.strategy)

    @get("/teams/{team_id:uuid}/agents", opt=needs(P.USERS_READ))
    async def team_agents(
        self, team_id: FromPath[uuid.UUID], db: Db, principal: Actor
    ) -> list[assignment.ProfileOut]:
        """The team's members as agents: presence, capacity, skills, open tickets."""
        team = await get_team(db, team_id)
        members = await team_members(db, [team.id])
        return await assignment.profile_out(db, [m.user_id for m in members])

    @put("/users/{user_id:uuid}/agent-profile", opt=needs(P.TEAMS_MANAGE), status_code=HTTP_200_OK)
    async def put_profile(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[assignment.ProfileIn],
        db: Db,
        principal: Actor,
    ) -> assignment.ProfileOut:
        """An agent's capacity (most open tickets assignment gives them) and skills."""
        user = await get_user(db, user_id)
        await assignment.set_profile(db, principal.user_id, user.id, data)
        [out] = await assignment.profile_out(db, [user.id])
        return out

    @get("/me/presence")
    async def my_presence(self, db: Db, principal: Actor) -> PresenceOut:
        [out] = await assignment.profile_out(db, [principal.user_id])
        return PresenceOut(status=out.presence)

    @put("/me/presence", status_code=HTTP_200_OK)
    async def set_my_presence(
        self, data: JSONBody[assignment.PresenceIn], db: Db, principal: Actor
    ) -> PresenceOut:
        """online, away or offline; going offline hands one's open urgent tickets on."""
        status = await assignment.set_presence(db, principal.user_id, data.status)
        return PresenceOut(status=status)


CONTROLLERS = [RoutingController, SlaController, AssignmentController]
