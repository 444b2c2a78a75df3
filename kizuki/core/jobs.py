"""Jobs in the database, so that API and workers can be separate processes.

A worker claims a queued job (on PostgreSQL with FOR UPDATE SKIP LOCKED; SQLite serialises writers),
marks it running with a lease, and finishes or fails it. While the handler runs the worker renews the
lease (`renew`); a job whose lease ran out (its worker died) is taken by another worker, so nothing is
lost; handlers must be idempotent for the same job. Each claim holds the job under its own lease id
(`lease_id`: the worker's id and a random suffix), so a worker that claims a job again after its own lease
ran out never mistakes the old run for the new one. Every write that ends a job (`finish`, `fail`) or
that must not happen twice at once (`Lease.hold_in`) checks that this lease still holds the job. A worker
that stops gracefully gives back the jobs it still holds (`release`): queued again at once, the attempt not
counted.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Index, Integer, String, Text, bindparam, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from kizuki.core.orm import Base, JSONType, utcnow

if TYPE_CHECKING:
    from kizuki.core.db import Database

DEFAULT_LEASE = timedelta(minutes=5)


class LeaseLost(Exception):
    """This worker no longer holds the job (its lease ran out and another worker may have taken it)."""


class JobKind(StrEnum):
    """Every kind of job; the domain that owns a kind registers its handler (its `tasks` module)."""

    DRAFT = "draft"  # agent: draft (or re-draft) one post
    DELIVER = "deliver"  # delivery: send one approved reply through its channel
    PRIVACY_REDACT = "privacy_redact"  # agent.posts: retention, redact personal data of old posts (daily)
    LISTEN = "listen"  # delivery.connectors: poll one connector (or all) into the pipeline
    ALERTS_SCAN = "alerts_scan"  # reports.alerts: look for surges and fast-spreading posts, send alerts
    REPORT_DAILY = "report_daily"  # reports: write (and mail) the daily report


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # gave up after max_attempts


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_after"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# Built once with bound parameters (a worker runs them for every job; building one costs more than running it).
_BY_DEDUPE_KEY = select(Job).where(Job.dedupe_key == bindparam("dedupe_key"))
_DUE = (
    select(Job)
    .where(Job.kind.in_(bindparam("kinds", expanding=True)))
    .where(
        or_(
            (Job.status == JobStatus.QUEUED) & (Job.run_after <= bindparam("now")),
            (Job.status == JobStatus.RUNNING) & (Job.lease_until < bindparam("now")),
        )
    )
    .order_by(Job.run_after, Job.id)
    .limit(1)
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)
_FINISH = (
    update(Job)
    .where(Job.id == bindparam("job_id"), Job.locked_by == bindparam("worker"), Job.status == JobStatus.RUNNING)
    .values(status=JobStatus.DONE, lease_until=None, updated_at=bindparam("now"))
    # no ORM bookkeeping: no caller holds the Job in its session (evaluating the WHERE against the session's
    # objects cost the draft's transaction ~1 ms)
    .execution_options(synchronize_session=False)
)
_HELD = (Job.id == bindparam("job_id")) & (Job.locked_by == bindparam("worker")) & (Job.status == JobStatus.RUNNING)
_RENEW = (
    update(Job)
    .where(_HELD)
    .values(lease_until=bindparam("until"), updated_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
_HOLD = select(Job.lease_until).where(_HELD).with_for_update()


def worker_id() -> str:
    import os
    import threading

    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def lease_id(worker: str | None = None) -> str:
    """A new id for one claim of `worker` (default: this thread's `worker_id`); the job's `locked_by`."""
    return f"{worker or worker_id()}/{uuid.uuid4().hex[:8]}"


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
    run_after: datetime | None = None,
) -> Job:
    """Add a job in the caller's transaction (so it exists exactly when the work that needs it commits)."""
    if dedupe_key is not None:
        existing = session.scalars(_BY_DEDUPE_KEY, {"dedupe_key": dedupe_key}).one_or_none()
        if existing is not None:
            return existing
    job = Job(
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        run_after=run_after or utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def enqueue_once(
    db: Database,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
    max_attempts: int = 5,
    run_after: datetime | None = None,
) -> Job:
    """Queue a job in its own transaction, once for its `dedupe_key` whatever the number of processes: when
    another process queued the same key at the same moment, its job is returned."""
    try:
        with db.session() as s:
            return enqueue(s, kind, payload, dedupe_key=dedupe_key, max_attempts=max_attempts, run_after=run_after)
    except IntegrityError:
        with db.session() as s:
            return s.scalars(_BY_DEDUPE_KEY, {"dedupe_key": dedupe_key}).one()


def claim(
    session: Session, kinds: tuple[str, ...], *, worker: str | None = None, lease: timedelta = DEFAULT_LEASE
) -> Job | None:
    """Take one due job, or one whose lease expired, and mark it running under the lease id `worker` (give each
    claim its own, `lease_id`; the default is a new one)."""
    now = utcnow()
    stmt = _DUE_SKIP_LOCKED if session.get_bind().dialect.name == "postgresql" else _DUE
    job = session.scalars(stmt, {"kinds": list(kinds), "now": now}).first()
    if job is None:
        return None
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.locked_by = worker or lease_id()
    job.lease_until = now + lease
    job.updated_at = now
    session.flush()
    return job


def finish(session: Session, job_id: int, worker: str) -> bool:
    """Mark done; False if the lease `worker` no longer holds the job (it ran out and the job was taken again)."""
    res = session.execute(_FINISH, {"job_id": job_id, "worker": worker, "now": utcnow()})
    return bool(res.rowcount)  # type: ignore[attr-defined]


def renew(session: Session, job_id: int, worker: str, lease: timedelta = DEFAULT_LEASE) -> datetime | None:
    """Extend the lease of a running job this worker holds to now + `lease`; None if it holds it no longer.

    A lease that ran out but that no other worker took yet is still held (no one else can have started it)."""
    now = utcnow()
    until = now + lease
    res = session.execute(_RENEW, {"job_id": job_id, "worker": worker, "until": until, "now": now})
    return until if res.rowcount else None  # type: ignore[attr-defined]


def release(session: Session, job_id: int, worker: str) -> bool:
    """Give a running job back (a worker stopping before its handler ended): queued and due at once, the lease
    cleared and the attempt not counted; False if this worker no longer holds it."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.locked_by != worker or job.status != JobStatus.RUNNING:
        return False
    now = utcnow()
    job.status = JobStatus.QUEUED
    job.attempts = max(0, job.attempts - 1)
    job.locked_by = None
    job.lease_until = None
    job.run_after = now
    job.updated_at = now
    job.last_error = f"released by {worker} when it stopped"
    session.flush()
    return True


def requeue(session: Session, job: Job, payload: dict[str, Any]) -> None:
    """Run a job that ended (failed for good, or done) again with `payload`: queued and due now, attempts from
    zero, no lease and no last error."""
    now = utcnow()
    job.payload = payload
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.run_after = now
    job.locked_by = None
    job.lease_until = None
    job.last_error = None
    job.updated_at = now
    session.flush()


@dataclass
class Lease:
    """A claimed job as its handler sees it: a handler that writes its result can finish the job in that
    same transaction (`finish_in`), so the result is stored exactly when the job is done; the worker then
    skips its own finishing transaction. A failure still goes through the worker (`fail`, retried)."""

    job_id: int
    worker: str
    """The id this claim holds the job under (its `locked_by`, unique per claim: `lease_id`)."""
    finished: bool = False
    """True once the transaction that ran `finish_in` has committed (a rolled-back one leaves it False, and the
    worker then records the job's end itself)."""
    ttl: timedelta = DEFAULT_LEASE
    """How long each renewal extends the lease (`KIZUKI_JOB_LEASE_S`)."""
    lost: bool = field(default=False, compare=False)
    """Set when a renewal or a check found the job no longer held by this worker (the handler is then cancelled
    and nothing it found is recorded)."""
    until: datetime | None = field(default=None, compare=False)
    """The lease's end as of the last `hold_in`."""

    def finish_in(self, session: Session) -> bool:
        """`finish` in the caller's transaction; False if this worker no longer holds the job."""
        held = finish(session, self.job_id, self.worker)
        event.listen(session, "after_commit", self._committed, once=True)
        return held

    def hold_in(self, session: Session) -> datetime:
        """Renew the lease in the caller's transaction, locking the job's row until it commits, and return the
        lease's new end; raises `LeaseLost` if this worker no longer holds the job. Work that must never run
        twice at once (a delivery's send) starts only after this and must end before the returned time."""
        if self.lost:
            raise LeaseLost(f"job {self.job_id}: the lease was lost")
        held = session.execute(_HOLD, {"job_id": self.job_id, "worker": self.worker}).first()
        until = renew(session, self.job_id, self.worker, self.ttl) if held is not None else None
        if until is None:
            self.lost = True
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.worker}")
        self.until = until
        return until

    def held_in(self, session: Session) -> bool:
        """Whether this worker still holds the job, locking its row for the caller's transaction (a result is
        stored only under a held lease, never over the result of the worker that took the job over)."""
        if not self.lost:
            self.lost = session.execute(_HOLD, {"job_id": self.job_id, "worker": self.worker}).first() is None
        return not self.lost

    def _committed(self, session: Session) -> None:
        self.finished = True


def fail(session: Session, job_id: int, worker: str, error: str, *, retry_in: timedelta | None = None) -> str:
    """Record a failure: queued again with backoff, or failed for good after max_attempts; "lost" (nothing
    changed) if the lease `worker` no longer holds the running job (taken over, or finished already)."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.locked_by != worker or job.status != JobStatus.RUNNING:
        return "lost"
    job.last_error = error[:4000]
    job.lease_until = None
    job.updated_at = utcnow()
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.FAILED
    else:
        job.status = JobStatus.QUEUED
        backoff = retry_in if retry_in is not None else timedelta(seconds=min(300, 2**job.attempts))
        job.run_after = utcnow() + backoff
    session.flush()
    return job.status
