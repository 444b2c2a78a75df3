"""The public entry point: draft one checked reply for a triaged post, with everything it was made from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import ModelResponse
from pydantic_ai.models import Model

from agent.checks import Checker, CheckResult, Finding, checker_for
from agent.drafting.agent import (
    DEFAULT_PROMPT,
    DraftDeps,
    HistoryItem,
    agent_for,
    build_user_prompt,
    check_text,
    structural_problems,
)
from agent.llm.errors import ModelUnavailable
from agent.llm.litellm_model import cost_of
from agent.llm.offline import OFFLINE_MODEL_NAME
from agent.llm.routing import build_model
from agent.org.schemas import OrgProfile
from agent.prompts import load_prompt
from agent.schemas import PostIn, ReplyDraft, Retriever, TriageResult
from agent.similarity import TEMPLATE_THRESHOLD
from kizuki.core.errors import KizukiError
from kizuki.core.settings import Settings, get_settings
from knowledge.schemas import RetrievedEntry

__all__ = ["DraftFailed", "DraftOutcome", "default_checker", "draft_reply"]


class DraftFailed(KizukiError):
    """The model kept producing unusable output (e.g. invalid tool arguments) past its retries; retryable."""

    status_code = 502


class DraftOutcome(BaseModel):
    """A draft and its provenance: what it was made from and what the checks said."""

    draft: ReplyDraft
    model: str = Field(description="The model that produced the draft ('offline' or the litellm id that answered)")
    prompt_version: str
    usage: dict[str, int] = Field(description="requests, input_tokens, output_tokens")
    cost_usd: float | None = Field(description="None when the provider's price is unknown")
    retrieved: list[RetrievedEntry]
    checks: CheckResult
    attempts: int = Field(description="Drafts the model produced (1 + retries after findings)")
    template_similarity: float = Field(description="Highest char-3-gram Jaccard with the recent replies")
    findings_fixed: list[str] = Field(description="Categories of findings the model fixed during the run")


def default_checker(settings: Settings | None = None) -> Checker:
    """The checker for the organisation's rules (`KIZUKI_RULES_FILE`, else `KIZUKI_HOME/rules.yaml`), the
    same rules the pipeline drafts with; compiled once per version of the file (an edit is picked up)."""
    return checker_for((settings or get_settings()).effective_rules_file)


def _as_history(items: Sequence[HistoryItem | dict[str, Any]]) -> list[HistoryItem]:
    return [i if isinstance(i, HistoryItem) else HistoryItem.model_validate(i) for i in items]


def _categories(lines: Sequence[str]) -> set[str]:
    out = set()
    for line in lines:
        if line.startswith("- finding category="):
            out.add(line.split("=", 1)[1].split(" ", 1)[0])
        else:
            out.add(line[2:].split(" ", 1)[0].rstrip(":"))
    return out


async def draft_reply(
    post: PostIn,
    triage: TriageResult,
    *,
    retriever: Retriever,
    model: str | Model = OFFLINE_MODEL_NAME,
    settings: Settings | None = None,
    channel: str | None = None,
    customer_history: Sequence[HistoryItem | dict[str, Any]] = (),
    recent_replies: Sequence[str] = (),
    instructions: str | None = None,
    checker: Checker | None = None,
    clock: Callable[[], datetime] | None = None,
    prompt: str | None = None,
    org: OrgProfile | None = None,
    generation: int = 1,
    previous_draft: str | None = None,
) -> DraftOutcome:
    """Draft a reply with the agent, then run the checks again as the final gate.

    ``prompt`` names the system prompt file under ``agent/prompts`` (default ``draft-v3``), filled
    from ``org``, the organisation profile,; its version is
    stored as ``prompt_version``. An unknown name raises :class:`FileNotFoundError` before any model call.

    Raises :class:`ModelUnavailable` when every model failed (the pipeline stores the draft as failed and
    retryable) and :class:`DraftFailed` when the model's output stayed unusable past its retries.
    """
    settings = settings or get_settings()
    prompt_file = load_prompt(DEFAULT_PROMPT if prompt is None else prompt)
    model_obj = build_model(model, settings) if isinstance(model, str) else model
    native = settings.output_mode == "native" and model_obj.model_name != OFFLINE_MODEL_NAME
    agent = agent_for(prompt_file.name, native=native)
    checker = checker or default_checker(settings)
    channel = channel or post.channel or post.source
    try:  # a configured channel, or a connector's `<network>:<limit>`
        limit = checker.channel_limit(channel)
    except ValueError:
        channel, limit = None, None
    deps = DraftDeps(
        retriever=retriever,
        post=post,
        triage=triage,
        checker=checker,
        channel=channel,
        customer_history=_as_history(customer_history),
        recent_replies=list(recent_replies),
        settings=settings,
        org=org,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    user_prompt = build_user_prompt(
        post,
        triage,
        channel=channel.partition(":")[0] if channel is not None else None,  # the network; its limit below
        instructions=instructions,
        limit=limit,
        org=org,
        generation=generation,
        previous_draft=previous_draft,
    )
    try:
        result = await agent.run(user_prompt, deps=deps, model=model_obj)
    except ModelUnavailable:
        raise
    except UnexpectedModelBehavior as exc:
        raise DraftFailed(f"the model's output stayed unusable: {exc}", extra={"retryable": True}) from exc

    draft = result.output
    if deps.state.kept_attempt is not None:
        note = f"attempt {deps.state.kept_attempt} of {deps.state.attempts} kept: the later ones were worse"
        draft = draft.model_copy(update={"rationale": f"{draft.rationale}; {note}" if draft.rationale else note})
    # the final gate: the validator's result when it checked this very text (it usually did), else check again
    final, sim = check_text(deps, draft.text)
    findings = list(final.findings)
    if sim > TEMPLATE_THRESHOLD:
        findings.append(
            Finding(
                category="template",
                rule="recent_replies",
                severity="warn",
                start=0,
                end=len(draft.text),
                match=draft.text,
                message=f"Near-duplicate of a recent reply (char-3-gram Jaccard {sim:.2f} > {TEMPLATE_THRESHOLD}).",
                suggestion="Regenerate, or rewrite it for this post's subject.",
            )
        )
        final = CheckResult.from_findings(findings)
    seen = _categories(deps.state.problems_seen)
    unresolved = final.categories | _categories(structural_problems(deps, draft))
    fixed = sorted(seen - unresolved)
    messages = result.all_messages()
    answered = next((m.model_name for m in reversed(messages) if isinstance(m, ModelResponse) and m.model_name), None)
    usage = result.usage
    return DraftOutcome(
        draft=draft,
        model=OFFLINE_MODEL_NAME if model_obj.model_name == OFFLINE_MODEL_NAME else (answered or model_obj.model_name),
        prompt_version=prompt_file.version,
        usage={"requests": usage.requests, "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        cost_usd=0.0 if model_obj.model_name == OFFLINE_MODEL_NAME else cost_of(messages),
        retrieved=list(deps.state.retrieved.values()),
        checks=final,
        attempts=deps.state.attempts,
        template_similarity=round(sim, 4),
        findings_fixed=fixed,
    )
