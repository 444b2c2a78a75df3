"""The worker under faults: leases renewed while a handler runs, a lost lease stops the handler, a graceful stop
gives running jobs back, and settings that cannot work together are refused at start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import update

from kizuki.core import jobs
from kizuki.core.db import Database
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings, settings_problems
from kizuki.core.worker import Worker


@dataclass
class Host:
    db: Database
    settings: Settings


def _host(db: Database, tmp_path: Path, **values: Any) -> Host:
    return Host(db, Settings(home=tmp_path / "home", database_url=db.url, **values))


def _enqueue(db: Database, kind: str, payload: dict[str, Any] | None = None) -> int:
    with db.session() as s:
        return jobs.enqueue(s, kind, payload or {}).id


def _job(db: Database, job_id: int) -> jobs.Job:
    with db.reading() as s:
        job = s.get(jobs.Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def test_a_running_job_keeps_its_lease_so_no_second_worker_runs_it(db: Database, tmp_path: Path) -> None:
    host = _host(db, tmp_path, job_lease_s=0.6)
    job_id = _enqueue(db, "slow")
    runs: list[str] = []

    async def slow(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        runs.append(lease.worker)
        await asyncio.sleep(2.0)  # more than three leases

    async def main() -> None:
        a = Worker(host, handlers={"slow": slow}, poll_interval=0.05)
        b = Worker(host, handlers={"slow": slow}, poll_interval=0.05)
        b.worker_id = "another-worker"
        stop_b = threading.Event()

        async def second() -> None:
            await asyncio.sleep(0.1)
            task = asyncio.create_task(b.drain(stop=stop_b, forever=True))
            await asyncio.sleep(2.2)  # polls all along; the lease never runs out
            stop_b.set()
            await task

        await asyncio.gather(a.drain(), second())

    asyncio.run(main())
    assert len(runs) == 1, runs
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("done", 1, runs[0])


def test_a_handler_whose_job_was_taken_over_is_stopped_and_records_nothing(db: Database, tmp_path: Path) -> None:
    host = _host(db, tmp_path, job_lease_s=0.6)
    job_id = _enqueue(db, "slow")
    reached_the_end: list[bool] = []

    async def slow(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        # the worker was frozen long enough for another to take the job (here: the other takes it outright)
        with db.session() as s:
            s.execute(
                update(jobs.Job)
                .where(jobs.Job.id == job_id)
                .values(locked_by="the-other-worker", lease_until=utcnow() + timedelta(minutes=5))
            )
        await asyncio.sleep(3.0)
        reached_the_end.append(True)

    w = Worker(host, handlers={"slow": slow}, poll_interval=0.05)
    started = time.monotonic()
    asyncio.run(w.drain())
    assert time.monotonic() - started < 2.0  # cancelled at the first renewal (0.2 s), not after 3 s
    assert reached_the_end == []
    assert w.lost == 1
    job = _job(db, job_id)
    assert (job.status, job.locked_by, job.last_error, job.attempts) == ("running", "the-other-worker", None, 1)


def test_a_graceful_stop_lets_short_jobs_finish_and_gives_the_rest_back(db: Database, tmp_path: Path) -> None:
    host = _host(db, tmp_path, worker_grace_s=1.0)
    quick, long = _enqueue(db, "quick"), _enqueue(db, "long")
    ended: list[str] = []

    started: list[str] = []
    both_started = asyncio.Event()

    def begin(kind: str) -> None:
        started.append(kind)
        if len(started) == 2:
            both_started.set()

    async def run_quick(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        begin("quick")
        await asyncio.sleep(0.4)
        ended.append("quick")

    async def run_long(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        begin("long")
        await asyncio.sleep(60)
        ended.append("long")

    w = Worker(host, handlers={"quick": run_quick, "long": run_long}, poll_interval=0.05)

    async def main() -> float:
        task = asyncio.create_task(w.drain(forever=True))
        async with asyncio.timeout(10):
            await both_started.wait()  # both are running
        w.stop()
        t = time.monotonic()
        await task
        return time.monotonic() - t

    took = asyncio.run(main())
    assert 0.8 < took < 3.0  # the grace period, not the long job's 60 s
    assert ended == ["quick"]
    assert w.released == 1
    assert _job(db, quick).status == "done"
    job = _job(db, long)
    assert (job.status, job.attempts, job.locked_by, job.lease_until) == ("queued", 0, None, None)
    with db.session() as s:  # another worker takes it at once, not after the lease
        again = jobs.claim(s, ("long",), worker="next-worker")
        assert again is not None and again.id == long and again.attempts == 1


def test_a_second_stop_gives_running_jobs_back_at_once(db: Database, tmp_path: Path) -> None:
    host = _host(db, tmp_path, worker_grace_s=30.0)
    job_id = _enqueue(db, "long")

    started = asyncio.Event()

    async def run_long(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        started.set()
        await asyncio.sleep(60)

    w = Worker(host, handlers={"long": run_long}, poll_interval=0.05)

    async def main() -> float:
        task = asyncio.create_task(w.drain(forever=True))
        async with asyncio.timeout(10):
            await started.wait()
        running = await asyncio.to_thread(_job, db, job_id)
        assert (running.status, running.attempts) == ("running", 1)  # claimed, and its handler runs
        w.stop()
        await asyncio.sleep(0.2)  # the first stop is under way: the grace period (30 s) has begun
        assert not task.done()
        w.stop()  # a second Ctrl-C
        t = time.monotonic()
        await task
        return time.monotonic() - t

    assert asyncio.run(main()) < 2.0
    assert w.released == 1
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.locked_by, job.lease_until) == ("queued", 0, None, None)


@pytest.mark.parametrize("how", ["no grace period", "second stop"])
def test_a_job_claimed_as_the_stop_arrives_is_given_back(db: Database, tmp_path: Path, how: str) -> None:
    """Its handler never starts: the job is given back all the same, not left locked until its lease runs out."""
    host = _host(db, tmp_path, job_lease_s=60)
    job_id = _enqueue(db, "long")
    ran: list[int] = []

    async def run_long(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        ran.append(lease.job_id)
        await asyncio.sleep(60)

    w = Worker(host, handlers={"long": run_long}, poll_interval=0.05, grace_s=0.0 if how == "no grace period" else 30)
    claim = w._claim

    def claim_as_the_stop_arrives() -> Any:
        claimed = claim()
        if claimed is not None:
            w.stop()
            if how == "second stop":
                w.stop()
        return claimed

    w._claim = claim_as_the_stop_arrives  # type: ignore[method-assign]
    started = time.monotonic()
    asyncio.run(w.drain(forever=True))
    assert time.monotonic() - started < 5.0
    assert ran == []  # the stop came before the handler could start
    assert w.released == 1
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.locked_by, job.lease_until) == ("queued", 0, None, None)


@pytest.mark.parametrize("first_run_ends", ["returning", "raising"])
def test_a_job_the_same_worker_claims_again_stays_with_the_new_run(
    db: Database, tmp_path: Path, first_run_ends: str
) -> None:
    """The first run's lease ran out (its renewals stalled) and the same worker took the job again: the first run's
    end records nothing over the second run, whose lease is still renewed so no other worker takes the job."""
    host = _host(db, tmp_path, job_lease_s=0.6)
    job_id = _enqueue(db, "slow")
    runs: list[str] = []
    status_at_the_second_runs_end: list[str] = []
    second_started, second_ended = asyncio.Event(), asyncio.Event()
    stalled = threading.Event()

    async def slow(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        runs.append(lease.worker)
        if len(runs) == 1:
            stalled.set()  # no renewals from now on: the lease runs out and the same worker claims the job again
            async with asyncio.timeout(10):
                await second_started.wait()
            if first_run_ends == "raising":
                raise RuntimeError("the first run failed late")
            return
        stalled.clear()
        second_started.set()
        await asyncio.sleep(2.0)  # more than three leases
        status_at_the_second_runs_end.append((await asyncio.to_thread(_job, db, job_id)).status)
        second_ended.set()

    a = Worker(host, handlers={"slow": slow}, poll_interval=0.05, concurrency=2)
    renew = a._renew

    def stalling_renew(held: Any) -> Any:
        return [] if stalled.is_set() else renew(held)

    a._renew = stalling_renew  # type: ignore[method-assign]
    b = Worker(host, handlers={"slow": slow}, poll_interval=0.05)
    b.worker_id = "another-worker"

    async def main() -> None:
        stop = threading.Event()

        async def second() -> None:
            try:
                async with asyncio.timeout(10):
                    await second_started.wait()
                task = asyncio.create_task(b.drain(stop=stop, forever=True))
                await asyncio.sleep(2.2)  # polls all along: the second run's lease must never run out
                async with asyncio.timeout(10):
                    await second_ended.wait()
            finally:
                stop.set()
            await task

        await asyncio.gather(a.drain(stop=stop, forever=True), second())

    asyncio.run(main())
    assert status_at_the_second_runs_end == ["running"]  # the first run's end did not finish or requeue it
    assert len(runs) == 2 and runs[0] != runs[1], runs  # each claim holds the job under its own lease
    assert all(r.startswith(a.worker_id) for r in runs), runs  # both by worker A, none by B
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.locked_by, job.last_error) == ("done", 2, runs[1], None)


def test_a_handler_failing_after_its_job_was_finished_leaves_it_done(db: Database, tmp_path: Path) -> None:
    host = _host(db, tmp_path)
    job_id = _enqueue(db, "store")

    async def store_then_fail(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        with db.session() as s:
            assert lease.finish_in(s)  # the result and the job's end commit together
        raise RuntimeError("failed after its result was stored")

    w = Worker(host, handlers={"store": store_then_fail}, poll_interval=0.05)
    asyncio.run(w.drain())
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.last_error, job.lease_until) == ("done", 1, None, None)
    with db.session() as s:  # and `fail` itself refuses a job that is no longer running
        assert job.locked_by is not None
        assert jobs.fail(s, job_id, job.locked_by, "late") == "lost"
        again = s.get(jobs.Job, job_id)
        assert again is not None and (again.status, again.last_error) == ("done", None)


# -- settings that only work together -------------------------------------------------------------------------


def test_a_lease_shorter_than_a_webhook_request_is_refused_naming_both_settings() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(delivery="webhook", job_lease_s=10, webhook_timeout_s=10)
    message = settings_problems(err.value)
    assert "KIZUKI_JOB_LEASE_S (10)" in message and "KIZUKI_WEBHOOK_TIMEOUT_S (10)" in message
    Settings(delivery="webhook", job_lease_s=12, webhook_timeout_s=10)  # the margin is 2 s
    Settings(delivery="manual", job_lease_s=3, webhook_timeout_s=10)  # no webhook: nothing to protect


def test_a_lease_shorter_than_a_model_request_is_refused_with_a_real_model() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(model="openai/gpt-4.1-mini", job_lease_s=20, model_timeout_s=30)
    message = settings_problems(err.value)
    assert "KIZUKI_JOB_LEASE_S (20)" in message and "KIZUKI_MODEL_TIMEOUT_S (30)" in message
    Settings(model="offline", job_lease_s=20, model_timeout_s=30)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("job_lease_s", 0),
        ("webhook_timeout_s", -1),
        ("model_timeout_s", 0),
        ("worker_concurrency", 0),
        ("delivery_max_attempts", 0),
        ("worker_grace_s", -5),
    ],
)
def test_values_that_make_no_sense_are_refused(name: str, value: float) -> None:
    with pytest.raises(ValidationError) as err:
        Settings.model_validate({name: value})
    assert f"KIZUKI_{name.upper()}" in settings_problems(err.value)


def test_the_worker_command_reports_bad_settings_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KIZUKI_HOME": str(tmp_path / "home"),
        "KIZUKI_DELIVERY": "webhook",
        "KIZUKI_JOB_LEASE_S": "5",
        "KIZUKI_WEBHOOK_TIMEOUT_S": "10",
        "COLUMNS": "300",
    }
    res = subprocess.run(
        [sys.executable, "-m", "kizuki.cli", "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "KIZUKI_JOB_LEASE_S (5)" in res.stderr and "KIZUKI_WEBHOOK_TIMEOUT_S (10)" in res.stderr
