"""Channels that carry approved replies out: each implements `Channel` (`base.py`)."""

from __future__ import annotations

from delivery.channels.base import Channel, OutboundReply
from delivery.channels.manual import ManualChannel
from delivery.channels.webhook import WebhookChannel
from kizuki.core.settings import Settings

__all__ = ["Channel", "ManualChannel", "OutboundReply", "WebhookChannel", "channel_for"]


def channel_for(settings: Settings) -> Channel:
    """The channel the settings choose (`KIZUKI_DELIVERY`)."""
    if settings.delivery == "webhook":
        return WebhookChannel(settings)
    return ManualChannel()
