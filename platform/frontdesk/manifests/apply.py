"""Applying a manifest: make the tenant match it, in one transaction, through the
domains' own service functions (so every change is checked and audited as if
an admin had made it in the API), and say what changed.

The plan is what the apply does: ``--dry-run`` runs the same code and rolls
the transaction back, so the plan can never promise something the apply
would not do. Nothing is written when nothing differs, so a second apply is
an empty plan with no row touched.

What the manifest declares wholly (the tenant's calendar, SLA policies and
routing rules; each listed user's role, teams and details; each listed
channel's configuration; each listed canned reply's body) is set to match.
Teams, roles, users, channels and canned replies the tenant has and the
manifest does not list are reported and kept; with
``prune``, such users and channels are deactivated and such canned replies
deleted (nothing points at a canned reply; teams and custom roles are never
deleted: tickets and users point at them).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.audit.service import record
from frontdesk.auth import invitations
from frontdesk.auth import service as auth
from frontdesk.auth.permissions import BUILTIN_ROLES, Permission
from frontdesk.canned import service as canned
from frontdesk.channels import service as channels
from frontdesk.channels.settings import encode_settings, settings_of
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import enter_tenant
from frontdesk.errors import InvalidInput
from frontdesk.identity.normalise import normalise_email
from frontdesk.manifests.load import LoadedManifest, ManifestError, check_installation
from frontdesk.manifests.schema import (
    CannedReplySpec,
    ChannelSpec,
    Manifest,
    RoleSpec,
    TeamSpec,
    UserSpec,
)
from frontdesk.routing import rules, sla
from frontdesk.runtime import Runtime
from frontdesk.tenancy import service as tenancy

if TYPE_CHECKING:
    from frontdesk.auth.models import Role, Team, User
    from frontdesk.canned.models import CannedReply
    from frontdesk.channels.models import ChannelInstance
    from frontdesk.tenancy.models import Tenant

# Changes a manifest makes are audited as this actor: no signed-in user made them.
MANIFEST_ACTOR = uuid.UUID(int=0)

Op = Literal["create", "update", "deactivate", "delete"]
RowT = TypeVar("RowT")
SpecT = TypeVar("SpecT")


class Change(msgspec.Struct, frozen=True):
    op: Op
    what: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        sign = {"create": "+", "update": "~", "deactivate": "-", "delete": "-"}[self.op]
        tail = f": {self.detail}" if self.detail else ""
        return f"{sign} {self.op} {self.what} {self.name}{tail}"


class Plan(msgspec.Struct, kw_only=True):
    tenant: str
    changes: list[Change] = []
    #: In the tenant, not in the manifest, and kept.
    unlisted: list[str] = []
    #: Links to pass on by hand (the platform's mail is not configured).
    invitations: dict[str, str] = {}
    #: New channels' webhook URLs, to give to the providers.
    webhooks: dict[str, str] = {}
    applied: bool = False

    def lines(self) -> list[str]:
        out = [str(c) for c in self.changes] or ["no changes"]
        out += [f"  not in the manifest (kept): {u}" for u in self.unlisted]
        return out


async def apply_manifest(
    runtime: Runtime,
    loaded: LoadedManifest,
    *,
    prune: bool = False,
    dry_run: bool = False,
    show_plan: Callable[[Plan], None] | None = None,
) -> Plan:
    """Check everything first (``ManifestError``), then change the tenant in one transaction.

    ``show_plan`` sees the plan before the transaction commits (or is rolled
    back, with ``dry_run``).
    """
    loaded = check_installation(loaded, runtime.registry)
    async with runtime.db.sessions() as session:
        transaction = await session.begin()
        try:
            plan = await _Apply(session, runtime, loaded, prune).run()
            if show_plan is not None:
                show_plan(plan)
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
            session.sync_session.info.clear()
            plan.invitations.clear()
            plan.webhooks.clear()
            return plan
        await transaction.commit()
        await runtime.db.committed(session)
        plan.applied = True
        return plan


class _Apply:
    def __init__(
        self, session: AsyncSession, runtime: Runtime, loaded: LoadedManifest, prune: bool
    ) -> None:
        self.session = session
        self.runtime = runtime
        self.loaded = loaded
        self.m: Manifest = loaded.manifest
        self.prune = prune
        self.plan = Plan(tenant=self.m.tenant.slug)
        self.new_users: set[uuid.UUID] = set()

    def change(self, op: Op, what: str, name: str, detail: str = "") -> None:
        self.plan.changes.append(Change(op, what, name, detail))

    async def run(self) -> Plan:
        tenant = await self._tenant()
        self.cipher = await load_tenant_cipher(self.session, self.runtime.keyring, tenant.id)
        self.actor = auth.Principal(
            tenant_id=tenant.id,
            user_id=MANIFEST_ACTOR,
            permissions=frozenset(p.value for p in Permission),
            team_ids=frozenset(),
        )
        self.tenant = tenant
        await self._teams()
        await self._roles()
        await self._users()
        await self._settings()
        await self._channels()
        await self._canned_replies()
        if self.plan.changes:
            await record(
                self.session,
                actor_user_id=None,
                action="tenant.manifest_applied",
                subject_type="tenant",
                subject_id=tenant.id,
                source=self.loaded.source,
                changes=[str(c) for c in self.plan.changes],
            )
        return self.plan

    # --- the tenant ---------------------------------------------------------------

    async def _tenant(self) -> Tenant:
        spec = self.m.tenant
        tenant = await tenancy.find_tenant_by_slug(self.session, spec.slug)
        if tenant is not None:
            await enter_tenant(self.session, tenant.id)
            if tenant.name != spec.name:
                await tenancy.rename_tenant(self.session, None, tenant, spec.name)
                self.change("update", "tenant", spec.slug, f"name {spec.name!r}")
            return tenant
        # The first admin listed becomes the sign-up's admin; the rest follow.
        first = next(u for u in self.m.users if u.role == "admin")
        created = await tenancy.sign_up(
            self.session,
            self.runtime,
            name=spec.name,
            slug=spec.slug,
            admin_email=first.email,
            admin_name=first.name,
            admin_password=None,
            teams=(),
        )
        self.new_users.add(created.admin_user_id)
        self.change("create", "tenant", spec.slug, spec.name)
        return created.tenant

    # --- the kinds of things a manifest lists (one ``Kind`` each, at the end) -----------

    async def _sync(self, kind: Kind[Any, Any]) -> dict[str, Any]:
        """Make the tenant's rows of one kind match the manifest's entries; returns
        every row by key, those created included."""
        rows = list(await kind.rows(self))
        existing = {kind.row_key(self, row): row for row in rows}
        found = dict(existing)
        listed = set(kind.always_listed)
        for i, spec in enumerate(kind.specs(self.m)):
            key, name = kind.spec_key(self, spec), kind.name(self, spec)
            listed.add(key)
            try:
                row = await self._sync_one(kind, i, spec, name, existing.get(key))
            except InvalidInput as exc:
                if not kind.input_errors_at_entry:
                    raise
                raise self._error(
                    (kind.section, i), f"{kind.what} {name!r}: {exc.detail}"
                ) from None
            found[key] = row
            if kind.after is not None:
                await kind.after(self, spec, name, row)
        unlisted = [(key, row) for key, row in existing.items() if key not in listed]
        if kind.sort_unlisted:
            unlisted.sort(key=lambda pair: pair[0])
        for _, row in unlisted:
            if not kind.live(row):
                continue
            name = kind.row_name(self, row)
            if self.prune and kind.prune is not None:
                op, remove = kind.prune
                await remove(self, row)
                self.change(op, kind.what, name)
            else:
                self.plan.unlisted.append(f"{kind.what} {name}")
        return found

    async def _sync_one(
        self, kind: Kind[Any, Any], i: int, spec: Any, name: str, row: Any | None
    ) -> Any:
        if row is None:
            row = await kind.create(self, spec)
            self.change("create", kind.what, name, kind.created(self, spec))
            return row
        fresh = kind.fresh(self, row)
        if fresh:
            self.change("create", kind.what, name, kind.created(self, spec))
        else:
            kind.check(self, i, spec, row)
        current, wanted = kind.fields(self, row), kind.wanted(self, spec)
        notes = kind.describe(self, current, wanted)
        if notes:
            await kind.update(self, row, spec, current, wanted)
            if not fresh:
                self.change("update", kind.what, name, "; ".join(notes))
        return row

    async def _teams(self) -> None:
        self.teams: dict[str, Team] = await self._sync(TEAMS)

    async def _roles(self) -> None:
        self.roles: dict[str, Role] = await self._sync(ROLES)

    async def _users(self) -> None:
        await self._sync(USERS)

    async def _channels(self) -> None:
        await self._sync(CHANNELS)

    async def _canned_replies(self) -> None:
        await self._sync(CANNED_REPLIES)

    # --- what only one kind needs ------------------------------------------------------

    async def _team_calendar(self, spec: TeamSpec, name: str, team: Team) -> None:
        current = await sla.get_calendar(self.session, team.id)
        if current != spec.business_hours:
            await sla.put_calendar(self.session, None, team.id, spec.business_hours)
            what = "removed" if spec.business_hours is None else "set"
            self.change("update", "team", name, f"business hours {what}")

    async def _user_rows(self) -> list[User]:
        self.members: dict[uuid.UUID, dict[uuid.UUID, bool]] = {}
        for row in await auth.all_team_members(self.session):
            self.members.setdefault(row.user_id, {})[row.team_id] = row.is_lead
        return await auth.all_users(self.session)

    async def _after_user(self, spec: UserSpec, email: str, user: User) -> None:
        await self._memberships(user, spec, email, self.members.get(user.id, {}))
        if user.id in self.new_users:
            invited = await invitations.invite(self.session, self.runtime, user, invited_by=None)
            if invited.accept_url:
                self.plan.invitations[email] = invited.accept_url

    async def _memberships(
        self, user: User, spec: UserSpec, email: str, current: dict[uuid.UUID, bool]
    ) -> None:
        wanted = {self.teams[slug].id: slug in spec.lead_of for slug in spec.teams}
        slugs = {team.id: slug for slug, team in self.teams.items()}
        notes = []
        for team_id, lead in wanted.items():
            if current.get(team_id) != lead:
                team = self.teams[slugs[team_id]]
                await auth.set_team_member(self.session, None, team, user, is_lead=lead)
                notes.append(f"{'lead of' if lead else 'member of'} {slugs[team_id]}")
        for team_id in sorted(set(current) - set(wanted)):
            team = self.teams[slugs[team_id]]
            await auth.remove_team_member(self.session, self.actor, team, user.id)
            notes.append(f"leaves {slugs[team_id]}")
        if notes and user.id not in self.new_users:
            self.change("update", "user", email, "; ".join(notes))

    async def _create_channel(self, spec: ChannelSpec) -> ChannelInstance:
        name = spec.name.strip()
        channel, token = await channels.create_channel(
            self.session,
            self.runtime,
            self.cipher,
            self.actor,
            kind=spec.kind,
            name=name,
            config={**spec.config, **self.loaded.secrets.get(name, {})},
            team_id=self._team_id(spec.team),
            settings=encode_settings(spec.settings),
        )
        if not spec.active:
            await self._set_channel_active(channel, False)
        self.plan.webhooks[name] = channels.webhook_url(self.runtime, token)
        return channel

    async def _set_channel_active(self, channel: ChannelInstance, active: bool) -> None:
        await channels.update_channel(
            self.session,
            self.runtime,
            self.cipher,
            self.actor,
            channel,
            name=None,
            config=None,
            is_active=active,
        )

    def _check_channel(self, i: int, spec: ChannelSpec, channel: ChannelInstance) -> None:
        if channel.kind != spec.kind:
            raise self._error(
                ("channels", i, "kind"),
                f"channel {channel.name!r} is a {channel.kind} channel in the tenant; a "
                "channel's kind cannot change (give the new one another name)",
            )

    def _channel_fields(self, channel: ChannelInstance) -> dict[str, Any]:
        adapter = self.runtime.registry.get(channel.kind)
        return {
            "config": channels.full_config(self.runtime, self.cipher, channel),
            "secret": channels.secret_fields(adapter.config_type),
            "settings": encode_settings(settings_of(channel.settings)),
            "team": channel.team_id,
            "active": channel.is_active,
        }

    def _wanted_channel(self, spec: ChannelSpec) -> dict[str, Any]:
        adapter = self.runtime.registry.get(spec.kind)
        secrets = self.loaded.secrets.get(spec.name.strip(), {})
        return {
            "config": msgspec.to_builtins(
                msgspec.convert({**spec.config, **secrets}, adapter.config_type)
            ),
            "secret": channels.secret_fields(adapter.config_type),
            "settings": encode_settings(spec.settings),
            "team": self._team_id(spec.team),
            "team_slug": spec.team,
            "active": spec.active,
        }

    async def _update_channel(
        self,
        channel: ChannelInstance,
        spec: ChannelSpec,
        current: dict[str, Any],
        wanted: dict[str, Any],
    ) -> None:
        stored, config = current["config"], wanted["config"]
        changed = stored != config
        await channels.update_channel(
            self.session,
            self.runtime,
            self.cipher,
            self.actor,
            channel,
            name=None,
            # Every field named, so a secret the manifest no longer gives is removed.
            config={k: config.get(k) for k in set(stored) | set(config)} if changed else None,
            is_active=spec.active,
            team_id=wanted["team"],
            settings=wanted["settings"] if current["settings"] != wanted["settings"] else None,
        )

    def _team_id(self, slug: str | None) -> uuid.UUID | None:
        return self.teams[slug].id if slug else None

    # --- calendar, SLA policies, routing rules ------------------------------------------

    async def _settings(self) -> None:
        session = self.session
        current_hours = await sla.get_calendar(session, None)
        if current_hours != self.m.business_hours:
            await sla.put_calendar(session, None, None, self.m.business_hours)
            what = "removed (always open)" if self.m.business_hours is None else "set"
            self.change("update", "business hours", self.m.tenant.slug, what)

        policies, default = await sla.get_policies(session)
        wanted_policies = list(self.m.sla_policies or [])
        if (not wanted_policies and not default) or (
            wanted_policies and (default or policies != wanted_policies)
        ):
            await sla.put_policies(session, None, wanted_policies)
            names = ", ".join(p.name for p in wanted_policies) or "the defaults"
            self.change("update", "SLA policies", self.m.tenant.slug, names)

        found, default = await rules.get_rules(session)
        wanted_rules = list(self.m.routing_rules or [])
        if (not wanted_rules and not default) or (
            wanted_rules and (default or found != wanted_rules)
        ):
            await rules.put_rules(session, None, wanted_rules)
            names = ", ".join(r.name for r in wanted_rules) or "the defaults"
            self.change("update", "routing rules", self.m.tenant.slug, names)

    def _error(self, path: tuple[str | int, ...], message: str) -> ManifestError:
        return ManifestError(self.loaded.source, [self.loaded.problem(path, message)])


def _role_name(roles: dict[str, Role], role_id: uuid.UUID) -> str:
    return next((name for name, r in roles.items() if r.id == role_id), "?")


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return [f"{k} {wanted[k]!r}" for k in wanted if current.get(k) != wanted[k]]


def _never(a: _Apply, row: Any) -> bool:
    return False


def _no_check(a: _Apply, i: int, spec: Any, row: Any) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class Kind(Generic[RowT, SpecT]):
    """One kind of thing a manifest lists, as ``_Apply._sync`` makes the tenant match it.

    A new kind is one more of these: where its entries are, how a row and an
    entry are keyed and named, which fields are compared and how a difference
    reads in the plan, and the domain's service calls that create, update and
    (with ``prune``) deactivate or delete.
    """

    #: How the plan names it ("team"), and its list in the manifest ("teams").
    what: str
    section: str
    specs: Callable[[Manifest], Sequence[SpecT]]
    rows: Callable[[_Apply], Awaitable[Sequence[RowT]]]
    row_key: Callable[[_Apply, RowT], str]
    spec_key: Callable[[_Apply, SpecT], str]
    #: The entry's name in the plan (its key, unless the key is a blind index).
    name: Callable[[_Apply, SpecT], str]
    #: An unlisted row's name in the plan.
    row_name: Callable[[_Apply, RowT], str]
    create: Callable[[_Apply, SpecT], Awaitable[RowT]]
    #: The plan's detail for a created row.
    created: Callable[[_Apply, SpecT], str]
    #: The compared fields, as the tenant has them and as the manifest wants them.
    fields: Callable[[_Apply, RowT], dict[str, Any]]
    wanted: Callable[[_Apply, SpecT], dict[str, Any]]
    #: The differences as the plan says them (none: nothing to update).
    describe: Callable[[_Apply, dict[str, Any], dict[str, Any]], list[str]] = (
        lambda a, current, wanted: _diff(current, wanted)
    )
    update: Callable[[_Apply, RowT, SpecT, dict[str, Any], dict[str, Any]], Awaitable[None]]
    #: Raises a ``ManifestError`` when an existing row cannot become the entry.
    check: Callable[[_Apply, int, SpecT, RowT], None] = _no_check
    #: Runs after each entry is created or updated (what lives in other tables).
    after: Callable[[_Apply, SpecT, str, RowT], Awaitable[None]] | None = None
    #: A row made moments ago by this apply (the sign-up's admin): reported as
    #: created, and updated without another line.
    fresh: Callable[[_Apply, RowT], bool] = _never
    #: Unlisted rows that are not live are neither reported nor pruned.
    live: Callable[[RowT], bool] = lambda row: True
    #: With ``prune``: the operation named in the plan and the call that does it.
    prune: tuple[Op, Callable[[_Apply, RowT], Awaitable[None]]] | None = None
    #: Keys never reported as unlisted (the built-in roles).
    always_listed: frozenset[str] = frozenset()
    #: Unlisted rows reported by key; otherwise in the order ``rows`` gives.
    sort_unlisted: bool = True
    #: The domain's refusal of an entry (``InvalidInput``) becomes a ``ManifestError``
    #: at the entry's position.
    input_errors_at_entry: bool = False


async def _update_team(
    a: _Apply, team: Team, spec: TeamSpec, current: dict[str, Any], wanted: dict[str, Any]
) -> None:
    await auth.update_team(
        a.session, a.actor, team, name=spec.name, kind=spec.kind, is_default=spec.default
    )


TEAMS: Kind[Team, TeamSpec] = Kind(
    what="team",
    section="teams",
    specs=lambda m: m.teams,
    rows=lambda a: auth.list_teams(a.session),
    row_key=lambda a, team: team.slug,
    spec_key=lambda a, spec: spec.slug,
    name=lambda a, spec: spec.slug,
    row_name=lambda a, team: team.slug,
    create=lambda a, spec: auth.create_team(
        a.session, None, slug=spec.slug, name=spec.name, kind=spec.kind, is_default=spec.default
    ),
    created=lambda a, spec: spec.name,
    fields=lambda a, team: {"name": team.name, "kind": team.kind, "default": team.is_default},
    wanted=lambda a, spec: {"name": spec.name, "kind": spec.kind, "default": spec.default},
    update=_update_team,
    after=lambda a, spec, name, team: a._team_calendar(spec, name, team),
)


def _check_role(a: _Apply, i: int, spec: RoleSpec, role: Role) -> None:
    if role.builtin:
        raise a._error(("roles",), f"{spec.name!r} is a built-in role in this tenant")


async def _update_role(
    a: _Apply, role: Role, spec: RoleSpec, current: dict[str, Any], wanted: dict[str, Any]
) -> None:
    await auth.update_role(
        a.session,
        a.actor,
        role,
        description=spec.description,
        permissions=wanted["permissions"],
    )


ROLES: Kind[Role, RoleSpec] = Kind(
    what="role",
    section="roles",
    specs=lambda m: m.roles,
    rows=lambda a: auth.list_roles(a.session),
    row_key=lambda a, role: role.name,
    spec_key=lambda a, spec: spec.name,
    name=lambda a, spec: spec.name,
    row_name=lambda a, role: role.name,
    create=lambda a, spec: auth.create_role(
        a.session,
        a.actor,
        name=spec.name,
        description=spec.description,
        permissions=sorted(set(spec.permissions)),
    ),
    created=lambda a, spec: ", ".join(sorted(set(spec.permissions))) or "no permissions",
    check=_check_role,
    fields=lambda a, role: {
        "description": role.description,
        "permissions": sorted(role.permissions),
    },
    wanted=lambda a, spec: {
        "description": spec.description,
        "permissions": sorted(set(spec.permissions)),
    },
    update=_update_role,
    always_listed=frozenset(BUILTIN_ROLES),
)


async def _create_user(a: _Apply, spec: UserSpec) -> User:
    user = await auth.create_user(
        a.session,
        a.cipher,
        email=normalise_email(spec.email),
        display_name=spec.name,
        password=None,
        role=a.roles[spec.role],
        actor_user_id=None,
        locale=spec.locale,
    )
    a.new_users.add(user.id)
    return user


def _user_fields(a: _Apply, user: User) -> dict[str, Any]:
    return {
        "name": user.display_name,
        "role": _role_name(a.roles, user.role_id),
        "locale": user.locale,
        "active": user.is_active,
    }


def _wanted_user(a: _Apply, spec: UserSpec) -> dict[str, Any]:
    name = spec.name.strip() or normalise_email(spec.email).split("@")[0]
    return {"name": name, "role": spec.role, "locale": spec.locale, "active": True}


async def _update_user(
    a: _Apply, user: User, spec: UserSpec, current: dict[str, Any], wanted: dict[str, Any]
) -> None:
    await auth.update_user(
        a.session,
        a.actor,
        user,
        display_name=wanted["name"],
        role=a.roles[spec.role],
        is_active=True,
        locale=spec.locale,
    )


async def _deactivate_user(a: _Apply, user: User) -> None:
    await auth.update_user(a.session, a.actor, user, is_active=False)


USERS: Kind[User, UserSpec] = Kind(
    what="user",
    section="users",
    specs=lambda m: m.users,
    rows=lambda a: a._user_rows(),
    row_key=lambda a, user: user.email_index,
    spec_key=lambda a, spec: a.cipher.blind_index("user_email", normalise_email(spec.email)),
    name=lambda a, spec: normalise_email(spec.email),
    row_name=lambda a, user: auth.user_email(a.cipher, user),
    create=_create_user,
    created=lambda a, spec: f"role {spec.role}; invited",
    fields=_user_fields,
    wanted=_wanted_user,
    update=_update_user,
    after=lambda a, spec, email, user: a._after_user(spec, email, user),
    fresh=lambda a, user: user.id in a.new_users,
    live=lambda user: user.is_active,
    prune=("deactivate", _deactivate_user),
    sort_unlisted=False,
)


def _describe_channel(a: _Apply, current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    stored, config = current["config"], wanted["config"]
    changed = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
    notes = [f"secret {k} changes" if k in wanted["secret"] else f"{k} changes" for k in changed]
    if current["settings"] != wanted["settings"]:
        notes.append("settings change")
    if current["team"] != wanted["team"]:
        notes.append(f"team {wanted['team_slug'] or 'none'}")
    if current["active"] != wanted["active"]:
        notes.append("activated" if wanted["active"] else "deactivated")
    return notes


async def _deactivate_channel(a: _Apply, channel: ChannelInstance) -> None:
    await a._set_channel_active(channel, False)


CHANNELS: Kind[ChannelInstance, ChannelSpec] = Kind(
    what="channel",
    section="channels",
    specs=lambda m: m.channels,
    rows=lambda a: channels.list_channels(a.session),
    row_key=lambda a, channel: channel.name,
    spec_key=lambda a, spec: spec.name.strip(),
    name=lambda a, spec: spec.name.strip(),
    row_name=lambda a, channel: channel.name,
    create=lambda a, spec: a._create_channel(spec),
    created=lambda a, spec: spec.kind,
    check=lambda a, i, spec, channel: a._check_channel(i, spec, channel),
    fields=lambda a, channel: a._channel_fields(channel),
    wanted=lambda a, spec: a._wanted_channel(spec),
    describe=_describe_channel,
    update=lambda a, channel, spec, current, wanted: a._update_channel(
        channel, spec, current, wanted
    ),
    live=lambda channel: channel.is_active,
    prune=("deactivate", _deactivate_channel),
)


async def _update_canned_reply(
    a: _Apply, row: CannedReply, spec: CannedReplySpec, current: Any, wanted: Any
) -> None:
    await canned.update_reply(a.session, a.actor, row, body=spec.body)


async def _delete_canned_reply(a: _Apply, row: CannedReply) -> None:
    await canned.delete_reply(a.session, a.actor, row)


CANNED_REPLIES: Kind[CannedReply, CannedReplySpec] = Kind(
    what="canned reply",
    section="canned_replies",
    specs=lambda m: m.canned_replies,
    rows=lambda a: canned.list_replies(a.session),
    row_key=lambda a, row: row.title,
    spec_key=lambda a, spec: spec.title.strip(),
    name=lambda a, spec: spec.title.strip(),
    row_name=lambda a, row: row.title,
    create=lambda a, spec: canned.create_reply(
        a.session, None, title=spec.title.strip(), body=spec.body
    ),
    created=lambda a, spec: "",
    fields=lambda a, row: {"body": row.body},
    wanted=lambda a, spec: {"body": spec.body.strip()},
    describe=lambda a, current, wanted: ["body changes"] if current != wanted else [],
    update=_update_canned_reply,
    prune=("delete", _delete_canned_reply),
    input_errors_at_entry=True,
)
