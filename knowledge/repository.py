"""Knowledge editing: create, update with optimistic concurrency, archive, revisions, listing.

Services flush; the caller's transaction commits. Every change writes a revision and an audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from kizuki.core import audit
from kizuki.core.errors import Conflict, NotFound
from kizuki.core.orm import utcnow
from knowledge.models import KnowledgeEntry, KnowledgeRevision
from knowledge.schemas import EntryCreate, EntryPublic, EntryUpdate, RevisionPublic

EDITABLE = ("kind", "title", "body", "lang", "tags", "status")


class EntryNotFound(NotFound):
    pass


class RevisionNotFound(NotFound):
    pass


class DuplicateKey(Conflict):
    pass


class StaleRevision(Conflict):
    pass


def to_public(entry: KnowledgeEntry) -> EntryPublic:
    return EntryPublic.model_validate(
        {
            **snapshot(entry),
            "created_at": entry.created_at,
            "created_by": entry.created_by,
            "updated_at": entry.updated_at,
            "updated_by": entry.updated_by,
        }
    )


def snapshot(entry: KnowledgeEntry) -> dict[str, Any]:
    """The editable state of an entry (what a revision keeps and what the audit compares)."""
    return {
        "key": entry.key,
        "kind": entry.kind,
        "title": entry.title,
        "body": entry.body,
        "lang": entry.lang,
        "tags": list(entry.tags or []),
        "status": entry.status,
        "extra": dict(entry.extra or {}),
        "revision": entry.revision,
    }


def _add_revision(session: Session, entry: KnowledgeEntry, actor: str, changed: list[str], note: str | None) -> None:
    session.add(
        KnowledgeRevision(
            entry_id=entry.id,
            revision=entry.revision,
            kind=entry.kind,
            title=entry.title,
            body=entry.body,
            lang=entry.lang,
            tags=list(entry.tags or []),
            status=entry.status,
            extra=dict(entry.extra or {}),
            changed_at=entry.updated_at,
            changed_by=actor,
            changed_fields=changed,
            note=note,
        )
    )


def get_entry(session: Session, key: str, *, for_update: bool = False) -> KnowledgeEntry:
    stmt = select(KnowledgeEntry).where(KnowledgeEntry.key == key)
    if for_update:
        stmt = stmt.with_for_update()
    entry = session.scalars(stmt).one_or_none()
    if entry is None:
        raise EntryNotFound(f"no knowledge entry with key {key!r}")
    return entry


def create_entry(session: Session, data: EntryCreate, *, actor: str) -> KnowledgeEntry:
    if session.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.key == data.key)) is not None:
        raise DuplicateKey(f"a knowledge entry with key {data.key!r} exists already")
    now = utcnow()
    entry = KnowledgeEntry(
        key=data.key,
        kind=data.kind,
        title=data.title,
        body=data.body,
        lang=data.lang,
        tags=data.tags,
        status=data.status,
        extra=data.extras(),
        revision=1,
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    session.add(entry)
    session.flush()
    _add_revision(session, entry, actor, ["created"], None)
    audit.record(
        session,
        actor=actor,
        action="knowledge.create",
        subject=f"knowledge:{entry.key}",
        after=snapshot(entry),
    )
    session.flush()
    return entry


def update_entry(session: Session, key: str, data: EntryUpdate, *, actor: str) -> tuple[KnowledgeEntry, bool]:
    """Apply a change; returns the entry and whether anything changed (a no-op edit makes no revision)."""
    entry = get_entry(session, key, for_update=True)
    if data.revision != entry.revision:
        raise StaleRevision(
            f"entry {key!r} is at revision {entry.revision}; you edited revision {data.revision}. "
            "Reload it and apply your change again.",
            extra={"current_revision": entry.revision},
        )
    before = snapshot(entry)
    changed: list[str] = []
    for field in EDITABLE:
        value = getattr(data, field)
        if value is not None and value != getattr(entry, field):
            setattr(entry, field, value)
            changed.append(field)
    extras = data.extras()
    extras.pop("note", None)
    if extras:
        merged = {**(entry.extra or {}), **extras}
        if merged != entry.extra:
            entry.extra = merged
            changed.append("extra")
    if not changed:
        return entry, False
    entry.revision += 1
    entry.updated_at = utcnow()
    entry.updated_by = actor
    session.flush()
    _add_revision(session, entry, actor, changed, data.note)
    action = "knowledge.archive" if "status" in changed and entry.status == "archived" else "knowledge.update"
    audit.record(
        session,
        actor=actor,
        action=action,
        subject=f"knowledge:{key}",
        before=before,
        after=snapshot(entry),
        note=data.note,
    )
    session.flush()
    return entry, True


def archive_entry(session: Session, key: str, *, actor: str, revision: int | None = None) -> KnowledgeEntry:
    entry = get_entry(session, key)
    if entry.status == "archived":
        return entry
    data = EntryUpdate(revision=revision if revision is not None else entry.revision, status="archived")
    entry, _ = update_entry(session, key, data, actor=actor)
    return entry


def list_entries(
    session: Session,
    *,
    kind: str | None = None,
    lang: str | None = None,
    tag: str | None = None,
    status: str | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[KnowledgeEntry], int]:
    stmt: Select[KnowledgeEntry] = select(KnowledgeEntry)
    if kind:
        stmt = stmt.where(KnowledgeEntry.kind == kind)
    if lang:
        stmt = stmt.where(KnowledgeEntry.lang == lang)
    if status:
        stmt = stmt.where(KnowledgeEntry.status == status)
    if text:
        pattern = f"%{_escape_like(text)}%"
        stmt = stmt.where(
            or_(
                KnowledgeEntry.title.ilike(pattern, escape="\\"),
                KnowledgeEntry.body.ilike(pattern, escape="\\"),
                KnowledgeEntry.key.ilike(pattern, escape="\\"),
            )
        )
    rows = list(session.scalars(stmt.order_by(KnowledgeEntry.key)))
    if tag:
        # Tags are a JSON list; filter portably in Python after the indexed filters narrowed the rows.
        wanted = tag.strip().lower()
        rows = [r for r in rows if wanted in (r.tags or [])]
    return rows[offset : offset + limit], len(rows)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def revisions(session: Session, key: str) -> list[RevisionPublic]:
    entry = get_entry(session, key)
    return [_revision_public(entry.key, r) for r in entry.revisions]


def get_revision(session: Session, key: str, revision: int) -> RevisionPublic:
    entry = get_entry(session, key)
    for r in entry.revisions:
        if r.revision == revision:
            return _revision_public(entry.key, r)
    raise RevisionNotFound(f"entry {key!r} has no revision {revision}")


def _revision_public(key: str, r: KnowledgeRevision) -> RevisionPublic:
    return RevisionPublic.model_validate(
        {
            "key": key,
            "revision": r.revision,
            "kind": r.kind,
            "title": r.title,
            "body": r.body,
            "lang": r.lang,
            "tags": list(r.tags or []),
            "status": r.status,
            "extra": dict(r.extra or {}),
            "changed_at": r.changed_at,
            "changed_by": r.changed_by,
            "changed_fields": list(r.changed_fields or []),
            "note": r.note,
        }
    )


def count_entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(KnowledgeEntry)) or 0)


def upsert_from_import(session: Session, data: EntryCreate, *, actor: str) -> str:
    """Import one row idempotently on `key`: 'created', 'updated' or 'unchanged'."""
    existing = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key == data.key)).one_or_none()
    if existing is None:
        create_entry(session, data, actor=actor)
        return "created"
    fields = {f: getattr(data, f) for f in EDITABLE}
    update = EntryUpdate.model_validate({"revision": existing.revision, **fields, **data.extras()})
    _, changed = update_entry(session, data.key, update, actor=actor)
    return "updated" if changed else "unchanged"


# The revisions of the entries a search returned: run for every search, so built once (building a statement
# costs SQLAlchemy more than this query). Only the columns a retrieved entry shows: whole revision rows
# made SQLAlchemy decode three JSON columns of every revision of every hit (about 45 a search).
_REVISIONS_OF = (
    select(
        KnowledgeEntry.key,
        KnowledgeRevision.revision,
        KnowledgeRevision.kind,
        KnowledgeRevision.lang,
        KnowledgeRevision.title,
        KnowledgeRevision.body,
    )
    .join(KnowledgeRevision, KnowledgeRevision.entry_id == KnowledgeEntry.id)
    .where(KnowledgeEntry.key.in_(bindparam("keys", expanding=True)))
)


def revisions_of(session: Session, keys: list[str]) -> Sequence[Any]:
    """(key, revision, kind, lang, title, body) of every revision of these entries."""
    return session.execute(_REVISIONS_OF, {"keys": keys}).all()


def entries_by_key(session: Session, *, status: str | None = None) -> Sequence[KnowledgeEntry]:
    stmt = select(KnowledgeEntry).order_by(KnowledgeEntry.key)
    if status:
        stmt = stmt.where(KnowledgeEntry.status == status)
    return session.scalars(stmt).all()


def entries_with_keys(session: Session, keys: Sequence[str]) -> list[KnowledgeEntry]:
    return list(session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key.in_(keys))))


def entries_with_status(session: Session, statuses: Sequence[str]) -> list[KnowledgeEntry]:
    return list(session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.status.in_(statuses))))


def change_marker(session: Session) -> tuple[Any, ...]:
    """What changes whenever an entry does: their count, the sum of their revisions, the newest update."""
    row = session.execute(
        select(
            func.count(KnowledgeEntry.id),
            func.coalesce(func.sum(KnowledgeEntry.revision), 0),
            func.max(KnowledgeEntry.updated_at),
        )
    ).one()
    return tuple(row)
