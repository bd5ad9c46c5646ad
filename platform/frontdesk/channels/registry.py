"""Finding installed adapters: pluggy over the ``frontdesk.channels`` entry points."""

from __future__ import annotations

import sys
import threading
from importlib import metadata
from types import ModuleType
from typing import Any

import msgspec
import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from frontdesk.channels import SDK_VERSION, hookspecs
from frontdesk.channels.adapter import ChannelAdapter
from frontdesk.errors import ConfigurationError, NotFound

ENTRY_POINT_GROUP = "frontdesk.channels"

AdapterClass = type[ChannelAdapter[Any]]


class AdapterInfo(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    display_name: str
    version: str
    plugin: str
    distribution: str | None


class _EntryPoint(msgspec.Struct, frozen=True):
    name: str
    entry_point: metadata.EntryPoint
    distribution: str


# Scanning every installed distribution's metadata for the entry points takes
# tens of milliseconds, and a process builds a registry with every Runtime
# (tests build hundreds). What is installed does not change while a process
# runs, unless sys.path does (a test installs an adapter into a folder it puts
# on sys.path), so the scan is kept per sys.path.
_scans: dict[tuple[str, ...], tuple[_EntryPoint, ...]] = {}
_scans_lock = threading.Lock()


def _entry_points() -> tuple[_EntryPoint, ...]:
    key = tuple(sys.path)
    with _scans_lock:
        found = _scans.get(key)
        if found is None:
            seen: set[str] = set()
            out = []
            # As pluggy's load_setuptools_entrypoints: the first distribution
            # on sys.path that registers a name wins.
            for dist in metadata.distributions():
                for ep in dist.entry_points:
                    if ep.group == ENTRY_POINT_GROUP and ep.name not in seen:
                        seen.add(ep.name)
                        out.append(_EntryPoint(ep.name, ep, f"{dist.name} {dist.version}"))
            found = _scans[key] = tuple(out)
    return found


class Registry:
    """The installed adapters by kind, checked once at start-up."""

    def __init__(self, *, load_entry_points: bool = True, plugins: tuple[Any, ...] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        # Plugin (by id) to "distribution version", for ``frontdesk adapters list``.
        self._distributions: dict[int, str] = {}
        if load_entry_points:
            for found in _entry_points():
                plugin = found.entry_point.load()
                self.pm.register(plugin, name=found.name)
                self._distributions[id(plugin)] = found.distribution
        for plugin in plugins:
            self.pm.register(plugin)
        self._adapters: dict[str, AdapterClass] = {}
        self._info: dict[str, AdapterInfo] = {}
        self._load()

    def _load(self) -> None:
        try:
            # A hook implementation whose name matches no hookspec is a typo
            # that would otherwise be ignored: refuse to start.
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise ConfigurationError(f"a channel plugin is invalid: {exc}") from None
        sdk = Version(SDK_VERSION)
        for plugin in self.pm.get_plugins():
            impl = getattr(plugin, "frontdesk_channel_adapters", None)
            if impl is None:
                continue
            name = self.pm.get_name(plugin) or repr(plugin)
            for cls in impl():
                self._check(cls, name, sdk)
                if cls.kind in self._adapters:
                    raise ConfigurationError(
                        f"two plugins provide the channel kind {cls.kind!r}: "
                        f"{self._info[cls.kind].plugin} and {name}"
                    )
                self._adapters[cls.kind] = cls
                self._info[cls.kind] = AdapterInfo(
                    kind=cls.kind,
                    display_name=cls.display_name,
                    version=cls.version,
                    plugin=name,
                    distribution=self._distributions.get(id(plugin)),
                )

    @staticmethod
    def _check(cls: Any, plugin: str, sdk: Version) -> None:
        if not (isinstance(cls, type) and issubclass(cls, ChannelAdapter)):
            raise ConfigurationError(f"{plugin}: {cls!r} is not a ChannelAdapter subclass")
        for attr in ("kind", "display_name", "version", "config_type", "contact_kind"):
            if not hasattr(cls, attr):
                raise ConfigurationError(f"{plugin}: {cls.__name__} does not set {attr}")
        if not issubclass(cls.config_type, msgspec.Struct):
            raise ConfigurationError(
                f"{plugin}: {cls.__name__}.config_type is not a msgspec Struct"
            )
        try:
            wanted = SpecifierSet(cls.sdk_versions)
        except InvalidSpecifier:
            raise ConfigurationError(
                f"{plugin}: {cls.__name__}.sdk_versions {cls.sdk_versions!r} is not a version range"
            ) from None
        if sdk not in wanted:
            raise ConfigurationError(
                f"{plugin}: {cls.__name__} needs SDK {cls.sdk_versions}, this is SDK {sdk}"
            )
        for method in ("verify", "parse", "deliver"):
            if getattr(cls, method) is getattr(ChannelAdapter, method):
                raise ConfigurationError(f"{plugin}: {cls.__name__} does not implement {method}")

    def get(self, kind: str) -> AdapterClass:
        try:
            return self._adapters[kind]
        except KeyError:
            raise NotFound(f"no channel adapter of kind {kind!r} is installed") from None

    def kinds(self) -> list[str]:
        return sorted(self._adapters)

    def info(self) -> list[AdapterInfo]:
        return [self._info[k] for k in self.kinds()]


def installed_distributions() -> list[str]:
    """Distributions that register adapters, for ``frontdesk adapters list``."""
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted({ep.dist.name for ep in eps if ep.dist is not None})


def registry_with(*plugins: ModuleType | object) -> Registry:
    """A registry of exactly these plugins (tests, and the contract kit)."""
    return Registry(load_entry_points=False, plugins=tuple(plugins))
