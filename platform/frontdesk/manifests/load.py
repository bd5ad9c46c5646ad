"""Reading a manifest: TOML, then its types, then what it refers to, each error
with the file position of the key or value at fault. Nothing here touches the
database; ``check_installation`` adds the checks that need the installed
adapters and the environment (channel kinds, configs, secrets).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping

import msgspec

from frontdesk.auth.permissions import BUILTIN_ROLES, Permission
from frontdesk.canned.service import check_body
from frontdesk.channels.registry import Registry
from frontdesk.channels.service import secret_fields
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.identity.normalise import normalise_email
from frontdesk.manifests.positions import Path, key_positions, nearest, parse_msgspec_path
from frontdesk.manifests.schema import ChannelSpec, Manifest
from frontdesk.routing.calendar import CalendarSpec, compile_calendar
from frontdesk.routing.sla import Metric


class Problem(msgspec.Struct, frozen=True):
    line: int
    column: int
    message: str


class ManifestError(InvalidInput):
    """A manifest that cannot be applied; every problem found, with its position."""

    title = "Invalid manifest"

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        super().__init__(
            "\n".join(f"{source}:{p.line}:{p.column}: {p.message}" for p in self.problems),
            problems=[msgspec.to_builtins(p) for p in self.problems],
        )


class LoadedManifest(msgspec.Struct, frozen=True, kw_only=True):
    manifest: Manifest
    source: str
    positions: dict[Path, tuple[int, int]]
    #: The channels' secrets, read from the environment by ``check_installation``.
    secrets: dict[str, dict[str, str]] = {}

    def problem(self, path: Path, message: str) -> Problem:
        line, column = nearest(self.positions, path)
        return Problem(line, column, message)


def load_manifest(text: str, source: str = "<manifest>") -> LoadedManifest:
    """Parse and check a manifest; ``ManifestError`` lists every problem found."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # "Expected '=' after a key in a key/value pair (at line 3, column 7)"
        line = getattr(exc, "lineno", None) or _position_in_message(str(exc))[0]
        column = getattr(exc, "colno", None) or _position_in_message(str(exc))[1]
        message = getattr(exc, "msg", None) or str(exc).split(" (at ", 1)[0]
        raise ManifestError(source, [Problem(line, column, f"TOML syntax: {message}")]) from None
    positions = key_positions(text)
    try:
        manifest = msgspec.convert(raw, Manifest)
    except msgspec.ValidationError as exc:
        raise ManifestError(source, [_type_problem(positions, str(exc))]) from None
    loaded = LoadedManifest(manifest=manifest, source=source, positions=positions)
    problems = _check(loaded)
    if problems:
        raise ManifestError(source, problems)
    return loaded


def _position_in_message(message: str) -> tuple[int, int]:
    import re

    m = re.search(r"at line (\d+), column (\d+)", message)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 1)


def _split_error(error: str) -> tuple[Path, str]:
    """A msgspec validation error's path (with an unknown key appended) and message."""
    message, _, where = error.rpartition(" - at `")
    if not message:
        message, where = error, "$"
    path = parse_msgspec_path(where.rstrip("`"))
    unknown = message.removeprefix("Object contains unknown field `")
    if unknown != message:
        path = (*path, unknown.rstrip("`"))
        message = f"unknown key {unknown.rstrip('`')!r}"
    return path, message


def _type_problem(positions: dict[Path, tuple[int, int]], error: str) -> Problem:
    path, message = _split_error(error)
    line, column = nearest(positions, path)
    return Problem(line, column, f"{message} (at {_dotted(path)})" if path else message)


def _dotted(path: Path) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _check(loaded: LoadedManifest) -> list[Problem]:
    """What the types cannot say: references between sections, calendars, targets."""
    m = loaded.manifest
    problems: list[Problem] = []

    def bad(path: Path, message: str) -> None:
        problems.append(loaded.problem(path, message))

    def check_calendar(path: Path, spec: CalendarSpec | None) -> None:
        if spec is None:
            return
        try:
            compile_calendar(spec)
        except InvalidInput as exc:
            where = (*path, "timezone") if "time zone" in exc.detail else path
            bad(where, exc.detail)

    teams: dict[str, int] = {}
    for i, team in enumerate(m.teams):
        if team.slug in teams:
            bad(("teams", i, "slug"), f"team {team.slug!r} is defined twice")
        teams[team.slug] = i
        check_calendar(("teams", i, "business_hours"), team.business_hours)
    defaults = [i for i, t in enumerate(m.teams) if t.default]
    for i in defaults[1:]:
        bad(("teams", i, "default"), "only one team can be the default team")

    roles = set(BUILTIN_ROLES)
    for i, role in enumerate(m.roles):
        if role.name in BUILTIN_ROLES:
            bad(("roles", i, "name"), f"{role.name!r} is a built-in role; name a custom role")
        elif role.name in roles:
            bad(("roles", i, "name"), f"role {role.name!r} is defined twice")
        roles.add(role.name)
        known = {p.value for p in Permission}
        for j, permission in enumerate(role.permissions):
            if permission not in known:
                bad(("roles", i, "permissions", j), f"unknown permission {permission!r}")

    emails: set[str] = set()
    admins = 0
    for i, user in enumerate(m.users):
        try:
            email = normalise_email(user.email)
        except InvalidInput as exc:
            bad(("users", i, "email"), exc.detail)
        else:
            if email in emails:
                bad(("users", i, "email"), f"user {email!r} is listed twice")
            emails.add(email)
        if user.role not in roles:
            bad(("users", i, "role"), f"no role {user.role!r} (built-in or under [[roles]])")
        admins += user.role == "admin"
        for key in ("teams", "lead_of"):
            for j, slug in enumerate(getattr(user, key)):
                if slug not in teams:
                    bad(("users", i, key, j), f"no team {slug!r} under [[teams]]")
        for j, slug in enumerate(user.lead_of):
            if slug in teams and slug not in user.teams:
                bad(("users", i, "lead_of", j), f"a lead of {slug!r} must be in its teams too")
    if not admins:
        bad(("users",) if m.users else ("tenant",), "a manifest needs at least one admin user")

    check_calendar(("business_hours",), m.business_hours)

    for i, policy in enumerate(m.sla_policies or []):
        targets = [(metric, policy.target(metric)) for metric in Metric]
        if all(target is None for _, target in targets):
            bad(("sla_policies", i), f"policy {policy.name!r} sets no target")
        for metric, target in targets:
            if target is not None and (target.seconds is None) == (target.business_days is None):
                bad(
                    ("sla_policies", i, metric.value),
                    "a target is either seconds or business_days",
                )

    for i, rule in enumerate(m.routing_rules or []):
        action = rule.actions
        if action.team is not None and action.team not in teams:
            bad(("routing_rules", i, "actions", "team"), f"no team {action.team!r} under [[teams]]")
        if msgspec.to_builtins(action) == {}:
            bad(("routing_rules", i, "actions"), f"rule {rule.name!r} does nothing")

    names: set[str] = set()
    for i, channel in enumerate(m.channels):
        if channel.name.strip() in names:
            bad(("channels", i, "name"), f"channel {channel.name!r} is defined twice")
        names.add(channel.name.strip())
        if channel.team is not None and channel.team not in teams:
            bad(("channels", i, "team"), f"no team {channel.team!r} under [[teams]]")

    titles: set[str] = set()
    for i, reply in enumerate(m.canned_replies):
        title = reply.title.strip()
        if not title:
            bad(("canned_replies", i, "title"), "a canned reply needs a title")
        elif title in titles:
            bad(("canned_replies", i, "title"), f"canned reply {title!r} is defined twice")
        titles.add(title)
        # The canned-replies service's own check, so the manifest refuses what the API would.
        try:
            check_body(reply.body)
        except InvalidInput as exc:
            bad(("canned_replies", i, "body"), f"canned reply {title!r}: {exc.detail}")
    return problems


def check_installation(
    loaded: LoadedManifest, registry: Registry, env: Mapping[str, str] | None = None
) -> LoadedManifest:
    """Channel kinds installed, configs valid for their adapters, secrets in the environment.

    Returns the manifest with the secrets read; ``ManifestError`` otherwise.
    """
    env = os.environ if env is None else env
    problems: list[Problem] = []
    secrets: dict[str, dict[str, str]] = {}
    for i, channel in enumerate(loaded.manifest.channels):
        found = _check_channel(loaded, registry, env, i, channel, problems)
        if found is not None:
            secrets[channel.name.strip()] = found
    if problems:
        raise ManifestError(loaded.source, problems)
    return msgspec.structs.replace(loaded, secrets=secrets)


def _check_channel(
    loaded: LoadedManifest,
    registry: Registry,
    env: Mapping[str, str],
    i: int,
    channel: ChannelSpec,
    problems: list[Problem],
) -> dict[str, str] | None:
    def bad(path: Path, message: str) -> None:
        problems.append(loaded.problem(("channels", i, *path), message))

    try:
        adapter = registry.get(channel.kind)
    except NotFound:
        installed = ", ".join(registry.kinds()) or "none"
        bad(
            ("kind",),
            f"channel {channel.name!r}: no adapter of kind {channel.kind!r} is installed "
            f"(installed: {installed})",
        )
        return None
    hidden = secret_fields(adapter.config_type)
    before = len(problems)
    for key in channel.config:
        if key in hidden:
            bad(
                ("config", key),
                f"{key!r} is a secret: name the environment variable holding it "
                f"under secret_env, never the value",
            )
    secrets: dict[str, str] = {}
    for field, variable in channel.secret_env.items():
        if field not in hidden:
            bad(("secret_env", field), f"{field!r} is not a secret field of {channel.kind!r}")
            continue
        value = env.get(variable)
        if not value:
            bad(
                ("secret_env", field),
                f"the environment variable {variable} (for {field!r} of channel "
                f"{channel.name!r}) is not set",
            )
            continue
        secrets[field] = value
    if len(problems) > before:
        return None
    try:
        msgspec.convert({**channel.config, **secrets}, adapter.config_type)
    except msgspec.ValidationError as exc:
        path, message = _split_error(str(exc))
        section = "secret_env" if path and path[0] in secrets else "config"
        where = f" (at {_dotted(path)})" if path else ""
        bad(
            (section, *path),
            f"channel {channel.name!r}: invalid {channel.kind} configuration: {message}{where}",
        )
        return None
    return secrets
