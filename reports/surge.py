"""Surge detection: is the count of posts in one time bucket well above what the recent past and the same time of
day a day and a week ago lead us to expect?

Method (docs/alerts.md):
- Posts are counted in fixed buckets (an hour by default) by when they were posted (when they were received if the
  network gave no time, or gave one after it), per *subject*: the brand (every kept post), each product of the
  organisation profile, each term (Japanese noun phrases and English words of the posts), and for the brand and
  each product their negative posts (the triage's sentiment).
- Two baselines, each a rate per bucket: the *recent* one, the mean of the previous 6 buckets, and the *seasonal*
  one, the median of the 3 buckets centred on the same time a day earlier and a week earlier (whichever is
  higher; the median, so that a burst at that time the day before does not hide one today). The expected
  count is the highest of the recent, the day-ago and the week-ago means, and at least 0.5: a spike must stand
  out against every baseline (a morning that is busy every day is not a surge; neither is a busy hour after a quiet
  one that matches yesterday).
- The test: the Poisson upper tail P(X >= count | expected). A sensitivity preset sets how rare that must be
  (3σ: 1.35e-3, 4σ: 3.17e-5, 5σ: 2.87e-7, one-sided normal tails), with a minimum count and a minimum ratio of
  count to expected (social volume is over-dispersed; the ratio keeps large, ordinary swings from alerting).
- A single post spreads fast when its reposts per hour since it was posted reach a threshold; a post first seen
  more than a day after it was posted is judged on its first day (reposts / 24 h, a lower bound of its peak rate).

Everything here is a pure function of counts, so the benchmark (benchmarks/alerts/) and the tests replay streams.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist, median
from typing import Literal, Protocol

Kind = Literal["volume", "negative", "spread"]
Scope = Literal["brand", "product", "term", "post"]

BRAND = "*"
"""The subject key of the brand: every kept post."""


@dataclass(frozen=True)
class Preset:
    name: str
    sigma: float
    min_count: int
    min_ratio: float

    @property
    def p_value(self) -> float:
        """The one-sided normal tail of `sigma`: how rare a count must be under the baseline to alert."""
        return NormalDist().cdf(-self.sigma)


PRESETS: dict[str, Preset] = {
    "3sigma": Preset("3sigma", 3.0, min_count=5, min_ratio=1.5),
    "4sigma": Preset("4sigma", 4.0, min_count=8, min_ratio=2.0),
    "5sigma": Preset("5sigma", 5.0, min_count=12, min_ratio=2.5),
}

RECENT_BUCKETS = 6
SEASONAL_HALF_WIDTH = 1  # the buckets either side of the same time a day/week earlier
BASELINE_FLOOR = 0.5
SPREAD_MIN_REPOSTS = 10
SPREAD_MAX_AGE = timedelta(hours=24)
SPREAD_MIN_AGE = timedelta(minutes=15)


@dataclass(frozen=True)
class Subject:
    kind: Kind
    scope: Scope
    key: str

    def label(self) -> str:
        what = {"brand": "all posts", "product": f"product {self.key}", "term": f"term 「{self.key}」"}.get(
            self.scope, f"post {self.key}"
        )
        return f"{'negative posts' if self.kind == 'negative' else 'volume'}: {what}"


@dataclass(frozen=True)
class Baseline:
    recent: float
    day: float
    week: float

    @property
    def expected(self) -> float:
        return max(self.recent, self.day, self.week, BASELINE_FLOOR)


@dataclass(frozen=True)
class Surge:
    subject: Subject
    bucket: int
    """The bucket's index (its start is `bucket * bucket_minutes` minutes after the epoch)."""
    count: int
    baseline: Baseline
    p_value: float
    score: float
    """The sigma-equivalent of `p_value` (how many standard deviations of a normal tail it is as rare as)."""


def poisson_sf(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean), summed over the tail in log space (exact for tiny tails)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if count <= mean:  # the upper tail is large: 1 - lower tail is accurate there
        lower = sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(count))
        return max(0.0, min(1.0, 1.0 - lower))
    total = 0.0
    k = count
    while True:
        term = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
        total += term
        if term < total * 1e-17 or term == 0.0:
            break
        k += 1
    return min(1.0, total)


def sigma_equivalent(p_value: float) -> float:
    """The z with the same one-sided normal tail as `p_value` (capped at 40 when the tail underflows)."""
    if p_value <= 0.0:
        return 40.0
    if p_value >= 0.5:
        return 0.0
    return min(40.0, -NormalDist().inv_cdf(p_value))


def bucket_of(at: datetime, bucket_minutes: int = 60) -> int:
    return int(at.timestamp() // (bucket_minutes * 60))


def bucket_start(bucket: int, bucket_minutes: int = 60) -> datetime:
    return datetime.fromtimestamp(bucket * bucket_minutes * 60, UTC)


def baseline_of(series: Mapping[int, int], bucket: int, bucket_minutes: int = 60) -> Baseline:
    """The recent and seasonal (day, week) mean counts per bucket before `bucket`."""
    per_day = 24 * 60 // bucket_minutes
    recent = sum(series.get(bucket - i, 0) for i in range(1, RECENT_BUCKETS + 1)) / RECENT_BUCKETS

    def around(centre: int) -> float:
        # the median, not the mean: a burst at that time the day before must not hide one today
        return float(median(series.get(centre + i, 0) for i in range(-SEASONAL_HALF_WIDTH, SEASONAL_HALF_WIDTH + 1)))

    return Baseline(recent=recent, day=around(bucket - per_day), week=around(bucket - 7 * per_day))


def check_bucket(
    series: Mapping[int, int], bucket: int, preset: Preset, subject: Subject, bucket_minutes: int = 60
) -> Surge | None:
    """The surge in `bucket` of `series` (counts per bucket index), or None."""
    count = series.get(bucket, 0)
    if count < preset.min_count:
        return None
    base = baseline_of(series, bucket, bucket_minutes)
    expected = base.expected
    if count < preset.min_ratio * expected:
        return None
    p = poisson_sf(count, expected)
    if p > preset.p_value:
        return None
    return Surge(subject, bucket, count, base, p, round(sigma_equivalent(p), 2))


def detect(
    counts: Mapping[Subject, Mapping[int, int]],
    buckets: Iterable[int],
    preset: Preset,
    bucket_minutes: int = 60,
) -> list[Surge]:
    """Every surge of every subject in the given buckets, oldest bucket first, strongest first within one."""
    wanted = sorted(set(buckets))
    out: list[Surge] = []
    for b in wanted:
        found = [s for subj, series in counts.items() if (s := check_bucket(series, b, preset, subj, bucket_minutes))]
        out.extend(sorted(found, key=_strongest_first))
    return out


_SCOPE_ORDER = {"brand": 0, "product": 1, "term": 2, "post": 3}


def _strongest_first(s: Surge) -> tuple[float, int, int, str]:
    """Higher score first; among equals the broader subject, and negative volume before all volume."""
    return (-s.score, _SCOPE_ORDER[s.subject.scope], 0 if s.subject.kind == "negative" else 1, s.subject.key)


def spread_rate(reposts: int, posted_at: datetime, seen_at: datetime) -> float:
    """Reposts per hour since posting, as seen at `seen_at` (a post seen after a day: over its first day)."""
    age = min(max(seen_at - posted_at, SPREAD_MIN_AGE), SPREAD_MAX_AGE)
    return reposts / (age.total_seconds() / 3600)


def spreads_fast(reposts: int, posted_at: datetime, seen_at: datetime, threshold_per_hour: float) -> bool:
    return reposts >= SPREAD_MIN_REPOSTS and spread_rate(reposts, posted_at, seen_at) >= threshold_per_hour


# -- terms ------------------------------------------------------------------------------------------------------

_EN_STOP_TEXT = (
    "a an and are as at be been but by can could did do does for from had has have how i if in into is it its "
    "me my of on or our please should so than that the their them then there these they this to us was we "
    "were what when where which who why will with would you your just not no get got after before still again "
    "now today all any some one out up about very really can't don't won't isn't doesn't didn't it's i'm i've "
    "anyone else since every time right"
)
_EN_STOP = frozenset(_EN_STOP_TEXT.split())
_HASHTAG = re.compile(r"[#＃]([^\s#＃、。,.!?！？]{2,40})")
_ASCII_WORD = re.compile(r"[a-z][a-z0-9'-]{2,}")


def normalise_term(term: str) -> str:
    return unicodedata.normalize("NFKC", term).strip().casefold()


def terms_of(text: str, tokenizer: NounPhrases, exclude: frozenset[str] = frozenset()) -> set[str]:
    """The terms a post is about: Japanese noun phrases (two characters or more) and English words (three letters
    or more, no stop words), normalised; `exclude` (the brand's and products' names) left out."""
    out: set[str] = {normalise_term(tag) for tag in _HASHTAG.findall(text)}
    for phrase in tokenizer.noun_phrases(text):
        p = normalise_term(phrase)
        if p.isascii():
            out.update(w for w in _ASCII_WORD.findall(p) if w not in _EN_STOP)
        elif len(p) >= 2:
            out.add(p)
    return {t for t in out if t not in exclude}


class NounPhrases(Protocol):
    """What `terms_of` needs of `knowledge.lexical.Tokenizer`."""

    def noun_phrases(self, text: str) -> list[str]: ...


def top_terms(
    terms_now: Sequence[Iterable[str]], terms_before: Sequence[Iterable[str]], n: int = 5
) -> list[dict[str, object]]:
    """The terms of the posts in a window (`terms_now`, one set a post) that stand out most against the posts of
    the baseline window (`terms_before`): by excess over the scaled baseline count, then count; with both counts."""
    now = Counter(t for terms in terms_now for t in terms)
    before = Counter(t for terms in terms_before for t in terms)
    scale = len(terms_now) / max(1, len(terms_before))
    ranked = sorted(now.items(), key=lambda kv: (-(kv[1] - before.get(kv[0], 0) * scale), -kv[1], kv[0]))
    return [{"term": t, "count": c, "baseline": before.get(t, 0)} for t, c in ranked[:n] if c >= 2]
