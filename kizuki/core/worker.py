"""The generic job worker: claims jobs from the database and runs the handler registered for each kind.

It imports no domain code: each domain offers its handlers (`tasks.py`), and the composition root
(`kizuki.runtime`) hands them over through `WorkerHost.job_handlers`.

While a handler runs, the worker renews its job's lease every third of `KIZUKI_JOB_LEASE_S`; a renewal that
finds the job in another worker's hands cancels the handler, and nothing of it is recorded. Told to stop
(`stop`, SIGTERM/SIGINT under `run_until_signalled`), a worker claims nothing more, lets running jobs finish
for `KIZUKI_WORKER_GRACE_S`, cancels the rest and gives their jobs back to the queue (`jobs.release`), so
another worker takes them at once instead of after the lease. Each claim holds its job under its own lease
id (`jobs.lease_id`), so a run whose lease ran out never passes for the run that claimed the job again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from kizuki.core import jobs
from kizuki.core.db import Database
from kizuki.core.settings import Settings

log = logging.getLogger(__name__)
# A handler gets the job's payload, whether this is its last attempt (to record a final failure), and the
# job's lease: a handler that stores its result may finish the job in that transaction (`Lease.finish_in`);
# otherwise the worker finishes it after the handler returns.
Handler = Callable[[dict[str, Any], bool, jobs.Lease], Awaitable[None]]


class WorkerHost(Protocol):
    """What a worker needs from the process: the database and the settings."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...


@runtime_checkable
class HandlerRegistry(WorkerHost, Protocol):
    """A host that also knows every job kind's handler (the composition root, `kizuki.runtime.Runtime`)."""

    def job_handlers(self) -> Mapping[str, Handler]: ...


class Worker:
    """Runs jobs of the given kinds with at most `concurrency` in flight."""

    def __init__(
        self,
        rt: WorkerHost,
        *,
        kinds: tuple[str, ...] | None = None,
        concurrency: int = 8,
        poll_interval: float = 0.5,
        handlers: Mapping[str, Handler] | None = None,
        grace_s: float | None = None,
    ) -> None:
        self.rt = rt
        if handlers is None:
            if not isinstance(rt, HandlerRegistry):
                raise TypeError("a worker needs its handlers: pass handlers= or a host with job_handlers()")
            handlers = rt.job_handlers()
        self.handlers: dict[str, Handler] = dict(handlers)
        self.kinds = tuple(kinds if kinds is not None else self.handlers)
        missing = [k for k in self.kinds if k not in self.handlers]
        if missing:
            raise LookupError(f"no handler registered for job kind(s) {', '.join(missing)}")
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self.worker_id = jobs.worker_id()
        self.lease = timedelta(seconds=rt.settings.job_lease_s)
        self.grace_s = rt.settings.worker_grace_s if grace_s is None else grace_s
        self.processed = 0
        self.released = 0
        """Jobs given back to the queue when the worker stopped before their handlers ended."""
        self.lost = 0
        """Jobs whose lease another worker took over while their handler ran (the handler was cancelled)."""
        self._held: dict[str, tuple[jobs.Lease, asyncio.Task[Any]]] = {}
        """The running handlers, by lease id (one job may briefly have two runs here: one whose lease ran out)."""
        self._claimed: dict[str, int] = {}
        """Jobs claimed whose handler has not started yet (lease id -> job id): given back too on a stop."""
        self._stop = threading.Event()
        self._hurry = threading.Event()

    def stop(self) -> None:
        """Stop claiming and wind down (safe from a signal handler or another thread); a second call gives the
        running jobs back at once instead of waiting out the grace period."""
        if self._stop.is_set():
            self._hurry.set()
        self._stop.set()

    def _claim(self) -> tuple[int, str, dict[str, Any], bool, str] | None:
        """Claim one due job: its id, kind, payload, whether this is its last attempt, and the claim's lease id."""
        with self.rt.db.session() as s:
            job = jobs.claim(s, self.kinds, worker=jobs.lease_id(self.worker_id), lease=self.lease)
            if job is None:
                return None
            assert job.locked_by is not None
            return job.id, job.kind, dict(job.payload), job.attempts >= job.max_attempts, job.locked_by

    def _done(self, lease: jobs.Lease, error: BaseException | None) -> None:
        with self.rt.db.session() as s:
            if error is None:
                jobs.finish(s, lease.job_id, lease.worker)
            else:
                status = jobs.fail(s, lease.job_id, lease.worker, f"{type(error).__name__}: {error}")
                log.warning("job %s failed (%s): %s", lease.job_id, status, error)

    def _renew(self, leases: list[jobs.Lease]) -> list[str]:
        """Extend the leases of the running handlers; returns the ids of those that no longer hold their job."""
        with self.rt.db.session() as s:
            return [x.worker for x in leases if jobs.renew(s, x.job_id, x.worker, self.lease) is None]

    def _release(self, held: list[tuple[int, str]]) -> int:
        """Give back the jobs (job id, lease id) still held: queued again at once."""
        with self.rt.db.session() as s:
            return sum(jobs.release(s, job_id, lease_id) for job_id, lease_id in held)

    async def _run(self, job_id: int, kind: str, payload: dict[str, Any], final: bool, lease_id: str) -> None:
        handler = self.handlers.get(kind)
        lease = jobs.Lease(job_id, lease_id, ttl=self.lease)
        task = asyncio.current_task()
        assert task is not None
        self._held[lease_id] = (lease, task)
        self._claimed.pop(lease_id, None)
        error: BaseException | None = None
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            await handler(payload, final, lease)
        except Exception as exc:
            error = exc
        except asyncio.CancelledError:
            if not lease.lost:
                raise  # the worker is stopping: the job stays in `_held` and is released
            task.uncancel()
        self._held.pop(lease_id, None)  # no more renewals: the job ends here, one way or another
        self.processed += 1
        if lease.lost:  # another worker has the job: whatever this run found is not recorded
            self.lost += 1
            log.warning("job %s: the lease passed to another worker; this run's result is not recorded", job_id)
            return
        if error is not None or not lease.finished:  # a failure is always recorded here, and retried
            await asyncio.to_thread(self._done, lease, error)

    async def _keep_leases(self) -> None:
        """Renew the lease of every running job every third of the lease; cancel a handler whose job is lost."""
        interval = max(0.05, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            running = [lease for lease, _ in self._held.values() if not lease.finished and not lease.lost]
            if not running:
                continue
            try:
                gone = await asyncio.to_thread(self._renew, running)
            except Exception as exc:  # the database hiccuped: the lease still has two thirds to run
                log.warning("renewing %d job lease(s) failed: %s", len(running), type(exc).__name__)
                continue
            for lease_id in gone:
                entry = self._held.get(lease_id)
                if entry is None or entry[0].finished:
                    continue  # it ended while we renewed
                entry[0].lost = True
                entry[1].cancel()

    async def drain(self, *, stop: threading.Event | None = None, forever: bool = False) -> int:
        """Run due jobs until none is left (or, with `forever`, until `stop` is set or `stop()` is called)."""
        in_flight: set[asyncio.Task[None]] = set()
        # A job's task leaves `in_flight` and signals `ended` itself: no done-callback and no asyncio.wait, whose
        # callbacks sit on every running task. anyio formats the running task's repr each time pydantic-graph
        # ends a node (CancelScope.cancel), callbacks included: 19 -> 11 us a repr, about 14 reprs a draft.
        ended = asyncio.Event()

        def stopping() -> bool:
            return self._stop.is_set() or (stop is not None and stop.is_set())

        async def run(claimed: tuple[int, str, dict[str, Any], bool, str]) -> None:
            try:
                await self._run(*claimed)
            finally:
                in_flight.discard(asyncio.current_task())
                ended.set()

        keeper = asyncio.create_task(self._keep_leases())
        try:
            while True:
                if stopping():
                    break
                claimed = None
                if len(in_flight) < self.concurrency:
                    claimed = await asyncio.to_thread(self._claim)
                if claimed is not None:
                    # held from here on: a stop that cancels the task before it starts still gives the job back
                    self._claimed[claimed[4]] = claimed[0]
                    in_flight.add(asyncio.create_task(run(claimed)))
                    continue
                if in_flight:  # until one of them ends (one that ended already is no longer in the set)
                    ended.clear()
                    if forever:  # or a poll interval passes: new jobs and a stop are noticed meanwhile
                        try:
                            async with asyncio.timeout(self.poll_interval):
                                await ended.wait()
                        except TimeoutError:
                            pass
                    else:
                        await ended.wait()
                    continue
                if not forever:
                    break
                await asyncio.sleep(self.poll_interval)
            if in_flight and stopping():
                await self._wind_down(in_flight)
            elif in_flight:
                await asyncio.gather(*in_flight)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        return self.processed

    async def _wind_down(self, in_flight: set[asyncio.Task[None]]) -> None:
        """Let running jobs finish for the grace period, then cancel them and give their jobs back."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace_s
        log.warning("stopping: %d running job(s) get %.0f s to finish", len(in_flight), self.grace_s)
        while in_flight and not self._hurry.is_set():
            left = deadline - loop.time()
            if left <= 0:
                break
            await asyncio.wait(set(in_flight), timeout=min(0.1, left))
        if in_flight:
            for task in list(in_flight):
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
        held = [(lease.job_id, lease_id) for lease_id, (lease, _) in self._held.items()]
        held += [(job_id, lease_id) for lease_id, job_id in self._claimed.items()]  # cancelled before they started
        if held:
            self.released += await asyncio.to_thread(self._release, held)
            self._held.clear()
            self._claimed.clear()
            log.warning("stopped: %d job(s) given back to the queue", self.released)

    async def run_until_signalled(self) -> int:
        """`drain(forever=True)` until SIGTERM or SIGINT (`kizuki worker`); a second signal hurries the stop."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        try:
            return await self.drain(forever=True)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


def run_in_thread(rt: HandlerRegistry, *, concurrency: int = 8) -> tuple[threading.Thread, threading.Event]:
    """An in-process worker for `kizuki serve` (a separate `kizuki worker` process does the same). Setting the
    returned event stops it gracefully: join the thread for up to `KIZUKI_WORKER_GRACE_S` and a little more."""
    stop = threading.Event()

    def _target() -> None:
        worker = Worker(rt, concurrency=concurrency)
        asyncio.run(worker.drain(stop=stop, forever=True))

    thread = threading.Thread(target=_target, name="kizuki-worker", daemon=True)
    thread.start()
    return thread, stop
