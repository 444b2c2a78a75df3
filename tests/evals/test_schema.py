"""Suite files: the shipped suites are valid and cover what the issue asks; errors name file, line and field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.schema import SuiteError, list_suites, load_suite, parse_suite, resolve_suites, suite_dirs

REQUIRED = {
    "question",
    "complaint",
    "bug_report",
    "praise",
    "personal_data",
    "order",
    "injection",
    "competitor",
    "out_of_scope",
    "repeat_poster",
    "unanswerable",
}


def test_shipped_suites_have_60_cases_in_both_languages_covering_every_category() -> None:
    suites = resolve_suites("all")
    assert [s.name for s in suites] == list_suites()
    cases = [c for s in suites for c in s.cases]
    assert len(cases) >= 60
    categories = Counter(c.category for c in cases)
    assert set(categories) >= REQUIRED, REQUIRED - set(categories)
    langs = Counter(c.expect.language for c in cases if c.expect.language)
    assert langs["ja"] >= 20 and langs["en"] >= 20
    assert any(c.history for c in cases if c.category == "repeat_poster")
    assert any(c.knowledge for c in cases), "some case brings its own knowledge entries"
    assert any(c.expect.escalates for c in cases)
    assert any(c.expect.injection for c in cases)
    assert all(s.thresholds.case_pass_rate is not None for s in suites)


def test_error_names_the_line_and_the_case() -> None:
    text = """name: demo
cases:
  - name: first
    category: question
    post: {text: "hello"}
  - name: second
    category: not-a-category
    post: {text: "hi"}
"""
    with pytest.raises(SuiteError) as exc:
        parse_suite(text, "demo.yaml")
    message = str(exc.value)
    assert message.startswith("demo.yaml:7: cases[1 second].category:")
    assert "question" in message


def test_unknown_expectation_and_duplicate_names_are_refused() -> None:
    text = """name: demo
cases:
  - name: a
    category: praise
    post: {text: "great"}
    expect: {no_apology: true, must_contian: [x]}
  - name: a
    category: praise
    post: {text: "great"}
"""
    with pytest.raises(SuiteError) as exc:
        parse_suite(text, "demo.yaml")
    message = str(exc.value)
    assert "demo.yaml:6: cases[0 a].expect.must_contian: Extra inputs are not permitted" in message
    dupes = text.replace(", must_contian: [x]", "")
    with pytest.raises(SuiteError, match=r"demo\.yaml:3: cases: Value error, duplicate case name 'a'"):
        parse_suite(dupes, "demo.yaml")


def test_broken_yaml_reports_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: demo\ncases:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(SuiteError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_suite(path)


def test_unknown_suite_lists_the_shipped_ones() -> None:
    with pytest.raises(SuiteError) as exc:
        resolve_suites("nope")
    assert all(n in str(exc.value) for n in list_suites())
    assert (suite_dirs()[0] / "questions.yaml").exists()


def test_suite_finding_categories_are_the_checkers() -> None:
    from typing import get_args

    from agent.checks import CATEGORIES
    from evals.schema import FindingCategory

    assert set(get_args(FindingCategory)) == set(CATEGORIES)
