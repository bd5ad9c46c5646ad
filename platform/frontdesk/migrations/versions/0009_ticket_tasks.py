"""ticket tasks and call logs: a callback owed after a missed call, one log per phone call

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db
from frontdesk.migrate import enable_row_level_security

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("ticket_tasks", "calls")


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, frontdesk.db.UTCDateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
    )


def upgrade() -> None:
    op.create_table(
        "ticket_tasks",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("due_at", nullable=False),
        sa.Column("timer_id", sa.Uuid(), nullable=True),
        _when("overdue_at"),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _when("resolved_at"),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("ticket_tasks", "assignee_id", "users"),
        _fk("ticket_tasks", "team_id", "teams"),
        _fk("ticket_tasks", "ticket_id", "tickets"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_tasks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ticket_tasks")),
    )
    with op.batch_alter_table("ticket_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_tasks_tenant_assignee", ["tenant_id", "assignee_id"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_tasks_tenant_ticket", ["tenant_id", "ticket_id"], unique=False
        )

    op.create_table(
        "calls",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("provider_call_id", sa.String(length=128), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("contact_point_id", sa.Uuid(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        _when("started_at"),
        _when("answered_at"),
        _when("ended_at"),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("agent", sa.String(length=255), nullable=True),
        sa.Column("agent_user_id", sa.Uuid(), nullable=True),
        sa.Column("missed_reason", sa.String(length=32), nullable=True),
        sa.Column("voicemail", sa.Boolean(), nullable=False),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.Column("transcription", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _fk("calls", "agent_user_id", "users"),
        _fk("calls", "channel_id", "channels"),
        _fk("calls", "customer_id", "customers"),
        _fk("calls", "ticket_id", "tickets"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_calls_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_calls")),
        sa.UniqueConstraint(
            "tenant_id",
            "channel_id",
            "provider_call_id",
            name=op.f("uq_calls_tenant_id_channel_id_provider_call_id"),
        ),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_tenant_started", ["tenant_id", "started_at"], unique=False)
        batch_op.create_index("ix_calls_tenant_ticket", ["tenant_id", "ticket_id"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TENANT_TABLES:
            enable_row_level_security(bind, table)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_tenant_ticket")
        batch_op.drop_index("ix_calls_tenant_started")
    op.drop_table("calls")
    with op.batch_alter_table("ticket_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_tasks_tenant_ticket")
        batch_op.drop_index("ix_ticket_tasks_tenant_assignee")
    op.drop_table("ticket_tasks")
