"""Watch rules: keep posts about the brand, drop noise, explain every decision."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.intake.watch import WatchDecision, WatchRules, compile_rules, load_rules

DEMO_WATCH_RULES = Path(__file__).resolve().parents[2] / "demo" / "watch_rules.yaml"


def _eval(rules: WatchRules, text: str) -> WatchDecision:
    return compile_rules(rules).evaluate(text)


def test_shipped_rules_load_and_keep_product_posts() -> None:
    matcher = compile_rules(load_rules(DEMO_WATCH_RULES))
    ja = matcher.evaluate("KAMADOが壊れた")
    en = matcher.evaluate("my KAMADO is broken")
    assert ja.keep and en.keep
    assert ja.reason == "brand: KAMADO; problem: 壊れた"
    assert en.reason == "brand: KAMADO; problem: broken"
    assert ja.matched == {"brand": ["KAMADO"], "override": ["KAMADO"], "problem": ["壊れた"]}


def test_astronomy_sense_is_excluded() -> None:
    matcher = compile_rules(load_rules(DEMO_WATCH_RULES))
    d = matcher.evaluate("今夜は雲ひとつない星空✨ ふたご座流星群まであと少し！")
    assert not d.keep
    assert d.reason == "excluded by '流星群'"
    assert d.matched["brand"] == ["星空"]
    en = matcher.evaluate("The starry sky tonight was unreal, Hoshizora indeed")
    assert not en.keep
    assert en.reason == "excluded by 'starry sky'"


def test_unambiguous_name_overrides_exclusion() -> None:
    d = compile_rules(load_rules(DEMO_WATCH_RULES)).evaluate("星空電機のサイトに流星群の特集があった")
    assert d.keep
    assert "overridden by '星空電機'" in d.reason


def test_no_brand_is_dropped_even_with_problem_words() -> None:
    d = compile_rules(load_rules(DEMO_WATCH_RULES)).evaluate("ロボット掃除機が壊れた、困った")
    assert not d.keep
    assert d.reason == "no brand or product named"
    assert d.matched["problem"] == ["壊れた", "困った"]


@pytest.mark.parametrize(
    "text",
    [
        "ＫＡＭＡＤＯ　Ｋ－３が壊れた",  # full width
        "ｋａｍａｄｏ k-3",
        "かまど K-3のご飯",  # hiragana spelling
        "ソラバッズ最高",
        "Ho\u200bshi\u200bzora app",  # zero-width spaces inside the name
        "SoraBuds2 broken",  # model number written without a space
        "@HOSHIZORA_SUPPORT help",
        "😭😭KAMADO😭😭",
    ],
)
def test_brand_found_through_variants(text: str) -> None:
    assert compile_rules(load_rules(DEMO_WATCH_RULES)).evaluate(text).keep


@pytest.mark.parametrize("text", ["acmes are great, kurumis too", "debugging all day", "xkamado"])
def test_ascii_terms_need_word_boundaries(text: str) -> None:
    rules = WatchRules(brand=["Kurumi", "KAMADO"], competitor=["Acme"], problem=["bug"], require="brand_or_competitor")
    d = _eval(rules, text)
    assert not d.keep
    assert d.matched == {}


def test_japanese_terms_match_inside_words() -> None:
    rules = WatchRules(brand=["星空電機"], problem=["故障"])
    d = _eval(rules, "星空電機製の炊飯器が故障中")
    assert d.keep
    assert d.matched == {"brand": ["星空電機"], "problem": ["故障"]}


def test_brand_and_problem_policy() -> None:
    rules = WatchRules(brand=["SoraBuds"], problem=["broken", "故障"], require="brand_and_problem")
    assert not _eval(rules, "SoraBuds sound great").keep
    assert _eval(rules, "SoraBuds sound great").reason == "brand: SoraBuds; no problem word"
    kept = _eval(rules, "SoraBudsが故障")
    assert kept.keep
    assert kept.reason == "brand: SoraBuds; problem: 故障"


def test_brand_or_competitor_policy() -> None:
    rules = WatchRules(brand=["SoraBuds"], competitor=["Acme"], require="brand_or_competitor")
    d = _eval(rules, "Acme buds are cheaper")
    assert d.keep
    assert d.reason == "competitor: Acme"
    assert not _eval(rules, "nothing here").keep
    assert _eval(rules, "nothing here").reason == "no brand, product or competitor named"


def test_nested_terms_reported_once() -> None:
    d = compile_rules(load_rules(DEMO_WATCH_RULES)).evaluate("KAMADO K-3 broke")
    assert d.matched["brand"] == ["KAMADO K-3"]


def test_empty_rules_drop_everything() -> None:
    d = _eval(WatchRules(), "KAMADO")
    assert not d.keep
    assert d.matched == {}


def test_rules_version_recorded() -> None:
    d = _eval(WatchRules(version=7, brand=["KAMADO"]), "KAMADO")
    assert d.rules_version == 7


def test_unknown_fields_and_policies_refused() -> None:
    with pytest.raises(ValidationError):
        WatchRules.model_validate({"brand": ["x"], "require": "anything"})
    with pytest.raises(ValidationError):
        WatchRules.model_validate({"brnad": ["x"]})


def test_load_rules_from_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 3\nbrand: [Acme Rice]\nexclude: [rice field]\n", encoding="utf-8")
    matcher = compile_rules(load_rules(path))
    assert matcher.evaluate("ACME RICE is great").keep
    assert matcher.evaluate("acme rice near the rice field").reason == "excluded by 'rice field'"


def test_very_long_and_weird_input() -> None:
    matcher = compile_rules(load_rules(DEMO_WATCH_RULES))
    text = "\U0001f600" * 20_000 + "星空電機" + "\u0301" * 50 + "\U000e0001" + "x" * 20_000
    d = matcher.evaluate(text)
    assert d.keep
    assert d.matched["brand"] == ["星空電機"]
