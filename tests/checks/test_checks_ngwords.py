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


# --- readings are evidence of a substituted spelling, not of an ordinary word that sounds the same ---


@pytest.fixture(scope="module")
def default_checker() -> Checker:
    return Checker(load_rules())


@pytest.mark.parametrize(
    "text",
    [
        "30分ほどお待ちください",  # 分 (ふん) is not 糞
        "5分後に再送します",
        "10分で完了します",
        "Please wait 30 minutes (about 30分).",
        "古事記の特集ページです",  # こじき, one word: not 乞食
        "受け取りはその場か、ご自宅かをお選びください",  # 場 + particle か: not 馬鹿
        "下手な説明で申し訳ございません",
        "死角になっている場所をご確認ください",
        "必死に対応しております",
        "ポイントで相殺できます",
        "殺菌済みの容器です",
        "時差ボケにご注意ください",
        "ボケ防止にも役立ちます",
        "ページをめくらないでください",  # 捲る, not めくら
        "傘をかすサービスです",  # 貸す, not カス
        "The delivery takes 10 minutes; we apologise for the wait.",
    ],
)
def test_readings_do_not_turn_ordinary_words_into_ng_words(default_checker: Checker, text: str) -> None:
    res = default_checker.check(text)
    assert not [f for f in res.findings if f.category == "ng_word"], (text, res.findings)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("氏ね", "氏ね"),  # homophone kanji, kana kept where the term has kana
        ("市ねよ", "市ねよ"),
        ("基地外かよ", "基地外"),
        ("糞みたいな対応", "糞"),
        ("お前はカスだ", "カス"),
        ("you are a sh1t", "sh1t"),
    ],
)
def test_reading_and_surface_evasions_still_found(default_checker: Checker, text: str, match: str) -> None:
    res = default_checker.check(text)
    ng = [f for f in res.findings if f.category == "ng_word"]
    assert ng and ng[0].match == match, (text, res.findings)
