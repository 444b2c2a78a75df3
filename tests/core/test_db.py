"""The database layer: read-only transactions never queue behind a writer, and never write."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from agent.intake.models import WatchRuleSet
from kizuki.core.db import Database


def test_reading_does_not_wait_for_a_writer(db: Database) -> None:
    """A writer holds its transaction open; a reader still sees the committed state at once."""
    with db.session() as s:
        s.add(WatchRuleSet(version=1, rules={}, created_by="test"))
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with db.session() as s:
            s.add(WatchRuleSet(version=2, rules={}, created_by="test"))
            s.flush()
            holding.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert holding.wait(10)
        done = threading.Event()
        seen: list[int] = []

        def reader() -> None:
            with db.reading() as s:
                seen.append(int(s.scalar(select(func.count()).select_from(WatchRuleSet)) or 0))
            done.set()

        threading.Thread(target=reader).start()
        # On SQLite a write transaction here would wait for the writer's lock (busy_timeout 30 s).
        assert done.wait(5), "a read-only transaction waited for a writer"
        assert seen == [1]  # the uncommitted row is not visible
    finally:
        release.set()
        t.join()
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(WatchRuleSet)) == 2


def test_reading_refuses_to_write(db: Database) -> None:
    with pytest.raises(RuntimeError, match="read-only"), db.reading() as s:
        s.add(WatchRuleSet(version=1, rules={}, created_by="test"))
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(WatchRuleSet)) == 0
    if db.is_postgres:
        with pytest.raises(Exception, match="read-only"), db.reading() as s:
            s.execute(text("CREATE TEMP TABLE t (x int)"))


def test_a_date_out_of_range_is_invalid_input_not_a_crash(db: Database) -> None:
    """0001-01-01T00:00+00:01 is before the first instant Python can hold in UTC (found by fuzzing)."""
    from datetime import datetime, timedelta, timezone

    from agent.intake.models import DoNotEngageEntry
    from kizuki.core.errors import InvalidInput

    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(minutes=1)))
    with pytest.raises(InvalidInput, match="out of range"), db.session() as s:
        s.add(DoNotEngageEntry(handle="x", reason="r", expires_at=early, added_by="test"))
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(DoNotEngageEntry)) == 0
    with pytest.raises(InvalidInput, match="out of range"), db.reading() as s:  # the same date as a filter
        s.scalar(select(DoNotEngageEntry).where(DoNotEngageEntry.expires_at > early))


@pytest.mark.parametrize("rules", [{"ok": {"nested\x00key": 1}}, {"ok": ["fine", "bad\x00value"]}, {"lone\ud800": 1}])
def test_json_that_no_backend_stores_faithfully_is_invalid_input(db: Database, rules: dict[str, object]) -> None:
    """A NUL or a lone surrogate anywhere in a JSON document, keys included, is a 422 on both backends
    (on PostgreSQL the document reaches the guard wrapped as Jsonb; found by the schema fuzz run)."""
    from kizuki.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="cannot be stored"), db.session() as s:
        s.add(WatchRuleSet(version=1, rules=rules, created_by="test"))
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(WatchRuleSet)) == 0
