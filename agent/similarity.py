"""Character 3-gram Jaccard similarity, used to keep replies from turning into templates."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

TEMPLATE_THRESHOLD = 0.5
"""A draft whose char-3-gram Jaccard with any recent reply exceeds this is regenerated once, then flagged.

0.5 means half of the two replies' distinct 3-grams are shared: two replies that differ only in the
product name or an error code score about 0.7-0.9, two tailored replies on the same FAQ entry about
0.2-0.35, unrelated replies below 0.1 (measured on the drafting benchmark).
"""

_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=8192)
def _grams(text: str, n: int = 3) -> frozenset[str]:
    """The character n-gram set of ``text`` (cached per text: recent replies are compared again and again)."""
    t = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    if len(t) < n:
        return frozenset([t]) if t else frozenset()
    return frozenset(t[i : i + n] for i in range(len(t) - n + 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character 3-gram sets of ``a`` and ``b`` (NFKC, lower case, spaces folded)."""
    ga, gb = _grams(a), _grams(b)
    if not ga and not gb:
        return 1.0
    if not ga or not gb:
        return 0.0
    inter = len(ga & gb)
    return inter / (len(ga) + len(gb) - inter)  # the union's size, without building the union


def max_and_most_similar(
    text: str, others: Sequence[str], *, above: float, k: int = 3
) -> tuple[tuple[float, int | None], list[tuple[float, int]]]:
    """The highest similarity of ``text`` to any of ``others`` with that one's index (None if none shares a
    3-gram), and up to ``k`` (similarity, index) of ``others`` more similar than ``above``, most similar first;
    in one pass, each intersection computed only where it can raise the maximum or pass ``above``."""
    best, at = 0.0, None
    g = _grams(text)
    ng = len(g)
    found: list[tuple[float, int]] = []
    if not ng:
        return (best, at), found
    for i, other in enumerate(others):
        go = _grams(other)
        no = len(go)
        if not no:
            continue
        # Jaccard is at most min/max of the set sizes
        bound = min(ng, no)
        top = max(ng, no)
        beats_best = bound > best * top
        passes = bound > above * top
        if not (beats_best or passes):
            continue
        inter = len(g & go) if ng <= no else len(go & g)
        s = inter / (ng + no - inter)
        if beats_best and s > best:
            best, at = s, i
        if passes and s > above:
            found.append((s, i))
    return (best, at), sorted(found, key=lambda x: (-x[0], x[1]))[:k]


def pairwise_stats(texts: Sequence[str]) -> tuple[float, float]:
    """(mean, max) pairwise similarity over all pairs of ``texts``."""
    grams = [_grams(t) for t in texts]
    total, top, n = 0.0, 0.0, 0
    for i in range(len(grams)):
        for j in range(i + 1, len(grams)):
            a, b = grams[i], grams[j]
            inter = len(a & b)
            s = inter / (len(a) + len(b) - inter) if (a or b) else 1.0
            total += s
            top = max(top, s)
            n += 1
    return (total / n if n else 0.0), top
