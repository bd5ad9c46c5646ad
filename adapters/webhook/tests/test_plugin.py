"""Packaging: the entry point, the hook, the declared attributes, the config, SDK-only imports."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import msgspec
import pluggy
import pytest
from packaging.specifiers import SpecifierSet

import frontdesk_webhook
from frontdesk.channels import SDK_VERSION, ChannelAdapter, hookspecs
from frontdesk_webhook import WebhookAdapter, WebhookConfig
from frontdesk_webhook import plugin as webhook_plugin

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "frontdesk_webhook"


def test_the_entry_point_names_the_plugin_module() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "frontdesk-webhook"
    assert project["entry-points"]["frontdesk.channels"] == {"webhook": "frontdesk_webhook.plugin"}


def test_the_plugin_passes_pluggy_validation_and_returns_the_adapter() -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(webhook_plugin)
    pm.check_pending()  # a misspelt hook would fail here, as at the platform's start-up
    assert pm.hook.frontdesk_channel_adapters() == [[WebhookAdapter]]


def test_the_adapter_declares_what_the_platform_checks() -> None:
    assert issubclass(WebhookAdapter, ChannelAdapter)
    assert WebhookAdapter.kind == "webhook"
    assert WebhookAdapter.display_name == "Signed JSON webhook"
    assert WebhookAdapter.version == frontdesk_webhook.__version__
    assert WebhookAdapter.config_type is WebhookConfig
    assert WebhookAdapter.contact_kind == "im"
    assert SDK_VERSION in SpecifierSet(WebhookAdapter.sdk_versions)
    assert WebhookAdapter.capabilities.threads
    assert WebhookAdapter.capabilities.rich_text
    for method in ("verify", "parse", "deliver"):
        assert getattr(WebhookAdapter, method) is not getattr(ChannelAdapter, method)
    assert not WebhookAdapter.supports("poll")
    assert not WebhookAdapter.supports("listen")


def test_config_decodes_with_defaults() -> None:
    config = msgspec.convert({"secret": "s" * 16}, WebhookConfig)
    assert config == WebhookConfig(
        secret="s" * 16, callback_url=None, timeout_seconds=10, tolerance_seconds=300
    )


def test_only_the_secret_is_marked_secret() -> None:
    info = msgspec.inspect.type_info(WebhookConfig)
    assert isinstance(info, msgspec.inspect.StructType)
    secret = {
        field.name
        for field in info.fields
        if isinstance(field.type, msgspec.inspect.Metadata)
        and (field.type.extra or {}).get("secret")
    }
    assert secret == {"secret"}


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"secret": "short"},
        {"secret": "s" * 16, "callback_url": "ftp://example.com/"},
        {"secret": "s" * 16, "callback_url": "not a url"},
        {"secret": "s" * 16, "timeout_seconds": 0},
        {"secret": "s" * 16, "timeout_seconds": "10"},
        {"secret": "s" * 16, "tolerance_seconds": 0},
        {"secret": "s" * 16, "callbackurl": "https://typo.example/"},
    ],
)
def test_bad_configs_are_refused(config: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, WebhookConfig)


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
