"""Stored eval runs: save a suite run, read it back, compare two runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from evals.models import EvalRun
from evals.runner import BaselineResult, SuiteRun, compare_to_baseline
from kizuki.core.errors import InvalidInput, NotFound

__all__ = [
    "EvalRunNotFound",
    "RunComparison",
    "compare_public",
    "compare_runs",
    "get_run",
    "run_pair",
    "save_run",
    "to_public",
]


class EvalRunNotFound(NotFound):
    """No stored eval run with that id."""


class RunPublic(BaseModel):
    id: int
    suite: str
    model: str
    prompt_version: str
    passed: bool
    case_count: int
    case_pass_rate: float | None
    created_by: str
    created_at: str
    run: SuiteRun


class RunComparison(BaseModel):
    """Run `b` measured against run `a` (as a baseline), with the cases whose outcome changed."""

    a: int
    b: int
    suite: str
    models: tuple[str, str]
    comparison: BaselineResult
    changed_replies: list[dict[str, Any]]


def save_run(session: Session, run: SuiteRun, *, actor: str) -> EvalRun:
    row = EvalRun(
        suite=run.suite,
        model=run.model,
        prompt_version=run.prompt_version[:64],
        passed=run.passed,
        case_count=len(run.cases),
        case_pass_rate=run.metrics.get("case_pass_rate"),
        metrics=dict(run.metrics),
        report=run.model_dump(mode="json"),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def get_run(session: Session, run_id: int) -> EvalRun:
    row = session.get(EvalRun, run_id)
    if row is None:
        raise EvalRunNotFound(f"no eval run {run_id}")
    return row


def to_public(row: EvalRun) -> RunPublic:
    return RunPublic(
        id=row.id,
        suite=row.suite,
        model=row.model,
        prompt_version=row.prompt_version,
        passed=row.passed,
        case_count=row.case_count,
        case_pass_rate=row.case_pass_rate,
        created_by=row.created_by,
        created_at=row.created_at.isoformat(),
        run=SuiteRun.model_validate(row.report),
    )


def compare_runs(session: Session, a_id: int, b_id: int, *, tolerance: float = 0.02) -> RunComparison:
    """Scores of run `b` against run `a` with `tolerance`; both runs must be of the same suite."""
    return compare_public(*run_pair(session, a_id, b_id), tolerance=tolerance)


def run_pair(session: Session, a_id: int, b_id: int) -> tuple[RunPublic, RunPublic]:
    """Two stored runs, read once each, refused (`InvalidInput`) unless they are of the same suite."""
    a, b = get_run(session, a_id), get_run(session, b_id)
    if a.suite != b.suite:
        raise InvalidInput(f"runs {a_id} and {b_id} are of different suites ({a.suite!r}, {b.suite!r})")
    return to_public(a), to_public(b)


def compare_public(a: RunPublic, b: RunPublic, *, tolerance: float = 0.02) -> RunComparison:
    """Scores of run `b` against run `a` (both already read, of one suite) with `tolerance`."""
    ra, rb = a.run, b.run
    texts = {c.name: (c.output or {}).get("text") for c in ra.cases}
    changed = [
        {"case": c.name, "a": texts.get(c.name), "b": (c.output or {}).get("text")}
        for c in rb.cases
        if c.name in texts and texts[c.name] != (c.output or {}).get("text")
    ]
    return RunComparison(
        a=a.id,
        b=b.id,
        suite=a.suite,
        models=(a.model, b.model),
        comparison=compare_to_baseline(rb, ra, tolerance),
        changed_replies=changed,
    )
