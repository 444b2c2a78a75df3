"""Delivery under faults: never two sends of one key at once, a lost lease never records over the worker that
took the job over, and a stopped worker gives its delivery back at once, to be sent again under the same key.

The receiver is a real HTTP server on localhost (`benchmarks.faults.receiver`) that records when each request
arrived and ended (answered, or the sender hung up)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from agent.posts.models import Draft
from benchmarks.faults.receiver import Receiver
from delivery.channels import Channel, OutboundReply
from delivery.errors import DeliveryError
from delivery.service import deliver, record
from kizuki.core import audit, jobs
from kizuki.core.settings import Settings
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from review.schemas import ApproveRequest
from review.service import approve
from tests.pipeline.conftest import make_post


def _approved(rt: Runtime, text: str = "KAMADOでE03が出て炊けない") -> int:
    (out,) = rt.pipeline.ingest([make_post(text)])
    assert out.draft is not None, out.reason
    approve(rt, out.draft.id, ApproveRequest(acknowledge_warnings=True), actor="hana")
    return out.draft.id


def _webhook(kb_runtime: Runtime, settings: Settings, url: str, **values: Any) -> Runtime:
    update = {"delivery": "webhook", "webhook_url": url, "webhook_secret": SecretStr("s3cret"), **values}
    return Runtime(settings.model_copy(update=update), db=kb_runtime.db)


def _draft_row(rt: Runtime, draft_id: int) -> Draft:
    with rt.db.reading() as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None
        s.expunge(draft)
        return draft


def _deliver_job(rt: Runtime, draft_id: int) -> jobs.Job:
    with rt.db.reading() as s:
        job = s.scalars(select(jobs.Job).where(jobs.Job.dedupe_key == f"deliver:{draft_id}")).one()
        s.expunge(job)
        return job


def test_two_workers_never_send_one_key_at_once_to_a_slow_receiver(kb_runtime: Runtime, settings: Settings) -> None:
    # The first request is answered after 6 s. The lease (1.5 s) is even shorter than the webhook timeout (3 s),
    # a combination the settings refuse at start (here built around the check), and neither worker renews its
    # leases (as if frozen): the lease the send started under runs out during the slow request, and the other
    # worker takes the job then. The send is still cut off before that lease can run out, so the retry never
    # overlaps it.
    with Receiver(slow=lambda key, nth: nth == 0, slow_s=6.0) as receiver:
        rt = _webhook(kb_runtime, settings, receiver.url, job_lease_s=1.5, webhook_timeout_s=3.0)
        draft_id = _approved(rt)
        stop = threading.Event()
        renewed: list[int] = []

        def no_renewal(leases: list[jobs.Lease]) -> list[str]:
            renewed.extend(lease.job_id for lease in leases)
            return []  # renews nothing, and notices nothing

        async def main() -> None:
            a = Worker(rt, concurrency=2, poll_interval=0.05)
            b = Worker(rt, concurrency=2, poll_interval=0.05)
            b.worker_id = "worker-b"
            a._renew = b._renew = no_renewal  # type: ignore[method-assign]

            def until_sent() -> None:
                deadline = time.monotonic() + 20
                while _draft_row(rt, draft_id).status != "sent" and time.monotonic() < deadline:
                    time.sleep(0.1)
                stop.set()

            await asyncio.gather(
                a.drain(stop=stop, forever=True), b.drain(stop=stop, forever=True), asyncio.to_thread(until_sent)
            )

        asyncio.run(main())
        requests = receiver.snapshot()
    assert renewed  # a renewal was due during the slow request (and did nothing)
    assert receiver.concurrent_pairs() == []
    assert [r.outcome for r in requests] == ["gone", "answered"]  # cut off, then repeated after the timeout
    assert {r.key for r in requests} == {f"kizuki-draft-{draft_id}-g1"}
    assert _draft_row(rt, draft_id).status == "sent"


class _TakenOverDuringTheSend(Channel):
    """While this worker's request hangs, its lease passes to worker B, which delivers; then this one fails."""

    name = "webhook"

    def __init__(self, rt: Runtime, job_id: int) -> None:
        self.rt, self.job_id, self.calls = rt, job_id, 0

    async def send(self, reply: OutboundReply) -> Any:
        self.calls += 1
        with self.rt.db.session() as s:
            job = s.get(jobs.Job, self.job_id)
            assert job is not None
            job.locked_by = "worker-b"
        assert record(self.rt.db, reply.draft_id, ok=True, error=None, final=False, receipt={"id": "by-b"},
                      lease=jobs.Lease(self.job_id, "worker-b"))  # fmt: skip
        raise DeliveryError("webhook unreachable: ReadTimeout")


def test_a_lost_lease_records_nothing_over_the_worker_that_took_over(kb_runtime: Runtime, settings: Settings) -> None:
    rt = _webhook(kb_runtime, settings, "http://127.0.0.1:9/unused")
    draft_id = _approved(rt)
    with rt.db.session() as s:
        job = jobs.claim(s, (jobs.JobKind.DELIVER,), worker="worker-a")
        assert job is not None
        job_id = job.id
    channel = _TakenOverDuringTheSend(rt, job_id)
    lease = jobs.Lease(job_id, "worker-a")
    with pytest.raises(jobs.LeaseLost):
        asyncio.run(deliver(rt.db, channel, draft_id, final=False, lease=lease))
    draft = _draft_row(rt, draft_id)
    assert (draft.status, draft.delivery_status, draft.delivery_error) == ("sent", "sent", None)  # B's result
    assert _deliver_job(rt, draft_id).status == "done"
    with rt.db.reading() as s:
        actions = [
            e.action for e in s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.subject == f"draft:{draft_id}"))
        ]
    assert "draft.delivery_retry" not in actions and actions.count("draft.sent") == 1

    # and a worker that lost the lease before sending does not send at all
    other = _approved(rt, "SoraBuds 2の音が途切れる")
    with rt.db.session() as s:
        job = jobs.claim(s, (jobs.JobKind.DELIVER,), worker="worker-a")
        assert job is not None
        job.locked_by = "worker-b"
        job_id = job.id
    channel = _TakenOverDuringTheSend(rt, job_id)
    with pytest.raises(jobs.LeaseLost):
        asyncio.run(deliver(rt.db, channel, other, final=False, lease=jobs.Lease(job_id, "worker-a")))
    assert channel.calls == 0
    assert _draft_row(rt, other).delivery_status == "queued"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_sigterm_gives_a_running_delivery_back_and_it_is_resent_under_the_same_key(
    kb_runtime: Runtime, settings: Settings, command: str, tmp_path: Path
) -> None:
    with Receiver(slow=lambda key, nth: nth == 0, slow_s=60.0) as receiver:
        rt = _webhook(kb_runtime, settings, receiver.url, webhook_timeout_s=20.0, job_lease_s=60.0)
        draft_id = _approved(rt)
        env = {
            **os.environ,
            "KIZUKI_HOME": str(settings.home),
            "KIZUKI_DATABASE_URL": settings.resolved_database_url,
            "KIZUKI_CACHE_HOME": str(settings.cache_dir),
            "KIZUKI_DELIVERY": "webhook",
            "KIZUKI_WEBHOOK_URL": receiver.url,
            "KIZUKI_WEBHOOK_SECRET": "s3cret",
            "KIZUKI_WEBHOOK_TIMEOUT_S": "20",
            "KIZUKI_JOB_LEASE_S": "60",
            "KIZUKI_WORKER_GRACE_S": "1",
        }
        args = ["worker"] if command == "worker" else ["serve", "--port", str(_free_port())]
        log = tmp_path / f"{command}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 (our own command line)
                [sys.executable, "-m", "kizuki.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + 120
            while not receiver.snapshot():  # the worker is inside the send
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the worker never sent"
                time.sleep(0.1)
            running = _deliver_job(rt, draft_id)
            assert running.status == "running" and running.locked_by is not None
            proc.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            assert proc.wait(timeout=30) == 0, log.read_text()
            assert time.monotonic() - stopped_at < 15  # the grace period (1 s), not the request's 60 s
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        job = _deliver_job(rt, draft_id)
        assert (job.status, job.locked_by, job.lease_until, job.attempts) == ("queued", None, None, 0)
        assert _draft_row(rt, draft_id).delivery_status == "sending"  # cut short: it may have reached the receiver
        assert receiver.snapshot()[0].outcome == "gone"

        asyncio.run(Worker(rt).drain())  # another worker takes it at once
        requests = receiver.snapshot()
    assert [r.outcome for r in requests] == ["gone", "answered"]
    assert {r.key for r in requests} == {f"kizuki-draft-{draft_id}-g1"}
    assert receiver.concurrent_pairs() == []
    assert _draft_row(rt, draft_id).status == "sent"
    with rt.db.reading() as s:
        resumed = s.scalars(
            select(audit.AuditEntry).where(
                audit.AuditEntry.subject == f"draft:{draft_id}", audit.AuditEntry.action == "draft.delivery_resumed"
            )
        ).all()
    assert len(resumed) == 1
