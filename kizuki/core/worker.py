"""The generic job worker: claims jobs from the database and runs the handler registered for each kind.

It imports no domain code: each domain offers its handlers (`tasks.py`), and the composition root
(`kizuki.runtime`) hands them over through `WorkerHost.job_handlers`.
"""

from __future__ import annotations

import asyncio
import logging
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
        self.processed = 0

    def _claim(self) -> tuple[int, str, dict[str, Any], bool] | None:
        with self.rt.db.session() as s:
            lease = timedelta(seconds=self.rt.settings.job_lease_s)
            job = jobs.claim(s, self.kinds, worker=self.worker_id, lease=lease)
            if job is None:
                return None
            return job.id, job.kind, dict(job.payload), job.attempts >= job.max_attempts

    def _done(self, job_id: int, error: BaseException | None) -> None:
        with self.rt.db.session() as s:
            if error is None:
                jobs.finish(s, job_id, self.worker_id)
            else:
                status = jobs.fail(s, job_id, self.worker_id, f"{type(error).__name__}: {error}")
                log.warning("job %s failed (%s): %s", job_id, status, error)

    async def _run(self, job_id: int, kind: str, payload: dict[str, Any], final: bool) -> None:
        handler = self.handlers.get(kind)
        lease = jobs.Lease(job_id, self.worker_id)
        error: BaseException | None = None
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            await handler(payload, final, lease)
        except Exception as exc:
            error = exc
        if error is not None or not lease.finished:  # a failure is always recorded here, and retried
            await asyncio.to_thread(self._done, job_id, error)
        self.processed += 1

    async def drain(self, *, stop: threading.Event | None = None, forever: bool = False) -> int:
        """Run due jobs until none is left (or, with `forever`, until `stop` is set)."""
        in_flight: set[asyncio.Task[None]] = set()
        # A job's task leaves `in_flight` and signals `ended` itself: no done-callback and no asyncio.wait, whose
        # callbacks sit on every running task. anyio formats the running task's repr each time pydantic-graph
        # ends a node (CancelScope.cancel), callbacks included: 19 -> 11 us a repr, about 14 reprs a draft.
        ended = asyncio.Event()

        async def run(claimed: tuple[int, str, dict[str, Any], bool]) -> None:
            try:
                await self._run(*claimed)
            finally:
                in_flight.discard(asyncio.current_task())
                ended.set()

        while True:
            if stop is not None and stop.is_set():
                break
            claimed = None
            if len(in_flight) < self.concurrency:
                claimed = await asyncio.to_thread(self._claim)
            if claimed is not None:
                in_flight.add(asyncio.create_task(run(claimed)))
                continue
            if in_flight:  # until one of them ends (one that ended already is no longer in the set)
                ended.clear()
                await ended.wait()
                continue
            if not forever:
                break
            await asyncio.sleep(self.poll_interval)
        if in_flight:
            await asyncio.gather(*in_flight)
        return self.processed


def run_in_thread(rt: HandlerRegistry, *, concurrency: int = 8) -> tuple[threading.Thread, threading.Event]:
    """An in-process worker for `kizuki serve` (a separate `kizuki worker` process does the same)."""
    stop = threading.Event()

    def _target() -> None:
        worker = Worker(rt, concurrency=concurrency)
        asyncio.run(worker.drain(stop=stop, forever=True))

    thread = threading.Thread(target=_target, name="kizuki-worker", daemon=True)
    thread.start()
    return thread, stop
