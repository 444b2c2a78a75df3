"""What an evaluation case feeds the drafting task and what the task hands to the evaluators."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from evals.schema import Expect

__all__ = ["CaseInputs", "CaseMeta", "CitedEntry", "DraftOutput"]


class CaseInputs(BaseModel):
    """The post (as PostIn JSON), its channel and the customer's history."""

    post: dict[str, Any]
    channel: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)


class CaseMeta(BaseModel):
    """What the suite says about a case."""

    category: str
    critical: bool = False
    expect: Expect


class CitedEntry(BaseModel):
    key: str
    revision: int
    kind: str
    title: str = ""
    body: str = ""


class DraftOutput(BaseModel):
    """One drafted reply with what the evaluators need: citations with their text, checks, cost, time."""

    text: str
    language: str
    citations: list[CitedEntry]
    needs_dm: bool
    action: str
    escalate_to: str | None
    rationale: str = ""
    channel: str | None
    post_text: str
    triage: dict[str, Any]
    check_verdict: str
    check_categories: list[str]
    findings: list[dict[str, Any]]
    model: str
    prompt_version: str
    latency_s: float
    cost_usd: float | None
    attempts: int

    @property
    def cited_keys(self) -> list[str]:
        return [c.key for c in self.citations]
