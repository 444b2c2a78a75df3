"""The schema the migrations build is the one the models declare, and the hot reads have their indexes."""

from __future__ import annotations

import warnings
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text

import kizuki.core.audit
import kizuki.schema  # noqa: F401 - every table on Base.metadata, as the migrations see them
from agent.posts.models import Draft, Post
from agent.posts.repository import recent_replies_query
from kizuki.core.db import Database
from kizuki.core.orm import Base

_INDEX_NAMES = {  # every index of a table, expression indexes too (reflection skips those on SQLite)
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table",
    "postgresql": "SELECT indexname FROM pg_indexes WHERE tablename = :table",
}


def test_migrations_build_what_the_models_declare(db: Database) -> None:
    """An index or column added to a model without a migration (or the reverse) shows up here."""
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection cannot read an index on an expression (ix_posts_post_time): both libraries say so and
        # skip it there; PostgreSQL compares it.
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression-based index")
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    with db.engine.connect() as conn:
        posts_indexes = {row[0] for row in conn.execute(text(_INDEX_NAMES[db.engine.dialect.name]), {"table": "posts"})}
    assert "ix_posts_post_time" in posts_indexes
    names = {ix["name"] for ix in inspect(db.engine).get_indexes("drafts")}
    assert "ix_drafts_created_at" in names


def test_the_recent_replies_read_walks_the_index_instead_of_sorting(tmp_path: Path) -> None:
    """Before every draft the pipeline reads the newest replies; without an index on created_at the
    database sorts every draft for it (122 ms at 200,000 drafts on SQLite)."""
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    db.migrate()
    try:
        with db.session() as s:
            s.execute(
                insert(Post),
                [
                    {"source": "x", "external_id": f"e{i}", "author_handle": "u", "text": "t", "lang": "ja"}
                    | {"channel": "x", "status": "drafted", "metrics": {}, "raw": {}}
                    for i in range(300)
                ],
            )
            ids = list(s.scalars(select(Post.id)))
            s.execute(
                insert(Draft),
                [
                    {"post_id": pid, "status": ("pending", "sent", "rejected")[pid % 3], "text": f"reply {pid}"}
                    | {"channel": "x", "model": "offline", "prompt_version": "draft-v2"}
                    for pid in ids
                ],
            )
        query = recent_replies_query(ids[-1], "sqlite").compile(db.engine, compile_kwargs={"literal_binds": True})
        # as a running Kizuki has it: no table statistics (nothing runs ANALYZE), then with them
        for analyze in (False, True):
            if analyze:
                with db.session() as s:
                    s.execute(text("ANALYZE"))
            with db.reading() as s:
                # a comment per round: the driver's statement cache would hand back the first round's plan
                explain = text(f"EXPLAIN QUERY PLAN {query} /* analyze={analyze} */")
                plan = " | ".join(str(row[-1]) for row in s.execute(explain))
                assert "ix_drafts_created_at" in plan and "TEMP B-TREE" not in plan, (analyze, plan)
                replies = s.scalars(recent_replies_query(ids[-1], "sqlite")).all()
                assert len(replies) == 50
                newest = s.scalars(
                    select(Draft.text)
                    .where(Draft.status.in_(("pending", "approved", "sent")), Draft.post_id != ids[-1])
                    .order_by(Draft.created_at.desc(), Draft.id.desc())
                    .limit(50)
                ).all()
                assert replies == newest
    finally:
        db.dispose()
