"""`kizuki eval`: run suites (gates, baseline, side-by-side models), list them, harvest cases from decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evals.schema import SuiteError, list_suites, load_suite, resolve_suites

__all__ = ["eval_app"]

eval_app = typer.Typer(help="Evaluation suites: reply quality measured, compared and gated.", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

EXIT_GATE_FAILED = 1
EXIT_USAGE = 2


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


@eval_app.command("run")
def run_command(
    suite: Annotated[str, typer.Argument(help="'all', a shipped suite's name, or a path to a suite .yaml")],
    model: Annotated[str | None, typer.Option(help="'offline' or a litellm model id (default: KIZUKI_MODEL)")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here")] = None,
    baseline: Annotated[Path | None, typer.Option(help="A previous JSON report to compare against")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write an HTML report")] = None,
    compare_model: Annotated[
        str | None, typer.Option("--compare-model", help="Run a second model too and print both side by side")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="Model for the LLM judge (default: --model when it is not offline)")
    ] = None,
    prompt: Annotated[str | None, typer.Option(help="Drafting prompt file in agent/prompts (default draft-v2)")] = None,
    compare_prompt: Annotated[
        str | None, typer.Option("--compare-prompt", help="Run a second prompt version too, side by side")
    ] = None,
) -> None:
    """Run suites; exit 1 when a threshold fails or a score drops against --baseline beyond the suite's tolerance."""
    # Imported here: the runner pulls in the agent stack, which `kizuki --help` should not wait for.
    from evals.report import load_report, print_comparison, print_run, render_html, write_report
    from evals.runner import EvalReport, run_suites
    from kizuki.core.settings import get_settings

    settings = get_settings()
    model = model or settings.model
    try:
        suites = resolve_suites(suite)
        base = load_report(baseline) if baseline else None
    except SuiteError as exc:
        _fail(str(exc))
        return
    except (OSError, ValueError) as exc:
        _fail(f"cannot read baseline {baseline}: {exc}")
        return
    from agent.prompts import load_prompt

    for name in filter(None, (prompt, compare_prompt)):
        try:
            load_prompt(name)
        except (FileNotFoundError, ValueError) as exc:
            _fail(f"prompt {name!r}: {exc}")
            return
    try:
        report = run_suites(
            suites, model=model, settings=settings, judge_model=judge_model, baseline=base, prompt=prompt
        )
        other: EvalReport | None = None
        if compare_model or compare_prompt:
            other = run_suites(
                suites,
                model=compare_model or model,
                settings=settings,
                judge_model=judge_model,
                baseline=base,
                prompt=compare_prompt or prompt,
            )
    except SuiteError as exc:
        _fail(str(exc))
        return
    for run in report.runs:
        print_run(run, console)
    if other is not None:
        for left, right in zip(report.runs, other.runs, strict=True):
            print_run(right, console, show_cases=False)
            print_comparison(left, right, console)
    combined = EvalReport(runs=[*report.runs, *(other.runs if other else [])])
    if out:
        write_report(combined, out)
        console.print(f"report: {out}")
    if html:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(combined.runs), encoding="utf-8")
        console.print(f"html: {html}")
    failed = [f"{r.suite}@{r.model}" for r in combined.runs if not r.passed]
    if failed:
        err_console.print(f"[bold red]FAILED:[/] {', '.join(failed)}")
        raise typer.Exit(EXIT_GATE_FAILED)
    console.print(f"[green]all gates passed[/] ({len(combined.runs)} runs)")


@eval_app.command("list")
def list_command() -> None:
    """The shipped suites with their case counts."""
    from evals.schema import suite_path

    for name in list_suites():
        path = suite_path(name)
        assert path is not None
        s = load_suite(path)
        company = s.company.name if s.company is not None else "-"
        console.print(f"{name:24} {company:16} {len(s.cases):3} cases  {s.description}", highlight=False)


@eval_app.command("harvest")
def harvest_command(
    out: Annotated[Path | None, typer.Option(help="Write the suite YAML here (default: print it)")] = None,
    name: Annotated[str, typer.Option(help="The harvested suite's name")] = "harvested",
    limit: Annotated[int, typer.Option(help="At most this many recent decisions")] = 500,
) -> None:
    """Turn reviewers' decisions into cases: edited approvals (expected content from the edit), rejections."""

    from evals.harvest import harvest_suite, suite_yaml
    from kizuki.core.private import write_private
    from kizuki.runtime import Runtime

    rt = Runtime()
    try:
        rt.db.migrate()
        redactor = rt.redactor()
        with rt.db.reading() as s:
            suite = harvest_suite(s, name=name, limit=limit, redactor=redactor)
    finally:
        rt.close()
    if suite is None:
        err_console.print("nothing to harvest: no edited approvals or rejections yet")
        return
    text = suite_yaml(suite)
    if out:
        write_private(out, text)  # 0600: reviewers' decisions about customers' posts
        console.print(f"{len(suite.cases)} cases written to {out}")
    else:
        typer.echo(text)
