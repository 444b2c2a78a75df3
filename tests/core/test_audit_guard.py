"""Tampering with the audit log is detected: keyed entries, signed checkpoints, append-only triggers.

Each attack is made by someone with write access to the database (who switches the triggers off, as an owner
or superuser can), on SQLite and on PostgreSQL. The bare hash chain misses every one of them; the key and the
checkpoints catch them.
"""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kizuki.core import audit
from kizuki.core.db import Database
from kizuki.core.errors import Conflict, ServiceUnavailable
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings, get_settings
from tests.core.audit_tamper import switch_off_append_only

KEY = "an audit key of some length"
OTHER_KEY = "another audit key, retired"


def _settings(tmp_path: Path, db: Database, **kw: object) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db.url, **kw)  # type: ignore[arg-type]


@pytest.fixture
def guard(db: Database, tmp_path: Path) -> Iterator[audit.Guard]:
    """Entries written through `db` are signed with KEY and checkpointed under tmp_path."""
    yield audit.configure(db.engine, _settings(tmp_path, db, audit_key=KEY))
    audit.unconfigure(db.engine)


@pytest.fixture
def unkeyed(db: Database, tmp_path: Path) -> Iterator[audit.Guard]:
    yield audit.configure(db.engine, _settings(tmp_path, db))
    audit.unconfigure(db.engine)


def _write(db: Database, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        with db.session() as s:
            text_ = "返品について" if i % 2 else "about a return"
            audit.record(s, actor="agent:hana", action="draft.create", subject=f"draft:{i}", after={"text": text_})


@contextmanager
def attacker(db: Database) -> Iterator[Session]:
    """A transaction of someone who may write to the database and switches the append-only triggers off."""
    with db.session() as s:
        switch_off_append_only(s)
        yield s


def _rehash_from(s: Session, first_id: int) -> None:
    """Recompute every hash from `first_id` on, as an attacker would after a change (no key: no MAC)."""
    rows = s.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id)).all()
    prev = audit.GENESIS
    for position, row in enumerate(rows, start=1):
        if row.id >= first_id:
            row.prev_hash = f"{position:064x}"  # temporary: the unique constraints hold during the rewrite
            row.hash = f"{position + 10**6:064x}"
    s.flush()
    for position, row in enumerate(rows, start=1):
        if row.id >= first_id:
            row.prev_hash = prev
            row.hash = audit.entry_hash(prev, row)
            row.seq = position
        prev = row.hash
    s.flush()


def _problems(db: Database, guard: audit.Guard) -> list[str]:
    with db.reading() as s:
        return [p.problem for p in audit.verify_all(s, guard).problems]


def _bare_chain_problems(db: Database) -> list[audit.ChainProblem]:
    with db.reading() as s:
        return audit.verify(s)


def test_an_untouched_signed_log_verifies(db: Database, guard: audit.Guard) -> None:
    _write(db, 3)
    with db.reading() as s:
        report = audit.verify_all(s, guard)
        rows = s.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id)).all()
    assert report.ok and report.warnings == []
    assert (report.entries, report.checkpoints, report.signed) == (3, 3, True)
    assert report.last_checkpoint is not None and report.last_checkpoint.entry_id == rows[-1].id
    assert [r.seq for r in rows] == [1, 2, 3]
    assert all(r.mac == audit.entry_mac(KEY.encode(), r.hash) for r in rows)
    assert guard.checkpoint_file is not None
    assert stat.S_IMODE(guard.checkpoint_file.stat().st_mode) == 0o600


def test_deleting_the_newest_entries_is_detected(db: Database, guard: audit.Guard) -> None:
    _write(db, 5)
    with attacker(db) as s:
        ids = s.scalars(select(audit.AuditEntry.id).order_by(audit.AuditEntry.id)).all()
        s.execute(delete(audit.AuditEntry).where(audit.AuditEntry.id > ids[2]))
    assert _bare_chain_problems(db) == []  # a shorter chain is a valid chain
    problems = _problems(db, guard)
    assert len(problems) == 1
    assert problems[0].startswith(f"truncated: entries after #{ids[2]} were deleted")
    assert f"recorded #{ids[4]} as entry 5; the log has 3" in problems[0]


def test_deleting_every_entry_is_detected(db: Database, guard: audit.Guard) -> None:
    _write(db, 2)
    with attacker(db) as s:
        s.execute(delete(audit.AuditEntry))
    assert _bare_chain_problems(db) == []
    problems = _problems(db, guard)
    assert len(problems) == 1 and problems[0].startswith("truncated: all entries were deleted")


def test_deleting_and_rechaining_a_middle_entry_is_detected(db: Database, guard: audit.Guard) -> None:
    _write(db, 4)
    with attacker(db) as s:
        ids = s.scalars(select(audit.AuditEntry.id).order_by(audit.AuditEntry.id)).all()
        s.execute(delete(audit.AuditEntry).where(audit.AuditEntry.id == ids[1]))
        _rehash_from(s, ids[2])
    assert _bare_chain_problems(db) == []
    problems = _problems(db, guard)
    assert problems.count("signature invalid: the entry was forged, or rewritten and re-hashed") == 2
    assert any(p.startswith(f"deleted: entry #{ids[1]}") for p in problems)
    assert any(p.startswith("rewritten: checkpoint line") for p in problems)


def test_an_appended_forged_entry_is_detected(db: Database, guard: audit.Guard) -> None:
    _write(db, 2)
    with attacker(db) as s:
        last = s.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id.desc()).limit(1)).one()
        forged = audit.AuditEntry(
            at=last.at,
            actor="admin:someone",
            action="draft.approve",
            subject="draft:2",
            after={"text": "承認済み / approved"},
            prev_hash=last.hash,
            seq=3,
        )
        forged.hash = audit.entry_hash(last.hash, forged)  # a correct hash: the bare chain accepts it
        s.add(forged)
    assert _bare_chain_problems(db) == []
    assert _problems(db, guard) == ["unsigned entry after signed ones: appended without the audit key (forged)"]
    with attacker(db) as s:  # a made-up signature fares no better
        s.execute(update(audit.AuditEntry).where(audit.AuditEntry.seq == 3).values(mac="0" * 64))
    assert _problems(db, guard) == ["signature invalid: the entry was forged, or rewritten and re-hashed"]


def test_rewriting_an_entry_and_rehashing_the_rest_is_detected(db: Database, guard: audit.Guard) -> None:
    _write(db, 4)
    with attacker(db) as s:
        ids = s.scalars(select(audit.AuditEntry.id).order_by(audit.AuditEntry.id)).all()
        s.execute(update(audit.AuditEntry).where(audit.AuditEntry.id == ids[1]).values(actor="agent:someone-else"))
        _rehash_from(s, ids[1])
    assert _bare_chain_problems(db) == []
    problems = _problems(db, guard)
    assert problems.count("signature invalid: the entry was forged, or rewritten and re-hashed") == 3
    assert sum(p.startswith("rewritten: checkpoint line") for p in problems) == 3  # its checkpoint and later ones


def test_a_forged_checkpoint_line_is_detected(db: Database, guard: audit.Guard) -> None:
    _write(db, 2)
    path = guard.checkpoint_file
    assert path is not None
    lines = path.read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    forged = {**last, "count": 1, "mac": "ab" * 32}
    path.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n", encoding="utf-8")
    problems = _problems(db, guard)
    assert problems[0] == "checkpoint line 2 has an invalid signature: forged, or signed with another key"
    path.write_text("\n".join([*lines, "{not json", json.dumps({**last, "v": 2})]) + "\n", encoding="utf-8")
    assert _problems(db, guard) == [
        "checkpoint line 3 is not a checkpoint",
        "checkpoint line 4 is not a checkpoint",
    ]


def test_update_and_delete_of_audit_rows_are_refused(db: Database, guard: audit.Guard) -> None:
    _write(db, 2)
    for stmt in (
        update(audit.AuditEntry).values(note="changed"),
        delete(audit.AuditEntry).where(audit.AuditEntry.seq == 2),
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.session() as s:
            s.execute(stmt)
    with pytest.raises(DBAPIError, match="append-only"), db.session() as s:
        s.delete(s.scalars(select(audit.AuditEntry).limit(1)).one())
    assert _problems(db, guard) == []
    with db.reading() as s:
        assert audit.count(s) == 2


def test_without_a_key_verify_says_it_detects_accidents_only(db: Database, unkeyed: audit.Guard) -> None:
    _write(db, 3)
    with db.reading() as s:
        report = audit.verify_all(s, unkeyed)
        assert s.scalars(select(audit.AuditEntry.mac)).all() == [None, None, None]
    assert report.ok and not report.signed
    assert any("detects accidental changes only" in w and "kizuki audit keygen" in w for w in report.warnings)
    # Unsigned checkpoints still catch the deletion of the newest entries.
    with attacker(db) as s:
        s.execute(delete(audit.AuditEntry).where(audit.AuditEntry.seq == 3))
    problems = _problems(db, unkeyed)
    assert len(problems) == 1 and problems[0].startswith("truncated: entries after #")


def test_no_checkpoints_is_a_warning(db: Database, tmp_path: Path) -> None:
    guard = audit.configure(db.engine, _settings(tmp_path, db, audit_key=KEY, audit_checkpoints=False))
    try:
        _write(db, 1)
    finally:
        audit.unconfigure(db.engine)
    with db.reading() as s:
        report = audit.verify_all(s, guard)
    assert report.ok and report.checkpoints == 0
    assert any(w.startswith("no checkpoints: deleting the newest entries") for w in report.warnings)
    assert guard.checkpoint_file is not None and not guard.checkpoint_file.exists()


def test_entries_before_the_key_was_set_stay_valid(db: Database, tmp_path: Path, guard: audit.Guard) -> None:
    audit.configure(db.engine, _settings(tmp_path, db))  # first without a key ...
    _write(db, 2)
    audit.configure(db.engine, _settings(tmp_path, db, audit_key=KEY))  # ... then with one
    _write(db, 2, start=3)
    with db.reading() as s:
        report = audit.verify_all(s, guard)
    assert report.ok, report.problems
    assert report.unsigned_entries == 2
    assert report.warnings == [
        "2 checkpoint(s) are unsigned (written before the audit key was set?): they are "
        "compared with the log but could have been written by anyone",
        "2 entries written before the audit key was set are not signed",
    ]


def test_key_rotation_keeps_old_signatures_valid(db: Database, tmp_path: Path) -> None:
    audit.configure(db.engine, _settings(tmp_path, db, audit_key=OTHER_KEY))
    try:
        _write(db, 2)
        rotated = audit.configure(db.engine, _settings(tmp_path, db, audit_key=KEY, audit_old_keys=[OTHER_KEY]))
        _write(db, 2, start=3)
        assert _problems(db, rotated) == []
        # Without the retired key the older signatures (entries and checkpoints) no longer check.
        new_only = audit.guard_from(_settings(tmp_path, db, audit_key=KEY))
        assert _problems(db, new_only).count("signature invalid: the entry was forged, or rewritten and re-hashed") == 2
        # Whoever holds only the retired (leaked) key cannot append: an older key after a newer one is refused.
        audit.configure(db.engine, _settings(tmp_path, db, audit_key=OTHER_KEY))
        _write(db, 1, start=5)
        assert "signed with a retired key after entries with a newer one" in _problems(db, rotated)
    finally:
        audit.unconfigure(db.engine)


def test_a_rolled_back_transaction_writes_no_checkpoint(db: Database, guard: audit.Guard) -> None:
    def failing_action() -> None:
        with db.session() as s:
            audit.record(s, actor="a", action="x", subject="s:1")
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()
    assert guard.checkpoint_file is not None and not guard.checkpoint_file.exists()
    _write(db, 1)
    assert len(guard.checkpoint_file.read_text(encoding="utf-8").splitlines()) == 1
    assert _problems(db, guard) == []


def test_concurrent_writers_append_whole_checkpoint_lines(db: Database, guard: audit.Guard) -> None:
    def work(n: int) -> None:
        for i in range(5):
            with db.session() as s:
                audit.record(s, actor=f"worker:{n}", action="job.done", subject=f"job:{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert guard.checkpoint_file is not None
    assert len(guard.checkpoint_file.read_text(encoding="utf-8").splitlines()) == 30
    with db.reading() as s:
        report = audit.verify_all(s, guard)
    assert report.ok, report.problems
    assert report.entries == 30 and report.last_checkpoint is not None and report.last_checkpoint.count == 30


def test_the_process_settings_guard_only_their_own_database(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIZUKI_AUDIT_KEY", KEY)
    monkeypatch.setenv("KIZUKI_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    get_settings.cache_clear()
    _write(db, 1)  # another database: neither signed nor checkpointed into its file
    assert not get_settings().effective_audit_checkpoint_file.exists()
    monkeypatch.setenv("KIZUKI_DATABASE_URL", db.url)
    get_settings.cache_clear()
    _write(db, 1, start=2)
    with db.reading() as s:
        assert [m is not None for m in s.scalars(select(audit.AuditEntry.mac).order_by(audit.AuditEntry.id))] == [
            False,
            True,
        ]
    assert len(get_settings().effective_audit_checkpoint_file.read_text(encoding="utf-8").splitlines()) == 1


def test_key_settings_are_checked(tmp_path: Path, sqlite_db: Database) -> None:
    with pytest.raises(ServiceUnavailable, match="at least 16 characters"):
        audit.guard_from(_settings(tmp_path, sqlite_db, audit_key="short"))
    with pytest.raises(ServiceUnavailable, match="cannot be read"):
        audit.guard_from(_settings(tmp_path, sqlite_db, audit_key_file=tmp_path / "missing.key"))
    settings = _settings(tmp_path, sqlite_db)
    path = audit.generate_key_file(settings.effective_audit_key_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit.guard_from(settings).keys == (path.read_text(encoding="utf-8").strip().encode(),)
    with pytest.raises(Conflict, match="never overwritten"):
        audit.generate_key_file(path)


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no tables yet, to migrate step by step: a SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'stepwise.db'}")
        yield database
        database.dispose()
        return
    from tests.conftest import PG_URL

    assert PG_URL
    admin = Database(PG_URL)
    with admin.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS audit_stepwise CASCADE"))
        conn.execute(text("CREATE SCHEMA audit_stepwise"))
    database = Database(f"{PG_URL}?options=-csearch_path%3Daudit_stepwise")
    try:
        yield database
    finally:
        database.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS audit_stepwise CASCADE"))
        admin.dispose()


@pytest.mark.parametrize(
    "empty_database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_migration_numbers_existing_entries_and_then_guards_them(empty_database: Database, tmp_path: Path) -> None:
    db = empty_database
    db.migrate("0007")
    prev = audit.GENESIS
    rows = []
    for i, subject in enumerate(["draft:1", "ドラフト:2", "draft:3"], start=1):
        entry = audit.AuditEntry(at=utcnow(), actor="agent:hana", action="draft.create", subject=subject)
        entry.before, entry.after, entry.note = None, {"n": i}, None
        entry.hash = audit.entry_hash(prev, entry)
        rows.append(
            {
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": subject,
                "after": json.dumps(entry.after),
                "prev_hash": prev,
                "hash": entry.hash,
            }
        )
        prev = entry.hash
    insert = text(
        "INSERT INTO audit_log (at, actor, action, subject, after, prev_hash, hash) "
        "VALUES (:at, :actor, :action, :subject, CAST(:after AS JSONB), :prev_hash, :hash)"
        if db.is_postgres
        else "INSERT INTO audit_log (at, actor, action, subject, after, prev_hash, hash) "
        "VALUES (:at, :actor, :action, :subject, :after, :prev_hash, :hash)"
    )
    with db.session() as s:
        for row in rows:
            s.execute(insert, row)
    db.migrate()
    guard = audit.configure(db.engine, _settings(tmp_path, db, audit_key=KEY))
    try:
        _write(db, 1, start=4)
    finally:
        audit.unconfigure(db.engine)
    with db.reading() as s:
        numbered = s.execute(select(audit.AuditEntry.seq, audit.AuditEntry.mac).order_by(audit.AuditEntry.id)).all()
        report = audit.verify_all(s, guard)
    assert [seq for seq, _ in numbered] == [1, 2, 3, 4]
    assert [mac is not None for _, mac in numbered] == [False, False, False, True]
    assert report.ok and report.unsigned_entries == 3
    with pytest.raises(DBAPIError, match="append-only"), db.session() as s:
        s.execute(delete(audit.AuditEntry))
    command.downgrade(db.alembic_config(), "0007")  # and back: the triggers and the columns go
    with db.session() as s:
        s.execute(text("DELETE FROM audit_log WHERE subject = 'draft:1'"))


def test_first_start_writes_a_key_only_for_an_empty_log(db: Database, tmp_path: Path, unkeyed: audit.Guard) -> None:
    settings = _settings(tmp_path, db)
    path = audit.first_start_key(db.engine, settings)
    assert path == settings.effective_audit_key_file and stat.S_IMODE(path.stat().st_mode) == 0o600
    _write(db, 1)  # the configured guard now signs
    with db.reading() as s:
        assert s.scalars(select(audit.AuditEntry.mac)).one() is not None
    assert audit.first_start_key(db.engine, settings) is None  # a key exists
    path.unlink()
    assert audit.first_start_key(db.engine, settings) is None  # entries exist: no new key behind their back
    assert not path.exists()
