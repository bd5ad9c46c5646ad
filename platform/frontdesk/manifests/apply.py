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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

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
from frontdesk.manifests.schema import ChannelSpec, Manifest, UserSpec
from frontdesk.routing import rules, sla
from frontdesk.runtime import Runtime
from frontdesk.tenancy import service as tenancy

if TYPE_CHECKING:
    from frontdesk.auth.models import Role, Team, User
    from frontdesk.channels.models import ChannelInstance
    from frontdesk.tenancy.models import Tenant

# Changes a manifest makes are audited as this actor: no signed-in user made them.
MANIFEST_ACTOR = uuid.UUID(int=0)

Op = Literal["create", "update", "deactivate", "delete"]


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

    # --- teams and roles ------------------------------------------------------------

    async def _teams(self) -> None:
        existing = {t.slug: t for t in await auth.list_teams(self.session)}
        self.teams: dict[str, Team] = dict(existing)
        for spec in self.m.teams:
            team = existing.get(spec.slug)
            if team is None:
                team = await auth.create_team(
                    self.session,
                    None,
                    slug=spec.slug,
                    name=spec.name,
                    kind=spec.kind,
                    is_default=spec.default,
                )
                self.teams[spec.slug] = team
                self.change("create", "team", spec.slug, spec.name)
            else:
                diff = _diff(
                    {"name": team.name, "kind": team.kind, "default": team.is_default},
                    {"name": spec.name, "kind": spec.kind, "default": spec.default},
                )
                if diff:
                    await auth.update_team(
                        self.session,
                        self.actor,
                        team,
                        name=spec.name,
                        kind=spec.kind,
                        is_default=spec.default,
                    )
                    self.change("update", "team", spec.slug, diff)
            current = await sla.get_calendar(self.session, team.id)
            if current != spec.business_hours:
                await sla.put_calendar(self.session, None, team.id, spec.business_hours)
                what = "removed" if spec.business_hours is None else "set"
                self.change("update", "team", spec.slug, f"business hours {what}")
        listed = {t.slug for t in self.m.teams}
        self.plan.unlisted += [f"team {slug}" for slug in sorted(set(existing) - listed)]

    async def _roles(self) -> None:
        roles = {r.name: r for r in await auth.list_roles(self.session)}
        for spec in self.m.roles:
            role = roles.get(spec.name)
            wanted = sorted(set(spec.permissions))
            if role is None:
                roles[spec.name] = await auth.create_role(
                    self.session,
                    self.actor,
                    name=spec.name,
                    description=spec.description,
                    permissions=wanted,
                )
                self.change("create", "role", spec.name, ", ".join(wanted) or "no permissions")
                continue
            if role.builtin:
                raise self._error(("roles",), f"{spec.name!r} is a built-in role in this tenant")
            diff = _diff(
                {"description": role.description, "permissions": sorted(role.permissions)},
                {"description": spec.description, "permissions": wanted},
            )
            if diff:
                await auth.update_role(
                    self.session,
                    self.actor,
                    role,
                    description=spec.description,
                    permissions=wanted,
                )
                self.change("update", "role", spec.name, diff)
        listed = {r.name for r in self.m.roles} | set(BUILTIN_ROLES)
        self.plan.unlisted += [f"role {name}" for name in sorted(set(roles) - listed)]
        self.roles: dict[str, Role] = roles

    # --- users ------------------------------------------------------------------------

    async def _users(self) -> None:
        session = self.session
        users = await auth.all_users(session)
        by_index = {u.email_index: u for u in users}
        members: dict[uuid.UUID, dict[uuid.UUID, bool]] = {}
        for row in await auth.all_team_members(session):
            members.setdefault(row.user_id, {})[row.team_id] = row.is_lead
        listed: set[uuid.UUID] = set()
        for spec in self.m.users:
            email = normalise_email(spec.email)
            user = by_index.get(self.cipher.blind_index("user_email", email))
            if user is None:
                user = await auth.create_user(
                    session,
                    self.cipher,
                    email=email,
                    display_name=spec.name,
                    password=None,
                    role=self.roles[spec.role],
                    actor_user_id=None,
                    locale=spec.locale,
                )
                self.new_users.add(user.id)
                self.change("create", "user", email, f"role {spec.role}; invited")
            elif user.id in self.new_users:
                # The sign-up's admin: created a moment ago, details still to set.
                self.change("create", "user", email, f"role {spec.role}; invited")
                await self._update_user(user, spec, email, report=False)
            else:
                await self._update_user(user, spec, email, report=True)
            listed.add(user.id)
            await self._memberships(user, spec, email, members.get(user.id, {}))
            if user.id in self.new_users:
                invited = await invitations.invite(session, self.runtime, user, invited_by=None)
                if invited.accept_url:
                    self.plan.invitations[email] = invited.accept_url
        for user in users:
            if user.id in listed or not user.is_active:
                continue
            email = auth.user_email(self.cipher, user)
            if self.prune:
                await auth.update_user(session, self.actor, user, is_active=False)
                self.change("deactivate", "user", email)
            else:
                self.plan.unlisted.append(f"user {email}")

    async def _update_user(self, user: User, spec: UserSpec, email: str, *, report: bool) -> None:
        role = self.roles[spec.role]
        name = spec.name.strip() or email.split("@")[0]
        diff = _diff(
            {
                "name": user.display_name,
                "role": _role_name(self.roles, user.role_id),
                "locale": user.locale,
                "active": user.is_active,
            },
            {"name": name, "role": spec.role, "locale": spec.locale, "active": True},
        )
        if not diff:
            return
        await auth.update_user(
            self.session,
            self.actor,
            user,
            display_name=name,
            role=role,
            is_active=True,
            locale=spec.locale,
        )
        if report:
            self.change("update", "user", email, diff)

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

    # --- channels ------------------------------------------------------------------------

    async def _channels(self) -> None:
        existing = {c.name: c for c in await channels.list_channels(self.session)}
        for i, spec in enumerate(self.m.channels):
            name = spec.name.strip()
            secrets = self.loaded.secrets.get(name, {})
            team_id = self.teams[spec.team].id if spec.team else None
            channel = existing.get(name)
            if channel is None:
                channel, token = await channels.create_channel(
                    self.session,
                    self.runtime,
                    self.cipher,
                    self.actor,
                    kind=spec.kind,
                    name=name,
                    config={**spec.config, **secrets},
                    team_id=team_id,
                    settings=encode_settings(spec.settings),
                )
                if not spec.active:
                    await channels.update_channel(
                        self.session,
                        self.runtime,
                        self.cipher,
                        self.actor,
                        channel,
                        name=None,
                        config=None,
                        is_active=False,
                    )
                self.plan.webhooks[name] = channels.webhook_url(self.runtime, token)
                self.change("create", "channel", name, spec.kind)
                continue
            if channel.kind != spec.kind:
                raise self._error(
                    ("channels", i, "kind"),
                    f"channel {name!r} is a {channel.kind} channel in the tenant; a channel's "
                    "kind cannot change (give the new one another name)",
                )
            await self._update_channel(channel, spec, secrets, team_id)
        listed = {c.name.strip() for c in self.m.channels}
        for name in sorted(set(existing) - listed):
            channel = existing[name]
            if not channel.is_active:
                continue
            if self.prune:
                await channels.update_channel(
                    self.session,
                    self.runtime,
                    self.cipher,
                    self.actor,
                    channel,
                    name=None,
                    config=None,
                    is_active=False,
                )
                self.change("deactivate", "channel", name)
            else:
                self.plan.unlisted.append(f"channel {name}")

    async def _update_channel(
        self,
        channel: ChannelInstance,
        spec: ChannelSpec,
        secrets: dict[str, str],
        team_id: uuid.UUID | None,
    ) -> None:
        adapter = self.runtime.registry.get(spec.kind)
        hidden = channels.secret_fields(adapter.config_type)
        stored = channels.full_config(self.runtime, self.cipher, channel)
        wanted = msgspec.to_builtins(
            msgspec.convert({**spec.config, **secrets}, adapter.config_type)
        )
        changed = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        notes = [f"secret {k} changes" if k in hidden else f"{k} changes" for k in changed]
        new_settings = encode_settings(spec.settings)
        settings_differ = encode_settings(settings_of(channel.settings)) != new_settings
        if settings_differ:
            notes.append("settings change")
        if channel.team_id != team_id:
            notes.append(f"team {spec.team or 'none'}")
        if channel.is_active != spec.active:
            notes.append("activated" if spec.active else "deactivated")
        if not notes:
            return
        await channels.update_channel(
            self.session,
            self.runtime,
            self.cipher,
            self.actor,
            channel,
            name=None,
            # Every field named, so a secret the manifest no longer gives is removed.
            config={k: wanted.get(k) for k in set(stored) | set(wanted)} if changed else None,
            is_active=spec.active,
            team_id=team_id,
            settings=new_settings if settings_differ else None,
        )
        self.change("update", "channel", channel.name, "; ".join(notes))

    # --- canned replies -------------------------------------------------------------------

    async def _canned_replies(self) -> None:
        existing = {r.title: r for r in await canned.list_replies(self.session)}
        for i, spec in enumerate(self.m.canned_replies):
            title = spec.title.strip()
            row = existing.get(title)
            try:
                if row is None:
                    await canned.create_reply(self.session, None, title=title, body=spec.body)
                    self.change("create", "canned reply", title)
                elif row.body != spec.body.strip():
                    await canned.update_reply(self.session, self.actor, row, body=spec.body)
                    self.change("update", "canned reply", title, "body changes")
            except InvalidInput as exc:
                raise self._error(
                    ("canned_replies", i), f"canned reply {title!r}: {exc.detail}"
                ) from None
        listed = {r.title.strip() for r in self.m.canned_replies}
        for title in sorted(set(existing) - listed):
            if self.prune:
                await canned.delete_reply(self.session, self.actor, existing[title])
                self.change("delete", "canned reply", title)
            else:
                self.plan.unlisted.append(f"canned reply {title}")

    def _error(self, path: tuple[str | int, ...], message: str) -> ManifestError:
        return ManifestError(self.loaded.source, [self.loaded.problem(path, message)])


def _role_name(roles: dict[str, Role], role_id: uuid.UUID) -> str:
    return next((name for name, r in roles.items() if r.id == role_id), "?")


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> str:
    return "; ".join(f"{k} {wanted[k]!r}" for k in wanted if current.get(k) != wanted[k])
