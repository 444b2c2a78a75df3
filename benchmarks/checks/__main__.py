"""Benchmark of the reply checks: ``python -m benchmarks.checks [--errors] [--n 5000]``.

(a) ../shared/data/checks/cases.jsonl with its rules.yaml: every expected category found, no hard
    negative (``forbid``) flagged.
(b) the project's labelled set (benchmarks/checks/cases.jsonl, built by generate.py) with
    benchmarks/checks/rules.yaml: precision, recall and F2 per category; ``expect`` is the complete
    label set of a case, so any other category reported is a false positive.
(c) speed: 10,000 NG terms loaded, tweet-size checks a second on one core, p50/p99 latency.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agent.checks import CATEGORIES, Checker, Rules, Term, load_rules

HERE = Path(__file__).parent
SHARED = Path(os.environ.get("KIZUKI_SHARED", HERE.parents[2] / "shared")) / "data" / "checks"


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _run(checker: Checker, cases: list[dict[str, Any]]) -> list[set[str]]:
    return [checker.check(c["text"], post_text=c.get("post"), channel=c.get("channel")).categories for c in cases]


def f2(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 5 * p * r / (4 * p + r)


def table(cases: list[dict[str, Any]], preds: list[set[str]]) -> list[tuple[str, int, int, int, float, float, float]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for c, pred in zip(cases, preds, strict=True):
        gold = set(c["expect"])
        for cat in pred | gold:
            if cat in pred and cat in gold:
                tp[cat] += 1
            elif cat in pred:
                fp[cat] += 1
            else:
                fn[cat] += 1
    rows = []
    for cat in CATEGORIES:
        if cat == "template":
            continue
        t, f, n = tp[cat], fp[cat], fn[cat]
        p = t / (t + f) if t + f else 1.0
        r = t / (t + n) if t + n else 1.0
        rows.append((cat, t, f, n, p, r, f2(p, r)))
    return rows


def print_table(rows: list[tuple[str, int, int, int, float, float, float]]) -> None:
    print(f"  {'category':<14}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}{'F2':>7}")
    for cat, t, f, n, p, r, f2v in rows:
        print(f"  {cat:<14}{t:>5}{f:>5}{n:>5}{p:>11.3f}{r:>8.3f}{f2v:>7.3f}")


def shared_report(show_errors: bool) -> None:
    path = SHARED / "cases.jsonl"
    if not path.exists():
        print(f"(a) {path} not found (set KIZUKI_SHARED): skipped")
        return
    cases = _load(path)
    checker = Checker(load_rules(SHARED / "rules.yaml"))
    preds = _run(checker, cases)
    n_exp = sum(len(c["expect"]) for c in cases)
    found = sum(len(set(c["expect"]) & p) for c, p in zip(cases, preds, strict=True))
    n_forbid = sum(len(c.get("forbid", [])) for c in cases)
    flagged = sum(len(set(c.get("forbid", [])) & p) for c, p in zip(cases, preds, strict=True))
    print(f"(a) shared cases: {len(cases)} cases ({path})")
    print(f"    expected categories found: {found}/{n_exp}")
    print(f"    hard negatives flagged:    {flagged}/{n_forbid}")
    for c, p in zip(cases, preds, strict=True):
        miss = set(c["expect"]) - p
        bad = set(c.get("forbid", [])) & p
        if miss or bad:
            print(f"    FAIL {c['id']}: missing {sorted(miss)} flagged {sorted(bad)}: {c['text'][:60]!r}")
        elif show_errors and p - set(c["expect"]):
            print(f"    extra {c['id']}: {sorted(p - set(c['expect']))}: {c['text'][:60]!r}")


def own_report(show_errors: bool) -> None:
    cases = _load(HERE / "cases.jsonl")
    checker = Checker(load_rules(HERE / "rules.yaml"))
    preds = _run(checker, cases)
    parts = Counter(c.get("part", "?").split("_")[0] for c in cases)
    ja = sum(1 for c in cases if any("\u3040" <= ch <= "\u9fff" for ch in c["text"]))
    print(f"\n(b) labelled set: {len(cases)} cases ({ja} with Japanese), parts: {dict(parts)}")
    print_table(table(cases, preds))
    wrong = [(c, p) for c, p in zip(cases, preds, strict=True) if p != set(c["expect"])]
    print(f"    cases with any wrong category: {len(wrong)}")
    if show_errors:
        for c, p in wrong:
            print(f"    {c['id']} gold={sorted(c['expect'])} got={sorted(p)}: {c['text'][:70]!r}")


def synthetic_terms(n: int, seed: int = 7) -> list[str | Term]:
    rng = random.Random(seed)
    kana = [chr(c) for c in range(0x30A2, 0x30F3)]
    out: list[str | Term] = []
    for i in range(n):
        if i % 2:
            out.append("".join(rng.choice(kana) for _ in range(rng.randint(3, 6))))
        else:
            out.append(
                "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
            )
    return out


def speed_report(n_checks: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    base = load_rules(HERE / "rules.yaml")
    extra = synthetic_terms(10_000 - len(base.ng_words))
    rules = Rules.model_validate({**base.model_dump(), "ng_words": list(base.ng_words) + extra})
    t0 = time.perf_counter()
    checker = Checker(rules)
    build = time.perf_counter() - t0
    cases = [c for c in _load(HERE / "cases.jsonl") if len(c["text"]) <= 280]
    texts = [(c["text"], c.get("post"), c.get("channel")) for c in cases]
    for t, p, ch in texts[:200]:  # warm-up (tokenizer, caches)
        checker.check(t, post_text=p, channel=ch)
    lat: list[float] = []
    cpu_lat: list[float] = []
    t_start = time.perf_counter()
    c_start = time.process_time()
    for i in range(n_checks):
        t, p, ch = texts[i % len(texts)]
        a = time.perf_counter()
        ca = time.thread_time()
        checker.check(t, post_text=p, channel=ch)
        cpu_lat.append(time.thread_time() - ca)
        lat.append(time.perf_counter() - a)
    total = time.perf_counter() - t_start
    cpu_total = time.process_time() - c_start

    def pct(xs: list[float], q: float) -> float:
        ys = sorted(xs)
        return ys[max(0, int(q * len(ys)) - 1)] * 1000

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n(c) speed: {len(rules.ng_words)} NG terms loaded, Checker built in {build:.2f} s")
    print(f"    {n_checks} tweet-size checks (<= 280 chars, {len(texts)} distinct, with posts where labelled),")
    print(f"    one process pinned to one core; machine load average {load:.2f} on {os.cpu_count()} cores")
    print(
        f"    wall clock: {n_checks / total:,.0f} checks/s; p50 {statistics.median(lat) * 1000:.2f} ms;"
        f" p99 {pct(lat, 0.99):.2f} ms; max {max(lat) * 1000:.2f} ms"
    )
    print(
        f"    CPU time:   {n_checks / cpu_total:,.0f} checks per CPU-second;"
        f" p50 {statistics.median(cpu_lat) * 1000:.2f} ms;"
        f" p99 {pct(cpu_lat, 0.99):.2f} ms (wall figures include time other processes held the core)"
    )


def presidio_note() -> None:
    try:
        import presidio_analyzer  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        print(
            "\n(d) Presidio: not run. presidio-analyzer is on PyPI, but its analyzer needs a spaCy language"
            " model (en_core_web_lg), which is fetched from GitHub releases, not PyPI: these machines cannot"
            " download it, so a side-by-side run here would measure a crippled setup."
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--errors", action="store_true", help="list every wrong case")
    ap.add_argument("--n", type=int, default=5000, help="checks in the speed run")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    shared_report(args.errors)
    own_report(args.errors)
    if not args.no_speed:
        speed_report(args.n)
    presidio_note()


if __name__ == "__main__":
    main()
