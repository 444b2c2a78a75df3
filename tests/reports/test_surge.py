"""Surge detection on deterministic synthetic counts: the Poisson test, the two baselines, the presets."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from reports.surge import (
    PRESETS,
    Subject,
    baseline_of,
    bucket_of,
    bucket_start,
    check_bucket,
    detect,
    poisson_sf,
    sigma_equivalent,
    spread_rate,
    spreads_fast,
    terms_of,
)

BRAND = Subject("volume", "brand", "*")
DAY = 24


def diurnal(days: int, peak: int = 6, night: int = 1) -> dict[int, int]:
    """Hourly counts: `night` posts an hour from 0-7, `peak` from 8-21, half-way in between; bucket 0 is midnight."""
    out = {}
    for h in range(days * DAY):
        hour = h % DAY
        out[h] = night if hour < 8 else peak if 10 <= hour < 21 else (peak + night) // 2
    return out


def test_poisson_tail_matches_the_sum_of_the_pmf() -> None:
    for mean in (0.5, 3.0, 12.5):
        for count in (0, 1, 4, 20, 40):
            expected = 1 - sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(count))
            assert poisson_sf(count, mean) == pytest.approx(max(expected, 0.0), rel=1e-9, abs=1e-15)
    # a tiny tail stays exact where 1 - cdf would round to 0
    assert 0 < poisson_sf(60, 1.0) < 1e-80
    assert sigma_equivalent(poisson_sf(60, 1.0)) == 40.0 or sigma_equivalent(poisson_sf(60, 1.0)) > 15


def test_presets_get_stricter() -> None:
    p3, p4, p5 = PRESETS["3sigma"], PRESETS["4sigma"], PRESETS["5sigma"]
    assert p3.p_value == pytest.approx(1.35e-3, rel=0.01)
    assert p4.p_value == pytest.approx(3.17e-5, rel=0.01)
    assert p5.p_value == pytest.approx(2.87e-7, rel=0.01)
    assert p3.min_count < p4.min_count < p5.min_count


def test_a_burst_is_detected_and_ordinary_days_are_not() -> None:
    series = diurnal(9)
    burst = 8 * DAY + 14  # day 8, 14:00
    series[burst] += 30
    found = detect({BRAND: series}, range(7 * DAY, 9 * DAY), PRESETS["4sigma"])
    assert [(s.bucket, s.count) for s in found] == [(burst, 36)]
    assert found[0].baseline.expected == pytest.approx(6.0)  # the recent mean, the day and the week all say 6
    assert found[0].score > 4


def test_a_small_burst_needs_a_sensitive_preset() -> None:
    series = diurnal(9)
    burst = 8 * DAY + 14
    series[burst] += 11  # 17 where 6 are expected: 3.6 sigma
    assert check_bucket(series, burst, PRESETS["3sigma"], BRAND) is not None
    assert check_bucket(series, burst, PRESETS["4sigma"], BRAND) is None
    series[burst] += 4  # 21: 4.7 sigma
    assert check_bucket(series, burst, PRESETS["4sigma"], BRAND) is not None
    assert check_bucket(series, burst, PRESETS["5sigma"], BRAND) is None


def test_a_quiet_day_and_the_normal_day_after_it_raise_nothing() -> None:
    series = diurnal(10)
    for h in range(8 * DAY, 9 * DAY):  # day 8 is almost silent (a holiday)
        series[h] = 0 if h % DAY < 8 else 1
    for name in PRESETS:
        assert detect({BRAND: series}, range(7 * DAY, 10 * DAY), PRESETS[name]) == [], name


def test_the_morning_rise_is_not_a_surge_because_of_the_seasonal_baseline() -> None:
    """9:00 after a night of 1 post an hour: the recent baseline alone would flag it; yesterday's 9:00 does not."""
    series = diurnal(9, peak=12, night=0)
    morning = 8 * DAY + 10
    base = baseline_of(series, morning)
    assert base.recent < 3 and base.day == 12  # median of 9:00-11:00 the day before: 6, 12, 12
    assert check_bucket(series, morning, PRESETS["3sigma"], BRAND) is None
    # without the day and week before, the same hour would be flagged: the second baseline is what stops it
    fresh = {h: c for h, c in series.items() if h >= 8 * DAY}
    assert check_bucket(fresh, morning, PRESETS["3sigma"], BRAND) is not None


def test_minimum_count_holds_even_when_the_baseline_is_zero() -> None:
    series = {100: 4}
    assert check_bucket(series, 100, PRESETS["3sigma"], BRAND) is None  # 4 < 5
    series[100] = 5
    assert check_bucket(series, 100, PRESETS["3sigma"], BRAND) is not None
    assert check_bucket(series, 100, PRESETS["4sigma"], BRAND) is None  # 5 < 8


def test_buckets_and_their_start() -> None:
    at = datetime(2026, 11, 20, 10, 42, tzinfo=UTC)
    b = bucket_of(at)
    assert bucket_start(b) == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert bucket_of(at, 15) * 15 * 60 == int(datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp())


def test_spread_rate_uses_the_first_day_for_a_post_seen_late() -> None:
    posted = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert spread_rate(120, posted, posted + timedelta(hours=2)) == 60
    assert spread_rate(720, posted, posted + timedelta(days=10)) == 30  # 720 reposts over its first 24 h
    assert spread_rate(10, posted, posted + timedelta(minutes=1)) == 40  # at least 15 minutes old
    assert spreads_fast(120, posted, posted + timedelta(hours=2), 50)
    assert not spreads_fast(120, posted, posted + timedelta(hours=3), 50)
    assert not spreads_fast(9, posted, posted + timedelta(minutes=5), 1)  # too few reposts to say anything


class _Phrases:
    def noun_phrases(self, text: str) -> list[str]:
        from knowledge.lexical import Tokenizer

        return Tokenizer().noun_phrases(text)


def test_terms_in_japanese_and_english_leave_out_names() -> None:
    tok = _Phrases()
    ja = terms_of("Kumoアプリ、アップデートしたらログイン画面が出ない #不具合", tok, frozenset({"kumoアプリ"}))
    assert {"アップデート", "ログイン画面", "不具合"} <= ja
    assert "kumoアプリ" not in ja
    en = terms_of("The Kumo app crashes after the update", tok, frozenset({"kumo"}))
    assert {"app", "crashes", "update"} <= en
    assert not en & {"the", "after", "kumo"}


def test_the_benchmark_runs_and_the_default_preset_catches_big_bursts_without_false_alarms(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from benchmarks.alerts.__main__ import main

    assert main(["--days", "40", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bursts"] >= 10 and out["posts"] > 4000
    default = out["presets"]["4sigma"]
    assert default["false_alarms"] == 0
    for size in ("40", "80"):
        row = default["per_size"][size]
        assert row["flagged"] == row["bursts"] > 0 and row["median_delay_min"] <= 30
    # stricter presets never flag more
    flagged = {
        p: sum(r["flagged"] for r in out["presets"][p]["per_size"].values()) for p in ("3sigma", "4sigma", "5sigma")
    }
    assert flagged["3sigma"] >= flagged["4sigma"] >= flagged["5sigma"]
