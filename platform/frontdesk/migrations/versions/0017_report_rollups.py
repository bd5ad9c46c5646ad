"""reports: daily roll-ups of each tenant's figures, and the index that finds what changed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 11:30:00.000000

A report over more than a month reads one row per local day (per filter
value) instead of every ticket, clock and event of the period
(``reports.rollups``). The roll-ups are refreshed by a job; what changed
since is found through the ticket events written after the last refresh,
hence the index on their time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db
from frontdesk.migrate import enable_row_level_security

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("report_rollups", "report_rollup_state")


def upgrade() -> None:
    op.create_table(
        "report_rollups",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_report_rollups_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "day", "dimension", "value", name=op.f("pk_report_rollups")
        ),
    )
    op.create_table(
        "report_rollup_state",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("watermark", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("through", sa.Date(), nullable=True),
        sa.Column("refreshed_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_report_rollup_state_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_report_rollup_state")),
    )
    op.create_index(
        "ix_ticket_events_tenant_created",
        "ticket_events",
        ["tenant_id", "created_at"],
        postgresql_include=["ticket_id"],
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TENANT_TABLES:
            enable_row_level_security(bind, table)


def downgrade() -> None:
    op.drop_index("ix_ticket_events_tenant_created", table_name="ticket_events")
    op.drop_table("report_rollup_state")
    op.drop_table("report_rollups")
