"""quotas and personal-data requests: a tenant's own limits, erased customers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdesk.db
from frontdesk.migrate import enable_row_level_security

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("tenant_limits",)

# ticket_events is append-only for the app role (SELECT and INSERT only). Erasing
# a customer must still remove the free text some events carry (a subject
# before and after a change, a hand-off's description and notes); this
# function, run with the owner's rights, does exactly that and nothing else:
# only those keys, only of those event kinds, only of the tenant in context
# (row-level security applies to the owner too: FORCE).
REDACT_TICKET_EVENTS = """
CREATE OR REPLACE FUNCTION frontdesk_erase_ticket_event_texts(ticket_ids uuid[])
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = public
AS $$
  WITH erased AS (
    UPDATE ticket_events
    SET data = (
      (data::jsonb - 'description' - 'note')
      || CASE WHEN kind = 'subject_changed'
              THEN '{"before": "(erased)", "after": "(erased)"}'::jsonb
              ELSE '{}'::jsonb END
      || '{"erased": true}'::jsonb
    )::json
    WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
      AND ticket_id = ANY(ticket_ids)
      AND (kind = 'subject_changed' OR kind LIKE 'handoff\\_%')
    RETURNING 1
  )
  SELECT count(*)::integer FROM erased
$$
"""


def upgrade() -> None:
    op.create_table(
        "tenant_limits",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("api_per_minute", sa.Integer(), nullable=True),
        sa.Column("token_api_per_minute", sa.Integer(), nullable=True),
        sa.Column("inbound_per_minute", sa.Integer(), nullable=True),
        sa.Column("storage_bytes", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", frontdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_limits_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_limits")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_at", frontdesk.db.UTCDateTime(timezone=True), nullable=True)
        )

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TENANT_TABLES:
            enable_row_level_security(bind, table)
        op.execute(REDACT_TICKET_EVENTS)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS frontdesk_erase_ticket_event_texts(uuid[])")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    op.drop_table("tenant_limits")
