"""Build the triage evaluation set from local copies of its public sources, and show how its rows were chosen.

The repository keeps only what this project made: the ids, the labels and a SHA-256 of each text
(`labels/ja.jsonl`, `labels/en.jsonl`). The texts stay in their public sources; `build` joins the two and
writes the full rows, verified against the hashes, into a git-ignored folder (see README.md):

    python -m benchmarks.triage.eval.sample build --goemotions-dir GO --quasi-reviews-dir QJR [--out DIR]
    python -m benchmarks.triage.eval.sample check --goemotions-dir GO --quasi-reviews-dir QJR

`GO` is a copy of monologg/GoEmotions-pytorch and `QJR` one of megagonlabs/quasi_japanese_reviews: either a
clone (a working tree, checked out at the commit below) or a bare git directory, read at the commit below.
`check` draws the seeded samples again (seed 17) and verifies that the labels files hold exactly those items:
it documents how the ids were chosen.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LABELS_DIR = HERE / "labels"
DATA_DIR = HERE / "data"
SEED = 17
EN_SIZE = 450
JA_SIZE = 560
# The commits the set was drawn from; a bare git directory is read at these.
GOEMOTIONS_COMMIT = "b75f9d3a8b76bc1060687925b04ca98a1b8ea66b"
QUASI_REVIEWS_COMMIT = "2a69131592b85d30b33ebb99860b101e9f3c8d27"
GOEMOTIONS_SPLITS = "data/original"
# A Japanese id names its file and line: qjr-hotel-00004-02 is line index 2 (from 0) of
# data/text/hotel/quasi_japanese_reviwes.hotel.00004.txt (the source spells "reviwes" so).
JA_ID = re.compile(r"qjr-(?P<kind>hotel|spot)-(?P<number>\d{5})-(?P<line>\d{2,})")
EN_ID = re.compile(r"goemotions-(?P<comment>[0-9a-z]+)")
SHA256 = re.compile(r"[0-9a-f]{64}")

# GoEmotions' emotions in id order, and the paper's grouping of them into sentiments
# (google-research goemotions/data/sentiment_mapping.json). "ambiguous" rows are left out.
EMOTIONS = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
]
POSITIVE = {
    "amusement",
    "excitement",
    "joy",
    "love",
    "desire",
    "optimism",
    "caring",
    "pride",
    "admiration",
    "gratitude",
    "relief",
    "approval",
}
NEGATIVE = {
    "fear",
    "nervousness",
    "remorse",
    "embarrassment",
    "disappointment",
    "sadness",
    "grief",
    "disgust",
    "anger",
    "annoyance",
    "disapproval",
}
AMBIGUOUS = {"realization", "surprise", "curiosity", "confusion"}


def emotion_sentiment(emotion: str) -> str:
    if emotion in POSITIVE:
        return "positive"
    if emotion in NEGATIVE:
        return "negative"
    if emotion in AMBIGUOUS:
        return "ambiguous"
    return "neutral"


class BuildError(Exception):
    """The sources do not hold what the labels files describe (a missing item, a changed text or label)."""

    def __init__(self, problems: Sequence[str]) -> None:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s):\n{shown}{more}")
        self.problems = list(problems)


class Source:
    """The files of one public repository: a working tree read as it is, or a bare git directory read at `commit`."""

    def __init__(self, root: Path, commit: str) -> None:
        self.root = root
        self.commit = commit
        self.is_git = (root / "HEAD").is_file() and (root / "objects").is_dir()
        if not self.is_git and not root.is_dir():
            raise BuildError([f"{root}: no such folder"])

    def _git(self, *args: str) -> str:
        git = shutil.which("git")
        if git is None:
            raise BuildError([f"{self.root} is a git directory, and git is not installed"])
        done = subprocess.run(  # noqa: S603 - git with our own arguments, no shell
            [git, f"--git-dir={self.root}", *args], capture_output=True, text=True, encoding="utf-8", check=False
        )
        if done.returncode != 0:
            raise FileNotFoundError(done.stderr.strip())
        return done.stdout

    def exists(self, path: str) -> bool:
        if self.is_git:
            try:
                self._git("cat-file", "-e", f"{self.commit}:{path}")
            except FileNotFoundError:
                return False
            return True
        return (self.root / path).is_file()

    def read(self, path: str) -> str:
        """The text of one file; FileNotFoundError when it is not there."""
        if self.is_git:
            return self._git("show", f"{self.commit}:{path}")
        return (self.root / path).read_text(encoding="utf-8")

    def files(self, folder: str) -> list[str]:
        """Paths of every file under `folder`, relative to the root, sorted."""
        if self.is_git:
            listed = self._git("ls-tree", "-r", "--name-only", self.commit, "--", folder).splitlines()
            return sorted(listed)
        return sorted(p.relative_to(self.root).as_posix() for p in (self.root / folder).rglob("*") if p.is_file())


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ja_source_path(item_id: str) -> tuple[str, int]:
    """The file and the line index (from 0) a Japanese id points at."""
    match = JA_ID.fullmatch(item_id)
    if match is None:
        raise ValueError(f"not a Quasi Japanese Reviews id: {item_id!r}")
    kind, number = match["kind"], match["number"]
    return f"data/text/{kind}/quasi_japanese_reviwes.{kind}.{number}.txt", int(match["line"])


def _goemotions_tsv(source: Source, split: str) -> str:
    """One split of GoEmotions: `data/original/<split>.tsv` of a clone, or `<split>.tsv` of a folder holding it."""
    path = f"{GOEMOTIONS_SPLITS}/{split}.tsv"
    if not source.is_git and not source.exists(path) and source.exists(f"{split}.tsv"):
        path = f"{split}.tsv"
    try:
        return source.read(path)
    except FileNotFoundError:
        raise BuildError([f"{source.root}: no {path}"]) from None


def goemotions_rows(tsv: str) -> dict[str, tuple[str, list[str]]]:
    """Comment id → (text, emotion names) of one GoEmotions split (text, comma-separated emotion ids, comment id)."""
    rows: dict[str, tuple[str, list[str]]] = {}
    for line in tsv.splitlines():
        text, ids, comment_id = line.split("\t")
        rows[comment_id] = (text.strip(), [EMOTIONS[int(i)] for i in ids.split(",")])
    return rows


def load_labels(language: str, directory: Path = LABELS_DIR) -> list[dict[str, Any]]:
    """The committed rows of one language: ids, labels and text hashes, no text."""
    path = directory / f"{language}.jsonl"
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


def _verify(row: dict[str, Any], text: str, problems: list[str]) -> bool:
    if text_sha256(text) != row["text_sha256"]:
        problems.append(f"{row['id']}: the source text differs from the one labelled (SHA-256 mismatch)")
        return False
    return True


def join_japanese(labels: Iterable[dict[str, Any]], source: Source) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    cache: dict[str, list[str]] = {}
    for row in labels:
        try:
            path, index = ja_source_path(row["id"])
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if path not in cache:
            try:
                cache[path] = source.read(path).splitlines()
            except FileNotFoundError:
                cache[path] = []
        lines = cache[path]
        if index >= len(lines):
            problems.append(f"{row['id']}: {path} has no line {index} in {source.root}")
            continue
        text = lines[index].strip()
        if _verify(row, text, problems):
            rows.append(with_text(row, text))
    if problems:
        raise BuildError(problems)
    return rows


def join_english(labels: Iterable[dict[str, Any]], source: Source) -> list[dict[str, Any]]:
    comments = goemotions_rows(_goemotions_tsv(source, "test"))
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for row in labels:
        match = EN_ID.fullmatch(row["id"])
        if match is None or match["comment"] not in comments:
            problems.append(f"{row['id']}: no such comment in the GoEmotions test split")
            continue
        text, emotions = comments[match["comment"]]
        if row.get("source_labels") != emotions:
            problems.append(
                f"{row['id']}: the source's emotions are {emotions}, the labels file has {row.get('source_labels')}"
            )
            continue
        if _verify(row, text, problems):
            rows.append(with_text(row, text))
    if problems:
        raise BuildError(problems)
    return rows


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def build(goemotions: Source, quasi_reviews: Source, out: Path, labels_dir: Path = LABELS_DIR) -> dict[str, int]:
    """Join the labels with the source texts, verify every hash, and write `ja.jsonl` and `en.jsonl` into `out`.

    Nothing is written unless every row of both languages verifies."""
    built = {
        "ja": join_japanese(load_labels("ja", labels_dir), quasi_reviews),
        "en": join_english(load_labels("en", labels_dir), goemotions),
    }
    out.mkdir(parents=True, exist_ok=True)
    for language, rows in built.items():
        (out / f"{language}.jsonl").write_text(_jsonl(rows), encoding="utf-8")
    return {language: len(rows) for language, rows in built.items()}


# How the rows were chosen (seed 17). `check` runs this again against the labels files.


def _tsv_texts(tsv: str) -> set[str]:
    return {line.split("\t")[0].strip() for line in tsv.splitlines()}


def sample_english(goemotions: Source) -> list[dict[str, Any]]:
    """Test comments whose emotions all fall in one of positive/negative/neutral, at least three words, no repeats,
    and whose text is in neither the train nor the dev split (a triage model may be trained on those)."""
    candidates: list[dict[str, Any]] = []
    seen = _tsv_texts(_goemotions_tsv(goemotions, "train")) | _tsv_texts(_goemotions_tsv(goemotions, "dev"))
    for line in _goemotions_tsv(goemotions, "test").splitlines():
        text, ids, comment_id = line.split("\t")
        emotions = [EMOTIONS[int(i)] for i in ids.split(",")]
        groups = {emotion_sentiment(e) for e in emotions}
        text = text.strip()
        if len(groups) != 1 or "ambiguous" in groups or len(text.split()) < 3 or text in seen:
            continue
        seen.add(text)
        candidates.append(
            {
                "id": f"goemotions-{comment_id}",
                "text": text,
                "labels": {"language": "en", "sentiment": groups.pop()},
                "source": "goemotions",
                "label_origin": "source",
                "source_labels": emotions,
            }
        )
    picked = random.Random(SEED).sample(candidates, EN_SIZE)
    return sorted(picked, key=lambda r: str(r["id"]))


def japanese_sentences(quasi_reviews: Source) -> list[tuple[str, str]]:
    """Every distinct review sentence (one a line in data/text/{hotel,spot}/*.txt) of six characters or more."""
    sentences: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in quasi_reviews.files("data/text"):
        parts = path.split("/")
        if len(parts) != 4 or not parts[3].endswith(".txt"):
            continue
        kind, number = parts[2], parts[3].rsplit(".", 2)[-2]
        for i, line in enumerate(quasi_reviews.read(path).splitlines()):
            sentence = line.strip()
            if len(sentence) < 6 or sentence in seen:
                continue
            seen.add(sentence)
            sentences.append((f"qjr-{kind}-{number}-{i:02d}", sentence))
    return sentences


def sample_japanese(quasi_reviews: Source) -> list[tuple[str, str]]:
    return sorted(random.Random(SEED).sample(japanese_sentences(quasi_reviews), JA_SIZE))


def check(goemotions: Source, quasi_reviews: Source, labels_dir: Path = LABELS_DIR) -> None:
    """Verify that the labels files hold exactly the seeded samples (ids, text hashes, English labels)."""
    problems: list[str] = []
    english = [
        {**{k: v for k, v in r.items() if k != "text"}, "text_sha256": text_sha256(r["text"])}
        for r in sample_english(goemotions)
    ]
    if load_labels("en", labels_dir) != english:
        problems.append("labels/en.jsonl differs from the seeded sample of GoEmotions")
    japanese = [(id_, text_sha256(text)) for id_, text in sample_japanese(quasi_reviews)]
    if [(r["id"], r["text_sha256"]) for r in load_labels("ja", labels_dir)] != japanese:
        problems.append("labels/ja.jsonl differs from the seeded sample of Quasi Japanese Reviews")
    if problems:
        raise BuildError(problems)


BUILD_HINT = (
    "build it from the public sources (commands in benchmarks/triage/eval/README.md):\n"
    "  python -m benchmarks.triage.eval.sample build --goemotions-dir GoEmotions-pytorch "
    "--quasi-reviews-dir quasi_japanese_reviews"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.triage.eval.sample",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="join labels and source texts, verify, write the full rows")
    check_parser = commands.add_parser("check", help="verify the labels files hold exactly the seeded samples")
    for sub in (build_parser, check_parser):
        sub.add_argument("--goemotions-dir", type=Path, required=True, help="monologg/GoEmotions-pytorch copy")
        sub.add_argument("--quasi-reviews-dir", type=Path, required=True, help="quasi_japanese_reviews copy")
        sub.add_argument("--labels-dir", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    build_parser.add_argument("--out", type=Path, default=DATA_DIR, help="where ja.jsonl and en.jsonl go")
    args = parser.parse_args(argv)
    try:
        goemotions = Source(args.goemotions_dir, GOEMOTIONS_COMMIT)
        quasi_reviews = Source(args.quasi_reviews_dir, QUASI_REVIEWS_COMMIT)
        if args.command == "build":
            counts = build(goemotions, quasi_reviews, args.out, args.labels_dir)
            print(f"ok: wrote {counts['ja']} ja and {counts['en']} en rows to {args.out}, every text verified")
        else:
            check(goemotions, quasi_reviews, args.labels_dir)
            print("ok: labels/ja.jsonl and labels/en.jsonl hold exactly the seeded samples")
    except BuildError as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
