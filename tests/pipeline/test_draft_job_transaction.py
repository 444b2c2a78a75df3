"""The draft job ends in the transaction that stores the draft: a stored draft and a done job commit together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from agent.posts.models import Draft
from kizuki.core import jobs
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from tests.pipeline.conftest import make_post


def _queued_post(rt: Runtime) -> int:
    out = rt.pipeline.intake(make_post("KAMADOでE03が出て炊けない…どうすればいい？"))
    assert out.outcome == "queued", out.reason
    assert out.post_id is not None
    return out.post_id


def _state(s: Session, post_id: int) -> tuple[str | None, str]:
    draft = s.scalar(select(Draft.status).where(Draft.post_id == post_id))
    job = s.scalars(select(jobs.Job).where(jobs.Job.dedupe_key == f"draft:{post_id}:1")).one()
    return draft, job.status


@pytest.fixture
def commits(kb_runtime: Runtime) -> Iterator[list[Any]]:
    """Hooks run just before each write transaction of the runtime commits (they may raise to abort it)."""
    hooks: list[Any] = []

    def before_commit(session: Session) -> None:
        for hook in hooks:
            hook(session)

    factory = kb_runtime.db._sessions  # the write sessions only
    event.listen(factory, "before_commit", before_commit)
    yield hooks
    event.remove(factory, "before_commit", before_commit)


def test_the_draft_and_the_end_of_its_job_commit_together(kb_runtime: Runtime, commits: list[Any]) -> None:
    rt = kb_runtime
    post_id = _queued_post(rt)
    seen: list[tuple[str | None, str]] = []
    commits.append(lambda s: seen.append(_state(s, post_id)))

    assert asyncio.run(Worker(rt, concurrency=1).drain()) == 1

    # every committed state: a pending draft exactly when the job is done, never one without the other
    assert ("pending", "done") in seen
    assert all((draft == "pending") == (job == "done") for draft, job in seen), seen
    with rt.db.reading() as s:
        assert _state(s, post_id) == ("pending", "done")
        job = s.scalars(select(jobs.Job).where(jobs.Job.dedupe_key == f"draft:{post_id}:1")).one()
        assert job.attempts == 1
        assert job.lease_until is None


def test_a_draft_that_fails_to_commit_leaves_its_job_retryable(kb_runtime: Runtime, commits: list[Any]) -> None:
    rt = kb_runtime
    post_id = _queued_post(rt)

    def refuse_the_draft(s: Session) -> None:
        if _state(s, post_id) == ("pending", "done"):
            raise RuntimeError("the database went away at commit")

    commits.append(refuse_the_draft)
    asyncio.run(Worker(rt, concurrency=1).drain())
    with rt.db.reading() as s:
        assert _state(s, post_id) == (None, "queued")  # neither the draft nor the job's end was kept
        job = s.scalars(select(jobs.Job).where(jobs.Job.dedupe_key == f"draft:{post_id}:1")).one()
        assert job.attempts == 1
        assert job.locked_by is not None and job.lease_until is None
        assert "the database went away at commit" in (job.last_error or "")

    commits.clear()
    with rt.db.session() as s:
        s.execute(update(jobs.Job).where(jobs.Job.id == job.id).values(run_after=job.created_at))  # due now
    assert asyncio.run(Worker(rt, concurrency=1).drain()) == 1
    with rt.db.reading() as s:
        assert _state(s, post_id) == ("pending", "done")
        assert s.scalars(select(jobs.Job).where(jobs.Job.id == job.id)).one().attempts == 2


def test_a_job_whose_lease_was_taken_over_keeps_the_new_holder(kb_runtime: Runtime) -> None:
    """The run that lost its lease stores nothing (no draft, no failure): the job stays with the worker that holds
    it now, whose run stores the draft."""
    rt = kb_runtime
    post_id = _queued_post(rt)
    worker = Worker(rt, concurrency=1)
    claimed = worker._claim()
    assert claimed is not None
    job_id = claimed[0]
    with rt.db.session() as s:  # its lease ran out, and another worker claimed it
        s.execute(update(jobs.Job).where(jobs.Job.id == job_id).values(locked_by="elsewhere:1:1"))

    asyncio.run(worker._run(*claimed))
    with rt.db.reading() as s:
        draft, status = _state(s, post_id)
        assert (draft, status) == (None, "running")
        assert s.scalars(select(jobs.Job).where(jobs.Job.id == job_id)).one().locked_by == "elsewhere:1:1"


def test_a_lease_counts_as_finished_only_once_its_transaction_committed(kb_runtime: Runtime) -> None:
    """A handler that catches its own failed store must not leave the worker thinking the job ended."""
    rt = kb_runtime
    _queued_post(rt)
    worker = Worker(rt, concurrency=1)
    claimed = worker._claim()
    assert claimed is not None
    lease = jobs.Lease(claimed[0], claimed[4])
    seen: list[bool] = []

    def finish_then_fail() -> None:
        with rt.db.session() as s:
            seen.append(lease.finish_in(s))  # the UPDATE ran in this transaction
            seen.append(lease.finished)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        finish_then_fail()
    assert seen == [True, False] and not lease.finished
    with rt.db.reading() as s:
        assert s.scalars(select(jobs.Job).where(jobs.Job.id == claimed[0])).one().status == "running"
    with rt.db.session() as s:
        lease.finish_in(s)
    assert lease.finished
