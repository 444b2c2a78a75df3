"""The fault benchmark: posts drafted and replies delivered while workers are killed and stopped.

    python -m benchmarks.faults [--posts 80] [--workers 3] [--faults 14] [--window 40] [--json]

What it does, on a throwaway KIZUKI_HOME with the demo company (SQLite unless --database-url names a
PostgreSQL database):

- starts a fake webhook receiver on localhost (`receiver.py`) that records every request's idempotency key,
  when it arrived and when it ended (answered, or the sender hung up), and answers a share of requests
  (--slow-share) slower than the webhook timeout, the rest after a short random delay;
- starts --workers `kizuki worker` processes (KIZUKI_DELIVERY=webhook) and feeds --posts posts over the
  fault window while a reviewer thread approves every draft through the review service;
- sends --faults signals: the first half one every window/faults seconds to a worker in the middle of
  drafting, the second half each to a worker in the middle of a delivery, as soon as there is one;
  SIGKILL, or SIGTERM for a share of them (--sigterm-share); every killed or stopped worker is replaced;
- then lets the workers drain, stops them with SIGTERM, and prints:
  posts ingested and lost (kept but never drafted), drafts per post and doubled drafts (more than one live
  draft of one post), replies approved, sent and given up, concurrent sends of one key (two requests with
  one key in flight at once: must be 0), repeated sends per key with the cause of each repeat (a timeout,
  a crash or stop during the request, a crash after the answer; "unexplained" would be a bug), whether
  each draft was always sent under the same key, jobs left locked by stopped workers, and the time to drain
  after the last fault.

Exit status 1 when a figure that must hold does not (a lost post, a doubled draft, a concurrent send, an
unexplained repeat, a reply neither sent nor given up, a job left locked by a stopped worker).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import itertools

from benchmarks.faults.receiver import Receiver, Request
from benchmarks.pipeline.__main__ import make_posts

SECRET = "bench-secret"
KINDS = ("draft", "deliver")  # the jobs this benchmark makes (others, such as daily ones, are not waited for)
BURST = 8  # posts arrive in bursts, so that workers are often in the middle of drafting


@dataclass
class Fault:
    at: float  # time.monotonic()
    pid: int
    signal: str  # "SIGKILL" | "SIGTERM"
    aimed_at: str  # "drafting" | "delivery" | "any"
    held: dict[str, int]  # running jobs of the worker by kind, when the signal was sent
    requests_in_flight: int  # at the receiver (any worker's), when the signal was sent
    exited_after_s: float | None = None
    exit_code: int | None = None
    left_locked: int | None = None  # running jobs still locked by it after it exited (SIGTERM: must be 0)
    jobs_free_after_s: float | None = None  # SIGTERM: until it held no running job (finished or given back)


@dataclass
class Fleet:
    """The worker processes: started, signalled, replaced."""

    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    log_of: dict[int, Path] = field(default_factory=dict)
    seen_ready: dict[int, float] = field(default_factory=dict)
    signalled: set[int] = field(default_factory=set)

    def spawn(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = self.logs / f"worker-{self.started}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kizuki.cli", "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        self.log_of[proc.pid] = log
        return proc

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def targets(self) -> list[subprocess.Popen[bytes]]:
        """Ready workers that were not signalled yet."""
        return [p for p in self.ready() if p.pid not in self.signalled]

    def ready(self) -> list[subprocess.Popen[bytes]]:
        """Running workers that have started claiming: they print their id, and a moment later they listen for
        SIGTERM (a worker stopped before that holds no job and simply exits)."""
        now = time.monotonic()
        for p in self.alive():
            if p.pid not in self.seen_ready and b"\nworker " in b"\n" + self.log_of[p.pid].read_bytes():
                self.seen_ready[p.pid] = now
        return [p for p in self.alive() if now - self.seen_ready.get(p.pid, now) >= 0.5]

    def stop_all(self, timeout: float = 60) -> None:
        for p in self.alive():
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class _HelpFormat(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The module's docstring as written, and every option's default."""


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.faults",
        description=__doc__,
        epilog="Defaults take about two minutes on two cores. The receiver answers slow requests after "
        "4 x --webhook-timeout, so each of them ends in a timeout and is sent again after the job's backoff.",
        formatter_class=_HelpFormat,
    )
    ap.add_argument("--posts", type=int, default=80, help="posts fed in over the first half of the window")
    ap.add_argument("--workers", type=int, default=3, help="`kizuki worker` processes kept running")
    ap.add_argument("--concurrency", type=int, default=4, help="jobs in flight per worker")
    ap.add_argument("--faults", type=int, default=14, help="signals sent to workers during the window")
    ap.add_argument("--window", type=float, default=40.0, help="seconds of feeding posts and sending signals")
    ap.add_argument("--sigterm-share", type=float, default=0.35, help="share of the signals that are SIGTERM")
    ap.add_argument("--slow-share", type=float, default=0.15, help="share of requests answered after the timeout")
    ap.add_argument("--webhook-timeout", type=float, default=2.0, help="KIZUKI_WEBHOOK_TIMEOUT_S")
    ap.add_argument("--lease", type=float, default=5.0, help="KIZUKI_JOB_LEASE_S (a killed worker's jobs wait this)")
    ap.add_argument("--grace", type=float, default=3.0, help="KIZUKI_WORKER_GRACE_S")
    ap.add_argument("--drain-limit", type=float, default=120.0, help="give up waiting for the drain after this")
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL of an EMPTY database (default: SQLite)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the KIZUKI_HOME (worker logs in logs/)")
    return ap.parse_args()


def _pid_of(locked_by: str | None) -> int | None:
    parts = (locked_by or "").split(":")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def main() -> int:
    args = _args()
    home = Path(tempfile.mkdtemp(prefix="kizuki-faults-"))
    try:
        figures = run(args, home)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(home, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        report(figures)
    if args.keep:
        print(f"KIZUKI_HOME kept at {home}")
    return 0 if figures["holds"] else 1


def run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    from sqlalchemy import func, select

    from agent.posts.models import Draft, Post
    from agent.schemas import PostIn
    from kizuki.core import audit, jobs
    from kizuki.core.errors import KizukiError
    from kizuki.core.settings import Settings
    from kizuki.runtime import Runtime
    from kizuki.seed import demo, load_company
    from review.schemas import ApproveRequest
    from review.service import approve

    t_start = time.monotonic()
    rng = random.Random(args.seed)

    def slow(key: str, nth: int) -> bool:
        return bool(random.Random(f"{args.seed}:{key}:{nth}").random() < args.slow_share)

    receiver = Receiver(slow=slow, slow_s=4 * args.webhook_timeout, delay_s=(0.1, 0.8), seed=args.seed)
    with receiver:
        values = {
            "home": home,
            "database_url": args.database_url,
            "rules_file": demo().rules_file,
            "delivery": "webhook",
            "webhook_url": receiver.url,
            "webhook_secret": SECRET,
            "webhook_timeout_s": args.webhook_timeout,
            "job_lease_s": args.lease,
            "worker_grace_s": args.grace,
        }
        settings = Settings(**values)  # validated: the lease must cover a webhook request
        rt = Runtime(settings)
        rt.db.migrate()
        load_company(rt, demo(), actor="bench")
        t_ready = time.monotonic()
        logs = home / "logs"
        logs.mkdir()
        env = {
            **os.environ,
            "KIZUKI_HOME": str(home),
            "KIZUKI_DATABASE_URL": settings.resolved_database_url,
            "KIZUKI_RULES_FILE": str(settings.rules_file),
            "KIZUKI_DELIVERY": "webhook",
            "KIZUKI_WEBHOOK_URL": receiver.url,
            "KIZUKI_WEBHOOK_SECRET": SECRET,
            "KIZUKI_WEBHOOK_TIMEOUT_S": str(args.webhook_timeout),
            "KIZUKI_JOB_LEASE_S": str(args.lease),
            "KIZUKI_WORKER_GRACE_S": str(args.grace),
            "KIZUKI_WORKER_CONCURRENCY": str(args.concurrency),
        }
        fleet = Fleet(env, logs)
        for _ in range(args.workers):
            fleet.spawn()

        posts = [PostIn.model_validate(p) for p in make_posts(args.posts, seed=args.seed)]
        faults: list[Fault] = []
        done = threading.Event()  # the window is over
        finished = threading.Event()  # the drain is over
        refused: Counter[str] = Counter()
        approved_ids: set[int] = set()

        def feed() -> None:
            bursts = [posts[i : i + BURST] for i in range(0, len(posts), BURST)]
            gap = args.window / 2 / max(1, len(bursts))  # the second half of the window hits deliveries
            for burst in bursts:
                for p in burst:
                    rt.pipeline.intake(p, actor="bench")
                time.sleep(gap)

        def review() -> None:
            """Approve every pending draft through the review service, as reviewers would (two when required)."""
            tried: set[tuple[int, int]] = set()
            while not finished.is_set():
                with rt.db.reading() as s:
                    pending = s.execute(
                        select(Draft.id, Draft.version, Draft.approvals).where(Draft.status == "pending")
                    ).all()
                for draft_id, version, approvals in pending:
                    if (draft_id, version) in tried:
                        continue
                    tried.add((draft_id, version))
                    actor = "reviewer-b" if any(a["by"] == "reviewer-a" for a in approvals or []) else "reviewer-a"
                    try:
                        approve(rt, draft_id, ApproveRequest(acknowledge_warnings=True, version=version), actor=actor)
                        approved_ids.add(draft_id)
                    except KizukiError as exc:
                        refused[type(exc).__name__] += 1
                time.sleep(0.2)

        def held_by(pid: int) -> dict[str, int]:
            with rt.db.reading() as s:
                rows = s.execute(select(jobs.Job.kind, jobs.Job.locked_by).where(jobs.Job.status == "running")).all()
            return dict(Counter(kind for kind, by in rows if _pid_of(by) == pid))

        def watch_stop(fault: Fault, proc: subprocess.Popen[bytes]) -> None:
            while proc.poll() is None and held_by(proc.pid):
                time.sleep(0.1)
            fault.jobs_free_after_s = round(time.monotonic() - fault.at, 2)  # finished or given back
            code = proc.wait()
            fault.exited_after_s = round(time.monotonic() - fault.at, 2)
            fault.exit_code = code
            fault.left_locked = sum(held_by(proc.pid).values())

        def chaos() -> None:
            """The first half of the signals while posts are drafted (one every window/faults s); the second half
            each as soon as a worker is in the middle of a delivery (deliveries start when approvals do)."""
            gap = args.window / max(1, args.faults)
            hard_end = time.monotonic() + args.window + args.drain_limit
            sent = 0
            while sent < args.faults and time.monotonic() < hard_end:
                aim = "drafting" if sent < args.faults // 2 else "delivery"
                kind = jobs.JobKind.DRAFT if aim == "drafting" else jobs.JobKind.DELIVER
                target, held = None, {}
                slot_end = time.monotonic() + (gap if aim == "drafting" else 30.0)
                while target is None and time.monotonic() < slot_end:  # a worker in the middle of such a job
                    for proc in fleet.targets():
                        held = held_by(proc.pid)
                        if held.get(kind):
                            target = proc
                            break
                    else:
                        time.sleep(0.05)
                if target is None:
                    candidates = fleet.targets()
                    if not candidates:
                        continue  # every worker is starting or stopping: this slot is not counted
                    target, aim = rng.choice(candidates), "any"
                    held = held_by(target.pid)
                sig = signal.SIGTERM if rng.random() < args.sigterm_share else signal.SIGKILL
                fault = Fault(time.monotonic(), target.pid, sig.name, aim, held, receiver.in_flight())
                fleet.signalled.add(target.pid)
                target.send_signal(sig)
                faults.append(fault)
                sent += 1
                if sig == signal.SIGKILL:
                    target.wait()
                    fault.exited_after_s, fault.exit_code = round(time.monotonic() - fault.at, 2), target.returncode
                else:
                    threading.Thread(target=watch_stop, args=(fault, target), daemon=True).start()
                fleet.spawn()  # a replacement (a restarted process)
                time.sleep(max(0.0, slot_end - time.monotonic()) if aim == "drafting" else min(gap, 1.5))

        ready_by = time.monotonic() + 300
        while len(fleet.ready()) < args.workers and time.monotonic() < ready_by:
            time.sleep(0.1)
        t_workers = time.monotonic()
        feeder = threading.Thread(target=feed, name="feed")
        reviewer = threading.Thread(target=review, name="review", daemon=True)
        chaos_thread = threading.Thread(target=chaos, name="chaos")
        for t in (feeder, reviewer, chaos_thread):
            t.start()
        feeder.join()
        chaos_thread.join()
        done.set()
        t_last_fault = faults[-1].at if faults else time.monotonic()

        # the drain: no job waiting or running, no draft waiting for a reviewer the bench can satisfy
        drained = False
        drain_deadline = time.monotonic() + args.drain_limit
        while time.monotonic() < drain_deadline:
            with rt.db.reading() as s:
                open_jobs = s.scalar(
                    select(func.count())
                    .select_from(jobs.Job)
                    .where(jobs.Job.kind.in_(KINDS), jobs.Job.status.in_(("queued", "running")))
                )
                pending = s.scalar(select(func.count()).select_from(Draft).where(Draft.status == "pending"))
            if not open_jobs and (not pending or sum(refused.values()) >= pending) and not receiver.in_flight():
                drained = True
                break
            time.sleep(0.2)
        t_drained = time.monotonic()
        finished.set()
        fleet.stop_all()
        reviewer.join(timeout=5)
        requests = receiver.snapshot()
        concurrent = receiver.concurrent_pairs()

    # -- figures --------------------------------------------------------------------------------------------
    with rt.db.reading() as s:
        post_status = Counter(dict(s.execute(select(Post.status, func.count()).group_by(Post.status)).all()))
        kept_posts = s.execute(select(Post.id).where(Post.status.not_in(("dropped", "no_engage")))).scalars().all()
        drafts = s.execute(select(Draft.id, Draft.post_id, Draft.generation, Draft.status)).all()
        job_status = Counter(
            dict(
                s.execute(
                    select(jobs.Job.kind + ":" + jobs.Job.status, func.count()).group_by(jobs.Job.kind, jobs.Job.status)
                ).all()
            )
        )
        entries: dict[str, list[str]] = {}
        for subject, action in s.execute(
            select(audit.AuditEntry.subject, audit.AuditEntry.action).where(
                audit.AuditEntry.action.in_(("draft.delivery_retry", "draft.delivery_resumed"))
            )
        ):
            draft_no = int(subject.split(":")[1])
            entries.setdefault(f"kizuki-draft-{draft_no}-g1", []).append(action)
        released = s.scalar(select(func.count()).select_from(jobs.Job).where(jobs.Job.last_error.like("released by %")))
    drafts_of: dict[int, list[Any]] = {}
    for d in drafts:
        drafts_of.setdefault(d.post_id, []).append(d)
    live = [d for d in drafts if d.status != "superseded"]
    per_generation = Counter((d.post_id, d.generation) for d in drafts)
    live_per_post = Counter(d.post_id for d in live)
    lost = [p for p in kept_posts if p not in drafts_of]
    draft_status = Counter(d.status for d in drafts)

    by_key: dict[str, list[Request]] = {}
    keys_of_draft: dict[int | None, set[str]] = {}
    for r in sorted(requests, key=lambda r: r.arrived):
        by_key.setdefault(r.key, []).append(r)
        keys_of_draft.setdefault(r.draft_id, set()).add(r.key)
    causes: Counter[str] = Counter()
    unexplained: list[dict[str, Any]] = []
    for key, reqs in by_key.items():
        recorded = Counter(entries.get(key, []))
        for prev, nxt in itertools.pairwise(reqs):
            cause = _cause(prev, nxt, faults, recorded)
            causes[cause] += 1
            if cause == "unexplained":
                unexplained.append(
                    {
                        "key": key,
                        "requests": [
                            asdict(r) | {"arrived": r.arrived - t_start, "ended": (r.ended or 0) - t_start}
                            for r in reqs
                        ],
                        "recorded": entries.get(key, []),
                        "faults": [
                            (round(f.at - t_start, 2), f.signal, f.pid)
                            for f in faults
                            if prev.arrived - 5 <= f.at <= nxt.arrived
                        ],
                    }
                )
    sends_per_key = Counter(len(v) for v in by_key.values())
    stops = [f for f in faults if f.signal == "SIGTERM"]
    kills = [f for f in faults if f.signal == "SIGKILL"]
    sent_ids = {d.id for d in drafts if d.status == "sent"}
    given_up = {d.id for d in drafts if d.status == "delivery_failed"}
    unfinished = sorted(approved_ids - sent_ids - given_up)
    answered_keys = {r.key for r in requests if r.outcome == "answered"}
    figures: dict[str, Any] = {
        "settings": {
            "posts": args.posts,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "database": rt.db.dialect,
            "webhook_timeout_s": args.webhook_timeout,
            "job_lease_s": args.lease,
            "worker_grace_s": args.grace,
            "slow_share": args.slow_share,
            "seed": args.seed,
        },
        "posts": {
            "ingested": sum(post_status.values()),
            "kept": len(kept_posts),
            "by_status": dict(post_status),
            "lost": len(lost),
        },
        "drafts": {
            "total": len(drafts),
            "by_status": dict(draft_status),
            "per_post": dict(Counter(len(v) for v in drafts_of.values())),
            "doubled": sum(n > 1 for n in per_generation.values()) + sum(n > 1 for n in live_per_post.values()),
        },
        "delivery": {
            "approved": len(approved_ids),
            "refused_by_review": dict(refused),
            "sent": len(sent_ids),
            "given_up": len(given_up),
            "neither_sent_nor_given_up": len(unfinished),
            "sent_but_never_answered": len({d for d in sent_ids if f"kizuki-draft-{d}-g1" not in answered_keys}),
        },
        "receiver": {
            "requests": len(requests),
            "keys": len(by_key),
            "slow_requests": sum(r.slow for r in requests),
            "concurrent_sends_of_one_key": len(concurrent),
            "sends_per_key": {str(k): v for k, v in sorted(sends_per_key.items())},
            "repeats_by_cause": dict(causes),
            "one_key_per_draft": all(len(k) == 1 for k in keys_of_draft.values()),
            "unexplained": unexplained,
        },
        "faults": {
            "sigkill": len(kills),
            "sigkill_during_drafting": sum(bool(f.held.get("draft")) for f in kills),
            "sigkill_during_delivery": sum(bool(f.held.get("deliver")) for f in kills),
            "sigterm": len(stops),
            "sigterm_during_drafting": sum(bool(f.held.get("draft")) for f in stops),
            "sigterm_during_delivery": sum(bool(f.held.get("deliver")) for f in stops),
            "sigterm_jobs_free_s_max": max((f.jobs_free_after_s or 0.0 for f in stops), default=None),
            "sigterm_exit_s_max": max((f.exited_after_s or 0.0 for f in stops), default=None),
            "sigterm_exit_codes": sorted({f.exit_code for f in stops if f.exit_code is not None}),
            "jobs_released_at_stop": int(released or 0),
            "jobs_left_locked_by_stopped_workers": sum(f.left_locked or 0 for f in stops),
            "workers_started": fleet.started,
            "events": [asdict(f) | {"at": round(f.at - t_start, 2)} for f in faults],
        },
        "jobs": dict(job_status),
        "time_s": {
            "setup": round(t_ready - t_start, 1),
            "workers_ready": round(t_workers - t_ready, 1),
            "total": round(t_drained - t_start, 1),
            "drain_after_last_fault": round(t_drained - t_last_fault, 1),
            "drained": drained,
            "window": [round(t_workers - t_start, 1), round(t_last_fault - t_start, 1)],
            "requests": [
                round(min((r.arrived for r in requests), default=t_start) - t_start, 1),
                round(max((r.arrived for r in requests), default=t_start) - t_start, 1),
            ],
        },
    }
    figures["holds"] = (
        drained
        and not lost
        and figures["drafts"]["doubled"] == 0
        and not concurrent
        and causes.get("unexplained", 0) == 0
        and figures["receiver"]["one_key_per_draft"]
        and not unfinished
        and figures["faults"]["jobs_left_locked_by_stopped_workers"] == 0
    )
    return figures


def _cause(prev: Request, nxt: Request, faults: list[Fault], recorded: Counter[str]) -> str:
    """Why `nxt` repeated `prev` (one key). Each repeat must match what the outbox recorded for that draft: a
    failed attempt (`draft.delivery_retry`: a timeout or an error), or an attempt that was cut short and found
    `sending` by the next one (`draft.delivery_resumed`: a crash or a stop); the receiver's record and the
    signals sent say which. A repeat that matches nothing recorded is "unexplained": a bug."""
    ended = prev.ended if prev.ended is not None else nxt.arrived

    def take(action: str) -> bool:
        if recorded[action] <= 0:
            return False
        recorded[action] -= 1
        return True

    if prev.outcome == "gone":
        near = [f for f in faults if prev.arrived - 0.05 <= f.at <= ended + 0.05]
        if near and take("draft.delivery_resumed"):
            return "crash during the request" if any(f.signal == "SIGKILL" for f in near) else "stop during the request"
        if take("draft.delivery_retry"):
            return "timeout (slow receiver)" if prev.slow else "timeout"
    else:  # answered, and yet sent again
        # A worker killed just after sending, or stopped before it could record the answer (the kernel still
        # takes the answer of a process that has just died): the next attempt found the draft `sending`.
        if any(prev.arrived <= f.at <= nxt.arrived for f in faults) and take("draft.delivery_resumed"):
            return "crash or stop around the answer, before it was recorded"
        if take("draft.delivery_retry"):
            return "timeout (answered after the sender's deadline)"
    return "unexplained"


def report(f: dict[str, Any]) -> None:
    s, p, d, dl, r, fa, t = (f[k] for k in ("settings", "posts", "drafts", "delivery", "receiver", "faults", "time_s"))
    print(
        f"fault benchmark: {s['posts']} posts, {s['workers']} workers x {s['concurrency']} on {s['database']}; "
        f"webhook timeout {s['webhook_timeout_s']:g} s, lease {s['job_lease_s']:g} s, grace {s['worker_grace_s']:g} s"
    )
    print(
        f"faults            SIGKILL {fa['sigkill']} (during drafting {fa['sigkill_during_drafting']}, "
        f"delivery {fa['sigkill_during_delivery']}); SIGTERM {fa['sigterm']} (during drafting "
        f"{fa['sigterm_during_drafting']}, delivery {fa['sigterm_during_delivery']}): its jobs finished or given "
        f"back within {fa['sigterm_jobs_free_s_max']} s, exited within {fa['sigterm_exit_s_max']} s, codes "
        f"{fa['sigterm_exit_codes']}; workers started {fa['workers_started']}"
    )
    print(f"posts             ingested {p['ingested']}, kept {p['kept']}, lost {p['lost']}  (must be 0)")
    print(f"drafts            {d['total']}, per post {d['per_post']}, doubled {d['doubled']}  (must be 0)")
    print(
        f"replies           approved {dl['approved']}, sent {dl['sent']}, given up {dl['given_up']}, "
        f"neither {dl['neither_sent_nor_given_up']} (must be 0); review refused {dl['refused_by_review'] or 0}"
    )
    print(
        f"receiver          {r['requests']} requests for {r['keys']} keys ({r['slow_requests']} answered after the "
        f"timeout); concurrent sends of one key {r['concurrent_sends_of_one_key']}  (must be 0)"
    )
    print(f"sends per key     {r['sends_per_key']}  (key: how many sends; value: how many keys)")
    print(f"repeats, cause    {r['repeats_by_cause'] or 'none'}  (unexplained must be 0)")
    print(f"same key always   {'yes' if r['one_key_per_draft'] else 'NO'}")
    print(
        f"graceful stop     {fa['jobs_released_at_stop']} job(s) given back at once; left locked by stopped "
        f"workers {fa['jobs_left_locked_by_stopped_workers']}  (must be 0)"
    )
    print(
        f"time              setup {t['setup']} s, first workers ready after {t['workers_ready']} s, "
        f"total {t['total']} s, drain after the last fault "
        f"{t['drain_after_last_fault']} s{'' if t['drained'] else ' (NOT drained)'}"
    )
    print("holds" if f["holds"] else "DOES NOT HOLD")


if __name__ == "__main__":
    raise SystemExit(main())
