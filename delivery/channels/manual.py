"""The manual channel: a person posts the approved reply by hand and marks it sent."""

from __future__ import annotations

from typing import Any

from delivery.channels.base import Channel, OutboundReply
from delivery.errors import DeliveryError


class ManualChannel(Channel):
    name = "manual"

    async def send(self, reply: OutboundReply) -> Any:
        raise DeliveryError("the manual channel sends nothing: a person posts the reply and marks it sent")
