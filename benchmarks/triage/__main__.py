"""Print accuracy and macro-F1 of rule triage vs a majority baseline, watch-rule precision/recall, speed."""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.intake.lexicon import default_lexicon
from agent.intake.normalise import detect_language
from agent.intake.triage import triage
from agent.intake.watch import compile_rules, load_rules
from agent.schemas import PostIn

DEMO_WATCH_RULES = Path(__file__).resolve().parents[2] / "demo" / "watch_rules.yaml"

DATA = Path(__file__).with_name("posts.jsonl")
# The labelled posts' created_at values are relative to this moment (velocity must not drift with the clock).
NOW = datetime.fromisoformat("2026-11-20T12:00:00+09:00")
FIELDS = ("language", "sentiment", "intent", "urgency")


def load(path: Path = DATA, split: str = "test") -> list[dict[str, Any]]:
    """The labelled rows of one split ('dev', 'test' or 'all')."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def accuracy(gold: Sequence[object], pred: Sequence[object]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[object], pred: Sequence[object]) -> float:
    """Mean F1 over the classes that occur in the gold labels (a class never predicted scores 0)."""
    scores = []
    for label in sorted(set(gold), key=str):
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def precision_recall(gold: Sequence[bool], pred: Sequence[bool], positive: bool) -> tuple[float, float]:
    tp = sum(g == positive and p == positive for g, p in zip(gold, pred, strict=True))
    predicted = sum(p == positive for p in pred)
    actual = sum(g == positive for g in gold)
    return (tp / predicted if predicted else 0.0, tp / actual if actual else 0.0)


def run(split: str = "test", repeat: int = 20) -> dict[str, Any]:
    """Score one split; `repeat` passes over all posts time the triage."""
    rows = load(split=split)
    posts = [PostIn.model_validate({k: v for k, v in r.items() if k not in ("labels", "split")}) for r in rows]
    matcher = compile_rules(load_rules(DEMO_WATCH_RULES))
    default_lexicon()  # compile outside the timed loop
    detect_language("warm up the language model")
    results = [triage(p, now=NOW) for p in posts]
    decisions = [matcher.evaluate(p.text) for p in posts]
    report: dict[str, Any] = {"split": split, "posts": len(rows), "fields": {}}
    for field in FIELDS:
        gold = [r["labels"][field] for r in rows]
        pred = [getattr(res, field) for res in results]
        majority = Counter(gold).most_common(1)[0][0]
        base = [majority] * len(gold)
        report["fields"][field] = {
            "accuracy": accuracy(gold, pred),
            "macro_f1": macro_f1(gold, pred),
            "baseline": majority,
            "baseline_accuracy": accuracy(gold, base),
            "baseline_macro_f1": macro_f1(gold, base),
        }
    keep_gold = [bool(r["labels"]["keep"]) for r in rows]
    keep_pred = [d.keep for d in decisions]
    kp, kr = precision_recall(keep_gold, keep_pred, True)
    dp, dr = precision_recall(keep_gold, keep_pred, False)
    report["watch"] = {
        "accuracy": accuracy(keep_gold, keep_pred),
        "keep_precision": kp,
        "keep_recall": kr,
        "drop_precision": dp,
        "drop_recall": dr,
        "gold_keep": sum(keep_gold),
        "gold_drop": len(keep_gold) - sum(keep_gold),
    }
    all_posts = [
        PostIn.model_validate({k: v for k, v in r.items() if k not in ("labels", "split")}) for r in load(split="all")
    ]
    start = time.perf_counter()
    for _ in range(repeat):
        for post in all_posts:
            triage(post, now=NOW)
    triage_rate = repeat * len(all_posts) / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(repeat):
        for post in all_posts:
            matcher.evaluate(post.text)
    watch_rate = repeat * len(all_posts) / (time.perf_counter() - start)
    report["speed"] = {"triage_posts_per_s": triage_rate, "watch_posts_per_s": watch_rate}
    return report


def _print(report: dict[str, Any]) -> None:
    print(
        f"triage benchmark — split {report['split']}, {report['posts']} posts (labels: benchmarks/triage/posts.jsonl)"
    )
    print(f"{'field':<10} {'accuracy':>9} {'macro-F1':>9}   {'majority baseline':<28} {'acc':>6} {'mF1':>6}")
    for field, m in report["fields"].items():
        print(
            f"{field:<10} {m['accuracy']:>9.3f} {m['macro_f1']:>9.3f}   {m['baseline']!s:<28} "
            f"{m['baseline_accuracy']:>6.3f} {m['baseline_macro_f1']:>6.3f}"
        )
    w = report["watch"]
    print(
        f"watch rules: accuracy {w['accuracy']:.3f}; keep precision {w['keep_precision']:.3f} recall "
        f"{w['keep_recall']:.3f}; drop precision {w['drop_precision']:.3f} recall {w['drop_recall']:.3f} "
        f"(gold: {w['gold_keep']} keep, {w['gold_drop']} drop)"
    )
    s = report["speed"]
    print(f"speed: triage {s['triage_posts_per_s']:,.0f} posts/s; watch rules {s['watch_posts_per_s']:,.0f} posts/s")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.triage", description=__doc__)
    parser.add_argument("--split", choices=("test", "dev", "all"), default="test")
    parser.add_argument("--repeat", type=int, default=20, help="passes over all posts for the speed figure")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(split=args.split, repeat=args.repeat)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print(report)


if __name__ == "__main__":
    main()
