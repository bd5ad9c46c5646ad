"""A tenant manifest's shape: strict msgspec types, unknown keys refused.

The calendar, SLA policy and routing rule types are the API's own
(``routing``), so a manifest says exactly what an admin could PUT.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from frontdesk.auth.schemas import TEAM_KINDS
from frontdesk.channels.settings import ChannelSettings
from frontdesk.routing.calendar import CalendarSpec
from frontdesk.routing.rules import RuleSpec
from frontdesk.routing.sla import PolicySpec

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RoleName = Annotated[str, msgspec.Meta(pattern=r"^\S(?:.{0,62}\S)?$")]
ChannelKind = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]*$", max_length=32)]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
Locale = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")]
TeamKind = Literal["front_line", "engineering", "after_sales", "success", "other"]
assert set(TeamKind.__args__) == set(TEAM_KINDS)  # type: ignore[attr-defined]


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class TenantSpec(_Strict, frozen=True, kw_only=True):
    slug: Slug
    name: Name


class TeamSpec(_Strict, frozen=True, kw_only=True):
    slug: Slug
    name: Name
    kind: TeamKind = "other"
    #: New tickets a channel sends to no particular team go here; at most one.
    default: bool = False
    #: The team's own calendar; without one its tickets count the tenant's.
    business_hours: CalendarSpec | None = None


class RoleSpec(_Strict, frozen=True, kw_only=True):
    """A custom role (the built-in ones are agent, engineer, success_manager, admin)."""

    name: RoleName
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""
    permissions: list[str] = []


class UserSpec(_Strict, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    role: RoleName
    locale: Locale = "en"
    #: Teams the user is a member of, and those of them the user leads.
    teams: list[Slug] = []
    lead_of: list[Slug] = []


class ChannelSpec(_Strict, frozen=True, kw_only=True):
    name: Name
    kind: ChannelKind
    #: The team new tickets from this channel go to, before routing rules.
    team: Slug | None = None
    active: bool = True
    #: The adapter's configuration, without its secret fields.
    config: dict[str, Any] = {}
    #: Secret field → the environment variable holding its value at apply time.
    secret_env: dict[str, EnvName] = {}
    settings: ChannelSettings = ChannelSettings()


class CannedReplySpec(_Strict, frozen=True, kw_only=True):
    """A canned reply (话术库), as ``POST /api/v1/canned-replies`` takes it."""

    title: Name
    #: Plain text; placeholders such as ``{{customer.name}}`` are filled in per ticket.
    body: Annotated[str, msgspec.Meta(min_length=1)]


class Manifest(_Strict, frozen=True, kw_only=True):
    version: Literal[1] = 1
    tenant: TenantSpec
    teams: list[TeamSpec] = []
    roles: list[RoleSpec] = []
    users: list[UserSpec] = []
    #: The tenant's calendar; absent: always open.
    business_hours: CalendarSpec | None = None
    #: Absent: the built-in defaults (docs/routing-and-slas.md).
    sla_policies: list[PolicySpec] | None = None
    routing_rules: list[RuleSpec] | None = None
    channels: list[ChannelSpec] = []
    canned_replies: list[CannedReplySpec] = []
