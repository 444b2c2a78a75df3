"""Departments: which posts and escalated drafts go to whom, and a digest per department.

Routing, kept simple on purpose (one rule a support lead can predict):

1. A post whose newest draft escalates (`escalate_to`, chosen by the drafting agent: support, quality, pr,
   legal, sales) belongs to that department.
2. The organisation profile's `departments` maps a department to what it handles, as a list of terms
   (``quality: heat, smoke, 発煙, 発火``; separated by commas, 、, ;, / or " or "). A post belongs to every
   department one of whose terms is one of its triage topics (products are topics) or sensitive topics
   (safety, legal, ...), or appears in its text (case-insensitive for Latin letters). Terms of one character
   are ignored. Write the terms in each language your customers use: nothing is translated.

A post may belong to several departments, or to none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.org.schemas import OrgProfile
from agent.posts.lifecycle import DraftStatus
from agent.posts.models import Draft, Post
from reports.aggregates import totals
from reports.explore import PostFilter, RowContext, page
from reports.query import (
    ESCALATION_DEPARTMENTS,
    POST_TIME,
    department_condition,
    department_names,
    department_terms,
    departments_of,
)

__all__ = [
    "ESCALATION_DEPARTMENTS",
    "DepartmentDigest",
    "department_condition",
    "department_names",
    "department_terms",
    "departments_of",
    "digest",
]


@dataclass
class DepartmentDigest:
    department: str
    terms: list[str]
    posts: int = 0
    negative: int = 0
    escalated_pending: int = 0
    top_topics: list[tuple[str | None, int]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "terms": self.terms,
            "posts": self.posts,
            "negative": self.negative,
            "escalated_pending": self.escalated_pending,
            "top_topics": [{"topic": t, "count": c} for t, c in self.top_topics],
            "examples": self.examples,
        }


def digest(
    session: Session,
    *,
    dialect: str,
    profile: OrgProfile | None,
    since: datetime,
    until: datetime,
    redactor: Any,
    examples: int = 3,
) -> list[DepartmentDigest]:
    """Per department: kept posts in the window, how many negative, escalated drafts still pending, the top
    topics and the riskiest posts as examples (redacted when `redactor` is given)."""
    terms = department_terms(profile)
    out: list[DepartmentDigest] = []
    for name in department_names(profile):
        flt = PostFilter(since=since, until=until, kept=True, department=name)
        d = DepartmentDigest(department=name, terms=terms.get(name, []))
        by_sentiment = totals(session, flt, "sentiment", dialect=dialect, profile=profile)
        d.posts = sum(c for _, c in by_sentiment)
        d.negative = sum(c for k, c in by_sentiment if k == "negative")
        d.escalated_pending = int(
            session.scalar(
                select(func.count())
                .select_from(Draft)
                .join(Post, Post.id == Draft.post_id)
                .where(
                    Draft.escalate_to == name,
                    Draft.status == DraftStatus.PENDING,
                    POST_TIME >= since,  # noqa: SIM300 - POST_TIME is an expression, not a constant
                    POST_TIME < until,  # noqa: SIM300
                )
            )
            or 0
        )
        d.top_topics = totals(session, flt, "topic", dialect=dialect, profile=profile, limit=5)
        if d.posts and examples:
            rows = page(session, flt, RowContext(profile, redactor), dialect=dialect, limit=min(50, d.posts))
            risky = sorted(rows.items, key=lambda r: (-(r.flame_risk or 0), r.id))[:examples]
            d.examples = [
                {"id": r.id, "time": r.time.isoformat(), "sentiment": r.sentiment, "text": r.text[:280]} for r in risky
            ]
        out.append(d)
    return out
