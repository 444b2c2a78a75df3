# ruff: noqa: E501  (tables of example texts, one a line)
"""Personal data in the formats of the organisation's markets, written obfuscated, and support replies
that send the customer to a private place (a form, a link, e-mail, phone) instead of asking in public."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.checks import Checker, checker_for, checker_with, load_rules
from agent.checks.normalize import pii_view
from agent.checks.pii import find_pii
from agent.org.schemas import OrgProfile
from kizuki.runtime import Runtime

POST_PHONE = "届かないです。090-1234-5678に電話ください"


@pytest.fixture(scope="module")
def checker() -> Checker:
    """The checker without an organisation profile: JP and US formats."""
    return Checker(load_rules(text='allow: ["0120-000-000", "support@example.co.jp"]'))


@pytest.fixture(scope="module")
def wide() -> Checker:
    """JP, US and GB: the regions an organisation with languages [ja, en] reads by default."""
    return Checker(regions=OrgProfile(name="Example").phone_regions())


def pii(c: Checker, text: str, post: str | None = None) -> list[tuple[str, str]]:
    return [(f.rule, f.match) for f in c.check(text, post_text=post).findings if f.category == "pii"]


# --- phones in the formats of the markets ---


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("Please call me back at (206) 266-1000.", "(206) 266-1000"),
        ("My number is 206-266-1000", "206-266-1000"),
        ("you can reach me on 206.266.1000 anytime", "206.266.1000"),
        ("call 1-800-555-0199 tomorrow", "1-800-555-0199"),
        ("my phone is 2062661000", "2062661000"),
        ("折り返しは(206) 266-1000までお願いします", "(206) 266-1000"),
        ("米国の番号 +1 206 266 1000 です", "+1 206 266 1000"),
        ("電話は03-1234-5678です", "03-1234-5678"),
    ],
)
def test_us_and_jp_phones_without_a_profile(checker: Checker, text: str, match: str) -> None:
    assert ("phone", match) in pii(checker, text)


@pytest.mark.parametrize(
    "text",
    [
        # dates, times, years
        "Shipped on 2024-12-06 at 10:30.", "2024-12-06に発送しました", "2024/12/06 10:30", "12/06/2024", "2024-12-06T10:30:00Z",
        "2024年12月6日 10時30分にお届け予定", "in 2024 and 2025", "1998年創業、2024年に移転", "営業時間 9:00-17:00、19:00〜21:00",
        # prices and counts
        "The price is $1,299.99 (was $2,062.66).", "価格は12,800円(税込14,080円)", "2,062,661,000円の売上", "1,234,567 views",
        "Battery 5000mAh, 1200 cycles",
        # order, tracking and ticket numbers, ids
        "Your order #2062661000 has shipped.", "Order 112-3456789-1234567 has shipped.", "Invoice 2062661000 is attached",
        "Ticket #4155550132 is closed", "ID 206 266 1000", "Serial 4155550132", "Tracking number 1Z999AA10123456784",
        "ご注文番号 250-1234567-8901234 の件", "会員番号 0312345678 でログイン", "お問い合わせ番号202401150930", "HS-2026-120455の件",
        # model numbers and product codes
        "Model KJ-55X9500H, part no. 206-266-1000", "SKU 206-266-1000", "型番 KJ-55X9500H", "商品コード 12345-67890",
        "JAN 4901234567894", "ISBN 978-4-06-519981-7", "Version 10.2.3.4567",
        # postal codes written as such are postal codes, never phones
        "ZIP 98109-5210", "Postcode SW1A 1AA",
    ],
)  # fmt: skip
def test_numbers_that_are_not_phones(wide: Checker, text: str) -> None:
    found = [r for r in pii(wide, text) if r[0] in ("phone", "email", "card", "my_number")]
    assert found == [], text


def test_regions_follow_the_markets() -> None:
    jp = Checker(regions=["JP"])
    us = Checker(regions=["us"])
    gb = Checker(regions=["GB"])
    assert pii(jp, "(206) 266-1000") == []
    assert pii(us, "(206) 266-1000") == [("phone", "(206) 266-1000")]
    assert pii(jp, "07911 123456") == [] and pii(gb, "07911 123456") == [("phone", "07911 123456")]
    # Japanese mobile numbers are read whatever the markets
    for c in (jp, us, gb):
        assert pii(c, "090-1234-5678") == [("phone", "090-1234-5678")]
    with pytest.raises(ValueError, match="unknown region"):
        Checker(regions=["XX"])


def test_find_pii_keeps_its_signature_and_reads_regions() -> None:
    assert [i.kind for i in find_pii("(206) 266-1000")] == ["phone"]  # default JP + US
    assert find_pii("(206) 266-1000", regions=["JP"]) == []
    item = find_pii("ring 07911 123456", regions=("GB",))[0]
    assert (item.kind, item.value, item.start) == ("phone", "07911123456", 5)


def test_overlapping_spans_are_reported_once(wide: Checker) -> None:
    res = pii(wide, "+44 20 7946 0000 or 090-1234-5678")
    assert res == [("phone", "+44 20 7946 0000"), ("phone", "090-1234-5678")]


def test_own_contacts_stay_allowed_in_any_format() -> None:
    c = Checker(load_rules(text='allow: ["+1 206-266-1000", "0120-000-000"]'), regions=["JP", "US"])
    assert pii(c, "Call us at (206) 266-1000 or 0120-000-000.") == []
    assert pii(c, "または +81 120 000 000 まで") == []
    assert pii(c, "Call (206) 266-1001") == [("phone", "(206) 266-1001")]


# --- obfuscation ---


@pytest.mark.parametrize(
    ("text", "rule", "match"),
    [
        ("電話は09O-l234-5678です", "phone", "09O-l234-5678"),
        ("O9O l234 5678 までお願いします", "phone", "O9O l234 5678"),
        ("call me: (2O6) 266-l000", "phone", "(2O6) 266-l000"),
        ("090-I234-5678", "phone", "090-I234-5678"),
        ("0 9 0 1 2 3 4 5 6 7 8", "phone", "0 9 0 1 2 3 4 5 6 7 8"),
        ("0 9 0 - 1 2 3 4 - 5 6 7 8 に電話", "phone", "0 9 0 - 1 2 3 4 - 5 6 7 8"),
        ("tel: 2 0 6 2 6 6 1 0 0 0", "phone", "2 0 6 2 6 6 1 0 0 0"),
        ("〇九〇ー一二三四ー五六七八", "phone", "〇九〇ー一二三四ー五六七八"),
        ("taro at example dot com", "email", "taro at example dot com"),
        ("Email: TARO AT EXAMPLE DOT CO DOT JP", "email", "TARO AT EXAMPLE DOT CO DOT JP"),
        ("taro(at)example(dot)com", "email", "taro(at)example(dot)com"),
        ("taro [at] example [dot] com", "email", "taro [at] example [dot] com"),
        ("連絡先は「taro＠example．com」です", "email", "taro＠example．com"),
        ("連絡先は「taroアットマークexample.com」です", "email", "taroアットマークexample.com"),
        ("taro アット example ドット com までどうぞ", "email", "taro アット example ドット com"),
        ("taro.yamada@example dot com", "email", "taro.yamada@example dot com"),
    ],
)
def test_obfuscated_personal_data(checker: Checker, text: str, rule: str, match: str) -> None:
    assert (rule, match) in pii(checker, text), pii(checker, text)


@pytest.mark.parametrize(
    "text",
    ["ISO 9001 certified", "CO2 1234567", "Hello 1234567", "lol 1234567", "|1234567| table", "Find us at example.com",
     "Email us at example dot com", "Meet me at the station", "I 123", "ご注文はアットマークの位置をご確認ください", "2O24年"],
)  # fmt: skip
def test_obfuscation_reading_does_not_invent_data(checker: Checker, text: str) -> None:
    assert [r for r in pii(checker, text) if r[0] in ("phone", "email")] == [], text


@pytest.mark.parametrize(
    "text",
    ["Please DM @shop.eats with the details so we can look into it.", "詳細は @shop.eats までDMでお送りください",
     "Follow @example.jp for updates"],
)  # fmt: skip
def test_a_mention_with_a_dot_is_not_an_email(checker: Checker, text: str) -> None:
    assert pii(checker, text) == [], text


def test_pii_view_keeps_original_offsets() -> None:
    text = "TEL 09O-l234-5678 / taro at example dot com"
    v = pii_view(text)
    assert "090-1234-5678" in v.text and "taro@example.com" in v.text
    a = v.text.index("taro@")
    assert text[slice(*v.span(a, a + len("taro@example.com")))] == "taro at example dot com"
    spaced = "番号 0 9 0 1 2 3 4 5 6 7 8 です"
    sv = pii_view(spaced)
    b = sv.text.index("09012345678")
    assert spaced[slice(*sv.span(b, b + 11))] == "0 9 0 1 2 3 4 5 6 7 8"


@pytest.mark.parametrize(
    ("post", "reply"),
    [
        ("Call me at (206) 266-1000 please", "We will call +1 206 266 1000 shortly. Please check your DMs."),
        ("Call me at (206) 266-1000 please", "We'll call the number ending in 1000. Please check your DMs."),
        ("mail me: taro at example dot com", "We wrote to taro@example.com. Please check your DMs."),
        ("メールは taroアットマークexample.com です", "taro@example.com 宛てにお送りしました。DMをご確認ください"),
        ("電話は09O-l234-5678です", "090-****-5678 にお電話します。詳細はDMにて。"),
        (POST_PHONE, "O9O-l234-5678 に折り返します。詳細はDMにて。"),
    ],
)
def test_echo_uses_the_same_reading(checker: Checker, post: str, reply: str) -> None:
    res = checker.check(reply, post_text=post)
    assert "pii_echo" in res.categories, res.findings


# --- a request that sends the customer to a private place is no request in public ---


@pytest.mark.parametrize(
    "reply",
    [
        "We're sorry to hear that. Please share your details here: https://forms.example.com/help",
        "Please share your order number and address here: forms.example/abc123",
        "Please share your details with us through this form: https://forms.example.com/help and we'll look into it.",
        "Please send us your phone number via our contact form.",
        "Could you email us your order number?",
        "Please call us at 0120-000-000 with your order number.",
        "ご迷惑をおかけしております。お手数ですが、こちらのフォームからご住所とお名前をお知らせください: https://forms.example.com/help",
        "お手数ですが、下記URLよりご注文番号をお知らせください。https://forms.example.com/help",
        "お手数ですが、ご注文番号をお問い合わせフォームにご記入ください。",
        "ご注文番号を0120-000-000までお電話でお知らせください",
        "ご注文番号をメールにてお知らせください。",
    ],
)
def test_private_place_is_not_a_public_request(checker: Checker, reply: str) -> None:
    res = checker.check(reply)
    assert "dm_redirect" not in res.categories, res.findings
    # the same reply answers a post that holds personal data: it moves the matter out of public
    res = checker.check(reply, post_text=POST_PHONE)
    assert "dm_redirect" not in res.categories, res.findings


@pytest.mark.parametrize(
    "reply",
    [
        "Please reply with your phone number.",
        "Please reply with your phone number, or use https://forms.example.com/help",
        "Please share your phone number in the comments.",
        "こちらに電話番号を返信してください",
        "こちらに電話番号を返信してください。フォームでも受け付けています https://forms.example.com/help",
        "ご住所と電話番号を教えてください",
        "Could you tell us your address?",
    ],
)
def test_public_requests_still_flagged(checker: Checker, reply: str) -> None:
    res = checker.check(reply)
    assert [(f.category, f.rule) for f in res.findings] == [("dm_redirect", "request_in_public")], res.findings


@pytest.mark.parametrize(
    "reply",
    [
        "ご迷惑をおかけしております。確認いたします。",
        "Sorry about that. See our FAQ: https://help.example.com/faq",
        "詳しくはこちらをご覧ください https://help.example.com/faq",
        "Thanks! This was covered here: https://x.com/example_help/status/123",
    ],
)
def test_a_link_alone_is_no_redirect(checker: Checker, reply: str) -> None:
    res = checker.check(reply, post_text=POST_PHONE)
    assert [(f.category, f.rule) for f in res.findings] == [("dm_redirect", "no_dm")], res.findings


# --- the organisation's markets ---


def test_markets_validated_and_upper_cased() -> None:
    p = OrgProfile(name="Example", markets=["jp", " us ", "UK", "JP"])
    assert p.markets == ["JP", "US", "GB"]
    assert p.phone_regions() == ["JP", "US", "GB"]
    with pytest.raises(ValidationError, match="unknown market"):
        OrgProfile(name="Example", markets=["Japan"])
    with pytest.raises(ValidationError):
        OrgProfile(name="Example", markets=["JP"] * 21)


@pytest.mark.parametrize(
    ("languages", "regions"),
    [(None, ["JP", "US", "GB"]), (["ja"], ["JP"]), (["en"], ["US", "GB"]), (["ko", "ja"], ["KR", "JP"]),
     (["en-GB"], ["US", "GB"]), (["eo"], ["JP", "US"])],
)  # fmt: skip
def test_markets_default_from_languages(languages: list[str] | None, regions: list[str]) -> None:
    p = OrgProfile(name="Example") if languages is None else OrgProfile(name="Example", languages=languages)
    assert p.markets == []  # nothing invented in the stored profile
    assert p.phone_regions() == regions


def test_checker_helpers_take_regions() -> None:
    assert pii(checker_for(None, regions=["JP"]), "(206) 266-1000") == []
    assert pii(checker_for(None), "(206) 266-1000") == [("phone", "(206) 266-1000")]
    assert pii(checker_with(None, regions=["GB"]), "07911 123456") == [("phone", "07911 123456")]


def test_runtime_checker_reads_the_markets(bare_runtime: Runtime) -> None:
    assert bare_runtime.checker_for(None).check("(206) 266-1000").categories == {"pii"}
    jp_only = OrgProfile(name="Example", markets=["JP"], contacts=["0120-000-000"])
    assert bare_runtime.checker_for(jp_only).check("(206) 266-1000").categories == set()
    gb = OrgProfile(name="Example", markets=["GB"])
    assert bare_runtime.checker_for(gb).check("07911 123456").categories == {"pii"}
    assert bare_runtime.checker_for(jp_only).check("07911 123456").categories == set()
