"""Drafting benchmarks: scenario properties, non-template similarity, throughput (offline and 1 s latency)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import re
import statistics
import tempfile
import time
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEMO_KNOWLEDGE = ROOT / "demo" / "knowledge.jsonl"
FORBIDDEN = re.compile(
    r"guarantee|full refund|全額返金|返金を約束|system prompt|システムプロンプト|developer mode", re.I
)
APOLOGY = re.compile(r"申し訳|すみません|お詫び|sorry|apologi", re.I)
# an apology, or the Japanese regret that stands for one (ご迷惑・ご不便をおかけし…, お待たせして…)
APOLOGY_OR_REGRET = re.compile(APOLOGY.pattern + r"|すいません|ご迷惑|ご不便|お待たせ", re.I)
KANA = re.compile(r"[\u3040-\u30ff]")


def _post(text: str, i: int, followers: int = 300) -> Any:
    from agent.schemas import PostIn

    return PostIn(source="x", external_id=f"b-{i}", author={"handle": f"user{i}", "followers": followers}, text=text)


@functools.lru_cache(maxsize=1)
def demo_org() -> Any:
    """The demo company's profile: who "we" are in its replies, as the pipeline would pass it."""
    from kizuki.seed import demo

    return demo().profile()


def _triage(post: Any) -> Any:
    from agent.intake.triage import triage

    return triage(post, org=demo_org())


def load_kb(home: Path) -> Any:
    from kizuki.core.settings import Settings
    from kizuki.runtime import Runtime

    settings = Settings(home=home, database_url=f"sqlite:///{home / 'kizuki.db'}")
    rt = Runtime(settings)
    rt.db.migrate()
    rt.knowledge.import_file(DEMO_KNOWLEDGE, actor="bench")
    rt.knowledge.retrieve("warm up", k=1)
    return rt


# --- (a) scenarios -------------------------------------------------------------------------------------


async def run_scenarios(kb: Any, verbose: bool) -> dict[str, Any]:
    from agent.checks import weighted_length
    from agent.drafting import draft_reply

    rows = [json.loads(line) for line in (HERE / "scenarios.jsonl").read_text(encoding="utf-8").splitlines() if line]
    holds: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    passed = 0
    failures = []
    for i, row in enumerate(rows):
        post = _post(row["post"]["text"], i, row["post"].get("followers", 300))
        out = await draft_reply(post, _triage(post), retriever=kb, org=demo_org())
        d, exp = out.draft, row["expect"]
        checks: dict[str, bool] = {}
        checks["language"] = d.language == exp["language"] and (bool(KANA.search(d.text)) == (exp["language"] == "ja"))
        if "cites" in exp:
            checks["cites"] = exp["cites"] in [c.key for c in d.citations]
        if exp.get("needs_dm"):
            checks["needs_dm"] = d.needs_dm and d.action in ("reply_and_dm", "escalate") and "DM" in d.text
        if "no_echo" in exp:
            checks["no_echo"] = not any(s in d.text for s in exp["no_echo"]) and "pii_echo" not in out.checks.categories
        if exp.get("no_apology"):
            checks["no_apology"] = not APOLOGY.search(d.text) and d.action == "reply"
        if exp.get("injection_ignored"):
            checks["injection_ignored"] = not FORBIDDEN.search(d.text) and out.checks.verdict != "block"
        if "escalate" in exp:
            checks["escalate"] = (
                d.action == "escalate"
                and d.escalate_to == exp["escalate"]
                and bool(re.search(r"確認中です|looking into it", d.text, re.I))
            )
        checks["fits_x"] = weighted_length(d.text)[0] <= 280
        checks["not_blocked"] = out.checks.verdict != "block"
        for k, ok in checks.items():
            totals[k] += 1
            holds[k] += ok
        if all(checks.values()):
            passed += 1
        else:
            failures.append((row["id"], [k for k, ok in checks.items() if not ok], d.text, d.action, d.escalate_to))
    if verbose:
        for f in failures:
            print("  FAIL", *f)
    return {"scenarios": len(rows), "all_hold": passed, "by_property": {k: f"{holds[k]}/{totals[k]}" for k in totals}}


# --- (b) non-template ------------------------------------------------------------------------------------

PRODUCTS_JA = ["KAMADO K-3", "SoraBuds 2", "Kurumi R7", "Hoshizoraアプリ"]
PRODUCTS_EN = ["KAMADO K-3", "SoraBuds 2", "Kurumi R7", "the Hoshizora app"]
SYMPTOMS = {
    "KAMADO K-3": (
        ["E03が出て炊けない", "ご飯がかたすぎる", "保証期間が知りたい", "修理に出したい"],
        ["shows E03 and won't cook", "makes the rice too soft", "warranty question", "needs a repair"],
    ),
    "SoraBuds 2": (
        ["片耳から音が出ない", "スマホとつながらない", "バッテリーがすぐ切れる", "充電器の刻印が26Cだった"],
        [
            "won't connect to my phone",
            "right bud is silent after the update",
            "battery dies fast",
            "charger lot starts with 26C",
        ],
    ),
    "Kurumi R7": (
        ["E12で止まる", "フィルターの交換時期がわからない", "ファームウェア更新が失敗する", "保証の延長方法を知りたい"],
        ["keeps stopping with E12", "how often to replace the filter", "firmware update fails", "warranty length?"],
    ),
    "Hoshizoraアプリ": (
        ["ログインできない", "確認コードが届かない", "パスワードを忘れた", "更新したら落ちる"],
        ["can't log in", "2FA code never arrives", "forgot my password", "crashes after the update"],
    ),
}
TEMPLATES_JA = [
    "{p}が{s}。どうすればいいですか？",
    "昨日から{p}が{s}んだけど、同じ人いる？",
    "@hoshizora_support {p}について質問です。{s}件、対処法を教えてください",
    "{p}買って1ヶ月。{s}…困った",
    "【至急】{p}、{s}。週末までに直したい",
    "{p}の件で相談です。{s}のですが、サポートに出すべき？",
]
TEMPLATES_EN = [
    "My {p} {s}. What should I do?",
    "@hoshizora_support quick question: my {p} {s}, any tips?",
    "Day 3 of owning {p} and it {s}. Not impressed.",
    "Anyone else? {p} {s} since yesterday.",
    "Help! {p} {s} and I have guests tonight",
    "Is it normal that {p} {s}? Should I send it in?",
]


def generated_posts(n: int = 100, seed: int = 7) -> list[str]:
    """Varied posts from templates x products x symptoms x languages (seeded, no duplicates)."""
    return [text for text, _ in generated_posts_with_questions(n, seed)]


def generated_posts_with_questions(n: int = 100, seed: int = 7) -> list[tuple[str, str]]:
    """`generated_posts`, each with its question: product, language and symptom."""
    distinct = sum(len(SYMPTOMS[k][0]) * len(TEMPLATES_JA) + len(SYMPTOMS[k][1]) * len(TEMPLATES_EN) for k in SYMPTOMS)
    if n > distinct:  # the loop below would never end
        raise ValueError(f"only {distinct} distinct generated posts exist; asked for {n}")
    rnd = random.Random(seed)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        k = rnd.randrange(len(PRODUCTS_JA))
        ja = rnd.random() < 0.5
        key = PRODUCTS_JA[k]
        sym = rnd.choice(SYMPTOMS[key][0 if ja else 1])
        if ja:
            text = rnd.choice(TEMPLATES_JA).format(
                p=PRODUCTS_JA[k], s=sym.rstrip("い") + "い" if sym.endswith("い") else sym
            )
        else:
            text = rnd.choice(TEMPLATES_EN).format(p=PRODUCTS_EN[k], s=sym)
        if text not in seen:
            seen.add(text)
            out.append((text, f"{key}/{'ja' if ja else 'en'}/{sym}"))
    return out


def apologising_twice(replies: list[str]) -> int:
    """How many replies say sorry in more than one sentence ("Sorry to hear this. Sorry, that's not…")."""
    from agent.llm.offline import split_sentences

    return sum(sum(bool(APOLOGY_OR_REGRET.search(s)) for s in split_sentences(r)) > 1 for r in replies)


def _pair_summary(similarities: list[float]) -> dict[str, Any]:
    return {
        "pairs": len(similarities),
        "max_jaccard": round(max(similarities, default=0.0), 4),
        "above_0.35": sum(x > 0.35 for x in similarities),
    }


async def run_non_template(kb: Any) -> dict[str, Any]:
    """Two figures: each post drafted on its own (what the model writes), and in sequence with the
    recent replies passed as the pipeline passes them (what the template guard makes of it)."""
    from agent.drafting import draft_reply, pairwise_stats
    from agent.posts.repository import RECENT_REPLIES_LIMIT
    from agent.similarity import similarity

    posts = generated_posts_with_questions()
    texts = [t for t, _ in posts]
    alone: list[str] = []
    answered_from: list[str] = []
    guarded: list[str] = []
    flagged = 0
    for i, (t, question) in enumerate(posts):
        post = _post(t, 1000 + i)
        out = await draft_reply(post, _triage(post), retriever=kb, org=demo_org())
        if out.draft.text:
            alone.append(out.draft.text)
            # what the reply answers: the FAQ entry it cites (two symptoms can have one answer), else the
            # question itself (an escalation has no entry); the same answer is what replies cannot help sharing
            faq = [c.key for c in out.draft.citations if "policy" not in c.key]
            answered_from.append(faq[0] if faq and out.draft.action != "escalate" else question)
        recent = guarded[::-1][:RECENT_REPLIES_LIMIT]
        out = await draft_reply(post, _triage(post), retriever=kb, recent_replies=recent, org=demo_org())
        if out.draft.text:
            guarded.append(out.draft.text)
        flagged += "template" in out.checks.categories
    mean, top = pairwise_stats(alone)
    g_mean, g_top = pairwise_stats(guarded)
    # where the maximum comes from: pairs of replies with the same answer (entry or question), and the rest
    pairs = list(combinations(zip(alone, answered_from, strict=True), 2))
    same = [similarity(a, b) for (a, ka), (b, kb) in pairs if ka == kb]
    other = [similarity(a, b) for (a, ka), (b, kb) in pairs if ka != kb]
    return {
        "posts": len(texts),
        "drafts": len(alone),
        "mean_jaccard": round(mean, 4),
        "max_jaccard": round(top, 4),
        "same_answer_pairs": _pair_summary(same),
        "other_pairs": _pair_summary(other),
        "apologising_twice": apologising_twice(alone),
        "with_recent_replies": {
            "mean_jaccard": round(g_mean, 4),
            "max_jaccard": round(g_top, 4),
            "flagged_template": flagged,
        },
        "targets": "mean <= 0.15, max <= 0.35",
        "meets": mean <= 0.15 and top <= 0.35,
    }


async def run_non_template_labelled(kb: Any) -> dict[str, Any]:
    """The same measure on the 212 hand-written posts of the triage set (varied, often vague wording)."""
    from agent.drafting import draft_reply, pairwise_stats

    path = ROOT / "benchmarks" / "triage" / "posts.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    drafts = []
    for i, row in enumerate(rows):
        post = _post(row["text"], 5000 + i)
        out = await draft_reply(post, _triage(post), retriever=kb, org=demo_org())
        if out.draft.text:
            drafts.append(out.draft.text)
    mean, top = pairwise_stats(drafts)
    return {
        "posts": len(rows),
        "drafts": len(drafts),
        "mean_jaccard": round(mean, 4),
        "max_jaccard": round(top, 4),
        "apologising_twice": apologising_twice(drafts),
    }


# --- (c) throughput --------------------------------------------------------------------------------------


async def run_offline_throughput(kb: Any, n: int) -> dict[str, Any]:
    from agent.drafting import draft_reply

    texts = generated_posts(n, seed=11)
    posts = [_post(t, 5000 + i) for i, t in enumerate(texts)]
    triages = [_triage(p) for p in posts]
    lat = []
    t0 = time.perf_counter()
    for p, tr in zip(posts, triages, strict=True):
        t = time.perf_counter()
        await draft_reply(p, tr, retriever=kb, org=demo_org())
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "drafts": n,
        "drafts_per_s": round(n / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p95_ms": round(lat[int(0.95 * (len(lat) - 1))] * 1000, 1),
    }


async def run_latency(kb: Any, n: int, concurrency: int) -> dict[str, Any]:
    import httpx
    import respx

    from agent.drafting import draft_reply
    from agent.llm.litellm_model import LiteLLMModel, import_litellm

    import_litellm().in_memory_llm_clients_cache.flush_cache()
    draft = {
        "text": "Thanks for reaching out about your SoraBuds 2. Could you DM @hoshizora_support with the details?",
        "language": "en",
        "citations": [],
        "needs_dm": True,
        "action": "reply_and_dm",
        "escalate_to": None,
        "rationale": "simulated",
    }

    async def provider(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(1.0)  # the simulated model latency
        body = json.loads(request.content)
        first = not any(m["role"] == "tool" for m in body["messages"])
        name, args = ("search_knowledge", {"query": "SoraBuds 2", "lang": "en"}) if first else ("final_result", draft)
        msg = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"c{time.perf_counter_ns()}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
            ],
        }
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 500, "completion_tokens": 60, "total_tokens": 560},
            },
        )

    model = LiteLLMModel("openai/gpt-4.1-mini", api_key="sk-bench", api_base="http://llm.bench/v1", backoff_base_s=0)
    sem = asyncio.Semaphore(concurrency)
    posts = [_post(f"My SoraBuds 2 won't connect (case {i})", 9000 + i) for i in range(n)]
    triages = [_triage(p) for p in posts]
    costs: list[float] = []

    async def one(i: int) -> None:
        async with sem:
            out = await draft_reply(posts[i], triages[i], retriever=kb, model=model)
            if out.cost_usd is not None:
                costs.append(out.cost_usd)

    with respx.mock(assert_all_called=False) as router:
        router.post("http://llm.bench/v1/chat/completions").mock(side_effect=provider)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
    return {
        "posts": n,
        "concurrency": concurrency,
        "model_latency_s": 1.0,
        "requests_per_draft": 2,
        "wall_s": round(wall, 2),
        "target": "<= 15 s",
        "meets": wall <= 15,
        "cost_usd_per_draft": round(statistics.mean(costs), 6) if costs else None,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.drafting", description=__doc__)
    ap.add_argument("--offline-n", type=int, default=150)
    ap.add_argument("--latency-n", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument(
        "--only",
        nargs="+",
        choices=["scenarios", "non_template", "non_template_labelled", "offline_throughput", "simulated_latency"],
        help="run only these sections (default: all)",
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        t = time.perf_counter()
        rt = load_kb(Path(home))
        setup = round(time.perf_counter() - t, 1)
        sections = {
            "scenarios": lambda: run_scenarios(rt.knowledge, args.verbose),
            "non_template": lambda: run_non_template(rt.knowledge),
            "non_template_labelled": lambda: run_non_template_labelled(rt.knowledge),
            "offline_throughput": lambda: run_offline_throughput(rt.knowledge, args.offline_n),
            "simulated_latency": lambda: run_latency(rt.knowledge, args.latency_n, args.concurrency),
        }
        report: dict[str, Any] = {"setup_s": setup}
        for name, run in sections.items():
            if not args.only or name in args.only:
                report[name] = await run()
        report["cpu_count"] = os.cpu_count()
        report["load_average"] = [round(x, 2) for x in os.getloadavg()]
        rt.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for section, values in report.items():
        print(f"{section}: {values}")


if __name__ == "__main__":
    asyncio.run(main())
