"""reports: indexes for reports narrowed by two filters or more

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 12:45:00.000000

A report narrowed by two filters (a channel and a priority) over more than a
month is computed from the rows (the roll-ups hold single filters), and it
reads every query's matching tickets through one filter's index. On
PostgreSQL each filter's ``(tenant_id, <filter>, id)`` index (the inbox's,
migration 0010; the category's is new) now includes the other filters and
the times, so the tickets matching both filters are found, and most of
their figures read, from the index alone instead of the table's pages of
every ticket of one filter's value (the tags still come from the table);
and the SLA clocks get an index by
ticket holding everything the report reads of them, so the clocks of those
tickets are read without their table. On SQLite only the category's index
is added (SQLite has no included columns).

On a large PostgreSQL database the four rebuilt indexes and the two new
ones lock writes to tickets and SLA clocks while they are built (about a
minute per million tickets).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILTERS = ["channel", "priority", "category", "team_id", "assignee_id"]
# The inbox's indexes of migration 0010 (the category has none there).
EXISTING = {"channel", "priority", "team_id", "assignee_id"}
CLOCK_COLUMNS = [
    "metric",
    "policy",
    "state",
    "started_at",
    "met_at",
    "target_seconds",
    "consumed_seconds",
    "breached_at",
]


def _name(column: str) -> str:
    return f"ix_tickets_tenant_{column.removesuffix('_id')}_id"


def _include(column: str) -> list[str]:
    # Not the tags: 30 tags of 50 characters could pass btree's 2.7 kB a row.
    return [*(c for c in FILTERS if c != column), "created_at", "resolved_at"]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    postgres = _postgres()
    for column in FILTERS:
        if column in EXISTING:
            if not postgres:
                continue
            op.drop_index(_name(column), table_name="tickets")
        op.create_index(
            _name(column),
            "tickets",
            ["tenant_id", column, "id"],
            postgresql_include=_include(column),
        )
    op.create_index(
        "ix_ticket_slas_tenant_ticket_report",
        "ticket_slas",
        ["tenant_id", "ticket_id"],
        postgresql_include=CLOCK_COLUMNS,
    )


def downgrade() -> None:
    postgres = _postgres()
    op.drop_index("ix_ticket_slas_tenant_ticket_report", table_name="ticket_slas")
    for column in reversed(FILTERS):
        if column in EXISTING and not postgres:
            continue
        op.drop_index(_name(column), table_name="tickets")
        if column in EXISTING:
            op.create_index(_name(column), "tickets", ["tenant_id", column, "id"])
