"""The surge-detection benchmark: a synthetic stream replayed through the detector the alert scan uses.

    python -m benchmarks.alerts [--days 120] [--rate 6] [--seed 7] [--scan-minutes 10] [--json]

The stream (seeded, so every run prints the same figures): `--days` days of background posts arriving as a
Poisson process whose rate follows the hour of day (night 0.15×, morning and evening rises, peak 1.6× the mean
`--rate` per hour) and the day of the week (weekends 0.7×); a few quiet days (a holiday: 0.15× all day);
and, after a week of warm-up, bursts of 5, 10, 20, 40 and 80 extra posts, each spread over 30 minutes
(exponential arrivals), starting at a random minute of the day, at least 12 hours apart (so one burst's cool-down
never hides the next).

The replay: every `--scan-minutes` the scan looks at the current hour (so far) and the hour before, as the
`alerts_scan` job does, with each preset (3σ/4σ/5σ) and the 6-hour cool-down. It prints, per preset and burst
size, how many bursts were flagged and the detection delay (from the burst's first post to the scan that flagged
it: median and 90th percentile, minutes); and the false alarms (alerts not within an hour after a burst): in
total, per week, and on quiet days or the day after one.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from bisect import bisect_left
from collections import ChainMap
from dataclasses import dataclass

from reports.surge import PRESETS, Subject, check_bucket

HOUR = 3600
DAY = 24 * HOUR
SIZES = (5, 10, 20, 40, 80)
BURST_SECONDS = 30 * 60
COOLDOWN = 6 * HOUR
BRAND = Subject("volume", "brand", "*")


def diurnal(hour: float) -> float:
    """The background rate's shape over a day (mean about 1)."""
    if hour < 6:
        return 0.15
    if hour < 9:
        return 0.15 + (hour - 6) / 3 * 1.2
    if hour < 12:
        return 1.35
    if hour < 18:
        return 1.2
    if hour < 23:
        return 1.6
    return 0.6


@dataclass
class Burst:
    size: int
    start: float
    end: float


def stream(days: int, rate: float, seed: int) -> tuple[list[float], list[Burst], set[int]]:
    rng = random.Random(seed)
    quiet_days = {d for d in range(8, days) if rng.random() < 0.08}
    times: list[float] = []
    # background: thinning of a Poisson process with the maximal rate
    peak = rate * 1.6
    t = 0.0
    while True:
        t += rng.expovariate(peak / HOUR)
        if t >= days * DAY:
            break
        day = int(t // DAY)
        level = diurnal((t % DAY) / HOUR) * (0.7 if day % 7 in (5, 6) else 1.0)
        if day in quiet_days:
            level = 0.15
        if rng.random() < rate * level / peak:
            times.append(t)
    bursts: list[Burst] = []
    sizes = list(SIZES) * max(1, (days - 8) * 2 // (len(SIZES) * 3))  # about one burst every 1.5 days
    rng.shuffle(sizes)
    start = 8 * DAY + rng.uniform(0, DAY)
    for size in sizes:
        if start + BURST_SECONDS >= days * DAY:
            break
        arrivals = sorted(start + min(rng.expovariate(3 / BURST_SECONDS), BURST_SECONDS) for _ in range(size))
        bursts.append(Burst(size, arrivals[0], arrivals[-1]))
        times.extend(arrivals)
        start += 12 * HOUR + rng.uniform(0, 30 * HOUR)
    times.sort()
    return times, bursts, quiet_days


def replay(times: list[float], days: int, preset_name: str, scan_minutes: int) -> list[tuple[float, int, int]]:
    """(scan time, bucket, count) of each alert raised."""
    preset = PRESETS[preset_name]
    full: dict[int, int] = {}
    for t in times:
        b = int(t // HOUR)
        full[b] = full.get(b, 0) + 1
    alerts: list[tuple[float, int, int]] = []
    alerted: set[int] = set()
    last_alert = -math.inf
    step = scan_minutes * 60
    now = 8 * DAY  # a week of history first, as a running installation has
    while now <= days * DAY:
        current = int(now // HOUR)
        for b in (current - 1, current):
            if b in alerted:
                continue
            count = bisect_left(times, min(now, (b + 1) * HOUR)) - bisect_left(times, b * HOUR)
            series = ChainMap({b: count}, full)
            found = check_bucket(series, b, preset, BRAND)
            if found is None:
                continue
            alerted.add(b)
            if b * HOUR - last_alert < COOLDOWN:
                continue  # suppressed: a repeat inside the cool-down
            last_alert = b * HOUR
            alerts.append((now, b, count))
        now += step
    return alerts


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def evaluate(
    alerts: list[tuple[float, int, int]], bursts: list[Burst], quiet_days: set[int], days: int
) -> dict[str, object]:
    per_size: dict[int, dict[str, object]] = {}
    matched: set[int] = set()
    for size in SIZES:
        delays: list[float] = []
        of_size = [b for b in bursts if b.size == size]
        for burst in of_size:
            hit = next(
                (
                    (i, a)
                    for i, a in enumerate(alerts)
                    if burst.start <= a[0] <= burst.end + HOUR and (a[1] + 1) * HOUR > burst.start
                ),
                None,
            )
            if hit is not None:
                matched.add(hit[0])
                delays.append((hit[1][0] - burst.start) / 60)
        per_size[size] = {
            "bursts": len(of_size),
            "flagged": len(delays),
            "median_delay_min": percentile(delays, 0.5),
            "p90_delay_min": percentile(delays, 0.9),
        }
    false = [a for i, a in enumerate(alerts) if i not in matched]
    # an alert during a burst but matched to another one is not false; only those far from every burst are
    false = [a for a in false if not any(b.start - HOUR <= a[0] <= b.end + HOUR for b in bursts)]
    near_quiet = [a for a in false if int(a[1] * HOUR // DAY) in quiet_days | {d + 1 for d in quiet_days}]
    weeks = (days - 8) / 7
    return {
        "per_size": per_size,
        "false_alarms": len(false),
        "false_alarms_per_week": round(len(false) / weeks, 2) if weeks > 0 else None,
        "false_alarms_quiet_or_after": len(near_quiet),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alerts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--rate", type=float, default=6.0, help="mean background posts an hour")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scan-minutes", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.days < 10:
        parser.error("--days must be at least 10 (a week of history, then bursts)")
    started = time.perf_counter()
    times, bursts, quiet = stream(args.days, args.rate, args.seed)
    results = {
        name: evaluate(replay(times, args.days, name, args.scan_minutes), bursts, quiet, args.days) for name in PRESETS
    }
    elapsed = time.perf_counter() - started
    summary = {
        "days": args.days,
        "posts": len(times),
        "background_rate_per_hour": args.rate,
        "bursts": len(bursts),
        "quiet_days": sorted(quiet),
        "scan_minutes": args.scan_minutes,
        "presets": results,
        "seconds": round(elapsed, 2),
    }
    if args.json:
        json.dump(summary, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(
        f"{args.days} days, {len(times)} posts (mean {args.rate:g}/h, diurnal), {len(bursts)} bursts over 30 min, "
        f"quiet days {sorted(quiet) or 'none'}; scans every {args.scan_minutes} min; {elapsed:.1f} s"
    )
    print(f"{'preset':<8}{'burst':>6}{'flagged':>10}{'median delay':>14}{'p90 delay':>11}")
    for name, res in results.items():
        per_size = res["per_size"]
        assert isinstance(per_size, dict)
        for size, row in per_size.items():
            med, p90 = row["median_delay_min"], row["p90_delay_min"]
            print(
                f"{name:<8}{size:>6}{row['flagged']:>5}/{row['bursts']:<4}"
                f"{'—' if med is None else f'{med:.0f} min':>14}{'—' if p90 is None else f'{p90:.0f} min':>11}"
            )
        print(
            f"{name:<8} false alarms: {res['false_alarms']} ({res['false_alarms_per_week']}/week), "
            f"{res['false_alarms_quiet_or_after']} on a quiet day or the day after"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
