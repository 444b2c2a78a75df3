"""The append-only, hash-chained audit log: every action, with actor, time, before and after."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kizuki.core.orm import Base, JSONType, utcnow

GENESIS = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(300), index=True)
    before: Mapped[Any | None] = mapped_column(JSONType, nullable=True)
    after: Mapped[Any | None] = mapped_column(JSONType, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


# Built once: every entry runs them (building a statement costs SQLAlchemy more than this query).
_LAST_HASH = select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
_CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(7431001)")


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    payload = {
        "prev": prev_hash,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
        "note": entry.note,
    }
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    # Round-trip through JSON so that what is hashed is exactly what the database gives back.
    return None if value is None else json.loads(_canonical(value))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    before: Any = None,
    after: Any = None,
    note: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction, chained to the previous one."""
    item = {"actor": actor, "action": action, "subject": subject, "before": before, "after": after, "note": note}
    (entry,) = record_all(session, [item])
    return entry


def record_all(session: Session, entries: Sequence[Mapping[str, Any]]) -> list[AuditEntry]:
    """Append entries in order in the caller's transaction, each chained to the one before it.

    Each mapping holds `record`'s keyword arguments. The chain's end is read once and the entries are
    written in one flush (a draft writes two)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Serialise appenders across processes until this transaction ends, so the chain stays linear.
        session.execute(_CHAIN_LOCK)
    last = session.execute(_LAST_HASH).scalar()
    prev = last or GENESIS
    out: list[AuditEntry] = []
    for item in entries:
        entry = AuditEntry(
            at=utcnow(),
            actor=item["actor"],
            action=item["action"],
            subject=item["subject"],
            before=_jsonable(item.get("before")),
            after=_jsonable(item.get("after")),
            note=item.get("note"),
            prev_hash=prev,
        )
        entry.hash = prev = entry_hash(prev, entry)
        session.add(entry)
        out.append(entry)
    session.flush()
    return out


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int | None
    problem: str


def verify(session: Session) -> list[ChainProblem]:
    """Every place where the chain is broken: a changed entry, a deleted one, or a re-linked one."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    for entry in _iter_entries(session):
        if entry.prev_hash != prev:
            problems.append(
                ChainProblem(entry.id, "previous-hash link broken (an entry before it was deleted or changed)")
            )
        if entry_hash(entry.prev_hash, entry) != entry.hash:
            problems.append(ChainProblem(entry.id, "content changed after it was written"))
        prev = entry.hash
    return problems


def _iter_entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows: Sequence[AuditEntry] = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def search(
    session: Session,
    *,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[AuditEntry]:
    """Entries in the order they were written, filtered by subject, actor, action and time."""
    stmt = select(AuditEntry)
    if subject:
        stmt = stmt.where(AuditEntry.subject == subject)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    return session.scalars(stmt.order_by(AuditEntry.id).limit(limit).offset(offset)).all()
