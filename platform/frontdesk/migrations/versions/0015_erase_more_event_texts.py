"""personal-data erasure: the texts later domains copy into ticket events

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 09:20:00.000000

A survey answer's comment, a task's closing note, a call's recording link
are copied into ticket events too. ``frontdesk_erase_ticket_event_texts``
(0013) removed only a hand-off's description and notes and a subject change;
this version also removes those keys, from whichever event carries them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep in step with frontdesk.tickets.service.EVENT_TEXT_KEYS (the SQLite path).
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
      (data::jsonb - ARRAY['description', 'note', 'comment', 'recording_url'])
      || CASE WHEN kind = 'subject_changed'
              THEN '{"before": "(erased)", "after": "(erased)"}'::jsonb
              ELSE '{}'::jsonb END
      || '{"erased": true}'::jsonb
    )::json
    WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
      AND ticket_id = ANY(ticket_ids)
      AND (
        kind = 'subject_changed' OR kind LIKE 'handoff\\_%'
        OR data::jsonb ?| ARRAY['description', 'note', 'comment', 'recording_url']
      )
    RETURNING 1
  )
  SELECT count(*)::integer FROM erased
$$
"""

PREVIOUS = """
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REDACT_TICKET_EVENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS)
