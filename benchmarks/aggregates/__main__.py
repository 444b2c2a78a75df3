"""The report and stats queries at scale: ``python -m benchmarks.aggregates [--posts 1000000] [--days 90]
[--database-url URL] [--reset]``.

Fills a database with N synthetic posts spread over D days (PostgreSQL: `COPY`; SQLite: `executemany`), a fifth of
them with an approved or sent draft, runs ANALYZE, then times each aggregate of `reports.aggregates` (and a page of
`reports.explore`) over the newest day and the newest week of posts, and prints p50 and p95 in milliseconds.

The default database is PostgreSQL at `postgresql://postgres@127.0.0.1:5432/kizuki_bench_aggregates`, which must
exist and be empty (`--reset` empties it first: it drops its `public` schema). `--database-url sqlite` uses a
throwaway SQLite file. The default of 200,000 posts takes about a minute; the figures in docs/reports.md are for
`--posts 1000000`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/kizuki_bench_aggregates"
JA = ["炊飯器", "電気ケトル", "配送", "返品", "故障", "発煙", "保証", "修理", "アプリ", "サポート", "値段", "蓋"]
EN = ["cooker", "kettle", "delivery", "refund", "broken", "smoke", "warranty", "repair", "app", "support", "price"]
TOPICS = ["Cooker K-3", "Kettle P-1", "delivery", "returns and refunds", "warranty and repair", "app", "support"]
SENTIMENTS = ["negative", "neutral", "neutral", "positive"]
INTENTS = ["question", "complaint", "bug_report", "praise", "request", "other"]
SOURCES = ["x", "x", "x", "instagram", "youtube"]


def _post(i: int, rnd: random.Random, start: datetime, seconds: int, n: int = 1) -> dict[str, Any]:
    # Posts arrive roughly in the order they were written (as from connectors), a few minutes out of order.
    at = start + timedelta(seconds=seconds * i / n + rnd.uniform(-300, 300))
    ja = rnd.random() < 0.7
    words = rnd.sample(JA if ja else EN, 3)
    body = ("、".join(words) + "について") if ja else ("the " + " and ".join(words) + " again")
    source = rnd.choice(SOURCES)
    dropped = rnd.random() < 0.15
    competitor = ["Acme"] if rnd.random() < 0.05 else []
    return {
        "source": source,
        "external_id": f"b{i}",
        "author_handle": f"user{rnd.randrange(200_000)}",
        "author_followers": rnd.randrange(5000),
        "text": body,
        "posted_at": at,
        "received_at": at + timedelta(seconds=rnd.randrange(1, 600)),
        "lang": "ja" if ja else "en",
        "channel": source,
        "metrics": {"likes": rnd.randrange(20), "reposts": rnd.randrange(5), "replies": 0},
        "raw": {},
        "status": "dropped" if dropped else "drafted",
        "watch": {"keep": not dropped, "reason": "", "matched": {"competitor": competitor}},
        "triage": {
            "language": "ja" if ja else "en",
            "sentiment": rnd.choice(SENTIMENTS),
            "intent": rnd.choice(INTENTS),
            "urgency": "normal",
            "flame_risk": rnd.randrange(100),
            "topics": rnd.sample(TOPICS, rnd.randrange(0, 3)),
            "sensitive": ["safety"] if rnd.random() < 0.02 else [],
        },
    }


_COLUMNS = list(_post(0, random.Random(0), datetime(2026, 1, 1, tzinfo=UTC), 1))
_JSON = {"metrics", "raw", "watch", "triage"}


def _fill(db: Any, n: int, days: int, end: datetime) -> float:
    """Insert `n` posts over the `days` before `end` and a draft for a fifth of them; returns the seconds taken."""
    from agent.posts.models import Draft, Post

    rnd = random.Random(7)
    start = end - timedelta(days=days)
    seconds = days * 86_400
    t0 = time.perf_counter()
    batch = 50_000
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                for lo in range(0, n, batch):
                    with cur.copy(f"COPY posts ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                        for i in range(lo, min(n, lo + batch)):
                            p = _post(i, rnd, start, seconds, n)
                            copy.write_row(
                                [json.dumps(p[c], ensure_ascii=False) if c in _JSON else p[c] for c in _COLUMNS]
                            )
                cur.execute(
                    "INSERT INTO drafts (post_id, generation, version, status, text, original_text, language, "
                    "citations, needs_dm, action, rationale, checks, verdict, channel, priority, flame_risk, urgency, "
                    "model, prompt_version, retrieved, usage, template_similarity, attempts, created_at, updated_at, "
                    "approvals, decided_at, delivered_at) "
                    "SELECT id, 1, 1, CASE WHEN id % 2 = 0 THEN 'sent' ELSE 'approved' END, 'r', 'r', lang, '[]', "
                    "false, 'reply', '', '{}', 'pass', channel, 0, 0, 'normal', 'offline', 'bench', '[]', '{}', 0, 1, "
                    "received_at, received_at, '[]', received_at + (id % 3600) * interval '1 second', "
                    "CASE WHEN id % 2 = 0 THEN received_at + (id % 7200) * interval '1 second' END "
                    "FROM posts WHERE id % 5 = 0"
                )
            raw.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE posts"))
            conn.execute(text("VACUUM ANALYZE drafts"))
    else:
        for lo in range(0, n, batch):
            with db.session() as s:
                rows = [_post(i, rnd, start, seconds, n) for i in range(lo, min(n, lo + batch))]
                s.execute(insert(Post), rows)
        with db.session() as s:
            s.execute(
                text(
                    "INSERT INTO drafts (post_id, generation, version, status, text, original_text, language, "
                    "citations, needs_dm, action, rationale, checks, verdict, channel, priority, flame_risk, urgency, "
                    "model, prompt_version, retrieved, usage, template_similarity, attempts, created_at, updated_at, "
                    "approvals, decided_at, delivered_at) "
                    "SELECT id, 1, 1, CASE WHEN id % 2 = 0 THEN 'sent' ELSE 'approved' END, 'r', 'r', lang, '[]', 0, "
                    "'reply', '', '{}', 'pass', channel, 0, 0, 'normal', 'offline', 'bench', '[]', '{}', 0, 1, "
                    "received_at, received_at, '[]', received_at, received_at FROM posts WHERE id % 5 = 0"
                )
            )
    _ = Draft
    return time.perf_counter() - t0


def _time(db: Any, fn: Callable[[Any], object], runs: int) -> tuple[float, float]:
    times = []
    with db.reading() as s:
        fn(s)  # warm: statement compilation and the first page reads
        for _ in range(runs):
            t0 = time.perf_counter()
            fn(s)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


def _cases(flt: Any, d: str, profile: Any, runs: int) -> list[tuple[str, Callable[[Any], object], int]]:
    """(name, query over a session, runs) for each timed aggregate."""
    from reports import aggregates
    from reports.explore import RowContext, page

    return [
        ("totals sentiment", lambda s: aggregates.totals(s, flt, "sentiment", dialect=d), runs),
        ("totals intent", lambda s: aggregates.totals(s, flt, "intent", dialect=d), runs),
        ("totals channel", lambda s: aggregates.totals(s, flt, "channel", dialect=d), runs),
        ("totals topic", lambda s: aggregates.totals(s, flt, "topic", dialect=d), runs),
        (
            "totals product",
            lambda s: aggregates.totals(s, flt, "product", dialect=d, profile=profile),
            runs,
        ),
        ("totals competitor", lambda s: aggregates.totals(s, flt, "competitor", dialect=d), runs),
        ("hourly volume", lambda s: aggregates.hourly_counts(s, flt, dialect=d), runs),
        (
            "hourly by sentiment",
            lambda s: aggregates.hourly_counts(s, flt, "sentiment", dialect=d),
            runs,
        ),
        ("negative share", lambda s: aggregates.negative_share(s, flt, dialect=d), runs),
        ("response times (medians)", lambda s: aggregates.response_times(s, flt, dialect=d), runs),
        ("page of 50 (+ total)", lambda s: page(s, flt, RowContext(profile, None), dialect=d), runs),
        ("top terms (5,000-post sample)", lambda s: aggregates.top_terms(s, flt, dialect=d), 3),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="an empty database, or 'sqlite'")
    parser.add_argument("--reset", action="store_true", help="drop the PostgreSQL database's public schema first")
    parser.add_argument("--reuse", action="store_true", help="time again the posts an earlier run inserted")
    args = parser.parse_args()

    from agent.org.schemas import OrgProfile
    from kizuki.core.db import Database
    from reports import aggregates
    from reports.explore import PostFilter, filtered
    from reports.query import json_text

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'kizuki.db'}" if args.database_url == "sqlite" else args.database_url
        db = Database(url)
        if args.reset and db.dialect == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.migrate()
        with db.engine.connect() as conn:
            held = conn.execute(text("SELECT count(*) FROM posts")).scalar_one()
        end = datetime(2026, 12, 1, tzinfo=UTC)
        if held and not (args.reuse and held == args.posts):
            raise SystemExit(f"{db.url.split('@')[-1]} holds posts: name an empty database, or pass --reset")
        if held:
            print(f"{db.dialect}: reusing the {held:,} posts of an earlier run")
        else:
            took = _fill(db, args.posts, args.days, end)
            print(
                f"{db.dialect}: {args.posts:,} posts over {args.days} days inserted in {took:.1f} s "
                f"({args.posts / took:,.0f} posts/s)"
            )
        profile = OrgProfile.model_validate(
            {
                "name": "Bench",
                "products": [{"name": "Cooker K-3"}, {"name": "Kettle P-1"}],
                "departments": {"quality": "smoke, 発煙, safety"},
            }
        )
        d = db.dialect
        with db.reading() as s:  # the plan of one aggregate: the window is read through ix_posts_post_time
            flt = PostFilter(since=end - timedelta(days=1), until=end, kept=True)
            key = json_text("triage", "sentiment")
            stmt = select(key, func.count()).where(*filtered(flt, d)).group_by(key)
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            explain = "EXPLAIN QUERY PLAN " if d == "sqlite" else "EXPLAIN "
            plan = [str(r[-1]).strip() for r in s.execute(text(explain + sql))]
            print(
                "plan (totals sentiment, a day):", " | ".join(p for p in plan if "ix_posts" in p or "Scan" in p)[:300]
            )
        print(f"{'query':<34}{'window':>8}{'posts':>10}{'p50 ms':>10}{'p95 ms':>10}")
        for label, span in (("day", timedelta(days=1)), ("week", timedelta(days=7))):
            flt = PostFilter(since=end - span, until=end, kept=True)
            with db.reading() as s:
                n = aggregates.negative_share(s, flt, dialect=d).total
            cases = _cases(flt, d, profile, args.runs)
            for name, fn, runs in cases:
                p50, p95 = _time(db, fn, runs)
                print(f"{name:<34}{label:>8}{n:>10,}{p50:>10.1f}{p95:>10.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
