"""hand-offs: one team's request to another on a ticket, with its own due time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db
from frontdesk.migrate import enable_row_level_security

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("handoffs",)


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("from_team_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timer_id", sa.Uuid(), nullable=True),
        sa.Column("overdue_at", frontdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_to", sa.JSON(), nullable=False),
        sa.Column("created_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", frontdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "from_team_id"],
            ["teams.tenant_id", "teams.id"],
            name=op.f("fk_handoffs_tenant_id_from_team_id_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requested_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_handoffs_tenant_id_requested_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "team_id"],
            ["teams.tenant_id", "teams.id"],
            name=op.f("fk_handoffs_tenant_id_team_id_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "ticket_id"],
            ["tickets.tenant_id", "tickets.id"],
            name=op.f("fk_handoffs_tenant_id_ticket_id_tickets"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_handoffs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_handoffs")),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_handoffs_tenant_from_team", ["tenant_id", "from_team_id"], unique=False
        )
        batch_op.create_index("ix_handoffs_tenant_team", ["tenant_id", "team_id"], unique=False)
        batch_op.create_index("ix_handoffs_tenant_ticket", ["tenant_id", "ticket_id"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TENANT_TABLES:
            enable_row_level_security(bind, table)


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index("ix_handoffs_tenant_ticket")
        batch_op.drop_index("ix_handoffs_tenant_team")
        batch_op.drop_index("ix_handoffs_tenant_from_team")
    op.drop_table("handoffs")
