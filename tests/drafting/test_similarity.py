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
