"""ticket merges: a merged ticket names the ticket it was merged into

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain nullable column: ADD COLUMN on SQLite and PostgreSQL alike, no
    # table rebuild. Like follow_up_of, a link within the tenant's tickets.
    op.add_column("tickets", sa.Column("merged_into_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("merged_into_id")
