"""The char-3-gram Jaccard used by the non-template check."""

from __future__ import annotations

import pytest

from agent.drafting import TEMPLATE_THRESHOLD, pairwise_stats
from agent.similarity import similarity


def test_similarity_bounds_and_normalisation() -> None:
    assert similarity("ＫＡＭＡＤＯ Ｋ－３", "kamado k-3") == 1.0
    assert similarity("abcdef", "uvwxyz") == 0.0
    assert similarity("", "") == 1.0
    assert 0.0 < similarity("KAMADO K-3のE03表示です", "Kurumi R7のE12表示です") < TEMPLATE_THRESHOLD


def test_pairwise_stats() -> None:
    mean, top = pairwise_stats(["abcd", "abcd", "wxyz"])
    assert top == 1.0
    assert mean == pytest.approx(1 / 3)


def test_one_pass_gives_what_the_definitions_give() -> None:
    """`max_and_most_similar` (the checks use it) skips intersections that cannot matter: it still gives the
    maximum and the list that comparing with every other reply gives, ties included."""
    import random

    from agent.similarity import _grams, max_and_most_similar

    def by_definition(mine: str, others: list[str], above: float) -> tuple[tuple[float, int | None], list]:
        g, best, at, found = _grams(mine), 0.0, None, []
        for i, other in enumerate(others if g else []):
            go = _grams(other)
            if go:
                s = len(g & go) / len(g | go)
                best, at = (s, i) if s > best else (best, at)
                found += [(s, i)] if s > above else []
        return (best, at), sorted(found, key=lambda x: (-x[0], x[1]))[:3]

    rng = random.Random(5)
    words = ["KAMADO", "E03", "の", "ふた", "を", "閉めて", "ください", "Sorry", "about", "the", "SoraBuds", "DM", "。"]

    def text() -> str:
        return "".join(rng.choice(words) for _ in range(rng.randrange(0, 12)))

    for _ in range(300):
        mine, others = text(), [text() for _ in range(rng.randrange(0, 30))]
        others += [mine] * rng.randrange(0, 2)
        for above in (0.0, 0.3, TEMPLATE_THRESHOLD, 0.9):
            assert max_and_most_similar(mine, others, above=above, k=3) == by_definition(mine, others, above)
