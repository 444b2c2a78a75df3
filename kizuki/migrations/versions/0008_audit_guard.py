"""audit log: append-only on PostgreSQL (no UPDATE or DELETE)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:30:00.000000

Adds `seq` (the entry's position in the chain, filled in for existing rows) and `mac` (an HMAC of the entry's
hash under the audit key; empty for rows written before a key was set), then triggers that refuse UPDATE and
DELETE of audit rows on PostgreSQL and SQLite. TRUNCATE stays possible (tests reset databases with it), and a
superuser can disable triggers: the signed checkpoints outside the database catch what these let through.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE FUNCTION kizuki_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
_PG_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION kizuki_audit_log_append_only()
"""
_SQLITE_TRIGGERS = {
    "audit_log_no_update": "BEFORE UPDATE ON audit_log",
    "audit_log_no_delete": "BEFORE DELETE ON audit_log",
}


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("mac", sa.String(length=64), nullable=True))
    # Existing rows get their position in the chain (before the triggers forbid updates).
    op.execute(
        "UPDATE audit_log SET seq = numbered.n FROM "
        "(SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_log) AS numbered "
        "WHERE audit_log.id = numbered.id"
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    elif dialect == "sqlite":
        for name, event in _SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {event} BEGIN "
                "SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE and DELETE are refused'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS kizuki_audit_log_append_only()")
    elif dialect == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("mac")
        batch_op.drop_column("seq")
