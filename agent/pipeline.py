"""The pipeline: post → watch rules → triage → do-not-engage → draft job → draft with checks and provenance.

Intake is one transaction (post, decision, triage, the draft job and the audit entry commit together).
Drafting runs as a job: the snapshot is read first, the model is called outside any transaction, and
the draft, its checks, the audit entries and the end of the draft job are stored in one transaction. A
model failure stores the draft as `failed` with the reason, and the job is retried with backoff: nothing
is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel
from sqlalchemy.orm import Session

from agent.checks import CHANNELS, Checker
from agent.checks.length import channel_name
from agent.drafting import draft_reply
from agent.intake import recent as intake_recent
from agent.intake import service as intake
from agent.intake.models import DoNotEngageEntry
from agent.intake.noise import detect_noise, suggest_do_not_engage
from agent.intake.normalise import detect_language
from agent.intake.triage import triage, triage_with_model
from agent.llm.offline import OFFLINE_MODEL_NAME
from agent.llm.routing import build_model
from agent.org.schemas import OrgProfile
from agent.org.service import ProfileInForce
from agent.posts import lifecycle, repository
from agent.posts.lifecycle import PostStatus, priority_of
from agent.posts.models import Draft, Post
from agent.posts.privacy import checks_for_audit
from agent.posts.schemas import DraftPublic, draft_public
from agent.schemas import PostIn, Retriever, TriageResult
from kizuki.core import audit, jobs
from kizuki.core.db import Database
from kizuki.core.jobs import JobKind
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings
from kizuki.core.worker import Handler, Worker

log = logging.getLogger(__name__)

Outcome = Literal["queued", "drafted", "dropped", "duplicate", "no_engage", "failed"]


class IngestOutcome(BaseModel):
    source: str
    external_id: str
    post_id: int | None
    outcome: Outcome
    reason: str | None = None
    draft: DraftPublic | None = None


class PipelineHost(Protocol):
    """What the pipeline needs from the process (the composition root, `kizuki.runtime.Runtime`)."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def knowledge(self) -> Retriever: ...

    @property
    def watch_rules(self) -> intake.WatchRulesInForce: ...

    @property
    def org(self) -> ProfileInForce: ...

    def checker_for(self, org: OrgProfile | None) -> Checker: ...


class Pipeline:
    """The drafting flow over one runtime; safe to share between threads."""

    def __init__(self, rt: PipelineHost) -> None:
        self.rt = rt

    # -- intake --------------------------------------------------------------------------------
    def intake(self, post_in: PostIn, *, actor: str = "intake", now: datetime | None = None) -> IngestOutcome:
        """Store a post and decide what happens to it, in one transaction (idempotent on source + id)."""
        now = now or utcnow()
        with self.rt.db.session() as s:
            existing = repository.post_by_source_id(s, post_in.source, post_in.external_id)
            if existing is not None:
                return IngestOutcome(
                    source=post_in.source,
                    external_id=post_in.external_id,
                    post_id=existing.id,
                    outcome="duplicate",
                    reason=f"already received as post {existing.id} ({existing.status})",
                )
            extras = {k: v for k, v in (post_in.model_extra or {}).items()}
            if actor != f"connector:{post_in.source}":
                # How to answer a post on its network is the connector's to say, never a pushed post's: a made-up
                # `connector` would have Kizuki reply automatically to any status, or skip X's summoned rule.
                extras.pop("connector", None)
            lang = post_in.lang or detect_language(post_in.text)
            # Decide first, then write the post once with its decision (one INSERT, no UPDATEs after it).
            version, rules = self.rt.watch_rules.usable(s)  # none set: say so, instead of dropping every post
            decision = self.rt.watch_rules.matcher(version, rules).evaluate(post_in.text)
            outcome: Outcome
            status: str
            reason: str | None
            triaged: dict[str, Any] | None = None
            if not decision.keep:
                status, reason, outcome = PostStatus.DROPPED, decision.reason, "dropped"
            else:
                _, org = self.rt.org.current(s)
                result: TriageResult = triage(post_in.model_copy(update={"lang": lang}), now=now, org=org)
                result = self._noise(s, post_in, result, now)
                triaged = result.model_dump(mode="json")
                blocked = self._do_not_engage(s, post_in.author.handle, now)
                if result.noise is not None:  # reposts, ads, bots: dropped, never silently (issue 17)
                    status, outcome = PostStatus.DROPPED, "dropped"
                    reason = f"noise:{result.noise.kind}: {result.noise.reason}"
                elif blocked is not None:
                    status, outcome = PostStatus.NO_ENGAGE, "no_engage"
                    # the entry, not the handle: this reason goes into the append-only audit log
                    reason = f"the author is on the do-not-engage list (entry {blocked.id}): {blocked.reason}"
                else:
                    status, reason, outcome = PostStatus.QUEUED, None, "queued"
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
                jobs.enqueue(s, JobKind.DRAFT, {"post_id": post.id, "generation": 1}, dedupe_key=f"draft:{post.id}:1")
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
        channel = (post_in.channel or post_in.source).lower()
        network, sep, limit = channel.partition(":")
        if sep and limit.isascii() and limit.isdigit() and len(limit) <= 7 and channel_name(network, int(limit)):
            return f"{network}:{int(limit)}"  # a connector's `<network>:<limit>`: its length rule
        return channel if channel in CHANNELS else "generic"

    @staticmethod
    def _noise(session: Session, post_in: PostIn, result: TriageResult, now: datetime) -> TriageResult:
        """The triage with the noise verdict and the do-not-engage suggestion, from the posts stored so far."""
        moment = post_in.created_at or now
        handle = post_in.author.handle
        earlier = intake_recent.author_recent(session, handle, now)
        noise = detect_noise(
            post_in,
            earlier_copy=intake_recent.earlier_copy(session, post_in.text, handle, now),
            author_recent=earlier,
            now=moment,
        )
        hint = suggest_do_not_engage(result.intent in ("complaint", "bug_report"), earlier, moment)
        return result.model_copy(update={"noise": noise, "suggest_do_not_engage": hint})

    @staticmethod
    def _do_not_engage(session: Session, handle: str, now: datetime) -> DoNotEngageEntry | None:
        return intake.blocked(session, handle, now)

    # -- drafting ------------------------------------------------------------------------------
    def _snapshot(
        self, post_id: int
    ) -> tuple[PostIn, TriageResult, str, list[dict[str, Any]], list[str], OrgProfile | None]:
        with self.rt.db.reading() as s:
            post = repository.snapshot_post(s, post_id)
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
            earlier = repository.earlier_posts(s, post.author_handle, post.id)
            last = repository.newest_drafts_of(s, [p.id for p in earlier]) if earlier else {}
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
            recent = repository.recent_replies(s, post.id, self.rt.db.dialect)
            _, org = self.rt.org.current(s)
            return post_in, triage, post.channel, history, recent, org

    async def draft(
        self, post_id: int, generation: int = 1, instructions: str | None = None, *, lease: jobs.Lease | None = None
    ) -> Draft | None:
        """Draft (or re-draft) one post and store the result; idempotent per (post, generation).

        With the draft job's `lease`, the job is finished in the transaction that stores the draft: a stored
        draft and a done job commit together. A failure leaves the job to the worker, which retries it."""
        post_in, triage, channel, history, recent, org = await asyncio.to_thread(self._snapshot, post_id)
        previous = await asyncio.to_thread(self._previous_text, post_id, generation) if generation > 1 else None
        model_id = self.rt.settings.model
        if model_id != OFFLINE_MODEL_NAME and self.rt.settings.model_triage:
            triage = await self._model_triage(post_id, post_in, triage, org)
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
                checker=self.rt.checker_for(org),
                org=org,
                generation=generation,
                previous_draft=previous,
            )
        except Exception as exc:
            await asyncio.to_thread(self._store_failure, post_id, generation, model_id, instructions, exc, lease)
            raise
        return await asyncio.to_thread(self._store, post_id, generation, triage, outcome, instructions, lease)

    def _previous_text(self, post_id: int, generation: int) -> str | None:
        """The text of the draft a regeneration replaces (what "shorter" or "friendlier" is relative to)."""
        with self.rt.db.reading() as s:
            return repository.draft_text(s, post_id, generation - 1)

    async def _model_triage(
        self, post_id: int, post_in: PostIn, rules_triage: TriageResult, org: OrgProfile | None
    ) -> TriageResult:
        """The configured model's triage of the post, stored on it; the rules' triage when the model fails."""
        try:
            model = build_model(self.rt.settings.model, self.rt.settings)
            result = await triage_with_model(post_in, model, org=org)
            # what the model cannot know (the author's other posts) stays from intake
            result = result.model_copy(
                update={"suggest_do_not_engage": rules_triage.suggest_do_not_engage, "noise": rules_triage.noise}
            )
        except Exception as exc:  # the draft still goes ahead, on the rules' triage
            log.warning("model triage failed for post %s, the rules' triage stays: %s", post_id, type(exc).__name__)
            return rules_triage
        await asyncio.to_thread(self._store_triage, post_id, result)
        return result

    def _store_triage(self, post_id: int, result: TriageResult) -> None:
        with self.rt.db.session() as s:
            repository.set_post_triage(s, post_id, result.model_dump(mode="json"))

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
            # Checked first, holding the job's row: a run whose job was taken over stores nothing over the new run.
            if lease is not None and not lease.held_in(s):
                raise jobs.LeaseLost(f"job {lease.job_id}: another worker took over post {post_id}'s draft")
            draft = self._store_in(s, post_id, generation, triage, outcome, instructions)
            if lease is not None:
                lease.finish_in(s)  # commits with the draft
            return draft

    def _store_in(
        self, s: Session, post_id: int, generation: int, triage: TriageResult, outcome: Any, instructions: str | None
    ) -> Draft:
        reply = outcome.draft
        now = utcnow()
        channel = repository.post_channel(s, post_id)  # the post's channel (not the whole row)
        assert channel is not None
        draft = repository.draft_for_update(s, post_id, generation)
        if draft is not None and draft.status != lifecycle.DraftStatus.FAILED:
            return draft  # a retried job whose first run already stored the draft
        if draft is None:
            draft = lifecycle.begin(post_id, generation, channel, now)
            s.add(draft)
        lifecycle.drafted(
            draft,
            now,
            text=reply.text,
            original_text=reply.text,
            language=reply.language,
            citations=[c.model_dump() for c in reply.citations],
            needs_dm=reply.needs_dm,
            action=reply.action,
            escalate_to=reply.escalate_to,
            rationale=reply.rationale,
            checks=outcome.checks.model_dump(),
            verdict=outcome.checks.verdict,
            priority=priority_of(triage.urgency, triage.flame_risk),
            flame_risk=triage.flame_risk,
            urgency=triage.urgency,
            model=outcome.model,
            prompt_version=outcome.prompt_version,
            instructions=instructions,
            retrieved=[r.model_dump() for r in outcome.retrieved],
            usage=dict(outcome.usage),
            cost_usd=outcome.cost_usd,
            template_similarity=float(outcome.template_similarity),
            attempts=int(outcome.attempts),
        )
        repository.mark_drafted(s, post_id)  # flushes the draft first
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
                {
                    "actor": "checks",
                    "action": "draft.checks",
                    "subject": f"draft:{draft.id}",
                    "after": checks_for_audit(draft.checks),
                },
            ],
        )
        return draft

    def _store_failure(
        self,
        post_id: int,
        generation: int,
        model_id: str,
        instructions: str | None,
        exc: BaseException,
        lease: jobs.Lease | None = None,
    ) -> None:
        now = utcnow()
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        with self.rt.db.session() as s:
            if lease is not None and not lease.held_in(s):
                return  # the job was taken over: its new run records the outcome
            post = repository.get_post(s, post_id)
            if post is None:
                return
            draft = repository.draft_for_update(s, post_id, generation)
            if draft is None:
                draft = lifecycle.begin(
                    post_id, generation, post.channel, now, model=model_id, prompt_version="-", attempts=0
                )
                s.add(draft)
            elif draft.status != lifecycle.DraftStatus.FAILED:
                return
            lifecycle.drafting_failed(draft, post, reason, instructions, now)
            s.flush()
            audit.record(
                s,
                actor=f"model:{model_id}",
                action="draft.failed",
                subject=f"draft:{draft.id}",
                after={"post_id": post_id, "generation": generation, "error": reason},
            )

    # -- the draft job ---------------------------------------------------------------------------
    async def run_draft_job(self, payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        """The `draft` job: the draft and the job's end commit together (one write transaction fewer)."""
        await self.draft(
            int(payload["post_id"]), int(payload.get("generation", 1)), payload.get("instructions"), lease=lease
        )

    def job_handlers(self) -> dict[str, Handler]:
        """The jobs this pipeline runs, for the worker."""
        return {JobKind.DRAFT: self.run_draft_job}

    # -- batch ingest (CLI) ---------------------------------------------------------------------
    def ingest(self, posts: Sequence[PostIn], *, actor: str = "intake", concurrency: int = 8) -> list[IngestOutcome]:
        """Ingest posts and draft them now (the CLI's path); one outcome per post, in order."""
        outcomes = [self.intake(p, actor=actor) for p in posts]
        queued = {o.post_id for o in outcomes if o.outcome == "queued"}
        if queued:
            worker = Worker(self.rt, kinds=(JobKind.DRAFT,), handlers=self.job_handlers(), concurrency=concurrency)
            asyncio.run(worker.drain())
        with self.rt.db.session() as s:
            for o in outcomes:
                if o.outcome != "queued" or o.post_id is None:
                    continue
                row = repository.latest_draft(s, o.post_id)
                if row is None:
                    o.reason = "draft job still queued"
                    continue
                o.draft = draft_public(row)
                if row.status == lifecycle.DraftStatus.FAILED:
                    o.outcome, o.reason = "failed", row.error
                else:
                    o.outcome = "drafted"
        return outcomes
