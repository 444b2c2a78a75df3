"""Concurrent reviewers against the API under uvicorn on PostgreSQL: latency, throughput, errors, integrity.

    python -m benchmarks.review [--reviewers 50] [--seconds 60] [--drafts 4000]
                                [--database-url postgresql://postgres@127.0.0.1:5432/kizuki_bench]

Each simulated reviewer lists the queue, opens a draft and decides it (approve 60 %, reject 30 %,
regenerate 10 %), as fast as it can. A 409 (someone else decided first, or a stale version) is an
expected answer, not an error. Afterwards the database is checked: every 2xx decision is there exactly
once, and no draft carries two decisions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

TARGET_P95_MS = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, n_drafts: int, reviewers: int) -> list[str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from agent.posts.models import Draft, Post
    from api.auth import create_token
    from kizuki.core.db import Database

    admin_url = make_url(url).set(database="postgres")
    admin = Database(admin_url.render_as_string(hide_password=False))
    name = make_url(url).database
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    db = Database(url)
    db.migrate()
    rng = random.Random(5)
    with db.session() as s:
        for i in range(n_drafts):
            post = Post(
                source="x",
                external_id=f"load-{i}",
                author_handle=f"user{i % 300}",
                text=f"KAMADOが動かない {i}",
                lang="ja",
                channel="x",
                status="drafted",
                metrics={},
                raw={},
                triage={"urgency": "normal"},
            )
            s.add(post)
            s.flush()
            s.add(
                Draft(
                    post_id=post.id,
                    generation=1,
                    status="pending",
                    channel="x",
                    model="offline",
                    prompt_version="bench",
                    text="ご不便をおかけしております。KAMADOの状況を確認いたします。",
                    original_text="ご不便をおかけしております。KAMADOの状況を確認いたします。",
                    priority=rng.choice([1000, 1500, 2000, 3000]),
                    flame_risk=rng.randrange(0, 60),
                )
            )
        tokens = [create_token(s, name=f"reviewer-{i}", role="agent", actor="bench")[1] for i in range(reviewers)]
    db.dispose()
    return tokens


async def reviewer(
    client: httpx.AsyncClient,
    stop_at: float,
    seed: int,
    lat: dict[str, list[float]],
    codes: Counter[tuple[str, int]],
    decided: list[tuple[str, int, int]],
    think_s: float = 0.0,
) -> None:
    rng = random.Random(seed)
    # Reviewers arrive spread over one think time rather than in the same millisecond (a ramp-up,
    # as load tools do); with --think-ms 0 everyone starts at once.
    await asyncio.sleep(rng.uniform(0, think_s))
    async with client:

        async def call(kind: str, method: str, url: str, **kw: Any) -> httpx.Response:
            t = time.perf_counter()
            res = await client.request(method, url, **kw)
            lat[kind].append(time.perf_counter() - t)
            codes[(kind, res.status_code)] += 1
            return res

        while time.monotonic() < stop_at:
            page = await call("list", "GET", "/v1/drafts", params={"status": "pending", "limit": 20})
            items = page.json().get("items", []) if page.status_code == 200 else []
            if not items:
                await asyncio.sleep(0.05)
                continue
            pick = rng.choice(items[: min(len(items), 20)])
            await asyncio.sleep(rng.expovariate(1 / think_s) if think_s else 0)  # reads the queue
            opened = await call("open", "GET", f"/v1/drafts/{pick['id']}")
            if opened.status_code != 200 or opened.json()["status"] != "pending":
                continue  # decided by someone else meanwhile: back to the queue
            version = opened.json()["version"]
            await asyncio.sleep(rng.expovariate(1 / think_s) if think_s else 0)  # reads the draft
            r = rng.random()
            if r < 0.6:
                kind, url, body = (
                    "approve",
                    f"/v1/drafts/{pick['id']}/approve",
                    {"version": version, "acknowledge_warnings": True},
                )
            elif r < 0.9:
                kind, url, body = "reject", f"/v1/drafts/{pick['id']}/reject", {"version": version, "reason": "tone"}
            else:
                kind, url, body = "regenerate", f"/v1/drafts/{pick['id']}/regenerate", {"version": version}
            res = await call(kind, "POST", url, json=body)
            if res.status_code < 300:
                decided.append((kind, pick["id"], res.status_code))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def verify(url: str, decided: list[tuple[str, int, int]]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from agent.posts.models import Draft
    from kizuki.core.audit import AuditEntry
    from kizuki.core.db import Database

    db = Database(url)
    problems: list[str] = []
    want = {"approve": "draft.approve", "reject": "draft.reject", "regenerate": "draft.regenerate"}
    with db.session() as s:
        per_subject = dict(
            s.execute(
                select(AuditEntry.subject, func.count())
                .where(AuditEntry.action.in_(list(want.values())))
                .group_by(AuditEntry.subject)
            ).all()
        )
        doubled = [k for k, n in per_subject.items() if n > 1]
        if doubled:
            problems.append(f"{len(doubled)} drafts with more than one decision")
        ok_ids = Counter(d[1] for d in decided)
        if any(n > 1 for n in ok_ids.values()):
            problems.append("a draft got two successful decisions")
        statuses = dict(s.execute(select(Draft.id, Draft.status).where(Draft.id.in_(list(ok_ids)))).all())
        expected = {"approve": "approved", "reject": "rejected", "regenerate": "superseded"}
        lost = [d for d in decided if statuses.get(d[1]) != expected[d[0]]]
        if lost:
            problems.append(f"{len(lost)} successful decisions not in the database")
        if len(per_subject) != len(decided):
            problems.append(f"{len(per_subject)} decision audit entries for {len(decided)} successful decisions")
    db.dispose()
    return {"decisions": len(decided), "problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--drafts", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="Mean pause (exponential) before opening and before deciding; 0 = as fast as possible",
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/kizuki_bench")
    args = parser.parse_args()

    print(f"preparing {args.drafts} drafts and {args.reviewers} reviewer tokens …", flush=True)
    tokens = prepare(args.database_url, args.drafts, args.reviewers)
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "KIZUKI_DATABASE_URL": args.database_url, "KIZUKI_HOME": home}
        server = subprocess.Popen(  # noqa: S603 - our own server
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.asgi:app",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                if server.poll() is not None:
                    sys.exit(f"the API server exited with status {server.returncode} before it answered")
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            else:
                sys.exit("the API server did not answer /healthz within 60 s")
            lat: dict[str, list[float]] = defaultdict(list)
            codes: Counter[tuple[str, int]] = Counter()
            decided: list[tuple[str, int, int]] = []
            stop_at = time.monotonic() + args.seconds
            t0 = time.perf_counter()

            async def run_all() -> None:
                # Clients are made before the clock starts: making one loads a CA bundle (~20 ms of
                # blocked event loop), which would otherwise be counted in the first requests' latency.
                clients = [
                    httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=30)
                    for tok in tokens
                ]
                nonlocal stop_at, t0
                stop_at = time.monotonic() + args.seconds
                t0 = time.perf_counter()
                await asyncio.gather(
                    *(reviewer(c, stop_at, i, lat, codes, decided, args.think_ms / 1000) for i, c in enumerate(clients))
                )

            asyncio.run(run_all())
            wall = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(timeout=30)
    check = verify(args.database_url, decided)
    total = sum(codes.values())
    five = sum(n for (_, c), n in codes.items() if c >= 500)
    print(
        f"{args.reviewers} reviewers (mean think time {args.think_ms:.0f} ms), {wall:.0f} s, "
        f"{total} requests → {total / wall:.0f} req/s, "
        f"{check['decisions']} decisions ({check['decisions'] / wall:.1f}/s); 5xx: {five}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'endpoint':12} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'p95/target':>11}  status codes")
    for kind in ("list", "open", "approve", "reject", "regenerate"):
        v = lat.get(kind, [])
        status = ", ".join(f"{c}×{n}" for (k, c), n in sorted(codes.items()) if k == kind)
        ratio = pct(v, 0.95) / TARGET_P95_MS
        p50, p95, p99 = pct(v, 0.5), pct(v, 0.95), pct(v, 0.99)
        print(f"{kind:12} {len(v):>7} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {ratio:>11.2f}  {status}")
    print("integrity: " + ("no lost or doubled decisions" if not check["problems"] else "; ".join(check["problems"])))
    if five or check["problems"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
