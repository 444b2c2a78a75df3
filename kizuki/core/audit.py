"""The append-only, hash-chained audit log: every action, with actor, time, before and after.

Three layers guard it. The hash chain links each entry to the one before, so a changed or deleted entry
breaks it; but anyone who can write to the database can re-hash the rest. With an audit key (settings, never
the database) each entry also carries an HMAC of its hash, so a forged or re-hashed entry is detected by
whoever holds the key. Deleting the newest entries leaves a valid, shorter chain: signed checkpoints of the
chain's head, appended to a file outside the database after every commit that added entries, catch that.
On the database itself, triggers (migration 0008) refuse UPDATE and DELETE of audit rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from weakref import WeakKeyDictionary

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, Integer, String, Text, event, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Mapped, Session, mapped_column

from kizuki.core.errors import Conflict, ServiceUnavailable
from kizuki.core.orm import Base, JSONType, utcnow
from kizuki.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

GENESIS = "0" * 64
MIN_KEY_CHARS = 16
_ENTRY_MAC_PREFIX = b"kizuki-audit-entry:"
_CHECKPOINT_MAC_PREFIX = b"kizuki-audit-checkpoint:"


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
    # Since migration 0008 (older rows: seq filled by the migration, mac empty).
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)  # position in the chain, 1-based
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)  # HMAC of `hash` under the audit key


# Built once: every entry runs them (building a statement costs SQLAlchemy more than this query).
_LAST = select(AuditEntry.id, AuditEntry.hash, AuditEntry.seq).order_by(AuditEntry.id.desc()).limit(1)
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


def entry_mac(key: bytes, entry_hash_hex: str) -> str:
    return hmac.new(key, _ENTRY_MAC_PREFIX + entry_hash_hex.encode("ascii"), hashlib.sha256).hexdigest()


def _key_rank(keys: Sequence[bytes], prefix: bytes, message: bytes, mac: str) -> int | None:
    """Which key (0 = the current one) made `mac`, or None when none of them did."""
    for rank, key in enumerate(keys):
        if hmac.compare_digest(hmac.new(key, prefix + message, hashlib.sha256).hexdigest(), mac):
            return rank
    return None


def _jsonable(value: Any) -> Any:
    # Round-trip through JSON so that what is hashed is exactly what the database gives back.
    return None if value is None else json.loads(_canonical(value))


# -- the guard: key and checkpoint file, from settings ---------------------------------------------------------
@dataclass(frozen=True)
class Guard:
    """What protects the chain beyond its hashes: the audit keys (current first) and the checkpoint file."""

    keys: tuple[bytes, ...] = field(default=(), repr=False)  # secrets: never in a log line
    checkpoint_file: Path | None = None
    auto_checkpoints: bool = False

    @property
    def signed(self) -> bool:
        return bool(self.keys)


def _key_bytes(raw: str, source: str) -> bytes:
    value = raw.strip()
    if len(value) < MIN_KEY_CHARS:
        raise ServiceUnavailable(f"{source} is too short: an audit key needs at least {MIN_KEY_CHARS} characters")
    return value.encode("utf-8")


def guard_from(settings: Settings) -> Guard:
    """The guard `settings` describe. A key that is configured but unusable is an error, never silently unsigned."""
    keys: list[bytes] = []
    if settings.audit_key is not None:
        keys.append(_key_bytes(settings.audit_key.get_secret_value(), "KIZUKI_AUDIT_KEY"))
    else:
        path = settings.effective_audit_key_file
        if settings.audit_key_file is not None or path.is_file():
            try:
                raw = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ServiceUnavailable(f"audit key file {path} cannot be read: {exc}") from None
            keys.append(_key_bytes(raw, f"audit key file {path}"))
    if keys:  # retired keys verify older entries; they never sign
        keys.extend(_key_bytes(k.get_secret_value(), "KIZUKI_AUDIT_OLD_KEYS") for k in settings.audit_old_keys)
    return Guard(
        keys=tuple(keys),
        checkpoint_file=settings.effective_audit_checkpoint_file,
        auto_checkpoints=settings.audit_checkpoints,
    )


_configured: WeakKeyDictionary[Engine, Guard] = WeakKeyDictionary()
_from_process_settings: WeakKeyDictionary[Engine, tuple[Settings, Guard | None]] = WeakKeyDictionary()


def configure(engine: Engine, settings: Settings) -> Guard:
    """Guard the audit entries written through `engine` as `settings` say (the composition root calls this)."""
    guard = guard_from(settings)
    _configured[engine] = guard
    return guard


def unconfigure(engine: Engine) -> None:
    _configured.pop(engine, None)


def _same_database(a: URL, b: URL) -> bool:
    return a.get_backend_name() == b.get_backend_name() and (a.host, a.port, a.database, a.username) == (
        b.host,
        b.port,
        b.database,
        b.username,
    )


def _guard_for(session: Session) -> Guard | None:
    """The engine's configured guard; else the process settings' guard, only if they name this very database
    (so a temporary database never writes checkpoints into another database's file)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    guard = _configured.get(engine)
    if guard is not None:
        return guard
    settings = get_settings()
    cached = _from_process_settings.get(engine)
    if cached is not None and cached[0] is settings:
        return cached[1]
    same = _same_database(engine.url, make_url(settings.resolved_database_url))
    found = guard_from(settings) if same else None
    _from_process_settings[engine] = (settings, found)
    return found


def generate_key_file(path: Path) -> Path:
    """Write a new random audit key to `path`, readable by its owner only; an existing file is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"{path} exists; a key is never overwritten (see the key rotation note)") from None
    try:
        os.write(fd, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return path


def signed_entries(session: Session) -> int:
    return int(
        session.execute(select(func.count()).select_from(AuditEntry).where(AuditEntry.mac.is_not(None))).scalar_one()
    )


def first_start_key(engine: Engine, settings: Settings) -> Path | None:
    """On an empty audit log with no key configured, write one to the key file (so the log is signed from its
    first entry) and return its path; otherwise None. Call it before anything is recorded (`kizuki up` can)."""
    path = settings.effective_audit_key_file
    if settings.audit_key is not None or settings.audit_key_file is not None or path.exists():
        return None
    with engine.connect() as conn:
        if conn.execute(select(AuditEntry.id).limit(1)).first() is not None:
            return None
    generate_key_file(path)
    _from_process_settings.pop(engine, None)
    if engine in _configured:
        configure(engine, settings)
    return path


# -- writing ---------------------------------------------------------------------------------------------------
_PENDING_HEAD = "kizuki_audit_head"


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
    written in one flush (a draft writes two). With an audit key each entry is signed; once the
    transaction commits, a checkpoint of the new head is appended to the checkpoint file."""
    guard = _guard_for(session)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Serialise appenders across processes until this transaction ends, so the chain stays linear.
        session.execute(_CHAIN_LOCK)
    last = session.execute(_LAST).first()
    prev = last.hash if last is not None else GENESIS
    seq = 0 if last is None else last.seq if last.seq is not None else _position(session, last.id)
    key = guard.keys[0] if guard is not None and guard.keys else None
    out: list[AuditEntry] = []
    for item in entries:
        seq += 1
        entry = AuditEntry(
            at=utcnow(),
            actor=item["actor"],
            action=item["action"],
            subject=item["subject"],
            before=_jsonable(item.get("before")),
            after=_jsonable(item.get("after")),
            note=item.get("note"),
            prev_hash=prev,
            seq=seq,
        )
        entry.hash = prev = entry_hash(prev, entry)
        if key is not None:
            entry.mac = entry_mac(key, entry.hash)
        session.add(entry)
        out.append(entry)
    session.flush()
    if out and guard is not None and guard.auto_checkpoints and guard.checkpoint_file is not None:
        head = out[-1]
        session.info[_PENDING_HEAD] = (guard, head.id, head.hash, seq)
    return out


def _position(session: Session, entry_id: int) -> int:
    return int(
        session.execute(select(func.count()).select_from(AuditEntry).where(AuditEntry.id <= entry_id)).scalar_one()
    )


@event.listens_for(Session, "after_commit")
def _checkpoint_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_HEAD, None)
    if pending is None:
        return
    guard, entry_id, entry_hash_hex, count_ = pending
    try:
        write_checkpoint(guard, entry_id=entry_id, entry_hash=entry_hash_hex, count=count_)
    except OSError as exc:  # the entries are committed; a missed checkpoint only widens the unguarded window
        log.warning("audit checkpoint not written to %s: %s", guard.checkpoint_file, exc.strerror or exc)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING_HEAD, None)


# -- checkpoints -----------------------------------------------------------------------------------------------
class CheckpointRecord(BaseModel):
    """One line of the checkpoint file (validated when read: the file is input like any other)."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    entry_id: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    count: int = Field(ge=1)
    at: datetime
    mac: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def _checkpoint_message(fields: Mapping[str, Any]) -> bytes:
    return _canonical({k: v for k, v in fields.items() if k != "mac"}).encode("utf-8")


def write_checkpoint(guard: Guard, *, entry_id: int, entry_hash: str, count: int) -> dict[str, Any]:
    """Append one signed line for the chain's head: one O_APPEND write, so processes never interleave lines."""
    if guard.checkpoint_file is None:
        raise ServiceUnavailable("no audit checkpoint file is configured")
    fields: dict[str, Any] = {"v": 1, "entry_id": entry_id, "hash": entry_hash, "count": count}
    fields["at"] = utcnow().isoformat()
    fields["mac"] = (
        hmac.new(guard.keys[0], _CHECKPOINT_MAC_PREFIX + _checkpoint_message(fields), hashlib.sha256).hexdigest()
        if guard.keys
        else None
    )
    line = (json.dumps(fields, separators=(",", ":")) + "\n").encode("utf-8")
    path = guard.checkpoint_file
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:  # only the first time: creating the folder costs more than the write
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return fields


def checkpoint(session: Session, guard: Guard) -> dict[str, Any] | None:
    """Append a checkpoint of the chain's current head now; None when the log is empty."""
    last = session.execute(_LAST).first()
    if last is None:
        return None
    count_ = last.seq if last.seq is not None else _position(session, last.id)
    return write_checkpoint(guard, entry_id=last.id, entry_hash=last.hash, count=count_)


@dataclass(frozen=True)
class Checkpoint:
    line: int
    entry_id: int
    hash: str
    count: int
    at: str
    signed: bool


# -- verifying -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainProblem:
    entry_id: int | None
    problem: str


@dataclass
class AuditReport:
    """What `verify_all` found: problems (tampering, exit status 1) and warnings (limits of what it can tell)."""

    entries: int = 0
    signed: bool = False
    unsigned_entries: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checkpoint_file: str | None = None
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def read_checkpoints(path: Path, keys: Sequence[bytes], report: AuditReport) -> list[Checkpoint]:
    """The file's checkpoints; unreadable lines and forged signatures go into `report.problems`."""
    out: list[Checkpoint] = []
    unsigned = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                fields = json.loads(raw)
                rec = CheckpointRecord.model_validate(fields)
            except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                report.problems.append(ChainProblem(None, f"checkpoint line {number} is not a checkpoint"))
                continue
            if rec.mac is None:
                unsigned += 1
            elif keys and _key_rank(keys, _CHECKPOINT_MAC_PREFIX, _checkpoint_message(fields), rec.mac) is None:
                report.problems.append(
                    ChainProblem(
                        rec.entry_id,
                        f"checkpoint line {number} has an invalid signature: forged, or signed with another key",
                    )
                )
                continue
            out.append(Checkpoint(number, rec.entry_id, rec.hash, rec.count, fields["at"], rec.mac is not None))
    if keys and unsigned:
        report.warnings.append(
            f"{unsigned} checkpoint(s) are unsigned (written before the audit key was set?): "
            "they are compared with the log but could have been written by anyone"
        )
    elif not keys and len(out) > unsigned:
        report.warnings.append("checkpoint signatures not checked: no audit key is configured")
    return out


def verify(
    session: Session, *, keys: Sequence[bytes] = (), checkpoints: Sequence[Checkpoint] = ()
) -> list[ChainProblem]:
    """Every place where the chain is broken: a changed entry, a deleted one, or a re-linked one; with keys,
    a forged or re-hashed one; with checkpoints, the newest ones deleted."""
    report = AuditReport()
    _walk(session, keys, checkpoints, report)
    return report.problems


def verify_all(session: Session, guard: Guard, *, checkpoint_file: Path | None = None) -> AuditReport:
    """The whole check `kizuki audit verify` and `GET /v1/audit/verify` report."""
    report = AuditReport(signed=guard.signed)
    path = checkpoint_file or guard.checkpoint_file
    checkpoints: list[Checkpoint] = []
    if path is not None:
        report.checkpoint_file = str(path)
        if path.is_file():
            checkpoints = read_checkpoints(path, guard.keys, report)
        elif checkpoint_file is not None:
            report.problems.append(ChainProblem(None, f"checkpoint file {path} does not exist"))
    _walk(session, guard.keys, checkpoints, report)
    report.checkpoints = len(checkpoints)
    report.last_checkpoint = max(checkpoints, key=lambda c: (c.entry_id, c.line), default=None)
    if not guard.signed:
        report.warnings.append(
            "no audit key: the chain detects accidental changes only; anyone who can write to the database can "
            "rewrite it and re-hash the rest. Run `kizuki audit keygen` (or set KIZUKI_AUDIT_KEY) to sign new entries"
        )
    elif report.unsigned_entries:
        report.warnings.append(f"{report.unsigned_entries} entries written before the audit key was set are not signed")
    if not checkpoints and report.entries:
        report.warnings.append(
            "no checkpoints: deleting the newest entries (or all of them) cannot be detected; "
            "run `kizuki audit checkpoint` and keep the checkpoint file where the database's users cannot write"
        )
    return report


def _walk(session: Session, keys: Sequence[bytes], checkpoints: Sequence[Checkpoint], report: AuditReport) -> None:
    problems = report.problems
    pending: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        pending.setdefault(cp.entry_id, []).append(cp)
    prev = GENESIS
    position = 0
    last_id = 0
    last_rank: int | None = None  # the key rank of the newest signed entry so far
    for entry in _iter_entries(session):
        position += 1
        if entry.prev_hash != prev:
            problems.append(
                ChainProblem(entry.id, "previous-hash link broken (an entry before it was deleted or changed)")
            )
        if entry_hash(entry.prev_hash, entry) != entry.hash:
            problems.append(ChainProblem(entry.id, "content changed after it was written"))
        if entry.seq is not None and entry.seq != position:
            problems.append(
                ChainProblem(entry.id, f"numbered {entry.seq} but is entry {position} of the chain (entries removed?)")
            )
        if entry.mac is None:
            if keys and last_rank is not None:
                problems.append(
                    ChainProblem(entry.id, "unsigned entry after signed ones: appended without the audit key (forged)")
                )
            else:
                report.unsigned_entries += 1
        elif keys:
            rank = _key_rank(keys, _ENTRY_MAC_PREFIX, entry.hash.encode("ascii"), entry.mac)
            if rank is None:
                problems.append(
                    ChainProblem(entry.id, "signature invalid: the entry was forged, or rewritten and re-hashed")
                )
            else:
                if last_rank is not None and rank > last_rank:
                    problems.append(ChainProblem(entry.id, "signed with a retired key after entries with a newer one"))
                last_rank = rank
        for cp in pending.pop(entry.id, ()):
            if cp.hash != entry.hash:
                problems.append(
                    ChainProblem(
                        entry.id,
                        f"rewritten: checkpoint line {cp.line} ({cp.at}) recorded another hash for entry #{entry.id}",
                    )
                )
            elif cp.count != position:
                problems.append(
                    ChainProblem(
                        entry.id,
                        f"checkpoint line {cp.line} counted {cp.count} entries up to #{entry.id}; "
                        f"the chain has {position}",
                    )
                )
        prev = entry.hash
        last_id = entry.id
    report.entries = position
    beyond = [cp for cps in pending.values() for cp in cps if cp.entry_id > last_id]
    if beyond:
        top = max(beyond, key=lambda c: (c.entry_id, c.line))
        where = "all entries were deleted" if last_id == 0 else f"entries after #{last_id} were deleted"
        problems.append(
            ChainProblem(
                last_id or None,
                f"truncated: {where} (checkpoint line {top.line} of {top.at} recorded #{top.entry_id} "
                f"as entry {top.count}; the log has {position})",
            )
        )
    for entry_id in sorted(i for i in pending if i <= last_id):
        cp = pending[entry_id][0]
        problems.append(
            ChainProblem(entry_id, f"deleted: entry #{entry_id}, recorded in checkpoint line {cp.line}, is missing")
        )


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
