"""Routing rules: an ordered list per tenant; the first rule whose conditions
all match a ticket applies its actions, and the ticket's timeline records
which rule matched and why (``routing_rule_matched``).

Conditions (each a list; empty means any, several values mean any of them):
the reason the ticket is routed now, channel, category, priority, the
customer's tier, keywords in the subject (case-insensitive; a channel
message without a subject has its first words as the subject), the
ticket's language (given, or detected from the subject), and whether it
arrives inside or outside business hours (its team's calendar, else the
tenant's). Actions: a team (by slug), a priority, tags to add, the
customer's own success manager as assignee, escalation, an assignment
strategy for the ticket (``routing.assignment``), and whom to notify (the
tenant's admins, the customer's success manager, the team's leads). A rule
moves only a ticket that is with the default team (or none) and gives an
assignee only to an unassigned one: a team or assignee a person chose
stays. Without stored rules the defaults below apply (the source
documents' routing), for every tenant from its sign-up on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.errors import InvalidInput
from frontdesk.routing.assignment import Strategy, team_leads
from frontdesk.routing.calendar import BusinessCalendar
from frontdesk.routing.models import RoutingRule
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.states import Priority, TicketState

MAX_RULES = 200

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
ChannelKind = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]*$", max_length=32)]
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=63)]
Keyword = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Reason = Literal["new ticket", "reopened", "follow-up"]
Tier = Literal["vip", "high_value", "regular", "new", "dormant"]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=16)]
Recipient = Literal["admins", "success_manager", "team_leads"]


class Conditions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reasons: list[Reason] = []
    channels: list[ChannelKind] = []
    categories: list[Slug] = []
    priorities: list[Priority] = []
    customer_tiers: list[Tier] = []
    keywords: list[Keyword] = []
    languages: list[Language] = []
    business_hours: Literal["inside", "outside"] | None = None


class Actions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    team: Slug | None = None
    priority: Priority | None = None
    tags: list[Tag] = []
    # The customer's owning success manager (when there is one and they are active).
    assign_to_success_manager: bool = False
    escalate: bool = False
    # Who gets the ticket within its team (None: the team's own strategy).
    assign: Strategy | None = None
    notify: list[Recipient] = []


class RuleSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    conditions: Conditions = msgspec.field(default_factory=Conditions)
    actions: Actions


NEW = ["new ticket", "follow-up"]

DEFAULT_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        name="Technical faults go to engineering",
        conditions=Conditions(categories=["fault"]),
        actions=Actions(team="engineering"),
    ),
    RuleSpec(
        name="Complaints are urgent and escalated",
        conditions=Conditions(categories=["complaint"]),
        actions=Actions(
            priority=Priority.URGENT,
            tags=["complaint"],
            escalate=True,
            notify=["admins", "success_manager"],
        ),
    ),
    RuleSpec(
        name="Outages are urgent and escalated",
        conditions=Conditions(keywords=["outage", "宕机", "服务中断"]),
        actions=Actions(
            priority=Priority.URGENT,
            tags=["outage"],
            escalate=True,
            notify=["admins", "success_manager"],
        ),
    ),
    RuleSpec(
        name="High-value customers go to their success manager",
        conditions=Conditions(customer_tiers=["vip", "high_value"]),
        actions=Actions(team="success", assign_to_success_manager=True),
    ),
)
# "Everything else goes to the front line" needs no rule: a ticket no rule
# gave a team stays with (or goes to) the default team.


async def get_rules(session: AsyncSession) -> tuple[list[RuleSpec], bool]:
    """The tenant's rules in order, and whether they are the defaults."""
    rows = (await session.scalars(select(RoutingRule).order_by(RoutingRule.position))).all()
    if not rows:
        return list(DEFAULT_RULES), True
    return [
        msgspec.convert(
            {"name": r.name, "conditions": r.conditions, "actions": r.actions}, RuleSpec
        )
        for r in rows
    ], False


async def put_rules(
    session: AsyncSession, actor_user_id: uuid.UUID | None, rules: Sequence[RuleSpec]
) -> None:
    """Replace the tenant's rules (an empty list returns to the defaults)."""
    from frontdesk.audit.service import record
    from frontdesk.auth.service import list_teams

    if len(rules) > MAX_RULES:
        raise InvalidInput(f"at most {MAX_RULES} rules")
    slugs = {team.slug for team in await list_teams(session)}
    for rule in rules:
        a = rule.actions
        if a == Actions():
            raise InvalidInput(f"rule {rule.name!r} does nothing")
        if a.team is not None and a.team not in slugs:
            raise InvalidInput(f"rule {rule.name!r}: no team {a.team!r}")
    await session.execute(delete(RoutingRule).execution_options(synchronize_session=False))
    for position, rule in enumerate(rules):
        raw = msgspec.to_builtins(rule)
        session.add(
            RoutingRule(
                position=position,
                name=rule.name,
                conditions=raw.get("conditions", {}),
                actions=raw["actions"],
            )
        )
    await session.flush()
    await record(
        session,
        actor_user_id=actor_user_id,
        action="routing_rules.replaced",
        subject_type="tenant",
        subject_id=None,
        rules=[r.name for r in rules],
    )


class _Customer(msgspec.Struct, frozen=True):
    tier: str
    success_manager_id: uuid.UUID | None


def explain(
    c: Conditions,
    ticket: Ticket,
    reason: str,
    customer: _Customer | None,
    calendar: BusinessCalendar | None = None,
    now: dt.datetime | None = None,
) -> list[str] | None:
    """Why every condition holds, or None when one does not."""
    why: list[str] = []
    if c.reasons:
        if reason not in c.reasons:
            return None
        why.append(f"routed as {reason}")
    if c.channels:
        if ticket.channel not in c.channels:
            return None
        why.append(f"channel is {ticket.channel}")
    if c.categories:
        if ticket.category not in c.categories:
            return None
        why.append(f"category is {ticket.category}")
    if c.priorities:
        if ticket.priority not in c.priorities:
            return None
        why.append(f"priority is {ticket.priority}")
    if c.customer_tiers:
        if customer is None or customer.tier not in c.customer_tiers:
            return None
        why.append(f"customer tier is {customer.tier}")
    if c.keywords:
        subject = ticket.subject.casefold()
        found = [k for k in c.keywords if k.casefold() in subject]
        if not found:
            return None
        why.append(f"subject mentions {found[0]!r}")
    if c.languages:
        language = (ticket.language or "").lower()
        if not language or (
            language not in c.languages and language.split("-")[0] not in c.languages
        ):
            return None
        why.append(f"language is {language}")
    if c.business_hours is not None:
        assert calendar is not None and now is not None
        inside = calendar.is_open(now)
        if inside != (c.business_hours == "inside"):
            return None
        why.append(f"{'inside' if inside else 'outside'} business hours")
    return why or ["the rule matches every ticket"]


async def apply_rules(
    session: AsyncSession, routed: Sequence[tuple[Ticket, str]]
) -> dict[uuid.UUID, Strategy]:
    """Evaluate the rules for each ticket and apply the first match's actions.

    Returns the assignment strategy a matching rule named, by ticket id.
    """
    from frontdesk.auth.service import default_team, get_user, list_teams, users_with_role
    from frontdesk.clock import now as clock_now
    from frontdesk.identity.service import routing_facts
    from frontdesk.notifications.service import notify
    from frontdesk.routing.sla import calendars_for
    from frontdesk.tickets import service as tickets

    chosen: dict[uuid.UUID, Strategy] = {}
    if not routed:
        return chosen
    rules, _ = await get_rules(session)
    if not rules:
        return chosen
    calendars = (
        await calendars_for(session)
        if any(rule.conditions.business_hours for rule in rules)
        else None
    )
    now = clock_now()
    admins: list[uuid.UUID] | None = None
    # Read only when a matching rule names a team (most batches match none).
    teams: dict[str, uuid.UUID] = {}
    movable: set[uuid.UUID | None] = set()
    tiers_matter = any(rule.conditions.customer_tiers for rule in rules) or any(
        rule.actions.assign_to_success_manager or "success_manager" in rule.actions.notify
        for rule in rules
    )
    facts = await routing_facts(session, {t.customer_id for t, _ in routed}) if tiers_matter else {}
    customers = {cid: _Customer(tier, sm) for cid, (tier, sm) in facts.items()}
    for ticket, reason in routed:
        customer = customers.get(ticket.customer_id)
        for position, rule in enumerate(rules):
            why = explain(
                rule.conditions,
                ticket,
                reason,
                customer,
                calendars.of(ticket) if calendars else None,
                now,
            )
            if why is None:
                continue
            a = rule.actions
            done: dict[str, Any] = {}
            if a.team and not teams:
                teams = {team.slug: team.id for team in await list_teams(session)}
                default = await default_team(session)
                movable = {None, default.id if default else None}
            team_id = teams.get(a.team) if a.team and ticket.team_id in movable else None
            if team_id == ticket.team_id:
                team_id = None
            assignee_id = None
            if (
                a.assign_to_success_manager
                and ticket.assignee_id is None
                and customer
                and customer.success_manager_id
            ):
                manager = await get_user(session, customer.success_manager_id)
                if manager.is_active:
                    assignee_id = manager.id
            if team_id is not None or assignee_id is not None:
                await tickets.assign(
                    session,
                    None,
                    ticket,
                    team_id=team_id if team_id is not None else msgspec.UNSET,
                    assignee_id=assignee_id if assignee_id is not None else msgspec.UNSET,
                )
                if team_id is not None:
                    done["team"] = a.team
                if assignee_id is not None:
                    done["assignee_id"] = str(assignee_id)
            tags = [t for t in a.tags if t.strip().lower() not in ticket.tags]
            if a.priority is not None or tags:
                await tickets.update_ticket(
                    session,
                    None,
                    ticket,
                    tickets.TicketChanges(
                        priority=a.priority if a.priority is not None else msgspec.UNSET,
                        tags=[*ticket.tags, *tags] if tags else msgspec.UNSET,
                    ),
                )
                if a.priority is not None:
                    done["priority"] = a.priority.value
                if tags:
                    done["tags"] = tags
            if a.escalate and ticket.state in (
                TicketState.NEW.value,
                TicketState.OPEN.value,
                TicketState.PENDING.value,
            ):
                await tickets.change_state(
                    session, None, ticket, TicketState.ESCALATED, reason=f"routing rule {rule.name}"
                )
                done["escalated"] = True
            if a.assign is not None:
                chosen[ticket.id] = a.assign
                done["assign"] = a.assign.value
            if a.notify:
                recipients: list[uuid.UUID] = []
                if "admins" in a.notify:
                    if admins is None:
                        admins = await users_with_role(session, "admin")
                    recipients += admins
                if "success_manager" in a.notify and customer and customer.success_manager_id:
                    recipients.append(customer.success_manager_id)
                if "team_leads" in a.notify and ticket.team_id is not None:
                    recipients += (await team_leads(session, {ticket.team_id})).get(
                        ticket.team_id, []
                    )
                sent = await notify(
                    session,
                    ticket.tenant_id,
                    recipients,
                    "ticket_escalated" if a.escalate else "routing_rule_matched",
                    ticket_id=ticket.id,
                    payload={"number": ticket.number, "subject": ticket.subject, "rule": rule.name},
                )
                done["notified"] = [str(n.user_id) for n in sent]
            await tickets.add_system_events(
                session,
                [
                    (
                        ticket,
                        "routing_rule_matched",
                        {"rule": rule.name, "position": position, "why": why, "actions": done},
                    )
                ],
            )
            break
    return chosen
