"""Suite runs on the offline model: shipped suites pass, a broken DM redirect fails, baselines catch drops."""

from __future__ import annotations

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from evals.judge import SKIPPED
from evals.runner import EvalReport, compare_to_baseline, run_suite
from evals.schema import parse_suite, resolve_suites
from kizuki.core.settings import Settings


def test_privacy_suite_passes_offline_and_fails_when_the_dm_redirect_is_dropped(
    eval_settings: Settings, broken_dm_model: FunctionModel
) -> None:
    (suite,) = resolve_suites("privacy-orders")
    good = run_suite(suite, model="offline", settings=eval_settings)
    assert good.passed, [t for t in good.thresholds if not t.ok]
    assert good.evaluator_pass_rates["NeedsDm"] == 1.0
    assert good.metrics["critical_pass_rate"] == 1.0
    assert good.judge == SKIPPED
    assert all(e.status == "skipped" for c in good.cases for e in c.evaluations if e.name == "llm_judge")

    broken = run_suite(suite, model=broken_dm_model, settings=eval_settings)
    assert not broken.passed
    failed_gates = {t.metric for t in broken.thresholds if not t.ok}
    assert {"evaluator:NeedsDm", "critical_pass_rate", "case_pass_rate"} <= failed_gates
    order_case = next(c for c in broken.cases if c.name == "ja-order-number-late")
    assert not order_case.passed
    assert any(e.name == "NeedsDm" and e.status == "failed" for e in order_case.evaluations)
    assert order_case.output is not None and "DM" not in order_case.output["text"]

    against = compare_to_baseline(broken, good, tolerance=suite.baseline_tolerance)
    assert not against.ok
    assert "ja-order-number-late" in against.regressed_cases
    drop = next(d for d in against.deltas if d.metric == "evaluator:NeedsDm")
    assert drop.delta < -suite.baseline_tolerance and not drop.ok
    same = compare_to_baseline(good, EvalReport(runs=[good]).run_for(suite.name), suite.baseline_tolerance)
    assert same.ok and not same.regressed_cases


def test_report_has_inputs_output_and_every_evaluator_with_a_reason(eval_settings: Settings) -> None:
    (suite,) = resolve_suites("scope")
    run = run_suite(suite, settings=eval_settings)
    assert run.passed
    case = next(c for c in run.cases if c.name == "ja-praise-kamado-rice")
    assert case.inputs["post"]["text"].startswith("新しい炊飯器")
    assert case.output is not None and case.output["model"] == "offline"
    names = {e.name for e in case.evaluations}
    assert {"NoApologyToPraise", "MustContain", "LanguageIs", "FitsChannel", "NoFindings", "llm_judge"} <= names
    assert all(e.reason for e in case.evaluations)
    extra = next(c for c in run.cases if c.name == "ja-extra-knowledge-kurumi-mop")
    assert extra.output is not None
    assert {
        "case_pass_rate",
        "mean_similarity",
        "max_pair_similarity",
        "citation_precision",
        "check_pass_rate",
        "latency_p95_s",
        "cost_per_draft_usd",
    } <= set(run.metrics)
    assert run.metrics["cost_per_draft_usd"] == 0.0


def test_the_judge_runs_with_a_real_model_and_grades_by_the_rubric(eval_settings: Settings) -> None:
    seen: list[str] = []

    async def judge(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(str(messages[0].parts))
        grade = {"score": 5, "reason": "fine"}
        low = {"score": 2, "reason": "generic"}
        args = {"specificity": low, "empathy": grade, "correctness": grade, "politeness": grade}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, args)])

    suite = parse_suite(
        """name: tiny
cases:
  - name: praise
    category: praise
    post: {text: "SoraBuds 2最高！音がクリア"}
    expect: {no_apology: true}
"""
    )
    run = run_suite(suite, settings=eval_settings, judge_model=FunctionModel(judge, model_name="judge-fake"))
    assert run.judge == "judge-fake"
    assert seen and "敬語" in seen[0] and "SoraBuds 2" in seen[0]  # the rubric and the fenced post
    ev = {e.name: e for e in run.cases[0].evaluations}
    assert ev["judge_specificity"].value == 0.25 and ev["judge_specificity"].reason == "generic"
    assert ev["judge_pass"].status == "passed"
    assert run.metrics["judge_empathy"] == 1.0


def test_a_suite_threshold_that_the_offline_model_misses_fails_the_run(eval_settings: Settings) -> None:
    suite = parse_suite(
        """name: strict
thresholds: {case_pass_rate: 1.0}
cases:
  - name: wrong-key
    category: question
    post: {text: "KAMADO K-3でE03が出ます"}
    expect: {cites: [kurumi-e12-ja]}
"""
    )
    run = run_suite(suite, settings=eval_settings)
    assert not run.passed
    gate = next(t for t in run.thresholds if t.metric == "case_pass_rate")
    assert gate.value == 0.0 and not gate.ok
    reason = run.cases[0].failed_evaluations()[0].reason or ""
    assert "kurumi-e12-ja" in reason and "kamado-e03-ja" in reason


def test_every_case_must_not_name_the_other_companies() -> None:
    from evals.runner import build_dataset
    from kizuki.seed import known_companies, other_company_names

    suite = resolve_suites("tsubame-questions")[0]
    assert suite.company is not None
    company = next(c for c in known_companies() if c.root == suite.company)
    others = other_company_names(company)
    assert others and not any("tsubame" in n.casefold() for n in others)
    dataset = build_dataset(suite, never_name=others)
    for case in dataset.cases:
        assert case.metadata is not None
        assert set(others) <= set(case.metadata.expect.must_not_contain)
