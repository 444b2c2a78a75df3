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
    async def _deliver(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:  # the worker ends the job
        await deliver(db, channel, int(payload["draft_id"]), final=final)

    return {JobKind.DELIVER: _deliver}
