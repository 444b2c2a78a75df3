"""The jobs delivery registers with the worker: `deliver` (one approved reply through the channel)."""

from __future__ import annotations

from typing import Any

from delivery.channels import Channel
from delivery.service import deliver
from kizuki.core import jobs
from kizuki.core.db import Database
from kizuki.core.jobs import JobKind
from kizuki.core.worker import Handler


def handlers(db: Database, channel: Channel) -> dict[str, Handler]:
    async def _deliver(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        # a success ends the job with the draft's "sent"; anything else is ended (or retried) by the worker
        await deliver(db, channel, int(payload["draft_id"]), final=final, lease=lease)

    return {JobKind.DELIVER: _deliver}
