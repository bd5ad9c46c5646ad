"""An email channel's settings: addresses, limits, and the three servers it may talk to.

Checked by msgspec when an admin saves the channel (``__post_init__`` errors
become validation errors), so a channel that cannot work is refused then,
not when the first mail arrives.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from frontdesk.channels import SECRET, TARGET

MiB = 1024 * 1024

# Deliberately simple: an address the platform can store, reply to and match.
# Quoted local parts and address literals are not channel addresses anyone uses.
_ADDRESS = r"^[^\s@<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
_DOMAIN = r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")

Address = Annotated[str, msgspec.Meta(pattern=_ADDRESS, max_length=254)]
Domain = Annotated[str, msgspec.Meta(pattern=_DOMAIN, max_length=253)]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^[^\s/]+$")]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=300)]
Pem = Annotated[str, msgspec.Meta(max_length=65536)]
Security = Literal["starttls", "tls", "none"]


class EmailConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One email channel. README.md describes every field."""

    # --- who the channel is -------------------------------------------------
    #: The address customers write to and replies come from: ``support@acme.com``.
    from_address: Address
    from_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    #: Further addresses that reach this channel (aliases). ``from_address`` is
    #: always one; plus-addresses (``support+x@``) of each are accepted too.
    addresses: Annotated[list[Address], msgspec.Meta(max_length=50)] = []
    #: The right-hand side of the Message-IDs we generate; default: from_address's domain.
    message_id_domain: Domain | None = None
    #: Appended to every reply, after the standard ``-- `` separator.
    signature: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    #: Ticket-number prefixes recognised in subjects (``CS`` for ``[CS-2026-000042]``);
    #: empty: any prefix of 1–10 capital letters and digits, starting with a letter.
    ticket_prefixes: Annotated[list[str], msgspec.Meta(max_length=20)] = []

    # --- limits -------------------------------------------------------------
    #: An attachment larger than this is listed, marked refused, and not kept.
    max_attachment_bytes: Annotated[int, msgspec.Meta(ge=0, le=200 * MiB)] = 10 * MiB
    #: Attachments past this count are listed as refused too.
    max_attachments: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 100
    #: A whole message larger than this is refused by the listener (552) and
    #: read headers-only by the poller.
    max_message_bytes: Annotated[int, msgspec.Meta(ge=64 * 1024, le=500 * MiB)] = 50 * MiB

    # --- inbound over HTTP (raw MIME posted by an inbound-parse service) ----
    #: Shared secret for the webhook URL: ``X-Frontdesk-Email-Token`` or the
    #: password of HTTP Basic auth. Without it, nothing is accepted over HTTP.
    webhook_secret: Annotated[str | None, SECRET] = None

    # --- outbound: SMTP submission ------------------------------------------
    #: Without it the channel only receives; replies fail with a clear error.
    smtp_host: Annotated[Host, TARGET] | None = None
    smtp_port: Port = 587
    smtp_security: Security = "starttls"
    smtp_username: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    smtp_password: Annotated[str | None, SECRET] = None
    #: Extra CA certificates (PEM) to trust for the SMTP server, for a private relay.
    smtp_ca_pem: Pem | None = None
    smtp_timeout_seconds: Seconds = 30.0
    #: The envelope sender (``MAIL FROM``), where bounces go; default from_address.
    envelope_from: Address | None = None

    # --- inbound: SMTP/LMTP listener ----------------------------------------
    #: Without it, ``listen`` returns at once: the channel runs no listener.
    listen_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    listen_host: Host = "127.0.0.1"
    #: Speak LMTP (for delivery from a local MTA such as Postfix) instead of SMTP.
    listen_lmtp: bool = False
    #: The name in the greeting; default: the machine's name.
    listen_hostname: Host | None = None
    #: Certificate chain and key (PEM) to offer STARTTLS with; both or neither.
    listen_tls_cert_pem: Pem | None = None
    listen_tls_key_pem: Annotated[str | None, SECRET] = None

    # --- inbound: IMAP polling ----------------------------------------------
    #: Without it, ``poll`` returns at once with nothing.
    imap_host: Annotated[Host, TARGET] | None = None
    imap_port: Port = 993
    imap_security: Security = "tls"
    imap_username: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    imap_password: Annotated[str | None, SECRET] = None
    imap_mailbox: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "INBOX"
    imap_ca_pem: Pem | None = None
    imap_timeout_seconds: Seconds = 30.0
    #: Messages fetched per poll at most; the rest come with the next polls.
    imap_batch: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50
    #: On the first poll (or after the mailbox was rebuilt), how many days back
    #: to read; 0: only mail arriving from now on.
    imap_backfill_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 3

    def __post_init__(self) -> None:
        # msgspec turns these ValueErrors into ValidationErrors naming the problem.
        secret = self.webhook_secret
        if secret is not None and not 16 <= len(secret) <= 512:
            raise ValueError("webhook_secret must be 16 to 512 characters")
        for prefix in self.ticket_prefixes:
            if not _PREFIX.fullmatch(prefix):
                raise ValueError(
                    f"ticket prefix {prefix!r} must be 1-10 capital letters and digits, "
                    "starting with a letter"
                )
        if (self.listen_tls_cert_pem is None) != (self.listen_tls_key_pem is None):
            raise ValueError("listen_tls_cert_pem and listen_tls_key_pem go together")
        if self.smtp_host is not None and (self.smtp_username is None) != (
            self.smtp_password is None
        ):
            raise ValueError("smtp_username and smtp_password go together")
        if self.imap_host is not None and (
            self.imap_username is None or self.imap_password is None
        ):
            raise ValueError("imap_host needs imap_username and imap_password")
        if any(ord(c) < 0x20 or c == "\x7f" for c in self.imap_mailbox):
            raise ValueError("imap_mailbox must not contain control characters")

    # --- derived ----------------------------------------------------------------

    @property
    def own_addresses(self) -> frozenset[str]:
        """Every address of the channel, lower-cased."""
        return frozenset(a.lower() for a in [self.from_address, *self.addresses])

    @property
    def id_domain(self) -> str:
        return (self.message_id_domain or self.from_address.rpartition("@")[2]).lower()
