"""SQL building blocks over posts (shared by explore, aggregates, departments and alerts) and the department
routing rule, which is one of them (the rule itself is described in `reports.departments`).

Everything here works on SQLite and PostgreSQL: JSON fields are read with SQLAlchemy's JSON operators, JSON arrays
with `json_each` (SQLite) or `jsonb_array_elements_text`/`jsonb_exists` (PostgreSQL).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import Boolean, ColumnElement, exists, false, func, or_, select

from agent.org.schemas import OrgProfile
from agent.posts.lifecycle import DraftStatus
from agent.posts.models import Draft, Post
from agent.schemas import Department
from kizuki.core.errors import InvalidInput
from kizuki.core.text import nfkc

# When the post was written; when we received it if the network gave no date. Migration 0012 indexes this
# expression (written the same way there: SQLite and PostgreSQL match an index on an expression only when the
# query spells it identically).
POST_TIME: ColumnElement[datetime] = func.coalesce(Post.posted_at, Post.received_at)
# Array fields inside the JSON columns: (column, path).
TOPICS = ("triage", ("topics",))
SENSITIVE = ("triage", ("sensitive",))
COMPETITORS = ("watch", ("matched", "competitor"))

# -- JSON fields ---------------------------------------------


def _json_path(column: str, path: tuple[str, ...]) -> Any:
    col = getattr(Post, column)
    return col[path[0]] if len(path) == 1 else col[path]


def array_contains(dialect: str, field: tuple[str, tuple[str, ...]], value: str) -> ColumnElement[bool]:
    """The JSON array at `field` (e.g. `TOPICS`) holds `value` (exactly)."""
    column, path = field
    if dialect == "postgresql":
        return func.jsonb_exists(_json_path(column, path), value, type_=Boolean)
    elements = func.json_each(getattr(Post, column), "$." + ".".join(path)).table_valued("value")
    return exists(select(1).select_from(elements).where(elements.c.value == value))


def array_elements(dialect: str, field: tuple[str, tuple[str, ...]]) -> Any:
    """A table-valued expression of the JSON array's elements (column `value`), to join to `posts`."""
    column, path = field
    if dialect == "postgresql":
        return func.jsonb_array_elements_text(_json_path(column, path)).table_valued("value").lateral()
    return func.json_each(getattr(Post, column), "$." + ".".join(path)).table_valued("value")


def json_text(column: str, key: str) -> ColumnElement[str]:
    """A top-level string field of a JSON column (`triage.sentiment`)."""
    return getattr(Post, column)[key].as_string()  # type: ignore[no-any-return]


# -- departments (the rule: reports/departments.py) --------------------------------------------------

ESCALATION_DEPARTMENTS: tuple[str, ...] = get_args(Department)
_SPLIT = re.compile(r"\s*(?:[,、，;；/／]|\bor\b)\s*", re.IGNORECASE)


def _fold(value: str) -> str:
    return nfkc(value).strip().lower()


def department_terms(profile: OrgProfile | None) -> dict[str, list[str]]:
    """Department → its routing terms (folded), from the profile's `departments`."""
    out: dict[str, list[str]] = {}
    for name, description in (profile.departments if profile else {}).items():
        terms = [_fold(t) for t in _SPLIT.split(description or "")]
        out[name] = list(dict.fromkeys(t for t in terms if len(t) >= 2))
    return out


def department_names(profile: OrgProfile | None) -> list[str]:
    """The profile's departments, then the escalation departments it does not name."""
    names = list(profile.departments) if profile else []
    return [*names, *[d for d in ESCALATION_DEPARTMENTS if d not in names]]


def departments_of(
    profile: OrgProfile | None,
    *,
    text: str,
    topics: list[str],
    escalate_to: str | None = None,
    terms: dict[str, list[str]] | None = None,
) -> list[str]:
    """The departments a post belongs to (rule 1, then rule 2 in the profile's order); `terms` is the profile's
    `department_terms`, when the caller has it already (one per page or export, not one per row)."""
    out = [escalate_to] if escalate_to else []
    folded_text = (text or "").lower()
    folded_topics = {_fold(t) for t in topics}
    for name, words in (department_terms(profile) if terms is None else terms).items():
        if name not in out and any(t in folded_topics or t in folded_text for t in words):
            out.append(name)
    return out


def department_condition(name: str, dialect: str, profile: OrgProfile | None) -> ColumnElement[bool]:
    """SQL: the post belongs to department `name` (the same rule as `departments_of`)."""
    if name not in department_names(profile):
        raise InvalidInput(f"unknown department {name!r}; known: {', '.join(department_names(profile))}")
    escalated = (
        select(1)
        .where(Draft.post_id == Post.id, Draft.escalate_to == name, Draft.status != DraftStatus.SUPERSEDED)
        .exists()
    )
    conditions: list[ColumnElement[bool]] = [escalated]
    for term in department_terms(profile).get(name, []):
        conditions.append(array_contains(dialect, TOPICS, term))
        conditions.append(array_contains(dialect, SENSITIVE, term))
        conditions.append(func.lower(Post.text).contains(term, autoescape=True))
    return or_(*conditions) if conditions else false()
