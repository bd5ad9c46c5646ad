"""live channels' transcripts (web chat)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db
from frontdesk.migrate import enable_row_level_security

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_transcripts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_key", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.String(length=255), nullable=False),
        sa.Column("data_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_channel_transcripts_tenant_id_channel_id_channels"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_channel_transcripts_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_channel_transcripts")),
        sa.UniqueConstraint(
            "tenant_id",
            "channel_id",
            "conversation_key",
            "entry_id",
            name=op.f("uq_channel_transcripts_entry"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "channel_id",
            "conversation_key",
            "seq",
            name=op.f("uq_channel_transcripts_seq"),
        ),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        enable_row_level_security(bind, "channel_transcripts")


def downgrade() -> None:
    op.drop_table("channel_transcripts")
