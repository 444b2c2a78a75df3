"""The audit chain: entries appended together are chained in order, like entries appended one by one."""

from __future__ import annotations

from sqlalchemy import select

from kizuki.core import audit
from kizuki.core.db import Database


def test_entries_recorded_together_chain_in_order(db: Database) -> None:
    with db.session() as s:
        first = audit.record(s, actor="a", action="x.one", subject="s:1", after={"n": 1})
    with db.session() as s:
        both = audit.record_all(
            s,
            [
                {"actor": "a", "action": "x.two", "subject": "s:2", "after": {"n": 2, "text": "二"}},
                {"actor": "b", "action": "x.three", "subject": "s:2", "before": {"n": 2}, "note": "why"},
            ],
        )
        assert [e.id for e in both] == sorted(e.id for e in both)
    with db.session() as s:
        audit.record(s, actor="a", action="x.four", subject="s:3")
    with db.reading() as s:
        rows = s.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id)).all()
        assert [r.action for r in rows] == ["x.one", "x.two", "x.three", "x.four"]
        assert rows[0].hash == first.hash
        assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
        assert rows[1].after == {"n": 2, "text": "二"} and rows[2].before == {"n": 2} and rows[2].note == "why"
        assert audit.verify(s) == []
