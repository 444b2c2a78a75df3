"""Channel length rules. X counts weighted characters (twitter-text v3): 280, code points in the Latin
and general-punctuation ranges count 1, everything else (CJK, most non-Latin scripts, emoji) counts 2,
and every URL counts 23 whatever its length. Bluesky counts grapheme clusters (300); Mastodon characters,
a URL counting 23 (500 by default, each instance may configure its own).

A network connector's posts are drafted on a channel named `<network>:<limit>` (`mastodon:1000`,
`bluesky:300`): the network's way of counting with the limit the connector declares, so the checks use the
same rule the connector enforces when it sends (`delivery/connectors`, `LengthRule`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import regex

__all__ = [
    "CHANNELS",
    "COUNTING",
    "URL_WEIGHT",
    "X_LIMIT",
    "Counting",
    "channel_name",
    "check_channel",
    "resolve_channel",
    "text_length",
    "weighted_length",
]

X_LIMIT = 280
URL_WEIGHT = 23
CHANNELS: tuple[str, ...] = ("x", "instagram", "facebook", "youtube", "webhook", "generic", "mastodon", "bluesky")

Counting = Literal["chars", "x_weighted", "graphemes"]
COUNTING: dict[str, tuple[Counting, int | None]] = {
    "x": ("x_weighted", URL_WEIGHT),
    "bluesky": ("graphemes", None),
    "mastodon": ("chars", URL_WEIGHT),
}
"""How each network counts (counting, the weight of a URL or None for its length); other channels: characters."""
MAX_CHANNEL_LIMIT = 1_000_000

_URL = re.compile(r"https?://[^\s\u3000-\u30ff\u4e00-\u9fff（）「」、。]+", re.IGNORECASE)
# twitter-text's ranges of weight 1 (the rest weigh 2)
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


_HEAVY = re.compile("[^" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _LIGHT) + "]")
"""A character of weight 2 (CJK, most non-Latin scripts, emoji): outside every range of `_LIGHT`."""


def _weight(ch: str) -> int:
    return 2 if _HEAVY.match(ch) else 1


def weighted_length(text: str, *, upto: int | None = None) -> tuple[int, int | None]:
    """(weighted length of ``text``, original offset where ``upto`` is first exceeded or None)."""
    total = 0
    pos = 0
    for m in _URL.finditer(text):
        segment = text[pos : m.start()]
        total += len(segment) + len(_HEAVY.findall(segment)) + URL_WEIGHT
        pos = m.end()
    segment = text[pos:]
    total += len(segment) + len(_HEAVY.findall(segment))
    if upto is None or total <= upto:
        return total, None
    return total, _offset_over(text, upto)


def _offset_over(text: str, upto: int) -> int | None:
    """Where the running weighted length first exceeds ``upto`` (walked only for a text that is over)."""
    total = 0
    pos = 0
    urls = list(_URL.finditer(text))
    ui = 0
    while pos < len(text):
        if ui < len(urls) and urls[ui].start() == pos:
            total += URL_WEIGHT
            nxt = urls[ui].end()
            ui += 1
        else:
            total += _weight(text[pos])
            nxt = pos + 1
        if total > upto:
            return pos
        pos = nxt
    return None


_GRAPHEME = regex.compile(r"\X")


def _units(text: str, counting: Counting, url_weight: int | None) -> Iterator[tuple[int, int]]:
    """(offset, weight) of each counted unit: a URL (when it has a weight), a grapheme cluster or a code point."""
    pos = 0
    urls = list(_URL.finditer(text)) if url_weight is not None else []
    for m in [*urls, None]:
        end = m.start() if m is not None else len(text)
        segment = text[pos:end]
        if counting == "graphemes":
            for g in _GRAPHEME.finditer(segment):
                yield pos + g.start(), 1
        else:
            for i, ch in enumerate(segment):
                yield pos + i, _weight(ch) if counting == "x_weighted" else 1
        if m is not None:
            yield m.start(), url_weight or 0
            pos = m.end()


def text_length(text: str, counting: Counting = "chars", *, url_weight: int | None = None) -> int:
    """A text's length as a network counts it (`x_weighted`: twitter-text's weights, URLs 23)."""
    if counting == "x_weighted":
        return weighted_length(text)[0]
    if counting == "chars" and url_weight is None:
        return len(text)
    return sum(w for _, w in _units(text, counting, url_weight))


def _over(text: str, counting: Counting, url_weight: int | None, limit: int) -> tuple[int, int | None]:
    if counting == "x_weighted":
        return weighted_length(text, upto=limit)
    total = 0
    at: int | None = None
    for offset, weight in _units(text, counting, url_weight):
        total += weight
        if at is None and total > limit:
            at = offset
    return total, at


def resolve_channel(channel: str, limits: dict[str, int | None]) -> tuple[str, int | None]:
    """(the channel whose counting applies, the limit) for a configured channel or `<channel>:<limit>`, the form
    a connector's posts carry; ValueError naming the known channels otherwise."""
    if channel in limits:
        return channel, limits[channel]
    base, sep, number = channel.rpartition(":")
    if sep and base in limits and number.isascii() and number.isdigit() and 0 < int(number) <= MAX_CHANNEL_LIMIT:
        return base, int(number)
    known = ", ".join(sorted(limits))
    raise ValueError(f"unknown channel {channel!r}; known channels: {known} (or <channel>:<limit>, e.g. mastodon:500)")


def channel_name(network: str, limit: int | None) -> str | None:
    """The channel a network connector's posts are drafted on (`bluesky:300`); None when it has no counting rule
    here or no limit (a read-only feed)."""
    if limit is None or network not in CHANNELS or not 0 < limit <= MAX_CHANNEL_LIMIT:
        return None
    return f"{network}:{limit}"


def check_channel(text: str, channel: str, limits: dict[str, int | None]) -> tuple[int, int, int] | None:
    """None when within the limit, else (length, limit, offset where the limit is exceeded)."""
    base, limit = resolve_channel(channel, limits)
    if limit is None:
        return None
    counting, url_weight = COUNTING.get(base, ("chars", None))
    n, over = _over(text, counting, url_weight, limit)
    if over is None:
        return None
    return n, limit, over
