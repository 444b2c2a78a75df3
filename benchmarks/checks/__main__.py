"""Benchmark of the reply checks: ``python -m benchmarks.checks [--errors] [--n 5000]``.

(a) ../shared/data/checks/cases.jsonl with its rules.yaml: every expected category found, no hard
    negative (``forbid``) flagged.
(b) the project's labelled set (benchmarks/checks/cases.jsonl, built by generate.py) with
    benchmarks/checks/rules.yaml: precision, recall and F2 per category; ``expect`` is the complete
    label set of a case, so any other category reported is a false positive.
(c) speed: 10,000 NG terms loaded, tweet-size checks a second on one core, p50/p99 latency.
(e) compensation: the hand-written set benchmarks/checks/compensation.jsonl (ja/en promises of money,
    credit, goods, fee waivers, free service or exceptions; policy talk that promises nothing as hard
    negatives), with the default rules: precision and recall of the ``compensation`` category alone,
    by language and by kind. A statement that compensation was already granted to this customer is
    labelled positive (see the file's ``granted`` kind and docs in agent/checks/policy.py). Cases
    with a ``batch`` field were written later and scored once before any rule change made for them:
    ``holdout`` first scored precision 0.955 / recall 0.808, ``holdout2`` 1.000 / 0.714.
    benchmarks/checks/compensation_heldout.jsonl (fields text/lang/compensation/kind) is a separate blind
    set, reported on its own as "held-out batch 1": it scored precision 0.988 / recall 0.705 before the
    rules were generalised with it in view, so its current figure is no longer a blind estimate.
    benchmarks/checks/compensation_heldout2.jsonl is a second blind set, reported as "held-out batch 2": it
    scored precision 1.000 / recall 0.803 before the rules were generalised with it in view.
    benchmarks/checks/compensation_heldout3.jsonl is a third blind set, reported as "held-out batch 3": it
    scored precision 1.000 / recall 0.731 before the rules were generalised with it in view.
    benchmarks/checks/compensation_heldout4.jsonl, "held-out batch 4 (blind)", was written by someone who never
    saw the rules or the other sets and no rule was changed for it: its figure is the estimate to quote
    (precision 0.989 / recall 0.779 when it was added). Tune on it and it is no longer blind: write a new one.
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


HELDOUTS = (
    (
        "compensation_heldout.jsonl",
        "held-out batch 1",
        "held-out batch 1: blind score P 0.988 R 0.705 before tuning on it",
    ),
    (
        "compensation_heldout2.jsonl",
        "held-out batch 2",
        "held-out batch 2: blind score P 1.000 R 0.803 before tuning on it",
    ),
    (
        "compensation_heldout3.jsonl",
        "held-out batch 3",
        "held-out batch 3: blind score P 1.000 R 0.731 before tuning on it",
    ),
    (
        "compensation_heldout4.jsonl",
        "held-out batch 4 (blind)",
        "held-out batch 4: written by someone who never saw the rules, never tuned on: the honest estimate",
    ),
)


def _comp_gold(c: dict[str, Any]) -> bool:
    """A case's label: ``compensation`` true/false (held-out file) or the category in ``expect``."""
    if "compensation" in c:
        return bool(c["compensation"])
    return "compensation" in c["expect"]


def _print_comp_slices(gold: list[bool], got: list[bool], slices: dict[str, list[int]]) -> None:
    print(f"  {'slice':<24}{'n':>5}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}")
    for name, idx in slices.items():
        tp = sum(1 for i in idx if got[i] and gold[i])
        fp = sum(1 for i in idx if got[i] and not gold[i])
        fn = sum(1 for i in idx if gold[i] and not got[i])
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        print(f"  {name:<24}{len(idx):>5}{tp:>5}{fp:>5}{fn:>5}{p:>11.3f}{r:>8.3f}")


def heldout_report(checker: Checker, show_errors: bool, file: str, label: str, note: str) -> None:
    path = HERE / file
    if not path.exists():
        print(f"\n(e) {path.name} not found: skipped")
        return
    cases = _load(path)
    got = [("compensation" in checker.check(c["text"]).categories) for c in cases]
    gold = [_comp_gold(c) for c in cases]
    n_pos = sum(gold)
    print(f"\n(e) {path.name}: {len(cases)} cases ({n_pos} positive, {len(cases) - n_pos} negative)")
    print(f"    {note}")
    slices: dict[str, list[int]] = {label: list(range(len(cases)))}
    for lang in ("ja", "en"):
        slices[f"  {lang}"] = [i for i, c in enumerate(cases) if c["lang"] == lang]
    for label, pos in (("positives", True), ("negatives", False)):
        slices[f"  {label}"] = [i for i, g in enumerate(gold) if g == pos]
    _print_comp_slices(gold, got, slices)
    if show_errors:
        for c, g, o in zip(cases, gold, got, strict=True):
            if g != o:
                print(f"    {'FN' if g else 'FP'} [{c['lang']} {c['kind']}]: {c['text'][:70]!r}")


def compensation_report(show_errors: bool) -> None:
    cases = _load(HERE / "compensation.jsonl")
    checker = Checker()
    got = [("compensation" in checker.check(c["text"]).categories) for c in cases]
    gold = [_comp_gold(c) for c in cases]
    n_pos = sum(gold)
    print(f"\n(e) compensation set: {len(cases)} cases ({n_pos} positive, {len(cases) - n_pos} hard negatives)")
    slices: dict[str, list[int]] = {"all": list(range(len(cases)))}
    for lang in ("ja", "en"):
        slices[lang] = [i for i, c in enumerate(cases) if c["lang"] == lang]
    slices["written first"] = [i for i, c in enumerate(cases) if "batch" not in c]
    slices["in-file batch holdout"] = [i for i, c in enumerate(cases) if c.get("batch") == "holdout"]
    slices["in-file batch holdout2"] = [i for i, c in enumerate(cases) if c.get("batch") == "holdout2"]
    kinds = sorted({(c["kind"], "compensation" in c["expect"]) for c in cases}, key=lambda k: (not k[1], k[0]))
    for kind, pos in kinds:
        slices[f"{'+' if pos else '-'} {kind}"] = [
            i for i, c in enumerate(cases) if c["kind"] == kind and ("compensation" in c["expect"]) == pos
        ]
    _print_comp_slices(gold, got, slices)
    if show_errors:
        for c, g, o in zip(cases, gold, got, strict=True):
            if g != o:
                print(f"    {'FN' if g else 'FP'} {c['id']} [{c['kind']}]: {c['text'][:70]!r}")
    for file, label, note in HELDOUTS:
        heldout_report(checker, show_errors, file, label, note)


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
    compensation_report(args.errors)
    if not args.no_speed:
        speed_report(args.n)
    presidio_note()


if __name__ == "__main__":
    main()
