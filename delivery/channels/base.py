"""The interface every delivery channel implements (network connectors will implement it too)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel


class OutboundReply(BaseModel):
    """An approved reply as a channel receives it."""

    idempotency_key: str
    draft_id: int
    channel: str
    text: str
    needs_dm: bool
    action: str
    in_reply_to: dict[str, Any]
    approved_by: list[str]


class Channel(ABC):
    """Sends approved replies through the outbox (network connectors will be channels too)."""

    name: ClassVar[str]

    @abstractmethod
    async def send(self, reply: OutboundReply) -> Any:
        """Deliver one reply and return the receiver's receipt; raise `DeliveryError` to be retried.

        Must be idempotent on `reply.idempotency_key`: a retry after a crash mid-request may send it again."""
