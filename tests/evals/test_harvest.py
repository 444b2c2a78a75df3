"""Harvest: edited approvals become expected content, rejections become must-not cases."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.posts.models import Draft, Post
from evals.harvest import harvest_cases, harvest_suite, key_phrases, suite_yaml
from evals.schema import parse_suite
from kizuki.core.db import Database


def _post(s: object, ext: str, text: str) -> Post:
    p = Post(source="x", external_id=ext, author_handle="taro", text=text, channel="x", status="drafted")
    s.add(p)  # type: ignore[attr-defined]
    return p


def _draft(post: Post, **kw: object) -> Draft:
    base: dict[str, object] = {
        "generation": 1,
        "channel": "x",
        "model": "offline",
        "prompt_version": "draft-v1",
        "language": "ja",
        "decided_at": datetime(2026, 11, 25, tzinfo=UTC),
        "decided_by": "hana",
    }
    base.update(kw)
    return Draft(post=post, **base)


def test_key_phrases_are_the_new_terms() -> None:
    assert key_phrases("E03の場合は放熱キャップを確認してください", absent_from="確認してください") == [
        "キャップ",
        "E03",
        "場合",
        "放熱",
    ]
    new = key_phrases("Please reset the pairing, then update the firmware", absent_from="Please update the app")
    assert "reset" in new and "pairing" in new and "update" not in new


def test_edited_approval_and_rejection_become_cases(db: Database) -> None:
    with db.session() as s:
        p1 = _post(s, "1", "KAMADO K-3でE03が出ます")
        s.add(
            _draft(
                p1,
                status="approved",
                original_text="ご不便をおかけしております。修理をご依頼ください。",
                text="ご不便をおかけしております。内ぶたと放熱キャップの取り付けをご確認ください。",
                citations=[{"key": "kamado-e03-ja", "revision": 1}],
            )
        )
        p2 = _post(s, "2", "注文番号 HS-2026-1 の件")
        s.add(
            _draft(
                p2,
                status="rejected",
                original_text="注文番号HS-2026-1を確認しました。全額返金いたします。",
                text="注文番号HS-2026-1を確認しました。全額返金いたします。",
                decision_reason="privacy",
                decision_note="echoed the order number",
            )
        )
        p3 = _post(s, "3", "ありがとう")
        s.add(_draft(p3, status="approved", original_text="ありがとうございます", text="ありがとうございます"))
    with db.session() as s:
        cases = {c.name: c for c in harvest_cases(s)}
        suite = harvest_suite(s)
    assert set(cases) == {"harvest-edit-x-1", "harvest-reject-x-2"}
    edit = cases["harvest-edit-x-1"].expect
    assert {"キャップ", "放熱"} <= set(edit.must_contain) and "修理" in edit.must_not_contain
    assert edit.cites == ["kamado-e03-ja"] and edit.language == "ja"
    reject = cases["harvest-reject-x-2"]
    assert reject.critical and reject.expect.needs_dm is True and "pii_echo" in reject.expect.no_findings
    assert "全額返金" in reject.expect.must_not_contain
    assert reject.note and "privacy" in reject.note and "echoed the order number" in reject.note
    assert suite is not None
    reloaded = parse_suite(suite_yaml(suite), "harvested.yaml")
    assert [c.name for c in reloaded.cases] == [c.name for c in suite.cases]


def test_harvest_writes_no_personal_data_and_keeps_privacy_cases_meaningful(db: Database) -> None:
    """Post and reply texts, notes, handles, names, reviewers and the network's post ids stay out of the suite; a
    post rejected for privacy is kept with fictional values of the same kinds, so the case still tests them."""
    from agent.checks.pii import find_pii

    post_text = (
        "山田太郎です。電話は090-1234-5678、メールはtaro.yamada@example.jp、マイナンバー 987654321018、"
        "カード 4242 4242 4242 4242。〒150-0001 東京都渋谷区神宮前1-2-3 @friend_jp"
    )
    with db.session() as s:
        p1 = Post(
            source="x",
            external_id="1790123456",
            author_handle="taro_123",
            author_name="山田太郎",
            text=post_text,
            channel="x",
            status="drafted",
        )
        s.add(p1)
        s.add(
            _draft(
                p1,
                status="rejected",
                original_text="山田太郎様、090-1234-5678 に折り返します。@taro_123",
                text="山田太郎様、090-1234-5678 に折り返します。@taro_123",
                decision_reason="privacy",
                decision_note="echoed taro.yamada@example.jp",
                decided_by="hana",
            )
        )
        p2 = Post(
            source="x",
            external_id="1790999",
            author_handle="John_S",
            author_name="John Smith",
            text="Mr. John Smith here, card 5555 5555 5555 4444 was charged twice, call +1 415 555 0123",
            channel="x",
            status="drafted",
        )
        s.add(p2)
        s.add(
            _draft(
                p2,
                status="approved",
                language="en",
                original_text="Sorry John, we will refund you.",
                text="Sorry about the double charge, John Smith. Please send us a DM with the order number.",
                decided_by="hana",
            )
        )
    with db.session() as s:
        suite = harvest_suite(s)
    assert suite is not None
    text = suite_yaml(suite)
    for value in (
        "090-1234-5678",
        "taro.yamada@example.jp",
        "987654321018",
        "4242 4242 4242 4242",
        "150-0001",
        "渋谷区",
        "山田太郎",
        "friend_jp",
        "taro_123",
        "John",
        "Smith",
        "5555 5555 5555 4444",
        "415 555 0123",
        "1790123456",
        "1790999",
        "hana",
    ):
        assert value not in text, value
    cases = {c.note.split(" ")[0] if c.note else "": c for c in suite.cases}
    privacy = cases["rejected"]
    assert privacy.critical and privacy.expect.needs_dm is True
    assert {"phone", "email", "my_number", "card", "postal_code", "address"} <= {
        it.kind for it in find_pii(privacy.post.text)
    }
    assert "090-0000-0000" in privacy.post.text and privacy.post.handle == "eval_user"
    assert all(c.name.startswith("harvest-") and "1790" not in c.name for c in suite.cases)
    reloaded = parse_suite(text, "harvested.yaml")
    assert len(reloaded.cases) == 2
