"""Finding installed adapters: pluggy over the ``frontdesk.channels`` entry points."""

from __future__ import annotations

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


class Registry:
    """The installed adapters by kind, checked once at start-up."""

    def __init__(self, *, load_entry_points: bool = True, plugins: tuple[Any, ...] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        if load_entry_points:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
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
        dists = {id(p): d for p, d in self.pm.list_plugin_distinfo()}
        sdk = Version(SDK_VERSION)
        for plugin in self.pm.get_plugins():
            impl = getattr(plugin, "frontdesk_channel_adapters", None)
            if impl is None:
                continue
            name = self.pm.get_name(plugin) or repr(plugin)
            dist = dists.get(id(plugin))
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
                    distribution=f"{dist.project_name} {dist.version}" if dist else None,
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
