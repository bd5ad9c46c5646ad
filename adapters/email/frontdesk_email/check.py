"""The connection check (SDK 1.3): log in to the SMTP server and the IMAP mailbox.

Blocking, like delivery and polling (run in a thread): nothing is sent and
nothing is read but the mailbox's status; each step says what answered.
"""

from __future__ import annotations

import contextlib
import imaplib

from frontdesk.channels import CheckStep
from frontdesk_email.config import EmailConfig
from frontdesk_email.imap import _Session, mailbox_name
from frontdesk_email.outbound import Abort, open_smtp, quit_smtp, receipt_for


def smtp(config: EmailConfig, abort: Abort) -> CheckStep:
    """Connect, STARTTLS or TLS as configured, log in when a username is set; send nothing."""
    assert config.smtp_host is not None
    what = f"SMTP {config.smtp_host}:{config.smtp_port}"
    try:
        client = open_smtp(config, abort)
    except Exception as exc:  # a check reports, never raises
        # The same wording as a failed delivery's, so an admin sees one language.
        error = receipt_for(exc, config.smtp_timeout_seconds).error
        return CheckStep(what=what, ok=False, detail=error or str(exc))
    quit_smtp(client)
    if config.smtp_username is not None and config.smtp_password is not None:
        return CheckStep(what=what, ok=True, detail=f"logged in as {config.smtp_username}")
    return CheckStep(what=what, ok=True, detail="connected (no login configured)")


def imap(config: EmailConfig, abort: Abort) -> CheckStep:
    """Connect, log in, and open the mailbox read-only (EXAMINE); fetch nothing."""
    assert config.imap_host is not None
    assert config.imap_username is not None and config.imap_password is not None
    what = f"IMAP {config.imap_host}:{config.imap_port}"
    try:
        session = _Session(config, abort)
    except (OSError, imaplib.IMAP4.error) as exc:
        return CheckStep(
            what=what, ok=False, detail=f"could not reach the IMAP server: {type(exc).__name__}"
        )
    client = session.client
    try:
        try:
            client.login(config.imap_username, config.imap_password)
        except imaplib.IMAP4.error as exc:
            return CheckStep(what=what, ok=False, detail=f"IMAP login failed: {str(exc)[:200]}")
        status, _ = client.select(mailbox_name(config.imap_mailbox), readonly=True)
        if status != "OK":
            return CheckStep(
                what=what,
                ok=False,
                detail=f"logged in, but the mailbox {config.imap_mailbox!r} cannot be opened",
            )
        return CheckStep(
            what=what,
            ok=True,
            detail=f"logged in as {config.imap_username}, mailbox {config.imap_mailbox!r} opened",
        )
    except (OSError, imaplib.IMAP4.error) as exc:
        return CheckStep(
            what=what, ok=False, detail=f"the IMAP connection failed: {type(exc).__name__}"
        )
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            with contextlib.suppress(OSError):
                client.shutdown()
