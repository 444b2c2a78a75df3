"""Channel length rules. X counts weighted characters (twitter-text v3): 280, code points in the Latin
and general-punctuation ranges count 1, everything else (CJK, most non-Latin scripts, emoji) counts 2,
and every URL counts 23 whatever its length."""

from __future__ import annotations

import re

__all__ = ["CHANNELS", "URL_WEIGHT", "X_LIMIT", "check_channel", "weighted_length"]

X_LIMIT = 280
URL_WEIGHT = 23
CHANNELS: tuple[str, ...] = ("x", "instagram", "facebook", "youtube", "webhook", "generic")

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


def check_channel(text: str, channel: str, limits: dict[str, int | None]) -> tuple[int, int, int] | None:
    """None when within the limit, else (length, limit, offset where the limit is exceeded)."""
    if channel not in limits:
        known = ", ".join(sorted(limits))
        raise ValueError(f"unknown channel {channel!r}; known channels: {known}")
    limit = limits[channel]
    if limit is None:
        return None
    if channel == "x":
        n, over = weighted_length(text, upto=limit)
    else:
        n = len(text)
        over = limit if n > limit else None
    if over is None:
        return None
    return n, limit, over
