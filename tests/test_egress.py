"""The platform connects on a tenant's behalf only to public addresses (``frontdesk.egress``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.config import load_settings
from frontdesk.egress import UnsafeTarget, check_host, check_url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("https://10.1.2.3/", "private"),
        ("https://192.168.0.10/api", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://100.64.0.1/", "not public"),
    ],
)
async def test_private_loopback_and_link_local_targets_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeTarget) as refused:
        await check_url(url, allow_private=False, what="callback_url")
    assert f"a {why} address" in refused.value.detail
    assert refused.value.status == 400
    await check_url(url, allow_private=True)  # an operator who allows them


async def test_public_addresses_pass_and_an_unresolvable_host_is_refused() -> None:
    await check_url("https://8.8.8.8/hook", allow_private=False)
    await check_host("2001:4860:4860::8888", 443, allow_private=False)
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        await check_host("no-such-host.invalid", 443, allow_private=False)
    with pytest.raises(UnsafeTarget, match="http"):
        await check_url("file:///etc/passwd", allow_private=False)


def test_production_refuses_private_targets_unless_the_operator_allows_them(
    tmp_path: Path,
) -> None:
    base = {"FRONTDESK_DATA_DIR": str(tmp_path)}
    assert load_settings(base).allow_private_targets  # the embedded demo
    production = {**base, "FRONTDESK_DATABASE_URL": "postgresql://owner@db/frontdesk"}
    assert not load_settings(production).allow_private_targets
    allowed = {**production, "FRONTDESK_ALLOW_PRIVATE_TARGETS": "1"}
    assert load_settings(allowed).allow_private_targets
