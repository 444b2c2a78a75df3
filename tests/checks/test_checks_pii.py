# ruff: noqa: E501  (tables of example texts, one a line)
"""Personal data, echo and DM redirection."""

from __future__ import annotations

import pytest

from agent.checks import Checker, load_rules


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(load_rules(text='allow: ["0120-000-000", "support@example.co.jp"]'))


@pytest.mark.parametrize(
    ("text", "rule", "match"),
    [
        ("お電話は090-1234-5678までお願いします", "phone", "090-1234-5678"),
        ("電話０９０－１２３４－５６７８です", "phone", "０９０－１２３４－５６７８"),
        ("090ー1234ー5678", "phone", "090ー1234ー5678"),
        ("09012345678", "phone", "09012345678"),
        ("060-1234-5678", "phone", "060-1234-5678"),
        ("〇九〇の一二三四の五六七八", "phone", "〇九〇の一二三四の五六七八"),
        ("0120-123-456までどうぞ", "phone", "0120-123-456"),
        ("call me at +1 (415) 555-0132", "phone", "+1 (415) 555-0132"),
        ("メールはtaro@example.comです", "email", "taro@example.com"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        ("taro [at] example [dot] com", "email", "taro [at] example [dot] com"),
        ("郵便番号１２３－４５６７", "postal_code", "１２３－４５６７"),
        ("私の住所は東京都港区芝5-6-7です", "address", "東京都港区芝5-6-7"),
        ("カード番号4111111111111111です", "card", "4111111111111111"),
        ("４１１１ １１１１ １１１１ １１１１", "card", "４１１１ １１１１ １１１１ １１１１"),
        ("マイナンバーは6214 9832 0257です", "my_number", "6214 9832 0257"),
        ("ご注文番号AB12345678の件", "order_number", "ご注文番号AB12345678"),
        ("山田様、ありがとうございます", "name", "山田様"),
        ("Thank you, Ms. Johnson.", "name", "Ms. Johnson"),
    ],
)
def test_personal_data_found(checker: Checker, text: str, rule: str, match: str) -> None:
    res = checker.check(text)
    found = [(f.rule, f.match) for f in res.findings if f.category == "pii"]
    assert (rule, match) in found, found


@pytest.mark.parametrize(
    "text",
    ["2024-01-15に発送しました", "2024/01/15 10:30", "型番 KJ-55X9500H", "JAN 4901234567894", "価格は12,800円(税込14,080円)",
     "営業時間10:00-18:00、3-4営業日でお届け", "お問い合わせ番号202401150930", "0120-000-000 までお電話ください",
     "support@example.co.jp までご連絡ください", "ＳＵＰＰＯＲＴ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ", "4111-1111-1111-1112", "お客様各位",
     "一度お試しください", "マイナンバーカードの申請方法", "Version 10.2.3 fixes this.", "123-4567"],
)  # fmt: skip
def test_not_personal_data(checker: Checker, text: str) -> None:
    assert "pii" not in checker.check(text).categories


def test_my_number_needs_context_and_check_digit(checker: Checker) -> None:
    assert "pii" not in checker.check("621498320257").categories  # no context
    assert "pii" not in checker.check("マイナンバーは6214 9832 0258です").categories  # bad check digit


POST = "届かないです。090-1234-5678に電話ください"


@pytest.mark.parametrize(
    "reply",
    ["090-****-5678にお電話します", "090-1234-5678に折り返しご連絡いたします", "末尾5678の番号ですね", "下4桁5678宛にSMSします",
     "We'll call the number ending in 5678.", "***-****-5678 宛にご連絡します", "０９０－ＸＸＸＸ－５６７８ですね"],
)  # fmt: skip
def test_echo_exact_partial_masked(checker: Checker, reply: str) -> None:
    res = checker.check(reply + " 詳細はDMにて。", post_text=POST)
    assert "pii_echo" in res.categories
    assert "dm_redirect" not in res.categories


def test_echo_email_masked(checker: Checker) -> None:
    res = checker.check(
        "h***@example.jp 宛てにお送りしました。DMをご確認ください", post_text="hanako@example.jp にください"
    )
    assert "pii_echo" in res.categories


def test_no_echo_when_reply_moves_to_dm(checker: Checker) -> None:
    reply = "ご迷惑をおかけしております。お手数ですが、DMにてご注文番号をお知らせいただけますでしょうか。"
    assert checker.check(reply, post_text=POST).categories == set()


def test_dm_redirect_when_reply_stays_public(checker: Checker) -> None:
    res = checker.check("ご迷惑をおかけしております。確認いたします。", post_text=POST)
    assert res.categories == {"dm_redirect"}
    res = checker.check("Sorry! Could you reply here with your email and phone number?")
    assert res.categories == {"dm_redirect"}
    assert checker.check("ご住所と電話番号を教えてください").categories == {"dm_redirect"}
    assert checker.check("ご住所と電話番号をDMで教えてください").categories == set()
    assert checker.check("ありがとうございます！", post_text="おいしかった！").categories == set()


# --- order numbers: common shapes by default, not model numbers, dates or prices ---


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("HS-2026-120455の件でご連絡しました", "HS-2026-120455"),
        ("ＨＳ－２０２６－１２０４５５について", "ＨＳ－２０２６－１２０４５５"),
        ("ご注文(HS-2026-120455)につきまして", "ご注文(HS-2026-120455"),
        ("注文番号 HS-2026-120455 の件", "注文番号 HS-2026-120455"),
        ("ご注文番号はAB12345678です", "ご注文番号はAB12345678"),
        ("order no. HS-2026-120455 has shipped", "order no. HS-2026-120455"),
        ("Your order #HS-2026-120455 is on its way", "order #HS-2026-120455"),
        ("ORD-12345678", "ORD-12345678"),
        ("HS-120455 is ready", "HS-120455"),
    ],
)
def test_order_number_shapes(checker: Checker, text: str, match: str) -> None:
    found = [f for f in checker.check(text).findings if f.rule == "order_number"]
    assert [f.match for f in found] == [match], text


@pytest.mark.parametrize(
    "text",
    [
        "型番K-3とR7、HZ-AC05に対応しています",
        "Models K-3, R7 and HZ-AC05 are supported.",
        "型番 HS-2026-120455 の在庫",
        "KJ-55X9500H の取扱説明書",
        "2026-11-05に発送しました",
        "Shipped on 2026-11-05.",
        "価格は¥12,800(税込)です",
        "ISO-8601-2019 の形式です",
        "ご注文の商品は2026-11-05にお届けします",
    ],
)
def test_order_number_negatives(checker: Checker, text: str) -> None:
    assert not [f for f in checker.check(text).findings if f.category == "pii"], text


def test_order_number_patterns_configurable() -> None:
    c = Checker(load_rules(text="order_number_patterns: ['(?<![0-9])Z\\d{5}(?![0-9])']"))
    assert [f.match for f in c.check("Z12345 を確認しました").findings if f.rule == "order_number"] == ["Z12345"]


# --- our own URLs and handles in allow are never personal data ---


@pytest.fixture(scope="module")
def own() -> Checker:
    return Checker(
        load_rules(
            text='allow: ["0120-000-000", "support@example.co.jp", "https://example.co.jp/support", "@hoshizora_support"]'
        )
    )


@pytest.mark.parametrize(
    "text",
    [
        "詳しくは https://example.co.jp/support をご覧ください",
        "詳しくは https://example.co.jp/support/faq?id=0312345678 まで",
        "www.example.co.jp/support/contact/09012345678 からどうぞ",
        "See https://example.co.jp/support/orders/HS-2026-120455 for details.",
        "@hoshizora_support までDMください",
        "X（＠hoshizora_support）からお問い合わせください",
        "Message us at @hoshizora_support or call 0120-000-000.",
        "support@example.co.jp へメールください",
    ],
)
def test_own_urls_and_handles_are_not_pii(own: Checker, text: str) -> None:
    res = own.check(text, post_text="@hoshizora_support 届きません")
    assert not [f for f in res.findings if f.category in ("pii", "pii_echo")], (text, res.findings)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("https://example.co.jp/supporters/09012345678", "09012345678"),  # not under /support
        ("https://other.example.com/support/09012345678", "09012345678"),  # another host
        ("@hoshizora_support2 の 09012345678 です", "09012345678"),  # another handle
    ],
)
def test_allow_does_not_cover_other_urls_or_handles(own: Checker, text: str, match: str) -> None:
    assert [f.match for f in own.check(text).findings if f.category == "pii"] == [match]
