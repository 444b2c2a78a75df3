"""Several worker processes on one database: every post drafted exactly once, even when one is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from agent.posts.models import Draft, Post
from kizuki.core import jobs
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from tests.pipeline.conftest import make_post

# The figure on PostgreSQL; SQLite (one writer at a time) proves the same with fewer posts.
N_POSTS = {"postgresql": 500, "sqlite": 120}
PRODUCTS = ["KAMADO K-3", "SoraBuds 2", "Kurumi R7", "Hoshizoraアプリ"]
SYMPTOMS = ["が動かない", "の電源が入らない", " keeps disconnecting", "でエラーが出る", " stopped charging"]


def _count(rt: Runtime, stmt: object) -> int:
    with rt.db.session() as s:
        return int(s.scalar(stmt) or 0)  # type: ignore[call-overload]


def _spawn(settings: Settings, home: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KIZUKI_HOME": str(home),
        "KIZUKI_DATABASE_URL": settings.resolved_database_url,
        "KIZUKI_CACHE_HOME": str(settings.cache_dir),
        "KIZUKI_JOB_LEASE_S": "3",
        "KIZUKI_WORKER_CONCURRENCY": "4",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kizuki.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_workers_draft_each_post_once_and_survive_a_kill(kb_runtime: Runtime, settings: Settings) -> None:
    rt = kb_runtime
    n_posts = N_POSTS[rt.db.dialect]
    for i in range(n_posts):
        text = f"{PRODUCTS[i % 4]}{SYMPTOMS[i % 5]} #{i}"
        out = rt.pipeline.intake(make_post(text, author={"handle": f"user{i % 37}"}))
        assert out.outcome == "queued", out.reason
    home = settings.home  # the index the tests built, shared by the workers
    workers = [_spawn(settings, home) for _ in range(3)]
    try:
        deadline = time.monotonic() + 600
        while _count(rt, select(func.count()).select_from(Draft)) < 40:
            assert time.monotonic() < deadline
            assert all(w.poll() is None for w in workers), "a worker exited early"
            time.sleep(0.2)
        workers[0].send_signal(signal.SIGKILL)  # mid-job: it holds claimed jobs that nobody will finish
        workers[0].wait()
        while _count(rt, select(func.count()).select_from(jobs.Job).where(jobs.Job.status != "done")) > 0:
            assert time.monotonic() < deadline, "jobs left unfinished"
            time.sleep(0.5)
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            w.wait(timeout=30)
    assert _count(rt, select(func.count()).select_from(Draft)) == n_posts
    assert _count(rt, select(func.count(func.distinct(Draft.post_id)))) == n_posts
    assert _count(rt, select(func.count()).select_from(Draft).where(Draft.status != "pending")) == 0
    assert _count(rt, select(func.count()).select_from(Post).where(Post.status != "drafted")) == 0
