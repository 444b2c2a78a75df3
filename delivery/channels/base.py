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

    @property
    def deadline_s(self) -> float | None:
        """The longest one `send` may take (the outbox cuts it off then, and counts it as failed); None: no
        limit of its own (the job's lease still bounds it)."""
        return None

    def deadline_for(self, reply: OutboundReply) -> float | None:
        """`deadline_s` for this reply (a channel that routes replies to several networks answers per reply)."""
        return self.deadline_s

    @abstractmethod
    async def send(self, reply: OutboundReply) -> Any:
        """Deliver one reply and return the receiver's receipt; raise `DeliveryError` to be retried.

        The outbox never runs two sends of one key at once; a retry after a timeout, or after a crash or stop
        mid-request, sends it again under the same `reply.idempotency_key`, which the receiver must honour."""
