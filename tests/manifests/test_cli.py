"""``frontdesk tenants apply/export`` and ``frontdesk audit export`` as an operator runs them."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import unique_slug
from frontdesk.cli import main
from frontdesk.config import Settings
from frontdesk.manifests.load import load_manifest

MANIFEST = """\
version = 1

[tenant]
slug = "cli-shop"
name = "CLI Shop"

[[teams]]
slug = "desk"
name = "Desk"
default = true

[[users]]
email = "ada@cli-shop.example"
name = "Ada"
role = "admin"
teams = ["desk"]

[[channels]]
name = "Shop orders"
kind = "webhook"
team = "desk"
secret_env = { secret = "CLI_SHOP_WEBHOOK_SECRET" }
"""


@pytest.fixture
def env(
    migrated: dict[str, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The session's migrated SQLite database, as an operator's environment names it."""
    for key in list(os.environ):
        if key.startswith("FRONTDESK_") and key != "FRONTDESK_INSECURE_FAST_PASSWORD_HASHING":
            monkeypatch.delenv(key)
    settings = migrated["sqlite"]
    return {
        "FRONTDESK_DATA_DIR": str(tmp_path / "data"),
        "FRONTDESK_DATABASE_URL": settings.database_url,
        "FRONTDESK_MASTER_KEY": settings.master_key,
        "CLI_SHOP_WEBHOOK_SECRET": "cli-shop-webhook-secret-0123",
    }


def test_apply_plans_applies_once_and_exports(tmp_path: Path, env: dict[str, str]) -> None:
    runner = CliRunner()
    slug = unique_slug("cli")
    manifest = tmp_path / "cli-shop.toml"
    manifest.write_text(MANIFEST.replace('"cli-shop"', f'"{slug}"'), encoding="utf-8")

    dry = runner.invoke(main, ["tenants", "apply", str(manifest), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"+ create tenant {slug}: CLI Shop" in dry.stdout
    assert "+ create channel Shop orders: webhook" in dry.stdout
    assert dry.stdout.rstrip().endswith("dry run: nothing changed")

    applied = runner.invoke(main, ["tenants", "apply", str(manifest)], env=env)
    assert applied.exit_code == 0, applied.output
    assert "channel Shop orders: webhook URL http" in applied.stdout
    # No platform mail configured: the link is for the operator to pass on.
    assert "invitation for ada@cli-shop.example" in applied.stdout
    assert "accept-invitation?token=fdi_" in applied.stdout

    again = runner.invoke(main, ["tenants", "apply", str(manifest)], env=env)
    assert again.exit_code == 0, again.output
    assert "no changes" in again.stdout and "applied 0 change(s)" in again.stdout

    exported = runner.invoke(main, ["tenants", "export", slug], env=env)
    assert exported.exit_code == 0, exported.output
    assert env["CLI_SHOP_WEBHOOK_SECRET"] not in exported.stdout
    assert load_manifest(exported.stdout).manifest.users[0].email == "ada@cli-shop.example"

    log = runner.invoke(main, ["audit", "export", slug, "--format", "csv"], env=env)
    assert log.exit_code == 0, log.output
    actions = [row["action"] for row in csv.DictReader(io.StringIO(log.stdout))]
    assert actions.count("tenant.manifest_applied") == 1
    assert {"user.created", "user.invited", "channel.created"} <= set(actions)


def test_a_wrong_manifest_exits_with_its_positions_and_no_traceback(
    tmp_path: Path, env: dict[str, str]
) -> None:
    runner = CliRunner()
    manifest = tmp_path / "wrong.toml"
    manifest.write_text(MANIFEST.replace('teams = ["desk"]', 'teams = ["desks"]'), "utf-8")
    r = runner.invoke(main, ["tenants", "apply", str(manifest)], env=env)
    assert r.exit_code == 1
    assert f"{manifest}:16:10: no team 'desks' under [[teams]]" in r.output
    assert "Traceback" not in r.output
