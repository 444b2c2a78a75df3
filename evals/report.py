"""Rendering of eval runs: a rich terminal table, a side-by-side comparison, a standalone HTML page."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evals.runner import CaseReport, EvalReport, SuiteRun, judge_summary

__all__ = ["load_report", "print_comparison", "print_run", "render_html", "write_report"]

_SCORES = (
    ("case_pass_rate", "{:.0%}"),
    ("critical_pass_rate", "{:.0%}"),
    ("check_pass_rate", "{:.0%}"),
    ("citation_precision", "{:.0%}"),
    ("mean_similarity", "{:.3f}"),
    ("max_pair_similarity", "{:.3f}"),
    ("latency_mean_s", "{:.2f}s"),
    ("latency_p95_s", "{:.2f}s"),
    ("cost_per_draft_usd", "${:.4f}"),
)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def write_report(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2), encoding="utf-8")


def load_report(path: Path) -> EvalReport:
    return EvalReport.model_validate_json(path.read_text(encoding="utf-8"))


def print_run(run: SuiteRun, console: Console, *, show_cases: bool = True) -> None:
    """Suite scores, evaluator pass rates, thresholds, baseline deltas, and the failing cases."""
    verdict = "[green]PASS[/]" if run.passed else "[red]FAIL[/]"
    console.print(
        f"\n[bold]{run.suite}[/] on [cyan]{run.model}[/] ({run.prompt_version}) — {len(run.cases)} cases, "
        f"{run.duration_s:.1f}s — judge: {judge_summary(run)} — {verdict}"
    )
    scores = Table(title="suite scores", show_header=True)
    scores.add_column("score")
    scores.add_column("value", justify="right")
    for name, spec in _SCORES:
        scores.add_row(name, _fmt(run.metrics.get(name), spec))
    for name, rate in run.evaluator_pass_rates.items():
        scores.add_row(f"evaluator {name}", f"{rate:.0%}")
    console.print(scores)
    gates = Table(title="gates")
    for col in ("gate", "limit", "value", "ok"):
        gates.add_column(col)
    for t in run.thresholds:
        gates.add_row(
            t.metric, f"{t.op} {t.limit:g}", _fmt(t.value, "{:.4g}"), "[green]ok[/]" if t.ok else "[red]FAIL[/]"
        )
    if run.baseline is not None:
        if run.baseline.missing:
            gates.add_row("baseline", "-", "no run of this suite", "[yellow]n/a[/]")
        for d in run.baseline.deltas:
            if d.delta or not d.ok:
                gates.add_row(
                    f"vs baseline {d.metric}",
                    f"±{run.baseline.tolerance:g}",
                    f"{d.baseline:.4g} → {d.current:.4g}",
                    "[green]ok[/]" if d.ok else "[red]FAIL[/]",
                )
        if run.baseline.regressed_cases:
            console.print(f"[yellow]cases that passed in the baseline and fail now:[/] {run.baseline.regressed_cases}")
    console.print(gates)
    if show_cases:
        failing = [c for c in run.cases if not c.passed]
        if failing:
            table = Table(title="failing cases")
            for col in ("case", "category", "evaluator", "reason"):
                table.add_column(col, overflow="fold")
            for c in failing:
                if c.error:
                    table.add_row(c.name, c.category, "task", c.error)
                for e in c.failed_evaluations():
                    table.add_row(c.name + (" (critical)" if c.critical else ""), c.category, e.name, e.reason or "")
            console.print(table)


def print_comparison(left: SuiteRun, right: SuiteRun, console: Console) -> None:
    """Two runs of the same suite side by side: scores, evaluator pass rates, and cases that differ."""
    table = Table(title=f"{left.suite}: {left.model} vs {right.model}")
    table.add_column("score")
    table.add_column(f"{left.model} ({left.prompt_version})", justify="right")
    table.add_column(f"{right.model} ({right.prompt_version})", justify="right")
    table.add_column("Δ", justify="right")
    for name, spec in _SCORES:
        a, b = left.metrics.get(name), right.metrics.get(name)
        delta = "" if a is None or b is None else f"{b - a:+.3f}"
        table.add_row(name, _fmt(a, spec), _fmt(b, spec), delta)
    for name in sorted(set(left.evaluator_pass_rates) | set(right.evaluator_pass_rates)):
        a2, b2 = left.evaluator_pass_rates.get(name), right.evaluator_pass_rates.get(name)
        delta = "" if a2 is None or b2 is None else f"{b2 - a2:+.2f}"
        table.add_row(f"evaluator {name}", _fmt(a2, "{:.0%}"), _fmt(b2, "{:.0%}"), delta)
    table.add_row("judge", judge_summary(left), judge_summary(right), "")
    table.add_row("gates", "PASS" if left.passed else "FAIL", "PASS" if right.passed else "FAIL", "")
    console.print(table)
    right_cases = {c.name: c for c in right.cases}
    diff = Table(title="cases whose outcome differs")
    for col in ("case", left.model, right.model, "why"):
        diff.add_column(col, overflow="fold")
    for c in left.cases:
        other = right_cases.get(c.name)
        if other is None or other.passed == c.passed:
            continue
        loser = other if c.passed else c
        why = "; ".join(f"{e.name}: {e.reason}" for e in loser.failed_evaluations()) or (loser.error or "")
        diff.add_row(c.name, "pass" if c.passed else "fail", "pass" if other.passed else "fail", why)
    if diff.row_count:
        console.print(diff)


def _h(value: object) -> str:
    return html.escape(str(value))


def _status_class(status: str) -> str:
    return {"passed": "pass", "failed": "fail", "error": "fail"}.get(status, "skipped")


def _case_row(c: CaseReport) -> str:
    cls = "pass" if c.passed else "fail"
    reply = c.output["text"] if c.output else f"error: {c.error}"
    meta = ""
    if c.output:
        cites = [x["key"] for x in c.output["citations"]]
        meta = f"{c.output['action']}, dm={c.output['needs_dm']}, cites={cites}"
    results = "<br>".join(
        f"<span class='{_status_class(e.status)}'>{_h(e.name)}: {_h(e.value)}</span> — {_h(e.reason or '')}"
        for e in c.evaluations
    )
    critical = " critical" if c.critical else ""
    return (
        f"<tr><td class='{cls}'>{_h(c.name)}<br><small>{_h(c.category)}{critical}</small></td>"
        f"<td class='reply'>{_h(c.inputs['post']['text'])}</td>"
        f"<td class='reply'>{_h(reply)}<br><small>{_h(meta)}</small></td><td>{results}</td></tr>"
    )


def render_html(runs: Sequence[SuiteRun]) -> str:
    """A standalone HTML page: per suite, the scores and gates, then every case with its reply and results."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Kizuki eval report</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}.pass{color:#070}"
        ".fail{color:#b00}.skipped{color:#888}.reply{white-space:pre-wrap;max-width:520px}</style></head><body>",
        "<h1>Kizuki eval report</h1>",
    ]
    for run in runs:
        verdict = "pass" if run.passed else "fail"
        parts.append(
            f"<h2>{_h(run.suite)} — {_h(run.model)} ({_h(run.prompt_version)}) "
            f"<span class='{verdict}'>{verdict.upper()}</span></h2>"
            f"<p>{len(run.cases)} cases, {run.duration_s:.1f}s, judge: {_h(judge_summary(run))}</p>"
        )
        parts.append("<table><tr><th>score</th><th>value</th></tr>")
        for name, spec in _SCORES:
            parts.append(f"<tr><td>{_h(name)}</td><td>{_h(_fmt(run.metrics.get(name), spec))}</td></tr>")
        for name, rate in run.evaluator_pass_rates.items():
            parts.append(f"<tr><td>evaluator {_h(name)}</td><td>{rate:.0%}</td></tr>")
        parts.append("</table><table><tr><th>gate</th><th>limit</th><th>value</th><th>ok</th></tr>")
        for t in run.thresholds:
            cls = "pass" if t.ok else "fail"
            parts.append(
                f"<tr><td>{_h(t.metric)}</td><td>{_h(t.op)} {t.limit:g}</td><td>{_h(_fmt(t.value, '{:.4g}'))}</td>"
                f"<td class='{cls}'>{cls}</td></tr>"
            )
        parts.append("</table><table><tr><th>case</th><th>post</th><th>reply</th><th>results</th></tr>")
        for c in run.cases:
            parts.append(_case_row(c))
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
