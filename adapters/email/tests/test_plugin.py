"""Packaging: the entry point, the hook, the declared attributes, the config, SDK-only imports."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import msgspec
import pluggy
import pytest
from packaging.specifiers import SpecifierSet

import frontdesk_email
from frontdesk.channels import SDK_VERSION, ChannelAdapter, hookspecs
from frontdesk_email import EmailAdapter, EmailConfig
from frontdesk_email import plugin as email_plugin

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "frontdesk_email"


def test_the_entry_point_names_the_plugin_module() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "frontdesk-email"
    assert project["entry-points"]["frontdesk.channels"] == {"email": "frontdesk_email.plugin"}
    assert any(d.startswith("aiosmtpd") for d in project["dependencies"])


def test_the_plugin_passes_pluggy_validation_and_returns_the_adapter() -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(email_plugin)
    pm.check_pending()
    assert pm.hook.frontdesk_channel_adapters() == [[EmailAdapter]]


def test_the_adapter_declares_what_the_platform_checks() -> None:
    assert issubclass(EmailAdapter, ChannelAdapter)
    assert EmailAdapter.kind == "email"
    assert EmailAdapter.contact_kind == "email"
    assert EmailAdapter.version == frontdesk_email.__version__
    assert EmailAdapter.config_type is EmailConfig
    assert SDK_VERSION in SpecifierSet(EmailAdapter.sdk_versions)
    capabilities = EmailAdapter.capabilities
    assert capabilities.threads and capabilities.attachments and capabilities.rich_text
    assert EmailAdapter.supports("poll") and EmailAdapter.supports("listen")


def test_config_decodes_with_defaults() -> None:
    config = msgspec.convert({"from_address": "support@acme.example"}, EmailConfig)
    assert config.own_addresses == {"support@acme.example"}
    assert config.id_domain == "acme.example"
    assert config.max_attachment_bytes == 10 * 1024 * 1024
    assert (config.smtp_host, config.listen_port, config.imap_host) == (None, None, None)


def test_the_secrets_are_marked_secret() -> None:
    # The same test the core makes (channels.service.secret_fields).
    info = msgspec.inspect.type_info(EmailConfig)
    assert isinstance(info, msgspec.inspect.StructType)
    secret = {
        field.name
        for field in info.fields
        if isinstance(field.type, msgspec.inspect.Metadata)
        and (field.type.extra or {}).get("secret")
    }
    assert secret == {"webhook_secret", "smtp_password", "imap_password", "listen_tls_key_pem"}


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"from_address": "not an address"},
        {"from_address": "support@acme.example", "webhook_secret": "short"},
        {"from_address": "support@acme.example", "ticket_prefixes": ["cs"]},
        {"from_address": "support@acme.example", "ticket_prefixes": ["(a+)+$"]},
        {"from_address": "support@acme.example", "smtp_host": "h", "smtp_username": "u"},
        {"from_address": "support@acme.example", "imap_host": "h"},
        {"from_address": "support@acme.example", "listen_tls_cert_pem": "x"},
        {"from_address": "support@acme.example", "smtp_security": "ssl"},
        {"from_address": "support@acme.example", "smtp_port": 0},
        {"from_address": "support@acme.example", "imap_mailbox": "a\r\nb"},
        {"from_address": "support@acme.example", "smpt_host": "typo"},
        {"from_address": "support@acme.example", "addresses": ["x"]},
    ],
)
def test_bad_configs_are_refused(config: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, EmailConfig)


def test_the_config_survives_storage_as_json() -> None:
    config = msgspec.convert(
        {
            "from_address": "support@acme.example",
            "addresses": ["help@acme.example"],
            "webhook_secret": "s" * 20,
            "smtp_host": "smtp.acme.example",
            "smtp_username": "u",
            "smtp_password": "p",
            "ticket_prefixes": ["CS"],
        },
        EmailConfig,
    )
    assert msgspec.convert(msgspec.json.decode(msgspec.json.encode(config)), EmailConfig) == config


def test_the_package_imports_nothing_from_frontdesk_but_the_sdk() -> None:
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
