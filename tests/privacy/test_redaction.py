"""Redaction: each piece of personal data becomes a typed placeholder; idempotent; Unicode-safe; our contacts kept."""

from __future__ import annotations

import pytest

from agent.checks.pii import find_pii
from agent.checks.rules import default_rules, with_extras
from agent.posts.privacy import HANDLE_PLACEHOLDER, Redactor, author_key, canonical_handle, placeholder
from tests.privacy.conftest import EN_TEXT, EN_VALUES, JA_TEXT, JA_VALUES

R = Redactor.from_rules(default_rules())


@pytest.mark.parametrize(
    ("text", "values", "kinds"),
    [
        (JA_TEXT, JA_VALUES, ("phone", "email", "my_number", "card", "postal_code", "address", "name", "handle")),
        (EN_TEXT, EN_VALUES, ("name", "phone", "email", "card", "address")),
    ],
    ids=["ja", "en"],
)
def test_every_piece_of_personal_data_becomes_its_placeholder(
    text: str, values: tuple[str, ...], kinds: tuple[str, ...]
) -> None:
    out = R.redact(text, ["taro_123", "@taro_123", "山田太郎"])
    for value in values:
        assert value not in out
    for kind in kinds:
        assert placeholder(kind) in out
    assert find_pii(out) == []
    if "様" in text:
        assert "〔氏名/name〕様" in out  # a Japanese name keeps its honorific


def test_placeholders_read_in_both_languages() -> None:
    assert placeholder("phone") == "〔電話番号/phone〕"
    assert placeholder("my_number") == "〔マイナンバー/My Number〕"
    assert placeholder("a_kind_added_later") == "〔個人情報/personal data〕"
    assert HANDLE_PLACEHOLDER == "〔アカウント/handle〕"


@pytest.mark.parametrize(
    "text",
    [
        JA_TEXT,
        EN_TEXT,
        "電話は０９０－１２３４－５６７８です",  # full-width digits and dashes
        "ｶﾞ090-1234-5678ﾞの件",  # half-width kana with a separate voiced mark right after the number
        "連絡先 090-1234-5678\u20dd と 👨\u200d👩\u200d👧 家族",  # a combining mark glued to the number
        "注文番号 HS-2026-120455 の件、@kaze_friend にも",
        "handle name 〔氏名/name〕 and 〔電話番号/phone〕 already redacted",
    ],
)
def test_redaction_is_idempotent_and_leaves_no_orphan_marks(text: str) -> None:
    terms = ["name", "phone", "taro_123"]  # pathological handles equal to words inside placeholders
    once = R.redact(text, terms)
    assert R.redact(once, terms) == once
    assert "090" not in once and "１２３４" not in once and "120455" not in once
    assert "\u20dd" not in once  # no combining mark left on the placeholder
    if "ｶﾞ" in text:
        assert once == "ｶﾞ〔電話番号/phone〕の件"  # the voiced mark after the number went with it


def test_our_own_contacts_and_handles_are_not_personal_data() -> None:
    rules = with_extras(default_rules(), allow=["0120-000-000", "support@example.co.jp", "@kaze_help"])
    r = Redactor.from_rules(rules)
    out = r.redact("0120-000-000 か support@example.co.jp、@kaze_help へ。私は 090-1234-5678、@taro_123")
    assert "0120-000-000" in out and "support@example.co.jp" in out and "@kaze_help" in out
    assert "090-1234-5678" not in out and "@taro_123" not in out


def test_synthetic_values_are_fictional_and_still_found_as_the_same_kind() -> None:
    out = R.redact(JA_TEXT, ["taro_123", "山田太郎"], synthetic=True)
    for value in JA_VALUES:
        assert value not in out
    kinds = {it.kind for it in find_pii(out)}
    assert {"phone", "email", "my_number", "card", "postal_code", "address"} <= kinds
    assert "090-0000-0000" in out and "customer@example.com" in out
    assert R.redact(out, synthetic=True) == out
    en = R.redact(EN_TEXT, synthetic=True)
    assert "Mr. Doe" in en and "123 Example Street" in en and "John" not in en


def test_author_key_is_keyed_and_unicode_normalised() -> None:
    k1, k2 = b"k" * 32, b"j" * 32
    assert canonical_handle(" ＠Ｔａｒｏ_123 ") == "taro_123"
    assert author_key(k1, "X", "＠Ｔａｒｏ_123") == author_key(k1, "x", "taro_123")
    assert author_key(k1, "x", "taro_123") != author_key(k2, "x", "taro_123")
    assert author_key(k1, "x", "taro_123") != author_key(k1, "instagram", "taro_123")
    assert "taro" not in author_key(k1, "x", "taro_123")


def test_check_reports_for_the_audit_name_the_kind_not_the_data() -> None:
    from agent.posts.privacy import checks_for_audit

    checks = {
        "verdict": "block",
        "findings": [
            {"category": "pii_echo", "rule": "phone", "match": "090-1234-5678", "start": 0, "end": 13},
            {"category": "pii", "rule": "my_number", "match": "987654321018", "start": 20, "end": 32},
            {"category": "ng_word", "rule": "default_list", "match": "バカ", "start": 40, "end": 42},
        ],
    }
    safe = checks_for_audit(checks)
    assert [f["match"] for f in safe["findings"]] == ["〔電話番号/phone〕", "〔マイナンバー/My Number〕", "バカ"]
    assert safe["verdict"] == "block" and checks["findings"][0]["match"] == "090-1234-5678"  # the input is untouched


@pytest.mark.parametrize(
    ("text", "secret"),
    [("電話は〔090-1234-5678〕です", "090-1234-5678"), ("mail me: 〔taro@example.com〕", "taro@example.com")],
)
def test_data_in_lenticular_brackets_is_still_redacted(text: str, secret: str) -> None:
    """Only the placeholders redaction writes are kept as they are; any other 〔…〕 is ordinary text."""
    assert secret not in R.redact(text, [])
