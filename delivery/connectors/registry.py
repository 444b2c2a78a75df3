"""Which class implements each connector kind (imported on first use: a kind's module loads only when used)."""

from __future__ import annotations

import importlib

from delivery.connectors.base import Connector
from kizuki.core.errors import InvalidInput

KINDS: dict[str, tuple[str, str]] = {
    "mastodon": ("delivery.connectors.mastodon", "MastodonConnector"),
    "rss": ("delivery.connectors.rss", "RssConnector"),
    "bluesky": ("delivery.connectors.bluesky", "BlueskyConnector"),
    "x": ("delivery.connectors.x", "XConnector"),
}


def connector_class(kind: str) -> type[Connector]:
    """The class of a kind, or `InvalidInput` naming the known kinds (and one whose module is not there yet)."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown connector kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    module_name, class_name = KINDS[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise InvalidInput(f"connector kind {kind!r} is not available in this build") from None
    cls: type[Connector] = getattr(module, class_name)
    return cls
