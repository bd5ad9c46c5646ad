"""invitations: expiring single-use links with which invited users set a password

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-02 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db
from frontdesk.migrate import enable_row_level_security

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("invitations",)


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", frontdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", frontdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", frontdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invited_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_invitations_tenant_id_invited_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_invitations_tenant_id_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invitations_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invitations")),
    )

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TENANT_TABLES:
            enable_row_level_security(bind, table)


def downgrade() -> None:
    op.drop_table("invitations")
