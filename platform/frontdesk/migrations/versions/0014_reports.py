"""reports: indexes for the report queries (period scans by tenant)

Revision ID: 0014
Revises: 0006
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, columns, included columns): a report reads one tenant's rows in
# a period; on PostgreSQL the included columns let it read the index alone.
FILTERS = ["channel", "priority", "category", "team_id", "assignee_id"]
INDEXES: tuple[tuple[str, str, list[str], list[str]], ...] = (
    ("ix_tickets_tenant_created", "tickets", ["tenant_id", "created_at"], FILTERS),
    ("ix_tickets_tenant_resolved", "tickets", ["tenant_id", "resolved_at"], FILTERS),
    ("ix_tickets_tenant_closed", "tickets", ["tenant_id", "closed_at"], []),
    (
        "ix_ticket_slas_tenant_metric_met",
        "ticket_slas",
        ["tenant_id", "metric", "met_at"],
        ["state", "consumed_seconds"],
    ),
    (
        "ix_ticket_slas_tenant_started",
        "ticket_slas",
        ["tenant_id", "started_at"],
        ["metric", "policy", "state", "target_seconds", "consumed_seconds", "breached_at"],
    ),
    (
        "ix_ticket_events_tenant_kind_created",
        "ticket_events",
        ["tenant_id", "kind", "created_at"],
        [],
    ),
    ("ix_handoffs_tenant_created", "handoffs", ["tenant_id", "created_at"], []),
)


# Open tickets (the backlog): few of them, scattered over the tenant's history.
OPEN_WHERE = sa.text("state IN ('escalated', 'new', 'open', 'pending')")


def upgrade() -> None:
    for name, table, columns, include in INDEXES:
        op.create_index(name, table, columns, postgresql_include=include)
    op.create_index(
        "ix_tickets_tenant_open",
        "tickets",
        ["tenant_id", "created_at"],
        postgresql_include=FILTERS,
        postgresql_where=OPEN_WHERE,
        sqlite_where=OPEN_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_tenant_open", table_name="tickets")
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
