"""Writing a tenant's current state as a manifest (``frontdesk tenants export``).

Applying the export to the same tenant changes nothing, provided the
environment variables it names hold the channels' current secrets: secrets
never go into the file, and the names of the variables an earlier manifest
used are not stored, so the export takes them from a manifest given (``--secret-names-from``), else
names them by a convention, ``<TENANT>_<CHANNEL>_<FIELD>`` in capitals
(``ACME_SHOP_WECOM_CORP_SECRET``).
Deactivated users and channels are left out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.auth import service as auth
from frontdesk.canned import service as canned
from frontdesk.channels import service as channels
from frontdesk.channels.settings import DEFAULT as DEFAULT_SETTINGS
from frontdesk.channels.settings import encode_settings, settings_of
from frontdesk.crypto.service import load_tenant_cipher
from frontdesk.db import enter_tenant
from frontdesk.manifests.schema import Manifest
from frontdesk.routing import rules, sla
from frontdesk.runtime import Runtime
from frontdesk.tenancy import service as tenancy

if TYPE_CHECKING:
    from frontdesk.auth.models import TeamMember
    from frontdesk.tenancy.models import Tenant


def secret_variable(tenant_slug: str, channel_name: str, field: str) -> str:
    raw = f"{tenant_slug}_{channel_name}_{field}".upper()
    return re.sub(r"[^A-Z0-9]+", "_", raw).strip("_")


async def export_manifest(
    runtime: Runtime, slug: str, *, secret_names: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """The tenant as a manifest document (a dict ready for ``dumps``).

    ``secret_names``: channel name → secret field → variable, the names to
    keep (from the manifest the tenant was applied from).
    """
    async with runtime.db.session() as session:
        tenant = await tenancy.get_tenant_by_slug(session, slug)
        await enter_tenant(session, tenant.id)
        return await _export(session, runtime, tenant, secret_names)


async def _export(
    session: AsyncSession,
    runtime: Runtime,
    tenant: Tenant,
    secret_names: dict[str, dict[str, str]] | None,
) -> dict[str, Any]:
    cipher = await load_tenant_cipher(session, runtime.keyring, tenant.id)
    slug = tenant.slug
    doc: dict[str, Any] = {"version": 1, "tenant": {"slug": slug, "name": tenant.name}}

    teams = await auth.list_teams(session)
    slugs = {t.id: t.slug for t in teams}
    doc["teams"] = []
    for team in sorted(teams, key=lambda t: t.slug):
        calendar = await sla.get_calendar(session, team.id)
        entry: dict[str, Any] = {"slug": team.slug, "name": team.name, "kind": team.kind}
        if team.is_default:
            entry["default"] = True
        if calendar is not None:
            entry["business_hours"] = msgspec.to_builtins(calendar)
        doc["teams"].append(entry)

    roles = await auth.list_roles(session)
    role_names = {r.id: r.name for r in roles}
    doc["roles"] = [
        {"name": r.name, "description": r.description, "permissions": sorted(r.permissions)}
        for r in roles
        if not r.builtin
    ]

    memberships: dict[Any, list[TeamMember]] = {}
    for row in await auth.all_team_members(session):
        memberships.setdefault(row.user_id, []).append(row)
    users = []
    for user in await auth.all_users(session, active_only=True):
        mine = sorted(memberships.get(user.id, []), key=lambda m: slugs[m.team_id])
        users.append(
            {
                "email": auth.user_email(cipher, user),
                "name": user.display_name,
                "role": role_names[user.role_id],
                "locale": user.locale,
                "teams": [slugs[m.team_id] for m in mine],
                "lead_of": [slugs[m.team_id] for m in mine if m.is_lead],
            }
        )
    # Admins first: applying to a new database makes the first admin the sign-up's.
    doc["users"] = sorted(users, key=lambda u: (u["role"] != "admin", u["email"]))

    calendar = await sla.get_calendar(session, None)
    if calendar is not None:
        doc["business_hours"] = msgspec.to_builtins(calendar)
    policies, default = await sla.get_policies(session)
    if not default:
        doc["sla_policies"] = msgspec.to_builtins(policies)
    found, default = await rules.get_rules(session)
    if not default:
        doc["routing_rules"] = msgspec.to_builtins(found)

    doc["channels"] = []
    for channel in await channels.list_channels(session):
        if not channel.is_active:
            continue
        adapter = runtime.registry.get(channel.kind)
        hidden = channels.secret_fields(adapter.config_type)
        full = channels.full_config(runtime, cipher, channel)
        defaults = _defaults(adapter.config_type)
        entry = {"name": channel.name, "kind": channel.kind}
        if channel.team_id is not None:
            entry["team"] = slugs[channel.team_id]
        entry["config"] = {
            k: v
            for k, v in full.items()
            if k not in hidden and not (k in defaults and defaults[k] == v)
        }
        known = (secret_names or {}).get(channel.name, {})
        entry["secret_env"] = {
            k: known.get(k) or secret_variable(slug, channel.name, k)
            for k in sorted(hidden)
            if full.get(k)
        }
        settings = encode_settings(settings_of(channel.settings))
        default_settings = encode_settings(DEFAULT_SETTINGS)
        entry["settings"] = {k: v for k, v in settings.items() if default_settings.get(k) != v}
        doc["channels"].append(entry)
    doc["canned_replies"] = [
        {"title": r.title, "body": r.body} for r in await canned.list_replies(session)
    ]
    # Fails loudly here rather than in the file's next apply.
    msgspec.convert(doc, Manifest)
    return doc


def _defaults(config_type: type[msgspec.Struct]) -> dict[str, Any]:
    info = msgspec.inspect.type_info(config_type)
    assert isinstance(info, msgspec.inspect.StructType)
    out = {}
    for field in info.fields:
        if field.default is not msgspec.NODEFAULT:
            out[field.encode_name] = msgspec.to_builtins(field.default)
        elif field.default_factory is not msgspec.NODEFAULT:
            out[field.encode_name] = msgspec.to_builtins(field.default_factory())
    return out


# --- TOML -------------------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else _quoted(key)


def _quoted(value: str) -> str:
    encoded = json.dumps(value, ensure_ascii=False)
    return encoded.replace("\x7f", "\\u007f")


def _string(value: str) -> str:
    return _multiline(value) if "\n" in value else _quoted(value)


def _multiline(value: str) -> str:
    """A text of several lines (a canned reply's body) in triple quotes, line by line."""
    out = []
    for i, c in enumerate(value):
        # A quote is escaped only where it could close the string (``""`` or last).
        if c == "\\" or (c == '"' and value[i + 1 : i + 2] in ('"', "")):
            out.append("\\" + c)
        elif c != "\n" and (c < " " or c == "\x7f"):
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    # The newline right after the opening quotes is not part of the string.
    return '"""\n' + "".join(out) + '"""'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in _tidy(value).items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _tidy(table: dict[str, Any]) -> dict[str, Any]:
    # TOML has no null; an empty list or table is every manifest field's default.
    return {k: v for k, v in table.items() if v is not None and v != [] and v != {}}


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _inline(value: dict[str, Any]) -> bool:
    """Small tables of plain values read best on one line: ``{ seconds = 900 }``."""
    tidy = _tidy(value)
    return len(tidy) <= 3 and not any(isinstance(v, dict | list) for v in tidy.values())


def dumps(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    _table(lines, (), doc, top=True)
    return "\n".join(lines).strip() + "\n"


def _table(lines: list[str], path: tuple[str, ...], table: dict[str, Any], *, top: bool) -> None:
    items = _tidy(table)
    nested = {
        k: v
        for k, v in items.items()
        if (_is_table(v) and (top or not _inline(v))) or _is_table_array(v)
    }
    for k, v in items.items():
        if k not in nested:
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in nested.items():
        dotted = ".".join(_key(p) for p in (*path, k))
        if _is_table(v):
            lines += ["", f"[{dotted}]"]
            _table(lines, (*path, k), v, top=False)
        else:
            for item in v:
                lines += ["", f"[[{dotted}]]"]
                _table(lines, (*path, k), item, top=False)
