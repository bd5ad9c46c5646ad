"""the inbox's search: one full-text column per ticket, kept by triggers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 11:40:00.000000

On PostgreSQL each ticket gets ``search_vector``: the words of its subject
and of every message body (``simple`` configuration, positions stripped),
kept current by triggers, so no code path (intake, replies, erasure,
moving a message, deleting a tenant) can leave it behind. One column on the
table the inbox pages over lets the planner choose per search: the
newest-first index scan testing each ticket for a common word, the GIN
index for a rare one (docs/benchmarks.md). The two expression indexes of
migration 0010 go, and with them the need for ``to_tsvector`` to be
LEAKPROOF. SQLite keeps its substring search and gets nothing here.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# Positions are stripped: plainto_tsquery needs none, and a long thread then
# costs one entry per distinct word, not one per occurrence.
TICKET_WORDS = """
CREATE FUNCTION frontdesk_ticket_words(p_tenant_id uuid, p_ticket_id uuid, p_subject text)
RETURNS tsvector
LANGUAGE sql
STABLE
SET search_path = public
AS $$
  SELECT strip(to_tsvector('simple', coalesce(p_subject, '')))
      || coalesce(
           (SELECT strip(to_tsvector('simple', string_agg(m.body_text, ' ')))
            FROM messages m
            WHERE m.tenant_id = p_tenant_id AND m.ticket_id = p_ticket_id),
           ''::tsvector)
$$
"""

# The triggers run as the caller, row-level security and all: they only
# ever touch the tickets of the messages the caller itself may write.
TICKET_TRIGGER = (
    """
CREATE FUNCTION frontdesk_tickets_search_vector() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- A new ticket has no messages yet (they reference it).
    NEW.search_vector := strip(to_tsvector('simple', NEW.subject));
  ELSE
    NEW.search_vector := frontdesk_ticket_words(NEW.tenant_id, NEW.id, NEW.subject);
  END IF;
  RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER tickets_search_vector
BEFORE INSERT OR UPDATE OF subject ON tickets
FOR EACH ROW EXECUTE FUNCTION frontdesk_tickets_search_vector()
""",
)

# New messages only add words: appended, once per statement (a batch of
# messages for many tickets updates each ticket once). A ticket with no
# vector yet (loaded around the triggers) is computed whole.
MESSAGES_ADDED = (
    """
CREATE FUNCTION frontdesk_messages_added() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public
AS $$
BEGIN
  UPDATE tickets t
  SET search_vector = CASE
        WHEN t.search_vector IS NULL
        THEN frontdesk_ticket_words(t.tenant_id, t.id, t.subject)
        ELSE t.search_vector || a.words END
  FROM (SELECT tenant_id, ticket_id,
               strip(to_tsvector('simple', string_agg(body_text, ' '))) AS words
        FROM added GROUP BY tenant_id, ticket_id) a
  WHERE t.tenant_id = a.tenant_id AND t.id = a.ticket_id;
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER messages_search_vector_added
AFTER INSERT ON messages REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_messages_added()
""",
)

# A body rewritten (erasure, redaction) or a message moved to another ticket
# takes words away: both tickets are computed again from what is left.
MESSAGES_CHANGED = (
    """
CREATE FUNCTION frontdesk_messages_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public
AS $$
BEGIN
  UPDATE tickets t
  SET search_vector = frontdesk_ticket_words(t.tenant_id, t.id, t.subject)
  WHERE (t.tenant_id, t.id) IN ((OLD.tenant_id, OLD.ticket_id), (NEW.tenant_id, NEW.ticket_id));
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER messages_search_vector_changed
AFTER UPDATE OF body_text, ticket_id ON messages
FOR EACH ROW
WHEN (OLD.body_text IS DISTINCT FROM NEW.body_text OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
EXECUTE FUNCTION frontdesk_messages_changed()
""",
)

MESSAGES_REMOVED = (
    """
CREATE FUNCTION frontdesk_messages_removed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public
AS $$
BEGIN
  UPDATE tickets t
  SET search_vector = frontdesk_ticket_words(t.tenant_id, t.id, t.subject)
  WHERE (t.tenant_id, t.id) IN (SELECT DISTINCT tenant_id, ticket_id FROM removed);
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER messages_search_vector_removed
AFTER DELETE ON messages REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_messages_removed()
""",
)


def _superuser(bind: sa.Connection) -> bool:
    return bool(
        bind.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    )


def _leakproof(bind: sa.Connection, signature: str) -> bool:
    return bool(
        bind.execute(
            sa.text("SELECT proleakproof FROM pg_proc WHERE oid = CAST(:f AS regprocedure)"),
            {"f": signature},
        ).scalar()
    )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE tickets ADD COLUMN search_vector tsvector")
    op.execute(TICKET_WORDS)
    # Existing tickets: row-level security binds the owner too (FORCE), and
    # the backfill is for every tenant at once; lifted inside this
    # transaction only.
    op.execute("ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE messages NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE tickets SET search_vector = frontdesk_ticket_words(tenant_id, id, subject)")
    op.execute("ALTER TABLE messages FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tickets FORCE ROW LEVEL SECURITY")
    for function, trigger in (TICKET_TRIGGER, MESSAGES_ADDED, MESSAGES_CHANGED, MESSAGES_REMOVED):
        op.execute(function)
        op.execute(trigger)
    op.execute("CREATE INDEX ix_tickets_search_vector ON tickets USING gin (search_vector)")
    op.execute("DROP INDEX IF EXISTS ix_tickets_subject_fts")
    op.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
    _leakproof_functions(bind)


def _leakproof_functions(bind: sa.Connection) -> None:
    """Only ``@@`` (``ts_match_vq``) stays LEAKPROOF, for the GIN index under RLS.

    Under a row-level security policy PostgreSQL runs a condition on a
    column before the policy's own, as an index condition, only if its
    functions are LEAKPROOF. The search's condition is now
    ``search_vector @@ plainto_tsquery(...)``: ``plainto_tsquery`` reads no
    column, so only ``ts_match_vq`` needs the mark (0010 set it; it
    reports nothing about its arguments). ``to_tsvector`` was marked only
    for the expression indexes dropped above; it can raise errors that
    depend on its input (a tsvector too long), so it is unmarked again.
    """
    if not _superuser(bind):
        if _leakproof(bind, "to_tsvector(regconfig, text)"):
            log.warning(
                "not a superuser: to_tsvector(regconfig, text) stays LEAKPROOF (nothing "
                "needs it now); a superuser may run ALTER FUNCTION ... NOT LEAKPROOF"
            )
        if not _leakproof(bind, "ts_match_vq(tsvector, tsquery)"):
            log.warning(
                "not a superuser: ts_match_vq is not LEAKPROOF, so inbox search for a rare "
                "word cannot use its GIN index under row-level security"
            )
        return
    op.execute("ALTER FUNCTION to_tsvector(regconfig, text) NOT LEAKPROOF")
    op.execute("ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if _superuser(bind):
        op.execute("ALTER FUNCTION to_tsvector(regconfig, text) LEAKPROOF")
    op.execute(
        "CREATE INDEX ix_tickets_subject_fts ON tickets USING gin (to_tsvector('simple', subject))"
    )
    op.execute(
        "CREATE INDEX ix_messages_body_fts ON messages USING gin (to_tsvector('simple', body_text))"
    )
    op.execute("DROP INDEX IF EXISTS ix_tickets_search_vector")
    op.execute("DROP TRIGGER IF EXISTS messages_search_vector_removed ON messages")
    op.execute("DROP TRIGGER IF EXISTS messages_search_vector_changed ON messages")
    op.execute("DROP TRIGGER IF EXISTS messages_search_vector_added ON messages")
    op.execute("DROP TRIGGER IF EXISTS tickets_search_vector ON tickets")
    for function in (
        "frontdesk_messages_removed()",
        "frontdesk_messages_changed()",
        "frontdesk_messages_added()",
        "frontdesk_tickets_search_vector()",
        "frontdesk_ticket_words(uuid, uuid, text)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("ALTER TABLE tickets DROP COLUMN IF EXISTS search_vector")
