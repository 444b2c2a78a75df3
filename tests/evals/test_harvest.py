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
