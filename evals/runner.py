"""Runs a suite: builds its own knowledge base, drafts every case, evaluates, gates on thresholds and a baseline."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_ai.models import Model
from pydantic_evals import Case, Dataset
from pydantic_evals.reporting import EvaluationReport, ReportCase, ReportCaseFailure
from pydantic_evals.reporting.analyses import ScalarResult

from agent.drafting import draft_reply
from agent.drafting.agent import PROMPT
from agent.intake.triage import triage
from agent.llm.routing import build_model
from agent.org.schemas import OrgProfile
from agent.schemas import PostIn
from evals.evaluators import case_evaluators, suite_evaluators
from evals.judge import JUDGE_LABEL, SKIPPED, ReplyJudge, is_real_model
from evals.schema import CaseSpec, Expect, Suite, Thresholds
from evals.shapes import CaseInputs, CaseMeta, CitedEntry, DraftOutput
from kizuki.core.settings import Settings, get_settings
from kizuki.runtime import Runtime
from kizuki.seed import CompanyFolder, demo, other_company_names
from knowledge import io as kio

__all__ = [
    "DANGEROUS_CATEGORIES",
    "REPORT_FORMAT",
    "BaselineResult",
    "CaseReport",
    "EvalReport",
    "EvaluationOut",
    "SuiteRun",
    "ThresholdResult",
    "compare_to_baseline",
    "run_suite",
    "run_suites",
]

REPORT_FORMAT = "kizuki-eval-report/1"
DANGEROUS_CATEGORIES = ("ng_word", "pii_echo", "compensation", "overpromise")
"""Finding categories no shipped case may produce (every case gets a NoFindings evaluator for them)."""
HIGHER_IS_BETTER = ("case_pass_rate", "critical_pass_rate", "check_pass_rate", "citation_precision")
LOWER_IS_BETTER = ("mean_similarity", "max_pair_similarity")

Status = Literal["passed", "failed", "skipped", "score", "label", "error"]


class EvaluationOut(BaseModel):
    name: str
    status: Status
    value: bool | int | float | str | None
    reason: str | None = None


class CaseReport(BaseModel):
    """One case in a report: inputs, output, every evaluator's result and reason."""

    name: str
    category: str
    critical: bool
    passed: bool
    inputs: dict[str, Any]
    expect: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None = None
    evaluations: list[EvaluationOut] = Field(default_factory=list)

    def failed_evaluations(self) -> list[EvaluationOut]:
        return [e for e in self.evaluations if e.status in ("failed", "error")]


class ThresholdResult(BaseModel):
    metric: str
    op: Literal[">=", "<="]
    limit: float
    value: float | None
    ok: bool


class BaselineDelta(BaseModel):
    metric: str
    baseline: float
    current: float
    delta: float
    ok: bool


class BaselineResult(BaseModel):
    tolerance: float
    deltas: list[BaselineDelta]
    regressed_cases: list[str] = Field(description="Passed in the baseline, fail now (listed, not gated)")
    fixed_cases: list[str]
    missing: bool = Field(default=False, description="The baseline report has no run of this suite")

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.deltas)


class SuiteRun(BaseModel):
    """The result of one suite on one model: cases, suite metrics, thresholds, baseline comparison."""

    suite: str
    model: str
    prompt_version: str
    judge: str = Field(description="'skipped (offline)' or the judge model")
    started_at: datetime
    duration_s: float
    cases: list[CaseReport]
    metrics: dict[str, float | None]
    evaluator_pass_rates: dict[str, float]
    thresholds: list[ThresholdResult]
    baseline: BaselineResult | None = None

    @property
    def thresholds_ok(self) -> bool:
        return all(t.ok for t in self.thresholds)

    @property
    def passed(self) -> bool:
        return self.thresholds_ok and (self.baseline is None or self.baseline.ok)

    def scores(self) -> dict[str, float]:
        """Every comparable score of the run (metrics and `evaluator:<name>` pass rates)."""
        out = {k: float(v) for k, v in self.metrics.items() if v is not None}
        out.update({f"evaluator:{k}": v for k, v in self.evaluator_pass_rates.items()})
        return out


class EvalReport(BaseModel):
    """The JSON report: one or more suite runs."""

    format: str = REPORT_FORMAT
    runs: list[SuiteRun]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    def run_for(self, suite: str) -> SuiteRun | None:
        return next((r for r in self.runs if r.suite == suite), None)


# --- running ----------------------------------------------------------------------------------------------------


def _post(case: CaseSpec) -> dict[str, Any]:
    p = case.post
    data: dict[str, Any] = {
        "source": p.source,
        "external_id": case.name,
        "author": {"handle": p.handle, "followers": p.followers},
        "text": p.text,
        "lang": p.lang,
    }
    if p.channel:
        data["channel"] = p.channel
    return data


def build_dataset(
    suite: Suite, *, judge_model: str | Model | None = None, never_name: Sequence[str] = ()
) -> Dataset[CaseInputs, DraftOutput, CaseMeta]:
    """The suite as a pydantic-evals dataset: per-case property evaluators, the judge, suite-level scores.

    ``never_name`` (other companies' names) is added to every case's `must_not_contain`, so no suite file has
    to name another company."""
    cases = [
        Case(
            name=c.name,
            inputs=CaseInputs(
                post=_post(c),
                channel=c.post.channel or c.post.source,
                history=[h.model_dump(mode="json") for h in c.history],
            ),
            metadata=CaseMeta(category=c.category, critical=c.critical, expect=expect),
            evaluators=tuple(case_evaluators(expect, default_no_findings=DANGEROUS_CATEGORIES)),
        )
        for c in suite.cases
        for expect in [_never_naming(c.expect, never_name)]
    ]
    return Dataset(
        name=suite.name, cases=cases, evaluators=[ReplyJudge(judge_model)], report_evaluators=suite_evaluators()
    )


def _never_naming(expect: Expect, names: Sequence[str]) -> Expect:
    if not names:
        return expect
    return expect.model_copy(update={"must_not_contain": list(dict.fromkeys([*expect.must_not_contain, *names]))})


def _model_label(model: str | Model) -> str:
    return model if isinstance(model, str) else model.model_name


def eval_settings(base: Settings, home: Path, company: CompanyFolder | None = None) -> Settings:
    """Settings for a run's own knowledge base: a fresh home and SQLite file, the shared embedding cache, and
    the rules file of the suite's company (or the configured one)."""
    company_rules = company.rules_file if company is not None and company.rules_file.exists() else None
    rules = company_rules or base.effective_rules_file
    return base.model_copy(
        update={
            "home": home,
            "database_url": None,
            "chroma_url": None,
            "cache_home": base.cache_dir.resolve(),
            "rules_file": rules,
        }
    )


class _Drafter:
    """The task pydantic-evals runs per case: triage, then draft with the run's model against the run's KB."""

    def __init__(
        self, rt: Runtime, model: str | Model, prompt: str | None = None, org: OrgProfile | None = None
    ) -> None:
        self.rt = rt
        self.model = build_model(model, rt.settings) if isinstance(model, str) else model
        self.prompt = prompt
        self.org = org

    async def __call__(self, inputs: CaseInputs) -> DraftOutput:
        post = PostIn.model_validate(inputs.post)
        tri = triage(post, org=self.org)
        t0 = time.perf_counter()
        outcome = await draft_reply(
            post,
            tri,
            retriever=self.rt.knowledge,
            model=self.model,
            settings=self.rt.settings,
            channel=inputs.channel,
            customer_history=inputs.history,
            checker=self.rt.checker_for(self.org),
            prompt=self.prompt,
            org=self.org,
        )
        latency = time.perf_counter() - t0
        retrieved = {(e.key, e.revision): e for e in outcome.retrieved}
        cited = []
        for c in outcome.draft.citations:
            e = retrieved.get((c.key, c.revision))
            cited.append(
                CitedEntry(
                    key=c.key,
                    revision=c.revision,
                    kind=e.kind if e else "unknown",
                    title=e.title if e else "",
                    body=e.body if e else "",
                )
            )
        d = outcome.draft
        return DraftOutput(
            text=d.text,
            language=d.language,
            citations=cited,
            needs_dm=d.needs_dm,
            action=d.action,
            escalate_to=d.escalate_to,
            rationale=d.rationale,
            channel=inputs.channel,
            post_text=post.text,
            triage=tri.model_dump(mode="json", include={"language", "intent", "sentiment", "flame_risk"}),
            check_verdict=outcome.checks.verdict,
            check_categories=sorted(outcome.checks.categories),
            findings=[f.model_dump(mode="json") for f in outcome.checks.findings],
            model=outcome.model,
            prompt_version=outcome.prompt_version,
            latency_s=round(latency, 4),
            cost_usd=outcome.cost_usd,
            attempts=outcome.attempts,
        )


def _evaluations(case: ReportCase[CaseInputs, DraftOutput, CaseMeta]) -> list[EvaluationOut]:
    out = [
        EvaluationOut(name=n, status="passed" if r.value else "failed", value=r.value, reason=r.reason)
        for n, r in case.assertions.items()
    ]
    out += [EvaluationOut(name=n, status="score", value=r.value, reason=r.reason) for n, r in case.scores.items()]
    out += [
        EvaluationOut(name=n, status="skipped" if r.value == SKIPPED else "label", value=r.value, reason=r.reason)
        for n, r in case.labels.items()
    ]
    out += [
        EvaluationOut(name=f.name, status="error", value=None, reason=f.error_message) for f in case.evaluator_failures
    ]
    return out


def _case_report(
    case: ReportCase[CaseInputs, DraftOutput, CaseMeta] | ReportCaseFailure[CaseInputs, DraftOutput, CaseMeta],
) -> CaseReport:
    meta = case.metadata
    assert meta is not None
    base: dict[str, Any] = {
        "name": case.name,
        "category": meta.category,
        "critical": meta.critical,
        "inputs": case.inputs.model_dump(mode="json"),
        "expect": meta.expect.model_dump(mode="json", exclude_defaults=True),
    }
    if isinstance(case, ReportCaseFailure):
        return CaseReport(**base, passed=False, output=None, error=case.error_message)
    evaluations = _evaluations(case)
    passed = not any(e.status in ("failed", "error") for e in evaluations)
    return CaseReport(**base, passed=passed, output=case.output.model_dump(mode="json"), evaluations=evaluations)


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _metrics(
    report: EvaluationReport[CaseInputs, DraftOutput, CaseMeta], cases: list[CaseReport]
) -> tuple[dict[str, float | None], dict[str, float]]:
    metrics: dict[str, float | None] = {
        "cases": float(len(cases)),
        "case_pass_rate": _rate([c.passed for c in cases]),
        "critical_pass_rate": _rate([c.passed for c in cases if c.critical]),
        "task_errors": float(sum(c.error is not None for c in cases)),
    }
    for analysis in report.analyses:
        if isinstance(analysis, ScalarResult):
            metrics[analysis.title] = float(analysis.value)
    judge_scores: dict[str, list[float]] = {}
    by_evaluator: dict[str, list[bool]] = {}
    for c in cases:
        for e in c.evaluations:
            if e.status in ("passed", "failed", "error"):
                by_evaluator.setdefault(e.name, []).append(e.status == "passed")
            elif e.status == "score" and isinstance(e.value, int | float):
                judge_scores.setdefault(e.name, []).append(float(e.value))
    for name, values in judge_scores.items():
        metrics[name] = round(sum(values) / len(values), 4)
    rates = {name: r for name, flags in sorted(by_evaluator.items()) if (r := _rate(flags)) is not None}
    return metrics, rates


def check_thresholds(t: Thresholds, metrics: dict[str, float | None], rates: dict[str, float]) -> list[ThresholdResult]:
    """Each configured threshold against the run (a metric the run does not have is not gated)."""
    out: list[ThresholdResult] = []
    bounds: list[tuple[Literal[">=", "<="], dict[str, float | None]]] = [
        (
            ">=",
            {
                "case_pass_rate": t.case_pass_rate,
                "critical_pass_rate": t.critical_pass_rate,
                "check_pass_rate": t.check_pass_rate,
                "citation_precision": t.citation_precision,
            },
        ),
        (
            "<=",
            {
                "mean_similarity": t.max_mean_similarity,
                "max_pair_similarity": t.max_pair_similarity,
                "latency_p95_s": t.max_latency_p95_s,
                "cost_per_draft_usd": t.max_cost_per_draft_usd,
            },
        ),
    ]
    for op, limits in bounds:
        for name, limit in limits.items():
            v = metrics.get(name)
            if limit is not None and v is not None:
                ok = v >= limit if op == ">=" else v <= limit
                out.append(ThresholdResult(metric=name, op=op, limit=limit, value=v, ok=ok))
    if (errors := metrics.get("task_errors")) is not None:
        out.append(ThresholdResult(metric="task_errors", op="<=", limit=0, value=errors, ok=errors == 0))
    for name, limit in t.evaluators.items():
        v = rates.get(name)
        out.append(
            ThresholdResult(metric=f"evaluator:{name}", op=">=", limit=limit, value=v, ok=v is None or v >= limit)
        )
    return out


def compare_to_baseline(current: SuiteRun, baseline: SuiteRun | None, tolerance: float) -> BaselineResult:
    """Scores that dropped more than `tolerance` (absolute) against the baseline fail the run."""
    if baseline is None:
        return BaselineResult(tolerance=tolerance, deltas=[], regressed_cases=[], fixed_cases=[], missing=True)
    now, then = current.scores(), baseline.scores()
    deltas = []
    for name in sorted(set(now) & set(then)):
        higher = name in HIGHER_IS_BETTER or name.startswith(("evaluator:", "judge_"))
        lower = name in LOWER_IS_BETTER
        if not (higher or lower):
            continue
        delta = round(now[name] - then[name], 4)
        ok = delta >= -tolerance if higher else delta <= tolerance
        deltas.append(BaselineDelta(metric=name, baseline=then[name], current=now[name], delta=delta, ok=ok))
    before = {c.name: c.passed for c in baseline.cases}
    regressed = [c.name for c in current.cases if before.get(c.name) is True and not c.passed]
    fixed = [c.name for c in current.cases if before.get(c.name) is False and c.passed]
    return BaselineResult(tolerance=tolerance, deltas=deltas, regressed_cases=regressed, fixed_cases=fixed)


async def run_suite_async(
    suite: Suite,
    *,
    model: str | Model = "offline",
    settings: Settings | None = None,
    judge_model: str | Model | None = None,
    baseline: EvalReport | None = None,
    max_concurrency: int | None = None,
    prompt: str | None = None,
) -> SuiteRun:
    """Run one suite against its own knowledge base in a temp home: its company's knowledge, profile and rules
    (the suite file's company folder, or the demo company's for a suite file elsewhere) + the suite's entries.

    The judge runs with `judge_model`, or with `model` when that is a real model id; otherwise it is SKIPPED.
    Cases run one at a time on the offline model (so latency is per draft, not queueing), four at a time otherwise.
    """
    base = settings or get_settings()
    if judge_model is None and isinstance(model, str) and is_real_model(model):
        judge_model = model
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"kizuki-eval-{suite.name}-", ignore_cleanup_errors=True) as home:
        company = CompanyFolder(suite.company) if suite.company is not None else demo()
        rt = Runtime(eval_settings(base, Path(home), company))
        try:
            rt.db.migrate()
            org = company.profile()
            entries = [*kio.read_file(company.knowledge_file), *suite.extra_knowledge()]
            await asyncio.to_thread(rt.knowledge.import_entries, entries, actor="eval")
            # load the embedding model before the clock starts, so the first case's latency is a draft's
            await asyncio.to_thread(rt.knowledge.retrieve, "warm-up", k=1)
            if max_concurrency is None:
                max_concurrency = 4 if is_real_model(model) else 1
            dataset = build_dataset(suite, judge_model=judge_model, never_name=other_company_names(company))
            report = await dataset.evaluate(
                _Drafter(rt, model, prompt, org),
                name=f"{suite.name}:{_model_label(model)}",
                max_concurrency=max_concurrency,
                progress=False,
            )
        finally:
            rt.close()
    by_name: dict[
        str, ReportCase[CaseInputs, DraftOutput, CaseMeta] | ReportCaseFailure[CaseInputs, DraftOutput, CaseMeta]
    ] = {c.name: c for c in report.cases}
    by_name.update({f.name: f for f in report.failures})
    cases = [_case_report(by_name[c.name]) for c in suite.cases]
    metrics, rates = _metrics(report, cases)
    prompt_versions = {c.output["prompt_version"] for c in cases if c.output}
    run = SuiteRun(
        suite=suite.name,
        model=_model_label(model),
        prompt_version=", ".join(sorted(prompt_versions)) or PROMPT.version,
        judge=_model_label(judge_model) if is_real_model(judge_model) else SKIPPED,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 2),
        cases=cases,
        metrics=metrics,
        evaluator_pass_rates=rates,
        thresholds=check_thresholds(suite.thresholds, metrics, rates),
    )
    if baseline is not None:
        run.baseline = compare_to_baseline(run, baseline.run_for(suite.name), suite.baseline_tolerance)
    return run


def run_suite(suite: Suite, **kwargs: Any) -> SuiteRun:
    """Synchronous :func:`run_suite_async`."""
    return asyncio.run(run_suite_async(suite, **kwargs))


def run_suites(suites: Sequence[Suite], **kwargs: Any) -> EvalReport:
    """Several suites, one after another, each on its own knowledge base."""

    async def _all() -> list[SuiteRun]:
        return [await run_suite_async(s, **kwargs) for s in suites]

    return EvalReport(runs=asyncio.run(_all()))


def judge_summary(run: SuiteRun) -> str:
    """'SKIPPED' when the judge did not run, else the mean of its pass assertion."""
    rate = run.evaluator_pass_rates.get("judge_pass")
    labels = {e.value for c in run.cases for e in c.evaluations if e.name == JUDGE_LABEL}
    if rate is None or labels == {SKIPPED}:
        return SKIPPED
    return f"{rate:.0%}"
