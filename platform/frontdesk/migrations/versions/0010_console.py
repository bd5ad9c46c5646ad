"""the console: browser sessions, canned replies, and the inbox's indexes

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 08:10:00.000000
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db
from frontdesk.migrate import enable_row_level_security

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

TENANT_TABLES = ("canned_replies", "web_sessions")

# Each inbox view and filter reads newest first within one tenant: the
# filtered column, then the id, so a page is an index range, not a sort.
INBOX_INDEXES = (
    ("ix_tickets_tenant_assignee_id", ["tenant_id", "assignee_id", "id"]),
    ("ix_tickets_tenant_team_id", ["tenant_id", "team_id", "id"]),
    ("ix_tickets_tenant_priority_id", ["tenant_id", "priority", "id"]),
    ("ix_tickets_tenant_channel_id", ["tenant_id", "channel", "id"]),
)


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", frontdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_web_sessions_tenant_id_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_web_sessions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_web_sessions_tenant_id_token_hash")
        ),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_tenant_user", ["tenant_id", "user_id"])

    op.create_table(
        "canned_replies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_canned_replies_tenant_id_created_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_canned_replies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("tenant_id", "title", name=op.f("uq_canned_replies_tenant_id_title")),
    )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name, columns in INBOX_INDEXES:
            batch_op.create_index(name, columns)

    with op.batch_alter_table("ticket_slas", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_slas_tenant_state_due", ["tenant_id", "state", "due_at"])

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # The inbox's search: full text over subjects and message bodies
        # ('simple': no stemming, so Chinese and English words alike match as typed).
        op.execute(
            "CREATE INDEX ix_tickets_subject_fts ON tickets "
            "USING gin (to_tsvector('simple', subject))"
        )
        op.execute(
            "CREATE INDEX ix_messages_body_fts ON messages "
            "USING gin (to_tsvector('simple', body_text))"
        )
        for table in TENANT_TABLES:
            enable_row_level_security(bind, table)
        _full_text_under_row_level_security(bind)


def _full_text_under_row_level_security(bind: sa.Connection) -> None:
    """Let the full-text indexes serve queries that row-level security guards.

    Under a policy, PostgreSQL evaluates a condition before the policy's
    own only if its functions are LEAKPROOF; ``to_tsvector`` and ``@@``
    (``ts_match_vq``) are not marked so, and without it every search reads
    the tenant's whole table. Neither reveals its argument through an error
    or side channel a caller could read for another tenant's rows. Marking
    them is per database and needs a superuser: without one the migration
    goes on and search stays correct, only slower (docs/benchmarks.md).
    """
    superuser = bind.execute(
        sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    ).scalar()
    if not superuser:
        log.warning(
            "not a superuser: to_tsvector and ts_match_vq are not marked LEAKPROOF, so "
            "inbox search cannot use its full-text indexes under row-level security"
        )
        return
    op.execute("ALTER FUNCTION to_tsvector(regconfig, text) LEAKPROOF")
    op.execute("ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        if bind.execute(
            sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar():
            op.execute("ALTER FUNCTION ts_match_vq(tsvector, tsquery) NOT LEAKPROOF")
            op.execute("ALTER FUNCTION to_tsvector(regconfig, text) NOT LEAKPROOF")
        op.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
        op.execute("DROP INDEX IF EXISTS ix_tickets_subject_fts")
    with op.batch_alter_table("ticket_slas", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_slas_tenant_state_due")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name, _ in reversed(INBOX_INDEXES):
            batch_op.drop_index(name)
    op.drop_table("canned_replies")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_tenant_user")
    op.drop_table("web_sessions")
