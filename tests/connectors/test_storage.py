"""The connector tables the migration builds are the ones the models declare; the migration goes down and up."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import delivery.connectors.models  # noqa: F401 - registers the tables
from kizuki.core.db import Database
from kizuki.core.orm import Base

TABLES = {"connector_configs", "connector_state", "connector_usage", "connector_sent"}


def _names(diff: Any) -> set[str]:
    """Table names a diff entry (or a nested list of them) is about."""
    found: set[str] = set()
    if isinstance(diff, list | tuple):
        for part in diff:
            found |= _names(part)
    else:
        table = getattr(diff, "table", None)
        name = getattr(table, "name", None) or getattr(diff, "name", None)
        if isinstance(name, str):
            found.add(name)
    return found


def test_the_migration_builds_what_the_models_declare(db: Database) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # other tables' expression indexes are not ours to judge here
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if _names(d) & TABLES]
    assert ours == []
    assert set(inspect(db.engine).get_table_names()) >= TABLES


def test_downgrade_and_upgrade(tmp_path: Path) -> None:
    from alembic import command

    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    db.migrate("0010")  # not head: later revisions belong to others
    cfg = db.alembic_config()
    command.downgrade(cfg, "0009")
    assert not TABLES & set(inspect(db.engine).get_table_names())
    command.upgrade(cfg, "0010")
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.dispose()
