"""Where the platform may connect on a tenant's behalf: never to a private address.

A tenant sets URLs and hosts the platform then calls (a webhook channel's
callback URL, a provider's API base URL, an SMTP or IMAP host, a single
sign-on issuer). Pointed at a loopback, private, link-local (the cloud
metadata service at 169.254.169.254), multicast or reserved address, such a
call would reach the platform's own network (server-side request forgery).
The host is resolved and every address it resolves to is checked, when the
target is set (a problem-details answer) and again before each call (the
name may resolve elsewhere later: DNS rebinding).

``Settings.allow_private_targets`` lifts the rule: the embedded demo and
the tests, whose providers run on localhost, have it; a production
deployment (``FRONTDESK_DATABASE_URL`` set) does not, unless
``FRONTDESK_ALLOW_PRIVATE_TARGETS=1``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import msgspec

from frontdesk.errors import InvalidInput

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(InvalidInput):
    title = "Target not allowed"
    slug = "unsafe-target"


def _refused(address: IpAddress) -> str | None:
    """Why the platform will not connect to ``address``, if it will not."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _refused(mapped)
    for test, why in (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not public"),
    ):
        if test:
            return why
    return None


async def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"{host} does not resolve ({exc})", host=host) from None
    # Scope ids ("fe80::1%eth0") are not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_host(host: str, port: int, *, allow_private: bool, what: str = "") -> None:
    """Refuse (``UnsafeTarget``) a host that resolves to any address not on the public
    internet, unless ``allow_private``."""
    if allow_private:
        return
    label = f"{what} " if what else ""
    for address in await _resolve(host, port):
        why = _refused(address)
        if why is not None:
            raise UnsafeTarget(
                f"{label}{host} resolves to {address}, a {why} address; the platform "
                "connects only to public addresses",
                host=host,
                address=str(address),
            )


async def check_url(url: str, *, allow_private: bool, what: str = "") -> None:
    """``check_host`` for the host of an http(s) URL."""
    if allow_private:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget(f"{what or 'URL'} must be an http(s) URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await check_host(parts.hostname, port, allow_private=False, what=what)


# --- channel configs: fields marked ``TARGET`` -------------------------------------


def _marked(kind: Any) -> bool:
    if isinstance(kind, msgspec.inspect.Metadata):
        return bool((kind.extra or {}).get("target"))
    if isinstance(kind, msgspec.inspect.UnionType):
        return any(_marked(t) for t in kind.types)
    return False


def target_fields(config_type: type[msgspec.Struct]) -> list[str]:
    """Config fields marked ``Annotated[..., TARGET]``: URLs or hosts the adapter connects to."""
    info = msgspec.inspect.type_info(config_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return [f.encode_name for f in info.fields if _marked(f.type)]


async def check_adapter(config: msgspec.Struct, *, allow_private: bool) -> None:
    """An adapter's decoded config, just before it connects (the name may resolve
    elsewhere now than when the channel was saved)."""
    await check_config(type(config), msgspec.to_builtins(config), allow_private=allow_private)


async def check_config(
    config_type: type[msgspec.Struct], config: dict[str, Any], *, allow_private: bool
) -> None:
    """Every ``TARGET`` field of a channel's config: a URL's host, or a host name."""
    if allow_private:
        return
    for name in target_fields(config_type):
        value = config.get(name)
        if not isinstance(value, str) or not value:
            continue
        if "://" in value:
            await check_url(value, allow_private=False, what=name)
        else:
            await check_host(value, 0, allow_private=False, what=name)
