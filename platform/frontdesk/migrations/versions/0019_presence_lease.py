"""presence: a lease on an agent's open inbox sockets

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 11:45:00.000000

``agent_profiles.socket_lease_until``: open sockets renew it; once it has
passed, the sockets counted in ``connections`` are presumed gone with a
crashed app process and the agent counts as offline.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_profiles") as batch_op:
        batch_op.add_column(
            sa.Column("socket_lease_until", frontdesk.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("agent_profiles") as batch_op:
        batch_op.drop_column("socket_lease_until")
