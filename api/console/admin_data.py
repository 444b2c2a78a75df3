"""What the console's admin pages show, computed from the domain: revision diffs, eval reports, audit entries."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evals import service as eval_service
from evals.models import EvalRun
from evals.runner import CaseReport, SuiteRun
from kizuki.core.audit import AuditEntry
from knowledge.schemas import RevisionPublic

# A character-level comparison of two lines costs about len(a) * len(b); above this, the pair is shown
# as changed as a whole (a 10,000-character body on one line would otherwise take seconds).
MAX_INLINE_DIFF_COST = 4_000_000
DIFF_CONTEXT_LINES = 3

RowTag = Literal["equal", "replace", "delete", "insert"]


# -- knowledge revisions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """A run of characters of one side of a changed line; `changed` marks what differs from the other side."""

    text: str
    changed: bool


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: a line of the old text, of the new text, or of both."""

    tag: RowTag
    old_no: int | None
    old: tuple[Segment, ...]
    new_no: int | None
    new: tuple[Segment, ...]


@dataclass(frozen=True)
class UnifiedLine:
    kind: Literal["file", "hunk", "context", "delete", "insert"]
    text: str


@dataclass(frozen=True)
class TextDiff:
    """How one text field (title or body) changed, side by side and as a unified diff."""

    field: str
    rows: tuple[DiffRow, ...]
    unified: tuple[UnifiedLine, ...]

    @property
    def changed(self) -> bool:
        return any(r.tag != "equal" for r in self.rows)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class RevisionDiff:
    key: str
    old: RevisionPublic
    new: RevisionPublic
    fields: tuple[FieldChange, ...]
    texts: tuple[TextDiff, ...]

    @property
    def changed(self) -> bool:
        return bool(self.fields) or any(t.changed for t in self.texts)


def _inline(old: str, new: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """The two lines cut into runs that are the same on both sides and runs that differ."""
    if len(old) * len(new) > MAX_INLINE_DIFF_COST:
        return (Segment(old, True),), (Segment(new, True),)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    left: list[Segment] = []
    right: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        if i2 > i1:
            left.append(Segment(old[i1:i2], not same))
        if j2 > j1:
            right.append(Segment(new[j1:j2], not same))
    return tuple(left), tuple(right)


def _lines(text: str) -> list[str]:
    return text.splitlines() or [""]


def text_diff(field_name: str, old_text: str, new_text: str, *, old_label: str, new_label: str) -> TextDiff:
    """Side-by-side rows (changed lines paired, with the characters that differ marked) and a unified diff."""
    old_lines, new_lines = _lines(old_text), _lines(new_text)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                same = (Segment(old_lines[i1 + k], False),)
                rows.append(DiffRow("equal", i1 + k + 1, same, j1 + k + 1, same))
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            left, right = _inline(old_lines[i1 + k], new_lines[j1 + k])
            rows.append(DiffRow("replace", i1 + k + 1, left, j1 + k + 1, right))
        for k in range(i1 + pairs, i2):
            rows.append(DiffRow("delete", k + 1, (Segment(old_lines[k], True),), None, ()))
        for k in range(j1 + pairs, j2):
            rows.append(DiffRow("insert", None, (), k + 1, (Segment(new_lines[k], True),)))
    unified: list[UnifiedLine] = []
    for line in difflib.unified_diff(
        old_lines, new_lines, fromfile=old_label, tofile=new_label, lineterm="", n=DIFF_CONTEXT_LINES
    ):
        if line.startswith(("---", "+++")) and len(unified) < 2:
            unified.append(UnifiedLine("file", line))
        elif line.startswith("@@"):
            unified.append(UnifiedLine("hunk", line))
        elif line.startswith("-"):
            unified.append(UnifiedLine("delete", line))
        elif line.startswith("+"):
            unified.append(UnifiedLine("insert", line))
        else:
            unified.append(UnifiedLine("context", line))
    return TextDiff(field_name, tuple(rows), tuple(unified))


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return str(value)


def revision_diff(old: RevisionPublic, new: RevisionPublic) -> RevisionDiff:
    """What changed from revision `old` to revision `new` of one entry (either may be the later one)."""
    fields = tuple(
        FieldChange(name, _shown(getattr(old, name)), _shown(getattr(new, name)))
        for name in ("kind", "lang", "status", "tags", "extra")
        if getattr(old, name) != getattr(new, name)
    )
    old_label, new_label = f"revision {old.revision}", f"revision {new.revision}"
    texts = tuple(
        text_diff(name, getattr(old, name), getattr(new, name), old_label=old_label, new_label=new_label)
        for name in ("title", "body")
    )
    return RevisionDiff(key=new.key, old=old, new=new, fields=fields, texts=texts)


# -- evaluation runs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSummary:
    id: int
    suite: str
    model: str
    prompt_version: str
    passed: bool
    case_count: int
    case_pass_rate: float | None
    created_by: str
    created_at: datetime


def list_runs(
    session: Session, *, suite: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[RunSummary], int]:
    """Stored runs, newest first, without their reports (a report can be megabytes)."""
    cols = (
        EvalRun.id,
        EvalRun.suite,
        EvalRun.model,
        EvalRun.prompt_version,
        EvalRun.passed,
        EvalRun.case_count,
        EvalRun.case_pass_rate,
        EvalRun.created_by,
        EvalRun.created_at,
    )
    stmt = select(*cols)
    count = select(func.count(EvalRun.id))
    if suite:
        stmt = stmt.where(EvalRun.suite == suite)
        count = count.where(EvalRun.suite == suite)
    rows = session.execute(stmt.order_by(EvalRun.id.desc()).limit(limit).offset(offset)).all()
    total = int(session.scalar(count) or 0)
    return [
        RunSummary(
            id=r.id,
            suite=r.suite,
            model=r.model,
            prompt_version=r.prompt_version,
            passed=r.passed,
            case_count=r.case_count,
            case_pass_rate=r.case_pass_rate,
            created_by=r.created_by,
            created_at=r.created_at,
        )
        for r in rows
    ], total


def stored_suites(session: Session) -> list[str]:
    return [str(s) for s in session.scalars(select(EvalRun.suite).distinct().order_by(EvalRun.suite))]


def failures_first(run: SuiteRun) -> list[CaseReport]:
    """The run's cases: failing critical ones, then other failures, then the rest, each in suite order."""
    order = {id(c): i for i, c in enumerate(run.cases)}
    return sorted(run.cases, key=lambda c: (c.passed, not c.critical, order[id(c)]))


def case_reason(case: CaseReport) -> str:
    """Why a case failed, in one line (empty for a passing case)."""
    parts = [f"{e.name}: {e.reason}" if e.reason else e.name for e in case.failed_evaluations()]
    if case.error:
        parts.insert(0, f"error: {case.error}")
    return "; ".join(parts)


CaseChange = Literal["regressed", "fixed", "still_failing", "still_passing", "only_a", "only_b"]


@dataclass(frozen=True)
class CaseDelta:
    name: str
    category: str
    critical: bool
    a_passed: bool | None
    b_passed: bool | None
    change: CaseChange
    reason: str
    a_text: str | None
    b_text: str | None

    @property
    def reply_changed(self) -> bool:
        return self.a_text != self.b_text


@dataclass(frozen=True)
class ScoreDelta:
    name: str
    a: float | None
    b: float | None
    delta: float | None
    ok: bool | None  # None: not gated (no direction), or missing on one side


@dataclass(frozen=True)
class RunComparisonView:
    a: eval_service.RunPublic
    b: eval_service.RunPublic
    comparison: eval_service.RunComparison
    scores: list[ScoreDelta]
    cases: list[CaseDelta] = field(default_factory=list)

    @property
    def a_created(self) -> datetime:
        return datetime.fromisoformat(self.a.created_at)

    @property
    def b_created(self) -> datetime:
        return datetime.fromisoformat(self.b.created_at)

    @property
    def regressed(self) -> int:
        return sum(c.change == "regressed" for c in self.cases)

    @property
    def fixed(self) -> int:
        return sum(c.change == "fixed" for c in self.cases)


_CHANGE_ORDER: dict[str, int] = {
    "regressed": 0,
    "still_failing": 1,
    "only_b": 2,
    "only_a": 3,
    "fixed": 4,
    "still_passing": 5,
}


def _change(a: CaseReport | None, b: CaseReport | None) -> CaseChange:
    if a is None:
        return "only_b"
    if b is None:
        return "only_a"
    if a.passed and not b.passed:
        return "regressed"
    if not a.passed and b.passed:
        return "fixed"
    return "still_passing" if b.passed else "still_failing"


def _text(case: CaseReport | None) -> str | None:
    if case is None or not case.output:
        return None
    value = case.output.get("text")
    return None if value is None else str(value)


def compare_runs(session: Session, a_id: int, b_id: int, *, tolerance: float = 0.02) -> RunComparisonView:
    """Run `b` against run `a` as REST compares them (`evals.service.compare_runs`), plus every case's change.

    Raises what the service raises: `EvalRunNotFound`, or `InvalidInput` for runs of different suites.
    """
    a, b = eval_service.run_pair(session, a_id, b_id)
    comparison = eval_service.compare_public(a, b, tolerance=tolerance)
    gated = {d.metric: d for d in comparison.comparison.deltas}
    a_scores, b_scores = a.run.scores(), b.run.scores()
    scores: list[ScoreDelta] = []
    for name in sorted(set(a_scores) | set(b_scores), key=lambda n: (n.startswith("evaluator:"), n)):
        va, vb = a_scores.get(name), b_scores.get(name)
        gate = gated.get(name)
        delta = None if va is None or vb is None else round(vb - va, 4)
        scores.append(ScoreDelta(name, va, vb, delta, gate.ok if gate else None))
    a_cases = {c.name: c for c in a.run.cases}
    b_cases = {c.name: c for c in b.run.cases}
    names = list(a_cases) + [n for n in b_cases if n not in a_cases]
    cases = []
    for name in names:
        ca, cb = a_cases.get(name), b_cases.get(name)
        either = cb or ca
        assert either is not None
        failing = cb if cb is not None and not cb.passed else ca if ca is not None and not ca.passed else None
        cases.append(
            CaseDelta(
                name=name,
                category=either.category,
                critical=either.critical,
                a_passed=None if ca is None else ca.passed,
                b_passed=None if cb is None else cb.passed,
                change=_change(ca, cb),
                reason=case_reason(failing) if failing is not None else "",
                a_text=_text(ca),
                b_text=_text(cb),
            )
        )
    cases.sort(key=lambda c: (_CHANGE_ORDER[c.change], not c.critical))
    return RunComparisonView(a=a, b=b, comparison=comparison, scores=scores, cases=cases)


# -- audit -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditChange:
    """One top-level field that differs between an entry's before and after."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    note: str | None
    before: str | None
    after: str | None
    changes: tuple[AuditChange, ...]
    subject_link: str | None


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _compact(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def audit_changes(before: Any, after: Any) -> tuple[AuditChange, ...]:
    """The top-level fields whose value differs, when both sides are objects; otherwise none."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    keys = list(before) + [k for k in after if k not in before]
    return tuple(
        AuditChange(str(k), _compact(before.get(k)), _compact(after.get(k)))
        for k in keys
        if before.get(k) != after.get(k)
    )


def subject_link(subject: str) -> str | None:
    """The console page of what an entry is about, when there is one."""
    kind, _, ident = subject.partition(":")
    if kind == "knowledge" and ident:
        return f"/knowledge/{ident}"
    if kind == "draft" and ident.isdigit():
        return f"/drafts/{ident}"
    if subject == "watch_rules":
        return "/watch-rules"
    if subject == "org":
        return "/profile"
    return None


def audit_rows(entries: Sequence[AuditEntry]) -> list[AuditRow]:
    return [
        AuditRow(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            subject=e.subject,
            note=e.note,
            before=_json(e.before),
            after=_json(e.after),
            changes=audit_changes(e.before, e.after),
            subject_link=subject_link(e.subject),
        )
        for e in entries
    ]
