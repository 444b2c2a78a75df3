"""The pipeline: post → watch rules → triage → do-not-engage → draft job → draft with checks and provenance.

Intake is one transaction (post, decision, triage, the draft job and the audit entry commit together).
Drafting runs as a job: the snapshot is read first, the model is called outside any transaction, and
the draft, its checks, the audit entries and the end of the draft job are stored in one transaction. A
model failure stores the draft as `failed` with the reason, and the job is retried with backoff: nothing
is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy.orm import Session

from agent.drafts import DraftPublic, draft_public, priority_of
from agent.models import DoNotEngageEntry, Draft, Post, WatchRuleSet
from agent.schemas import PostIn, TriageResult
from kizuki import audit, jobs
from kizuki.models import utcnow
from kizuki.runtime import Runtime

log = logging.getLogger(__name__)

DRAFT_JOB = "draft"
HISTORY_LIMIT = 10
RECENT_REPLIES_LIMIT = 50
Outcome = Literal["queued", "drafted", "dropped", "duplicate", "no_engage", "failed"]


class IngestOutcome(BaseModel):
    source: str
    external_id: str
    post_id: int | None
    outcome: Outcome
    reason: str | None = None
    draft: DraftPublic | None = None


def _recent_replies(status: Any) -> Select[str]:
    return (
        select(Draft.text)
        .where(status.in_(("pending", "approved", "sent")), Draft.post_id != bindparam("post_id"))
        .order_by(Draft.created_at.desc())
        .limit(RECENT_REPLIES_LIMIT)
    )


# The statements run for every post are built once, with bound parameters: building a statement and its
# cache key costs SQLAlchemy more than running a small query (0.13-0.2 ms of 0.3 ms on SQLite).
_RECENT_REPLIES = {
    "default": _recent_replies(Draft.status),
    # SQLite has no table statistics unless something runs ANALYZE (nothing does): it then reads
    # `status IN (...)` through ix_drafts_status and sorts every matching draft (2 ms at 2,000 drafts, growing
    # with the table). `status || ''` is the same value but no index can serve it, so SQLite walks
    # ix_drafts_created_at and stops after the limit. (PostgreSQL, which has statistics, would do the
    # opposite: sort after a sequential scan.)
    "sqlite": _recent_replies(Draft.status.concat("")),
}
_POST_BY_SOURCE_ID = select(Post).where(
    Post.source == bindparam("source"), Post.external_id == bindparam("external_id")
)
_NEWEST_WATCH_RULES = select(WatchRuleSet).order_by(WatchRuleSet.version.desc()).limit(1)
_DO_NOT_ENGAGE = select(DoNotEngageEntry).where(
    DoNotEngageEntry.handle == bindparam("handle"),
    or_(DoNotEngageEntry.expires_at.is_(None), DoNotEngageEntry.expires_at > bindparam("now")),
)
# The snapshot reads only the columns a draft needs: whole rows made SQLAlchemy decode every JSON column,
# among them each earlier draft's retrieved passages (several kB) that the history never shows.
_SNAPSHOT_POST = select(
    Post.id,
    Post.source,
    Post.external_id,
    Post.author_handle,
    Post.author_name,
    Post.author_followers,
    Post.text,
    Post.url,
    Post.posted_at,
    Post.lang,
    Post.metrics,
    Post.channel,
    Post.triage,
).where(Post.id == bindparam("post_id"))
_EARLIER_POSTS = (
    select(Post.id, Post.text, Post.posted_at, Post.received_at, Post.status)
    .where(Post.author_handle == bindparam("handle"), Post.id != bindparam("post_id"))
    .order_by(Post.received_at.desc())
    .limit(HISTORY_LIMIT)
)
_THEIR_DRAFTS = (  # oldest generation first: the last one per post is the newest
    select(Draft.post_id, Draft.text, Draft.status)
    .where(Draft.post_id.in_(bindparam("post_ids", expanding=True)))
    .order_by(Draft.post_id, Draft.generation)
)
_DRAFT_ROW = (
    select(Draft)
    .where(Draft.post_id == bindparam("post_id"), Draft.generation == bindparam("generation"))
    .with_for_update()
)
_POST_CHANNEL = select(Post.channel).where(Post.id == bindparam("post_id"))
_MARK_DRAFTED = (
    update(Post)
    .where(Post.id == bindparam("post_id"))
    .values(status="drafted")
    .execution_options(synchronize_session=False)  # the store never loads the post itself
)
_LATEST_DRAFT = select(Draft).where(Draft.post_id == bindparam("post_id")).order_by(Draft.generation.desc()).limit(1)


def recent_replies_statement(dialect: str) -> Select[str]:
    """The newest replies a new draft must not repeat (pending, approved or sent; not this post's own), as a
    statement with the parameter ``post_id``, in the form for ``dialect`` (SQLite's own, or the standard one).

    Read before every draft: the index on `drafts.created_at` lets the database stop after the first
    `RECENT_REPLIES_LIMIT` rows instead of sorting every draft (migration 0005)."""
    return _RECENT_REPLIES.get(dialect, _RECENT_REPLIES["default"])


def recent_replies_query(post_id: int, dialect: str) -> Select[str]:
    """`recent_replies_statement` for one post (for tools that run it outside the pipeline)."""
    return recent_replies_statement(dialect).params(post_id=post_id)


class Pipeline:
    """The drafting flow over one runtime; safe to share between threads."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._matchers: dict[int, Any] = {}
        self._default_rules: Any = None

    # -- configuration -------------------------------------------------------------------------
    def watch_rules(self, session: Session) -> tuple[int, Any]:
        """The watch rules in force: the newest stored version, or the shipped defaults (version 0)."""
        from agent.intake.watch import WatchRules, load_rules

        row = session.scalars(_NEWEST_WATCH_RULES).first()
        if row is None:
            with self._lock:
                if self._default_rules is None:
                    self._default_rules = load_rules()  # the shipped YAML, parsed once
                return 0, self._default_rules
        return row.version, WatchRules.model_validate(row.rules)

    def _matcher(self, version: int, rules: Any) -> Any:
        from agent.intake.watch import compile_rules

        with self._lock:
            matcher = self._matchers.get(version)
            if matcher is None:
                matcher = compile_rules(rules)
                self._matchers = {version: matcher}
            return matcher

    @property
    def checker(self) -> Any:
        return self.rt.checker

    # -- intake --------------------------------------------------------------------------------
    def intake(self, post_in: PostIn, *, actor: str = "intake", now: datetime | None = None) -> IngestOutcome:
        """Store a post and decide what happens to it, in one transaction (idempotent on source + id)."""
        from agent.intake.normalise import detect_language
        from agent.intake.triage import triage

        now = now or utcnow()
        with self.rt.db.session() as s:
            existing = s.scalars(
                _POST_BY_SOURCE_ID, {"source": post_in.source, "external_id": post_in.external_id}
            ).one_or_none()
            if existing is not None:
                return IngestOutcome(
                    source=post_in.source,
                    external_id=post_in.external_id,
                    post_id=existing.id,
                    outcome="duplicate",
                    reason=f"already received as post {existing.id} ({existing.status})",
                )
            extras = {k: v for k, v in (post_in.model_extra or {}).items()}
            lang = post_in.lang or detect_language(post_in.text)
            # Decide first, then write the post once with its decision (one INSERT, no UPDATEs after it).
            version, rules = self.watch_rules(s)
            decision = self._matcher(version, rules).evaluate(post_in.text)
            outcome: Outcome
            status: str
            reason: str | None
            triaged: dict[str, Any] | None = None
            if not decision.keep:
                status, reason, outcome = "dropped", decision.reason, "dropped"
            else:
                result: TriageResult = triage(post_in.model_copy(update={"lang": lang}), now=now)
                triaged = result.model_dump()
                blocked = self._do_not_engage(s, post_in.author.handle, now)
                if blocked is not None:
                    status, outcome = "no_engage", "no_engage"
                    reason = f"@{blocked.handle} is on the do-not-engage list: {blocked.reason}"
                else:
                    status, reason, outcome = "queued", None, "queued"
            post = Post(
                source=post_in.source,
                external_id=post_in.external_id,
                author_handle=post_in.author.handle,
                author_name=post_in.author.name,
                author_followers=post_in.author.followers,
                text=post_in.text,
                url=post_in.url,
                posted_at=post_in.created_at,
                received_at=now,
                lang=lang,
                channel=self._channel(post_in),
                metrics=post_in.metrics.model_dump(),
                raw=extras,
                status=status,
                reason=reason,
                watch=decision.model_dump(),
                watch_rules_version=version,
                triage=triaged,
            )
            s.add(post)
            s.flush()
            if outcome == "queued":
                jobs.enqueue(s, DRAFT_JOB, {"post_id": post.id, "generation": 1}, dedupe_key=f"draft:{post.id}:1")
            audit.record(
                s,
                actor=actor,
                action="post.ingest",
                subject=f"post:{post.id}",
                after={
                    "source": post.source,
                    "external_id": post.external_id,
                    "status": post.status,
                    "reason": post.reason,
                    "watch_rules_version": version,
                },
            )
            return IngestOutcome(
                source=post.source, external_id=post.external_id, post_id=post.id, outcome=outcome, reason=post.reason
            )

    def _channel(self, post_in: PostIn) -> str:
        from agent.checks import CHANNELS

        channel = (post_in.channel or post_in.source).lower()
        return channel if channel in CHANNELS else "generic"

    @staticmethod
    def _do_not_engage(session: Session, handle: str, now: datetime) -> DoNotEngageEntry | None:
        return session.scalars(_DO_NOT_ENGAGE, {"handle": handle.lower().lstrip("@"), "now": now}).first()

    # -- drafting ------------------------------------------------------------------------------
    def _snapshot(self, post_id: int) -> tuple[PostIn, TriageResult, str, list[dict[str, Any]], list[str]]:
        with self.rt.db.reading() as s:
            post = s.execute(_SNAPSHOT_POST, {"post_id": post_id}).one_or_none()
            if post is None:
                raise LookupError(f"post {post_id} is gone")
            post_in = PostIn.model_validate(
                {
                    "source": post.source,
                    "external_id": post.external_id,
                    "author": {
                        "handle": post.author_handle,
                        "name": post.author_name,
                        "followers": post.author_followers,
                    },
                    "text": post.text,
                    "url": post.url,
                    "created_at": post.posted_at,
                    "lang": post.lang,
                    "metrics": post.metrics or {},
                    "channel": post.channel,
                }
            )
            triage = TriageResult.model_validate(post.triage or {})
            earlier = s.execute(_EARLIER_POSTS, {"handle": post.author_handle, "post_id": post.id}).all()
            last: dict[int, Any] = {}
            if earlier:
                for d in s.execute(_THEIR_DRAFTS, {"post_ids": [p.id for p in earlier]}):
                    last[d.post_id] = d  # the newest generation comes last
            history = []
            for p in earlier:
                draft = last.get(p.id)
                history.append(
                    {
                        "date": p.posted_at or p.received_at,
                        "post_text": p.text,
                        "reply": draft.text if draft is not None and draft.text else None,
                        "status": draft.status if draft is not None else p.status,
                    }
                )
            recent = s.scalars(recent_replies_statement(self.rt.db.dialect), {"post_id": post.id}).all()
            return post_in, triage, post.channel, history, list(recent)

    async def draft(
        self, post_id: int, generation: int = 1, instructions: str | None = None, *, lease: jobs.Lease | None = None
    ) -> Draft | None:
        """Draft (or re-draft) one post and store the result; idempotent per (post, generation).

        With the draft job's `lease`, the job is finished in the transaction that stores the draft: a stored
        draft and a done job commit together. A failure leaves the job to the worker, which retries it."""
        import asyncio

        from agent.drafting import draft_reply

        post_in, triage, channel, history, recent = await asyncio.to_thread(self._snapshot, post_id)
        model_id = self.rt.settings.model
        try:
            outcome = await draft_reply(
                post_in,
                triage,
                retriever=self.rt.knowledge,
                model=model_id,
                settings=self.rt.settings,
                channel=channel,
                customer_history=history,
                recent_replies=recent,
                instructions=instructions,
                checker=self.checker,
            )
        except Exception as exc:
            await asyncio.to_thread(self._store_failure, post_id, generation, model_id, instructions, exc)
            raise
        return await asyncio.to_thread(self._store, post_id, generation, triage, outcome, instructions, lease)

    def _draft_row(self, s: Session, post_id: int, generation: int) -> Draft | None:
        return s.scalars(_DRAFT_ROW, {"post_id": post_id, "generation": generation}).one_or_none()

    def _store(
        self,
        post_id: int,
        generation: int,
        triage: TriageResult,
        outcome: Any,
        instructions: str | None,
        lease: jobs.Lease | None = None,
    ) -> Draft:
        with self.rt.db.session() as s:
            draft = self._store_in(s, post_id, generation, triage, outcome, instructions)
            if lease is not None:
                lease.finish_in(s)  # commits with the draft (a lost lease changes nothing here, as before)
            return draft

    def _store_in(
        self, s: Session, post_id: int, generation: int, triage: TriageResult, outcome: Any, instructions: str | None
    ) -> Draft:
        reply = outcome.draft
        now = utcnow()
        channel = s.scalar(_POST_CHANNEL, {"post_id": post_id})  # the post's channel (not the whole row)
        assert channel is not None
        draft = self._draft_row(s, post_id, generation)
        if draft is not None and draft.status not in ("failed",):
            return draft  # a retried job whose first run already stored the draft
        if draft is None:
            draft = Draft(post_id=post_id, generation=generation, channel=channel, created_at=now)
            s.add(draft)
        draft.status = "pending"
        draft.text = reply.text
        draft.original_text = reply.text
        draft.language = reply.language
        draft.citations = [c.model_dump() for c in reply.citations]
        draft.needs_dm = reply.needs_dm
        draft.action = reply.action
        draft.escalate_to = reply.escalate_to
        draft.rationale = reply.rationale
        draft.checks = outcome.checks.model_dump()
        draft.verdict = outcome.checks.verdict
        draft.priority = priority_of(triage.urgency, triage.flame_risk)
        draft.flame_risk = triage.flame_risk
        draft.urgency = triage.urgency
        draft.model = outcome.model
        draft.prompt_version = outcome.prompt_version
        draft.instructions = instructions
        draft.retrieved = [r.model_dump() for r in outcome.retrieved]
        draft.usage = dict(outcome.usage)
        draft.cost_usd = outcome.cost_usd
        draft.template_similarity = float(outcome.template_similarity)
        draft.attempts = int(outcome.attempts)
        draft.error = None
        draft.updated_at = now
        s.execute(_MARK_DRAFTED, {"post_id": post_id})  # flushes the draft first
        audit.record_all(  # one read of the chain's end and one flush for both entries
            s,
            [
                {
                    "actor": f"model:{outcome.model}",
                    "action": "draft.create",
                    "subject": f"draft:{draft.id}",
                    "after": {
                        "post_id": post_id,
                        "generation": generation,
                        "text": reply.text,
                        "action": reply.action,
                        "citations": draft.citations,
                        "model": outcome.model,
                        "prompt_version": outcome.prompt_version,
                    },
                },
                {"actor": "checks", "action": "draft.checks", "subject": f"draft:{draft.id}", "after": draft.checks},
            ],
        )
        return draft

    def _store_failure(
        self, post_id: int, generation: int, model_id: str, instructions: str | None, exc: BaseException
    ) -> None:
        now = utcnow()
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        with self.rt.db.session() as s:
            post = s.get(Post, post_id)
            if post is None:
                return
            draft = self._draft_row(s, post_id, generation)
            if draft is None:
                draft = Draft(
                    post_id=post_id,
                    generation=generation,
                    channel=post.channel,
                    created_at=now,
                    model=model_id,
                    prompt_version="-",
                    attempts=0,
                )
                s.add(draft)
            elif draft.status != "failed":
                return
            draft.status = "failed"
            draft.error = reason
            draft.instructions = instructions
            draft.attempts = (draft.attempts or 0) + 1
            draft.updated_at = now
            post.status = "failed"
            s.flush()
            audit.record(
                s,
                actor=f"model:{model_id}",
                action="draft.failed",
                subject=f"draft:{draft.id}",
                after={"post_id": post_id, "generation": generation, "error": reason},
            )

    # -- batch ingest (CLI) ---------------------------------------------------------------------
    def ingest(self, posts: Sequence[PostIn], *, actor: str = "intake", concurrency: int = 8) -> list[IngestOutcome]:
        """Ingest posts and draft them now (the CLI's path); one outcome per post, in order."""
        import asyncio

        from agent.worker import Worker

        outcomes = [self.intake(p, actor=actor) for p in posts]
        queued = {o.post_id for o in outcomes if o.outcome == "queued"}
        if queued:
            worker = Worker(self.rt, pipeline=self, kinds=(DRAFT_JOB,), concurrency=concurrency)
            asyncio.run(worker.drain())
        with self.rt.db.session() as s:
            for o in outcomes:
                if o.outcome != "queued" or o.post_id is None:
                    continue
                row = s.scalars(_LATEST_DRAFT, {"post_id": o.post_id}).first()
                if row is None:
                    o.reason = "draft job still queued"
                    continue
                o.draft = draft_public(row)
                if row.status == "failed":
                    o.outcome, o.reason = "failed", row.error
                else:
                    o.outcome = "drafted"
        return outcomes
