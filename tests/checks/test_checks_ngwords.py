# ruff: noqa: E501  (tables of example texts, one a line)
"""NG words: evasions found (with offsets in the original), everyday words not."""

from __future__ import annotations

import pytest

from agent.checks import Checker, load_rules


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(load_rules(text='ng_words: ["バカ", "死ね", "fuck", "shit", "カス", "ボケ"]'))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ﾊﾞｶじゃないの", "ﾊﾞｶ"),
        ("ハ゛カ", "ハ゛カ"),
        ("バ カ", "バ カ"),
        ("バ　カ", "バ　カ"),
        ("バ・カ", "バ・カ"),
        ("バ＊カ", "バ＊カ"),
        ("バ\u200dカ", "バ\u200dカ"),
        ("バ😡カ", "バ😡カ"),
        ("ばか", "ばか"),
        ("馬鹿", "馬鹿"),
        ("バーーーカ", "バーーーカ"),
        ("氏ね", "氏ね"),
        ("お前はアホか", "アホ"),
        ("このクズが", "クズ"),
        ("ｂａｋａ", "ｂａｋａ"),
    ],
)
def test_japanese_evasions(checker: Checker, text: str, match: str) -> None:
    res = checker.check(text)
    ng = [f for f in res.findings if f.category == "ng_word"]
    assert ng, text
    assert ng[0].match == match
    assert text[ng[0].start : ng[0].end] == match


@pytest.mark.parametrize(
    "text",
    ["f*ck this", "ｆｕｃｋ", "f u c k", "sh1t happens", "FUCK", "fuuuuck", "𝐟𝐮𝐜𝐤 you", "ѕhіt", "a$$hole", "bitch!",
     "what a m-o-r-o-n", "s_t_u_p_i_d", "you are a d u m b a s s", "f\u200bu\u200bc\u200bk", "fucking slow", "bullshit"],
)  # fmt: skip
def test_english_evasions(checker: Checker, text: str) -> None:
    assert "ng_word" in checker.check(text).categories


@pytest.mark.parametrize(
    "text",
    ["カスタマーサポートまでご連絡ください", "バカンスシーズンのご案内", "写真がピンボケする場合は設定をご確認ください", "もう少しね",
     "届いたばかりです", "傘をお貸しします", "背景ボケを調整できます", "カスタムの設定", "パンくずリスト", "Scunthorpe branch is open",
     "press shift and scan the QR code", "the shell is aluminium", "assessment", "class", "cocktail", "spicy ramen",
     "Dick's Sporting Goods", "shiitake", "Japan", "raccoon", "I am a b c customer"],
)  # fmt: skip
def test_everyday_words_do_not_fire(checker: Checker, text: str) -> None:
    assert "ng_word" not in checker.check(text).categories


def test_org_term_exceptions() -> None:
    c = Checker(load_rules(text='ng_words: [{term: "クソ", exceptions: ["クソゲー"]}, "ポンコツ"]'))
    assert "ng_word" not in c.check("クソゲーの話").categories
    assert "ng_word" in c.check("クソ対応").categories
    assert "ng_word" in c.check("ぽんこつ").categories


def test_only_org_words_when_defaults_are_off() -> None:
    c = Checker(load_rules(text="use_default_ng_words: false\nng_words: [ポンコツ]"))
    assert c.check("バカ").categories == set()
    assert c.check("ポンコツ").categories == {"ng_word"}


def test_ten_thousand_terms_compile() -> None:
    terms = [f"zq{i:05d}x" for i in range(10_000)]
    c = Checker(load_rules(text="ng_words: [" + ", ".join(terms) + "]"))
    res = c.check("hello zq04321x there")
    assert [f.match for f in res.findings] == ["zq04321x"]
