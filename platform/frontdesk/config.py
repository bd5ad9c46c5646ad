"""Settings, read once from the environment (``FRONTDESK_*``).

With nothing set, Frontdesk runs embedded: SQLite in the data folder, an
in-process broker, and a master key generated into the data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from frontdesk.errors import ConfigurationError


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: Path = Path("frontdesk-data")
    # The URL migrations and administrative commands use; on PostgreSQL this
    # role owns the tables.
    database_url: str = ""
    # The URL the application itself uses. On PostgreSQL it must be a role
    # that neither owns the tables nor bypasses row-level security; by
    # default the owner URL with its user swapped for ``app_db_role``.
    app_database_url: str = ""
    app_db_role: str = "frontdesk_app"
    app_db_password: str = ""
    redis_url: str = ""
    # Keys and channels in Redis start with this, so tenants of one Redis
    # server (or test runs) never see each other's jobs and events.
    redis_namespace: str = "frontdesk"
    # A worker silent this long is presumed dead and its jobs are redelivered.
    worker_heartbeat_ms: int = 60_000
    worker_threads: int = 4
    # At most this many inbound events in one ingest transaction.
    ingest_batch_size: int = 100
    # Database connections each process keeps open (as many again may be
    # opened under a burst, and closed after).
    db_pool_size: int = 10
    # Delivery of agents' replies: attempts, the first retry's wait (doubling
    # after), and how long one attempt may take.
    delivery_max_attempts: int = 5
    delivery_backoff_ms: int = 2_000
    delivery_timeout_ms: int = 30_000
    # Timers: how often the scheduler looks for due ones, how many one claim
    # takes, and how long a claim holds before another scheduler may take the
    # timer again (a lost job or a killed worker).
    timer_tick_ms: int = 1_000
    timer_batch_size: int = 200
    timer_lease_ms: int = 60_000
    # An agent's open inbox sockets renew their presence every third of this;
    # sockets silent this long (their app process crashed) count as closed.
    presence_lease_seconds: int = 90
    # Base64 key, or "1:<b64>,2:<b64>" for a keyring with versions.
    master_key: str = ""
    master_key_file: Path | None = None
    # Signs access tokens; derived from the master key when empty.
    secret_key: str = ""
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    max_body_bytes: int = 2_000_000
    # How often each pull channel (an IMAP mailbox) is polled.
    poll_interval_seconds: int = 60
    public_url: str = "http://127.0.0.1:8000"
    embedded: bool = True
    # May the platform connect to loopback, private or link-local addresses a
    # tenant names (callback URLs, provider API URLs, mail hosts, SSO issuers)?
    # Yes embedded (the demo's and the tests' providers are on localhost); no in
    # production unless FRONTDESK_ALLOW_PRIVATE_TARGETS=1 (``frontdesk.egress``).
    allow_private_targets: bool = True
    # Quotas every tenant gets unless an operator sets its own
    # (``frontdesk tenants limits``): API requests per minute for the whole
    # tenant and for one token, inbound messages per minute at the intake,
    # and the bytes of stored attachments. 0 means no limit.
    quota_api_per_minute: int = 6_000
    quota_token_api_per_minute: int = 3_000
    quota_inbound_per_minute: int = 60_000
    quota_storage_bytes: int = 10 * 1024**3
    # SQLite's ``synchronous`` pragma: "full" syncs the write-ahead log at
    # every commit (a commit survives a power cut); "normal" syncs only at
    # checkpoints (a commit survives the process crashing, not the machine).
    sqlite_synchronous: str = "full"
    # The platform's own outbound mail (invitations), not a tenant's channel:
    # without a host, invitation links are handed to the admin instead.
    smtp_host: str = ""
    smtp_port: int = 587
    # starttls, tls or none
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "Frontdesk <frontdesk@localhost>"
    # How long an invitation link stays valid.
    invitation_hours: int = 168

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be 1 or 0, got {raw!r}")


SQLITE_SYNCHRONOUS = ("full", "normal")


def _sqlite_synchronous(raw: str) -> str:
    value = raw.strip().lower()
    if value not in SQLITE_SYNCHRONOUS:
        raise ConfigurationError(
            "FRONTDESK_SQLITE_SYNCHRONOUS must be one of "
            f"{', '.join(SQLITE_SYNCHRONOUS)}, got {raw!r}"
        )
    return value


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste and return the async driver's form."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    data_dir = Path(env.get("FRONTDESK_DATA_DIR") or "frontdesk-data")
    database_url = env.get("FRONTDESK_DATABASE_URL", "")
    if not database_url:
        database_url = f"sqlite+aiosqlite:///{data_dir.resolve() / 'frontdesk.sqlite3'}"
    database_url = normalise_database_url(database_url)
    if not (
        database_url.startswith("sqlite+aiosqlite") or database_url.startswith("postgresql+asyncpg")
    ):
        raise ConfigurationError(
            "FRONTDESK_DATABASE_URL must be a sqlite:// or postgresql:// URL, "
            f"got {database_url.split(':', 1)[0]}://…"
        )
    key_file = env.get("FRONTDESK_MASTER_KEY_FILE")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        app_database_url=normalise_database_url(env.get("FRONTDESK_APP_DATABASE_URL", "")),
        app_db_role=env.get("FRONTDESK_APP_DB_ROLE") or "frontdesk_app",
        app_db_password=env.get("FRONTDESK_APP_DB_PASSWORD", ""),
        redis_url=env.get("FRONTDESK_REDIS_URL", ""),
        redis_namespace=env.get("FRONTDESK_REDIS_NAMESPACE") or "frontdesk",
        worker_heartbeat_ms=_int(env, "FRONTDESK_WORKER_HEARTBEAT_MS", 60_000),
        worker_threads=_int(env, "FRONTDESK_WORKER_THREADS", 4),
        ingest_batch_size=max(1, _int(env, "FRONTDESK_INGEST_BATCH_SIZE", 100)),
        db_pool_size=max(1, _int(env, "FRONTDESK_DB_POOL_SIZE", 10)),
        delivery_max_attempts=_int(env, "FRONTDESK_DELIVERY_MAX_ATTEMPTS", 5),
        delivery_backoff_ms=_int(env, "FRONTDESK_DELIVERY_BACKOFF_MS", 2_000),
        delivery_timeout_ms=_int(env, "FRONTDESK_DELIVERY_TIMEOUT_MS", 30_000),
        timer_tick_ms=max(10, _int(env, "FRONTDESK_TIMER_TICK_MS", 1_000)),
        timer_batch_size=max(1, _int(env, "FRONTDESK_TIMER_BATCH_SIZE", 200)),
        timer_lease_ms=max(100, _int(env, "FRONTDESK_TIMER_LEASE_MS", 60_000)),
        presence_lease_seconds=max(3, _int(env, "FRONTDESK_PRESENCE_LEASE_SECONDS", 90)),
        master_key=env.get("FRONTDESK_MASTER_KEY", ""),
        master_key_file=Path(key_file) if key_file else None,
        secret_key=env.get("FRONTDESK_SECRET_KEY", ""),
        access_token_minutes=_int(env, "FRONTDESK_ACCESS_TOKEN_MINUTES", 15),
        refresh_token_days=_int(env, "FRONTDESK_REFRESH_TOKEN_DAYS", 30),
        max_body_bytes=_int(env, "FRONTDESK_MAX_BODY_BYTES", 2_000_000),
        poll_interval_seconds=_int(env, "FRONTDESK_POLL_SECONDS", 60),
        public_url=env.get("FRONTDESK_PUBLIC_URL") or "http://127.0.0.1:8000",
        sqlite_synchronous=_sqlite_synchronous(env.get("FRONTDESK_SQLITE_SYNCHRONOUS") or "full"),
        embedded=not env.get("FRONTDESK_DATABASE_URL"),
        allow_private_targets=_flag(
            env, "FRONTDESK_ALLOW_PRIVATE_TARGETS", not env.get("FRONTDESK_DATABASE_URL")
        ),
        quota_api_per_minute=max(0, _int(env, "FRONTDESK_QUOTA_API_PER_MINUTE", 6_000)),
        quota_token_api_per_minute=max(0, _int(env, "FRONTDESK_QUOTA_TOKEN_API_PER_MINUTE", 3_000)),
        quota_inbound_per_minute=max(0, _int(env, "FRONTDESK_QUOTA_INBOUND_PER_MINUTE", 60_000)),
        quota_storage_bytes=max(0, _int(env, "FRONTDESK_QUOTA_STORAGE_BYTES", 10 * 1024**3)),
        smtp_host=env.get("FRONTDESK_SMTP_HOST", ""),
        smtp_port=_int(env, "FRONTDESK_SMTP_PORT", 587),
        smtp_security=_choice(env, "FRONTDESK_SMTP_SECURITY", ("starttls", "tls", "none")),
        smtp_username=env.get("FRONTDESK_SMTP_USERNAME", ""),
        smtp_password=env.get("FRONTDESK_SMTP_PASSWORD", ""),
        mail_from=env.get("FRONTDESK_MAIL_FROM") or "Frontdesk <frontdesk@localhost>",
        invitation_hours=max(1, _int(env, "FRONTDESK_INVITATION_HOURS", 168)),
    )


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name) or allowed[0]
    if raw not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw
