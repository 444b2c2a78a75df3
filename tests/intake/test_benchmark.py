"""The triage benchmark's metrics and data file."""

from __future__ import annotations

import pytest

from benchmarks.triage.__main__ import accuracy, load, macro_f1, precision_recall, run


def test_metrics() -> None:
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "a"]
    assert accuracy(gold, pred) == 0.5
    # F1: a = 2/(2+1+1) = 0.5, b = 2/(2+1+0) = 2/3, c = 0
    assert macro_f1(gold, pred) == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert precision_recall([True, True, False], [True, False, False], True) == (1.0, 0.5)
    assert precision_recall([True, True, False], [True, False, False], False) == (0.5, 1.0)


def test_labelled_set_is_large_and_split() -> None:
    rows = load(split="all")
    assert len(rows) >= 200
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert {r["labels"]["language"] for r in rows} >= {"ja", "en"}
    assert len(load(split="dev")) + len(load(split="test")) == len(rows)


def test_rules_beat_majority_baseline_on_macro_f1() -> None:
    report = run(split="test", repeat=1)
    for field in ("sentiment", "intent", "urgency"):
        m = report["fields"][field]
        assert m["macro_f1"] > m["baseline_macro_f1"]
    assert report["watch"]["keep_recall"] > 0.9
