"""The drafting agent: tailored, grounded, checked replies (pydantic-ai, offline model or litellm)."""

from __future__ import annotations

from agent.drafting.agent import DraftDeps, HistoryItem, build_user_prompt, drafting_agent
from agent.drafting.service import DraftFailed, DraftOutcome, draft_reply
from agent.similarity import TEMPLATE_THRESHOLD, pairwise_stats, similarity

__all__ = [
    "TEMPLATE_THRESHOLD",
    "DraftDeps",
    "DraftFailed",
    "DraftOutcome",
    "HistoryItem",
    "build_user_prompt",
    "draft_reply",
    "drafting_agent",
    "pairwise_stats",
    "similarity",
]
