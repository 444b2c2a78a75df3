"""Jobs in the database, so that API and workers can be separate processes.

A worker claims a queued job (on PostgreSQL with FOR UPDATE SKIP LOCKED; SQLite serialises writers),
marks it running with a lease, and finishes or fails it. A job whose lease ran out (its worker died)
is queued again, so nothing is lost; handlers must be idempotent for the same job.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text, bindparam, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from kizuki.core.orm import Base, JSONType, utcnow

DEFAULT_LEASE = timedelta(minutes=5)


class JobKind(StrEnum):
    """Every kind of job; the domain that owns a kind registers its handler (its `tasks` module)."""

    DRAFT = "draft"  # agent: draft (or re-draft) one post
    DELIVER = "deliver"  # delivery: send one approved reply through its channel


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


def worker_id() -> str:
    import os
    import threading

    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


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


def claim(
    session: Session, kinds: tuple[str, ...], *, worker: str | None = None, lease: timedelta = DEFAULT_LEASE
) -> Job | None:
    """Take one due job, or one whose lease expired, and mark it running under this worker."""
    now = utcnow()
    stmt = _DUE_SKIP_LOCKED if session.get_bind().dialect.name == "postgresql" else _DUE
    job = session.scalars(stmt, {"kinds": list(kinds), "now": now}).first()
    if job is None:
        return None
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.locked_by = worker or worker_id()
    job.lease_until = now + lease
    job.updated_at = now
    session.flush()
    return job


def finish(session: Session, job_id: int, worker: str) -> bool:
    """Mark done; False if this worker no longer holds the job (its lease ran out and another took it)."""
    res = session.execute(_FINISH, {"job_id": job_id, "worker": worker, "now": utcnow()})
    return bool(res.rowcount)  # type: ignore[attr-defined]


@dataclass
class Lease:
    """A claimed job as its handler sees it: a handler that writes its result can finish the job in that
    same transaction (`finish_in`), so the result is stored exactly when the job is done; the worker then
    skips its own finishing transaction. A failure still goes through the worker (`fail`, retried)."""

    job_id: int
    worker: str
    finished: bool = False
    """True once the transaction that ran `finish_in` has committed (a rolled-back one leaves it False, and the
    worker then records the job's end itself)."""

    def finish_in(self, session: Session) -> bool:
        """`finish` in the caller's transaction; False if this worker no longer holds the job."""
        held = finish(session, self.job_id, self.worker)
        event.listen(session, "after_commit", self._committed, once=True)
        return held

    def _committed(self, session: Session) -> None:
        self.finished = True


def fail(session: Session, job_id: int, worker: str, error: str, *, retry_in: timedelta | None = None) -> str:
    """Record a failure: queued again with backoff, or failed for good after max_attempts."""
    job = session.get(Job, job_id)
    if job is None or job.locked_by != worker:
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
