"""Packaging: four entry points, one adapter each; what the platform checks at load;
configurations and their secrets; and imports from the public SDK only."""

from __future__ import annotations

import ast
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec
import pluggy
import pytest
from packaging.specifiers import SpecifierSet

import frontdesk_im
from frontdesk.channels import SDK_VERSION, ChannelAdapter, hookspecs
from frontdesk.channels.registry import Registry
from frontdesk_im import (
    SlackAdapter,
    SlackConfig,
    TelegramAdapter,
    TelegramConfig,
    WeComAdapter,
    WeComConfig,
    WhatsAppAdapter,
    WhatsAppConfig,
)
from frontdesk_im.slack import plugin as slack_plugin
from frontdesk_im.telegram import plugin as telegram_plugin
from frontdesk_im.wecom import plugin as wecom_plugin
from frontdesk_im.whatsapp import plugin as whatsapp_plugin

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "frontdesk_im"
PLUGINS: list[tuple[Any, type[ChannelAdapter[Any]]]] = [
    (wecom_plugin, WeComAdapter),
    (telegram_plugin, TelegramAdapter),
    (slack_plugin, SlackAdapter),
    (whatsapp_plugin, WhatsAppAdapter),
]
VALID: dict[type[msgspec.Struct], dict[str, Any]] = {
    WeComConfig: {
        "corp_id": "ww0123",
        "agent_id": 1000002,
        "corp_secret": "s",
        "token": "Token123",
        "encoding_aes_key": "a" * 43,
    },
    TelegramConfig: {"bot_token": "123:" + "A" * 35, "secret_token": "s" * 16},
    SlackConfig: {"signing_secret": "s" * 32, "bot_token": "xoxb-1234-5678-abcdefgh"},
    WhatsAppConfig: {
        "phone_number_id": "1065",
        "access_token": "t" * 20,
        "app_secret": "s" * 32,
        "verify_token": "v" * 16,
    },
}
SECRETS = {
    WeComConfig: {"corp_secret", "token", "encoding_aes_key"},
    TelegramConfig: {"bot_token", "secret_token"},
    SlackConfig: {"signing_secret", "bot_token"},
    WhatsAppConfig: {"access_token", "app_secret", "verify_token"},
}


def test_the_entry_points_name_one_plugin_module_per_kind() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "frontdesk-im"
    assert project["entry-points"]["frontdesk.channels"] == {
        "wecom": "frontdesk_im.wecom.plugin",
        "telegram": "frontdesk_im.telegram.plugin",
        "slack": "frontdesk_im.slack.plugin",
        "whatsapp": "frontdesk_im.whatsapp.plugin",
    }


@pytest.mark.parametrize(("plugin", "adapter"), PLUGINS)
def test_each_plugin_passes_pluggy_validation_and_gives_its_adapter(
    plugin: Any, adapter: type[ChannelAdapter[Any]]
) -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    pm.check_pending()
    assert pm.hook.frontdesk_channel_adapters() == [[adapter]]


def test_the_installed_distribution_registers_all_four() -> None:
    # As the platform starts: from the installed entry points, with the others installed.
    registry = Registry()
    ours = {
        i.kind: i for i in registry.info() if i.distribution and "frontdesk-im" in i.distribution
    }
    assert sorted(ours) == ["slack", "telegram", "wecom", "whatsapp"]
    assert all(i.version == frontdesk_im.__version__ for i in ours.values())
    assert metadata.version("frontdesk-im") == frontdesk_im.__version__


@pytest.mark.parametrize(("plugin", "adapter"), PLUGINS)
def test_each_adapter_declares_what_the_platform_checks(
    plugin: Any, adapter: type[ChannelAdapter[Any]]
) -> None:
    assert adapter.contact_kind == "im"
    assert adapter.version == frontdesk_im.__version__
    assert SDK_VERSION in SpecifierSet(adapter.sdk_versions)
    assert adapter.capabilities.threads
    assert adapter.capabilities.max_length in (2048, 4000, 4096)
    assert not adapter.capabilities.attachments  # outbound files are not sent (README)
    for method in ("verify", "parse", "deliver"):
        assert getattr(adapter, method) is not getattr(ChannelAdapter, method)
    assert not adapter.supports("poll") and not adapter.supports("listen")
    assert frontdesk_im.ADAPTERS[adapter.kind] is adapter


@pytest.mark.parametrize("config_type", list(VALID))
def test_configs_decode_with_defaults_and_mark_their_secrets(
    config_type: type[msgspec.Struct],
) -> None:
    config = msgspec.convert(VALID[config_type], config_type)
    assert msgspec.to_builtins(config)["api_base_url"].startswith("https://")
    info = msgspec.inspect.type_info(config_type)
    assert isinstance(info, msgspec.inspect.StructType)
    secret = {
        f.name
        for f in info.fields
        if isinstance(f.type, msgspec.inspect.Metadata) and (f.type.extra or {}).get("secret")
    }
    assert secret == SECRETS[config_type]


@pytest.mark.parametrize(
    ("config_type", "change"),
    [
        (WeComConfig, {"encoding_aes_key": "a" * 42}),
        (WeComConfig, {"encoding_aes_key": "a" * 42 + "="}),
        (WeComConfig, {"token": "has space"}),
        (WeComConfig, {"agent_id": "1000002"}),
        (WeComConfig, {"tolerance_seconds": 0}),
        (TelegramConfig, {"bot_token": "not-a-token"}),
        (TelegramConfig, {"secret_token": "short"}),
        (TelegramConfig, {"secret_token": "has spaces in it ok"}),
        (SlackConfig, {"bot_token": "xoxz-123"}),
        (SlackConfig, {"tolerance_seconds": 7200}),
        (WhatsAppConfig, {"phone_number_id": "+1 555"}),
        (WhatsAppConfig, {"template_name": "Reply Waiting"}),
        (WhatsAppConfig, {"template_language": "english"}),
        (WhatsAppConfig, {"api_base_url": "ftp://graph.facebook.com"}),
        (TelegramConfig, {"api_base_url": "https://api.telegram.org?x=1"}),
        (SlackConfig, {"timeout_seconds": 0}),
        (SlackConfig, {"signing_secrte": "typo"}),
    ],
)
def test_bad_configs_are_refused(config_type: type[msgspec.Struct], change: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**VALID[config_type], **change}, config_type)


def test_the_package_imports_nothing_from_frontdesk_but_the_sdk() -> None:
    # Exactly as a partner's adapter must: frontdesk.channels and nothing else.
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name == "frontdesk" or name.startswith("frontdesk."):
                    assert name == "frontdesk.channels", f"{path.name} imports {name}"
