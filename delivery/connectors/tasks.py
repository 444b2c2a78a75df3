"""The job connectors register with the worker: `listen` (one connector's run, then its next run queued)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from delivery.connectors import service
from kizuki.core import jobs
from kizuki.core.jobs import JobKind
from kizuki.core.orm import utcnow
from kizuki.core.worker import Handler


def handlers(host: service.ListenHost) -> dict[str, Handler]:
    async def _listen(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        name = str(payload["connector"])
        with host.db.reading() as s:
            _, configs = service.current(s)
        config = next((c for c in configs if c.name == name), None)
        if config is None or not config.enabled:
            return  # removed or disabled since: its schedule ends here (setting it again starts a new one)
        # the next run is queued first: a run that fails for good must not end the schedule
        try:
            with host.db.session() as s:
                service.schedule(s, config, now=utcnow() + timedelta(seconds=config.interval_s))
        except IntegrityError:
            pass  # another worker queued the same next run at the same moment
        await asyncio.to_thread(service.queue_deliveries, host.db, host.settings)
        await service.run_connector(host, config)

    return {JobKind.LISTEN: _listen}
