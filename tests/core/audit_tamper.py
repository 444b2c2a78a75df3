"""For tests that tamper with the audit log: do what someone with write access to the database can do."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def switch_off_append_only(s: Session) -> None:
    """Let this transaction UPDATE and DELETE audit rows, as the database's owner or a superuser can.

    PostgreSQL: ordinary triggers do not fire for the rest of the transaction (superuser only).
    SQLite: the triggers are dropped from this (test) database.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
