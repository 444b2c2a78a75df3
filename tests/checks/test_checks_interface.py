"""Public interface, input limits, rules loading and severity."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.checks import (
    CHANNELS,
    MAX_TEXT_CHARS,
    Checker,
    CheckResult,
    Finding,
    Rules,
    RulesError,
    TextTooLong,
    check,
    default_rules,
    load_rules,
)


def test_empty_text_passes() -> None:
    for text in ("", "   ", "\n"):
        res = check(text)
        assert res.verdict == "pass"
        assert res.findings == []


def test_text_over_limit_is_refused() -> None:
    assert MAX_TEXT_CHARS == 20_000
    with pytest.raises(TextTooLong):
        check("あ" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(TextTooLong):
        check("ok", post_text="a" * (MAX_TEXT_CHARS + 1))
    assert check("あ" * MAX_TEXT_CHARS).verdict in ("pass", "warn", "block")


def test_unknown_channel_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown channel 'tiktok'"):
        check("hello", channel="tiktok")
    for ch in CHANNELS:
        check("hello", channel=ch)


def test_result_shape_and_template_category() -> None:
    res = check("バカじゃないの")
    assert res.verdict == "block"
    dumped = res.model_dump()
    assert set(dumped) == {"verdict", "findings"}
    assert set(dumped["findings"][0]) == {
        "category",
        "rule",
        "severity",
        "start",
        "end",
        "match",
        "message",
        "suggestion",
    }
    f = Finding(category="template", rule="near_duplicate", severity="warn", start=0, end=3, match="abc", message="m")
    assert CheckResult.from_findings([f]).verdict == "warn"


def test_every_finding_explains_itself() -> None:
    text = "バカ。お電話は090-1234-5678まで。必ず直ります。たぶん明日です。全額返金いたします。"
    res = check(text, channel="x")
    assert {"ng_word", "pii", "overpromise", "uncertain", "compensation"} <= res.categories
    for f in res.findings:
        assert f.message and f.suggestion
        assert text[f.start : f.end] == f.match


def test_rules_file_merges_with_defaults(tmp_path: Path) -> None:
    p = tmp_path / "rules.yaml"
    p.write_text(
        'ng_words: ["ポンコツ", {term: "クソ", exceptions: ["クソゲー"]}]\n'
        'competitors: ["Acme", "競合社A"]\n'
        'allow: ["0120-000-000", "support@example.co.jp"]\n',
        encoding="utf-8",
    )
    rules = load_rules(p)
    assert len(rules.ng_words) > len(default_rules().ng_words)
    c = Checker(rules)
    assert c.check("このポンコツ").categories == {"ng_word"}
    assert c.check("バカ").categories == {"ng_word"}  # defaults still apply
    assert c.check("クソゲーでした").categories == set()
    assert c.check("Acmeより速い").categories == {"competitor"}
    assert c.check("0120-000-000 までお電話ください").categories == set()
    assert Checker().check("0120-123-456 までお電話ください").categories == {"pii"}


def test_rules_error_names_the_line() -> None:
    text = "ng_words:\n  - バカ\ncompetitors: [Acme]\nseverity:\n  pii: maybe\n"
    with pytest.raises(RulesError, match=r"line 5"):
        load_rules(text=text)
    with pytest.raises(RulesError, match=r"line 2"):
        load_rules(text="ng_words: [a\nfoo: : :\n")
    with pytest.raises(RulesError, match=r"line 3.*unknown_key|line 3"):
        load_rules(text="ng_words: []\nallow: []\nunknown_key: 1\n")


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\d*)*x", r"(a|aa)*b", r"(x+x+)+y", r"(a)\1"])
def test_catastrophic_regex_is_refused(pattern: str) -> None:
    with pytest.raises(RulesError, match=r"line 2.*refused"):
        load_rules(text=f"competitors: []\norder_number_patterns: ['{pattern}']\n")


def test_safe_order_pattern_is_used() -> None:
    rules = load_rules(text=r"order_number_patterns: ['(?<![0-9A-Z])KZ\d{6}(?![0-9])']")
    res = Checker(rules).check("お問い合わせの KZ123456 について")
    assert [(f.category, f.rule, f.match) for f in res.findings] == [("pii", "order_number", "KZ123456")]


def test_severity_overrides() -> None:
    rules = load_rules(
        text="severity: {uncertain: block, pii.name: 'off', ng_word.rules_file: warn}\nng_words: [ポンコツ]"
    )
    c = Checker(rules)
    assert c.check("たぶん明日です").verdict == "block"
    assert c.check("山田様、ありがとうございます").findings == []
    assert c.check("ポンコツ").verdict == "warn"
    assert c.check("バカ").verdict == "block"  # default list keeps its severity
    term = load_rules(text="ng_words: [{term: ポンコツ, severity: warn}]")
    assert Checker(term).check("ポンコツ").verdict == "warn"


def test_check_caches_checker_per_rules() -> None:
    rules = load_rules(text="competitors: [Globex]")
    check("Globex", rules=rules)
    first = rules._checker
    assert first is not None
    check("Globex", rules=rules)
    assert rules._checker is first
    assert isinstance(default_rules(), Rules)
    assert default_rules() is default_rules()


def test_checker_is_thread_safe_for_reads() -> None:
    c = Checker()
    texts = ["バ カ", "090-1234-5678", "必ず直ります", "f*ck", "カスタマーサポート"] * 40
    expected = [c.check(t).categories for t in texts]
    results: list[list[set[str]]] = []

    def run() -> None:
        results.append([c.check(t).categories for t in texts])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_long_japanese_text_is_checked_in_chunks() -> None:
    # SudachiPy refuses inputs over 49,149 bytes; 20,000 Japanese characters are about 60,000
    text = ("ご利用ありがとうございます。" * 1500)[: MAX_TEXT_CHARS - 20] + "。山田様、バカ"
    res = check(text, post_text="山田です")
    assert {"ng_word", "pii"} <= res.categories
    ng = next(f for f in res.findings if f.category == "ng_word")
    assert text[ng.start : ng.end] == "バカ"
