"""The read before every draft, at scale: ``python -m benchmarks.recent_replies [--drafts 200000]
[--database-url URL]``.

Fills a throwaway database (SQLite by default; a PostgreSQL URL names an empty database) with N posts and
drafts, then times the pipeline's recent-replies query (`agent.pipeline.recent_replies_query`) with the
`drafts.created_at` index of migration 0005 and with that index dropped, and prints both with the plan.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text


def _time(db: Any, query: Any, runs: int = 20) -> tuple[float, str]:
    explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.reading() as s:
        for _ in range(3):
            s.execute(query).all()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            s.execute(query).all()
            times.append(time.perf_counter() - t0)
        # a comment unique to this call: the driver's statement cache would otherwise return the plan it
        # prepared before the index was dropped (SQLite re-prepares a cached EXPLAIN only when it runs)
        marked = text(f"{explain}{compiled} /* {time.perf_counter_ns()} */")
        plan = " | ".join(str(row[-1]).strip() for row in s.execute(marked))
    return statistics.median(times) * 1000, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drafts", type=int, default=200_000)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a SQLite file)")
    args = parser.parse_args()

    from agent.posts.models import Draft, Post
    from agent.posts.repository import recent_replies_query
    from kizuki.core.db import Database
    from kizuki.core.orm import utcnow

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.database_url or f"sqlite:///{Path(tmp) / 'kizuki.db'}")
        db.migrate()
        n, now, rnd = args.drafts, utcnow(), random.Random(1)
        with db.session() as s:
            s.execute(
                insert(Post),
                [
                    {"source": "bench", "external_id": f"e{i}", "author_handle": f"u{i % 5000}", "text": "t"}
                    | {"lang": "ja", "channel": "x", "status": "drafted", "metrics": {}, "raw": {}}
                    | {"received_at": now - timedelta(seconds=n - i)}
                    for i in range(n)
                ],
            )
            ids = list(s.scalars(select(Post.id).order_by(Post.id)))
            statuses = ("pending", "approved", "sent", "sent", "sent", "rejected")
            s.execute(
                insert(Draft),
                [
                    {"post_id": pid, "status": rnd.choice(statuses), "text": f"reply {pid}", "channel": "x"}
                    | {"model": "offline", "prompt_version": "draft-v2", "created_at": now - timedelta(seconds=n - k)}
                    for k, pid in enumerate(ids)
                ],
            )
        query = recent_replies_query(ids[-1], db.dialect)
        # as the service runs: PostgreSQL's autovacuum gathers table statistics; on SQLite nothing runs ANALYZE
        analyze = None if db.dialect == "sqlite" else "ANALYZE drafts"
        if analyze:
            with db.session() as s:
                s.execute(text(analyze))
        with_index = _time(db, query)
        with db.session() as s:
            s.execute(text("DROP INDEX ix_drafts_created_at"))
            if analyze:
                s.execute(text(analyze))
        without = _time(db, query)
        print(f"{n:,} drafts on {db.dialect}: the recent-replies read (newest 50 pending/approved/sent)")
        print(f"  with the created_at index: {with_index[0]:.2f} ms   plan: {with_index[1]}")
        print(f"  without it:                {without[0]:.2f} ms   plan: {without[1]}")
        print(f"  ratio: {without[0] / with_index[0]:.0f}x")
        db.dispose()


if __name__ == "__main__":
    main()
