"""The char-3-gram Jaccard used by the non-template check."""

from __future__ import annotations

import pytest

from agent.drafting import TEMPLATE_THRESHOLD, pairwise_stats, similarity


def test_similarity_bounds_and_normalisation() -> None:
    assert similarity("ＫＡＭＡＤＯ Ｋ－３", "kamado k-3") == 1.0
    assert similarity("abcdef", "uvwxyz") == 0.0
    assert similarity("", "") == 1.0
    assert 0.0 < similarity("KAMADO K-3のE03表示です", "Kurumi R7のE12表示です") < TEMPLATE_THRESHOLD


def test_pairwise_stats() -> None:
    mean, top = pairwise_stats(["abcd", "abcd", "wxyz"])
    assert top == 1.0
    assert mean == pytest.approx(1 / 3)


def test_one_pass_gives_what_the_two_passes_give() -> None:
    """`max_and_most_similar` is `max_similarity` and `most_similar` computed together (the checks use it)."""
    import random

    from agent.drafting.similarity import max_and_most_similar, max_similarity, most_similar

    rng = random.Random(5)
    words = ["KAMADO", "E03", "の", "ふた", "を", "閉めて", "ください", "Sorry", "about", "the", "SoraBuds", "DM", "。"]

    def text() -> str:
        return "".join(rng.choice(words) for _ in range(rng.randrange(0, 12)))

    for _ in range(300):
        mine, others = text(), [text() for _ in range(rng.randrange(0, 30))]
        others += [mine] * rng.randrange(0, 2)
        for above in (0.0, 0.3, TEMPLATE_THRESHOLD, 0.9):
            assert max_and_most_similar(mine, others, above=above, k=3) == (
                max_similarity(mine, others),
                most_similar(mine, others, above=above, k=3),
            )
