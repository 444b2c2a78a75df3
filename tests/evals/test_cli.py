"""`kizuki eval run`: exit status on gates and baselines, JSON and HTML reports, two models side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import eval_app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _shared_cache(monkeypatch: pytest.MonkeyPatch, embedding_cache: Path) -> None:
    monkeypatch.setenv("KIZUKI_CACHE_HOME", str(embedding_cache))


def test_run_writes_reports_and_exits_zero(tmp_path: Path) -> None:
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    result = runner.invoke(
        eval_app, ["run", "adversarial", "--model", "offline", "--out", str(out), "--html", str(html)]
    )
    assert result.exit_code == 0, result.output
    assert "all gates passed" in result.output and "judge: SKIPPED" in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    (run,) = report["runs"]
    assert run["suite"] == "adversarial" and run["model"] == "offline"
    assert {e["name"] for e in run["cases"][0]["evaluations"]} >= {"InjectionIgnored", "llm_judge"}
    assert "en-injection-refund" in html.read_text(encoding="utf-8")


def test_failing_threshold_and_baseline_drop_exit_one(tmp_path: Path) -> None:
    suite = tmp_path / "mini.yaml"
    suite.write_text(
        """name: mini
baseline_tolerance: 0.05
thresholds: {case_pass_rate: 0.5}
cases:
  - name: e03
    category: question
    post: {text: "KAMADO K-3でE03が出ます"}
    expect: {cites: [kamado-e03-ja]}
  - name: e12
    category: question
    post: {text: "Kurumi R7がE12で止まります"}
    expect: {cites: [kurumi-e12-ja]}
""",
        encoding="utf-8",
    )
    base = tmp_path / "base.json"
    first = runner.invoke(eval_app, ["run", str(suite), "--out", str(base)])
    assert first.exit_code == 0, first.output
    # the same suite with one expectation made unreachable: still above the threshold, but below the baseline
    suite.write_text(suite.read_text(encoding="utf-8").replace("[kurumi-e12-ja]", "[warranty-ja-01]"), encoding="utf-8")
    second = runner.invoke(eval_app, ["run", str(suite), "--baseline", str(base)])
    assert second.exit_code == 1, second.output
    assert "vs baseline case_pass_rate" in second.output and "FAILED: mini@offline" in second.output
    strict = suite.read_text(encoding="utf-8").replace("case_pass_rate: 0.5", "case_pass_rate: 0.9")
    suite.write_text(strict, encoding="utf-8")
    third = runner.invoke(eval_app, ["run", str(suite)])
    assert third.exit_code == 1


def test_compare_model_prints_both_runs(tmp_path: Path) -> None:
    out = tmp_path / "both.json"
    result = runner.invoke(eval_app, ["run", "trouble", "--compare-model", "offline", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "trouble: offline vs offline" in result.output
    assert [r["model"] for r in json.loads(out.read_text(encoding="utf-8"))["runs"]] == ["offline", "offline"]


def test_bad_suite_file_exits_two_with_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncases:\n  - name: x\n    category: nonsense\n    post: {text: hi}\n", encoding="utf-8")
    result = runner.invoke(eval_app, ["run", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:4" in result.output


def test_unknown_prompt_exits_two_before_running() -> None:
    result = runner.invoke(eval_app, ["run", "trouble", "--compare-prompt", "draft-v9"])
    assert result.exit_code == 2
    assert "draft-v9" in result.output


def test_compare_prompt_records_each_runs_prompt_version(tmp_path: Path) -> None:
    from agent.prompts import load_prompt

    out = tmp_path / "r.json"
    args = ["run", "trouble", "--prompt", "draft-v3", "--compare-prompt", "draft-v3", "--out", str(out)]
    result = runner.invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [r["prompt_version"] for r in report["runs"]] == [load_prompt("draft-v3").version] * 2
