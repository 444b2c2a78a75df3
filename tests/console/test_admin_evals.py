"""Evaluation pages: start a run as REST does, a run's report with failures first, and two runs compared."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from evals import service as eval_service
from evals.runner import SuiteRun, run_suite_async
from evals.schema import resolve_suites
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from tests.console.test_admin_support import csrf_of, signed_in_clients, texts_of
from tests.evals.conftest import no_dm_model


@pytest.fixture
def console_as(app: FastAPI, runtime: Runtime) -> Iterator[Callable[[str], TestClient]]:
    yield from signed_in_clients(app, runtime)


Console = Callable[[str], TestClient]
SUITE = "privacy-orders"


@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory: pytest.TempPathFactory, embedding_cache: Path) -> tuple[SuiteRun, SuiteRun]:
    """Real runs of one suite: the offline model, and a variant that forgets the DM redirect (it regresses)."""
    (suite,) = resolve_suites(SUITE)
    home = tmp_path_factory.mktemp("eval-home")
    settings = Settings(home=home, cache_home=embedding_cache)
    good = asyncio.run(run_suite_async(suite, model="offline", settings=settings))
    broken = asyncio.run(run_suite_async(suite, model=no_dm_model(), settings=settings))
    assert good.passed and not broken.passed
    return good, broken


def _store(runtime: Runtime, run: SuiteRun, actor: str = "ci") -> int:
    with runtime.db.session() as s:
        return eval_service.save_run(s, run, actor=actor).id


def test_start_a_run_from_the_page(console_as: Console, runtime: Runtime) -> None:
    c = console_as("evaluator")
    page = c.get("/evals").text
    assert f'<option value="{SUITE}">' in page and 'data-testid="evals-empty"' in page
    res = c.post("/evals/runs", data={"csrf_token": csrf_of(page), "suite": SUITE})
    assert res.status_code == 303
    run_id = int(res.headers["location"].rsplit("/", 1)[1])
    report = c.get(f"/evals/{run_id}").text
    assert texts_of(report, "eval-verdict") == ["passed"]
    assert len(re.findall(r'data-testid="eval-case"', report)) >= 10
    listing = c.get("/evals").text
    assert re.findall(r'data-testid="eval-run" data-run="(\d+)"', listing) == [str(run_id)]
    with runtime.db.reading() as s:
        assert eval_service.get_run(s, run_id).created_by == "console-evaluator"
    unknown = c.post("/evals/runs", data={"csrf_token": csrf_of(page), "suite": "no-such-suite"})
    assert unknown.status_code == 422 and "no shipped suite" in texts_of(unknown.text, "evals-error")[0]


def test_a_report_lists_failures_first(
    suite_runs: tuple[SuiteRun, SuiteRun], console_as: Console, runtime: Runtime
) -> None:
    good, broken = suite_runs
    # A run where some cases pass and some fail: the broken variant's outcome for every third case.
    mixed_cases = [b if i % 3 == 0 else g for i, (g, b) in enumerate(zip(good.cases, broken.cases, strict=True))]
    mixed = good.model_copy(update={"cases": mixed_cases})
    run_id = _store(runtime, mixed)
    page = console_as("evaluator").get(f"/evals/{run_id}").text
    rows = re.findall(r'data-testid="eval-case" data-case="([^"]+)" data-passed="(yes|no)"', page)
    assert len(rows) == len(good.cases)
    outcomes = [passed for _, passed in rows]
    failing = outcomes.count("no")
    assert failing == sum(not c.passed for c in mixed_cases) > 0
    assert outcomes == ["no"] * failing + ["yes"] * (len(rows) - failing)
    critical = {c.name for c in mixed_cases if c.critical and not c.passed}
    first = [name for name, _ in rows[: len(critical)]]
    assert set(first) == critical  # critical failures before the others
    # Each failing case shows why: its failed evaluators with their reasons.
    for case in (c for c in mixed_cases if not c.passed):
        for e in case.failed_evaluations():
            assert str(escape(f"{e.name}: {e.value} — {e.reason}")) in page


def test_compare_two_runs(suite_runs: tuple[SuiteRun, SuiteRun], console_as: Console, runtime: Runtime) -> None:
    good, broken = suite_runs
    a, b = _store(runtime, good), _store(runtime, broken)
    c = console_as("evaluator")
    page = c.get("/evals/compare", params={"a": a, "b": b}).text
    regressed = sum(g.passed and not x.passed for g, x in zip(good.cases, broken.cases, strict=True))
    assert regressed > 0
    assert texts_of(page, "eval-compare-summary")[0].startswith(f"{regressed} case(s) regressed, 0 fixed")
    changes = re.findall(r'data-testid="eval-case-delta" data-case="[^"]+" data-change="(\w+)"', page)
    assert changes.count("regressed") == regressed and changes[:regressed] == ["regressed"] * regressed
    rate = re.search(r'data-score="case_pass_rate">(.*?)</tr>', page, re.S)
    assert rate and "worse" in rate.group(1)
    delta = good.metrics["case_pass_rate"] - broken.metrics["case_pass_rate"]  # type: ignore[operator]
    assert f"-{delta:.3f}" in rate.group(1)
    back = c.get("/evals/compare", params={"a": b, "b": a}).text
    assert f"0 case(s) regressed, {regressed} fixed" in texts_of(back, "eval-compare-summary")[0]
    # The run page offers the other runs of the suite to compare with.
    assert f'<option value="{a}">' in c.get(f"/evals/{b}").text


def test_compare_refuses_runs_of_different_suites(
    suite_runs: tuple[SuiteRun, SuiteRun], console_as: Console, runtime: Runtime
) -> None:
    good, _ = suite_runs
    a = _store(runtime, good)
    other = _store(runtime, good.model_copy(update={"suite": "scope"}))
    c = console_as("evaluator")
    res = c.get("/evals/compare", params={"a": a, "b": other})
    assert res.status_code == 422 and "different suites" in res.text
    assert c.get("/evals/compare", params={"a": a, "b": 9999}).status_code == 404
    assert c.get("/evals/9999").status_code == 404


def test_runs_filter_by_suite_and_japanese(
    suite_runs: tuple[SuiteRun, SuiteRun], console_as: Console, runtime: Runtime
) -> None:
    good, _ = suite_runs
    a = _store(runtime, good)
    b = _store(runtime, good.model_copy(update={"suite": "scope"}))
    c = console_as("evaluator")
    only = c.get("/evals", params={"suite": "scope"}).text
    assert re.findall(r'data-testid="eval-run" data-run="(\d+)"', only) == [str(b)]
    every = c.get("/evals").text
    assert re.findall(r'data-testid="eval-run" data-run="(\d+)"', every) == [str(b), str(a)]
    ja = c.get(f"/evals/{a}", headers={"Accept-Language": "ja"}).text
    assert "不合格を先に表示" in ja and "合格" in ja
