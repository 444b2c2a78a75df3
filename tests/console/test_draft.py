"""The draft page: what it shows, the live check, and every decision through the review service."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from agent.posts.models import Draft
from kizuki.core.audit import AuditEntry
from kizuki.runtime import Runtime
from tests.console.conftest import Person, store_draft

PHONE_POST = "KAMADOが壊れました。電話番号は090-1234-5678です。連絡ください"
SAFE_REPLY = "ご不便をおかけして申し訳ございません。詳しい状況をDMでお知らせいただけますか。"


def textarea(html: str) -> str:
    match = re.search(r'<textarea id="draft-text"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, "no draft-text textarea"
    return match.group(1)


def status_of(html: str) -> str:
    match = re.search(r'data-testid="status">([^<]+)<', html)
    assert match
    return match.group(1)


def draft_row(rt: Runtime, draft_id: int) -> Draft:
    with rt.db.reading() as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None
        s.expunge(draft)
        return draft


def actions(rt: Runtime, draft_id: int) -> list[tuple[str, str]]:
    with rt.db.reading() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.subject == f"draft:{draft_id}").order_by(AuditEntry.id)
        ).all()
        return [(r.action, r.actor) for r in rows]


def test_draft_page_shows_post_triage_citations_history_and_findings(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    earlier = store_draft(
        runtime, post_text="先週もKAMADOのことで問い合わせました", text="先日はご連絡ありがとうございました。"
    )
    store_draft(runtime, post_text="関係ない人の投稿", author="someone_else")
    draft_id = store_draft(
        runtime,
        post_text=PHONE_POST,
        text=SAFE_REPLY,
        citations=[{"key": "returns-01", "revision": 3}],
        reasons=["negative tone", "personal data in public"],
    )
    hana = person("agent", "hana")
    assert hana.post(f"/drafts/{earlier}/approve", data={"version": 1, "csrf_token": hana.csrf}).status_code == 200
    page = hana.get(f"/drafts/{draft_id}")
    assert page.status_code == 200
    html = page.text
    assert status_of(html) == "pending"
    assert PHONE_POST in html and 'href="https://x.example/taro_123/status/1"' in html
    assert "negative tone" in html and "personal data in public" in html and "complaint" in html
    assert 'href="/knowledge/returns-01/revisions/3"' in html
    assert "先週もKAMADOのことで問い合わせました" in html and "先日はご連絡ありがとうございました。" in html
    assert "関係ない人の投稿" not in html  # another author's post
    assert textarea(html) == SAFE_REPLY
    assert f'hx-post="/drafts/{draft_id}/check"' in html and "delay:" in html
    assert 'data-testid="approve"' in html and 'data-testid="reject"' in html and 'data-testid="regenerate"' in html


def test_check_route_finds_and_highlights_an_echoed_phone_number(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    draft_id = store_draft(runtime, post_text=PHONE_POST, text=SAFE_REPLY)
    hana = person("agent")
    edit = "090-1234-5678 にお電話します"
    res = hana.post(f"/drafts/{draft_id}/check", data={"text": edit}, headers={"X-CSRF-Token": hana.csrf})
    assert res.status_code == 200
    findings = re.findall(r'data-testid="finding" data-category="(\w+)" data-start="(\d+)" data-end="(\d+)"', res.text)
    assert ("pii_echo", "0", "13") in findings
    assert '<mark class="finding-block"' in res.text and ">090-1234-5678</mark>" in res.text
    clean = hana.post(f"/drafts/{draft_id}/check", data={"text": SAFE_REPLY}, headers={"X-CSRF-Token": hana.csrf})
    assert 'data-testid="no-findings"' in clean.text


def test_approve_a_clean_edit(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, post_text=PHONE_POST, text=SAFE_REPLY)
    waiting = store_draft(runtime)
    hana = person("agent", "hana")
    edited = SAFE_REPLY + "よろしくお願いいたします。"
    res = hana.post(
        f"/drafts/{draft_id}/approve",
        data={"version": 1, "text": edited, "csrf_token": hana.csrf},
        follow_redirects=False,
    )
    assert res.status_code == 303 and res.headers["location"] == f"/drafts/{draft_id}?done=approved"
    page = hana.get(res.headers["location"]).text
    assert status_of(page) == "approved" and "Approved." in page
    assert f'href="/drafts/{waiting}" data-testid="next-draft"' in page  # on to the next one
    row = draft_row(runtime, draft_id)
    assert row.text == edited and row.status == "approved"
    assert actions(runtime, draft_id) == [("draft.approve", "hana"), ("draft.edit", "hana")]  # as over REST


def test_a_blocked_edit_is_refused_with_the_finding_and_the_edit_kept(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    draft_id = store_draft(runtime, post_text=PHONE_POST, text=SAFE_REPLY)
    hana = person("agent")
    edit = "090-1234-5678 にお電話しますね。"
    res = hana.post(f"/drafts/{draft_id}/approve", data={"version": 1, "text": edit, "csrf_token": hana.csrf})
    assert res.status_code == 422
    assert textarea(res.text) == edit  # never lost
    assert 'data-category="pii_echo"' in res.text and 'data-testid="draft-error"' in res.text
    assert "090-1234-5678" in re.search(r'data-testid="finding-match">([^<]*)<', res.text).group(1)  # type: ignore[union-attr]
    row = draft_row(runtime, draft_id)
    assert row.status == "pending" and row.text == SAFE_REPLY
    assert actions(runtime, draft_id) == []


def test_warnings_must_be_acknowledged(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, text="必ず明日までに直します。")
    clean_id = store_draft(runtime, text=SAFE_REPLY)
    hana = person("agent")
    assert 'data-testid="acknowledge"' not in hana.get(f"/drafts/{clean_id}").text  # asked only with warnings
    assert 'data-testid="acknowledge"' in hana.get(f"/drafts/{draft_id}").text
    res = hana.post(f"/drafts/{draft_id}/approve", data={"version": 1, "csrf_token": hana.csrf})
    assert res.status_code == 422 and 'data-category="overpromise"' in res.text
    assert "tick the acknowledgement" in res.text and 'data-testid="acknowledge"' in res.text
    live = hana.post(f"/drafts/{draft_id}/check", data={"text": SAFE_REPLY}, headers={"X-CSRF-Token": hana.csrf})
    assert 'data-testid="acknowledge"' not in live.text  # the edit removed the warning
    ok = hana.post(
        f"/drafts/{draft_id}/approve",
        data={"version": 1, "acknowledge_warnings": "true", "csrf_token": hana.csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert draft_row(runtime, draft_id).status == "approved"


def test_reject_with_a_reason_code(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime)
    hana = person("agent", "hana")
    page = hana.get(f"/drafts/{draft_id}").text
    assert 'value="wrong_facts"' in page and 'value="not_needed"' in page
    res = hana.post(
        f"/drafts/{draft_id}/reject",
        data={"version": 1, "reason": "tone", "note": "冷たい印象", "csrf_token": hana.csrf},
        follow_redirects=False,
    )
    assert res.status_code == 303 and res.headers["location"].endswith("done=rejected")
    row = draft_row(runtime, draft_id)
    assert (row.status, row.decision_reason, row.decision_note) == ("rejected", "tone", "冷たい印象")
    assert actions(runtime, draft_id) == [("draft.reject", "hana")]
    bad = hana.post(
        f"/drafts/{store_draft(runtime)}/reject", data={"version": 1, "reason": "x", "csrf_token": hana.csrf}
    )
    assert bad.status_code == 422


def test_regenerate_with_instructions(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime)
    hana = person("agent", "hana")
    res = hana.post(
        f"/drafts/{draft_id}/regenerate",
        data={"version": 1, "instructions": "もっと短く、敬語で", "csrf_token": hana.csrf},
        follow_redirects=False,
    )
    assert res.status_code == 303 and "done=regenerated&generation=2" in res.headers["location"]
    assert "generation 2" in hana.get(res.headers["location"]).text
    assert draft_row(runtime, draft_id).status == "superseded"
    with runtime.db.reading() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.subject == f"draft:{draft_id}")).one()
        assert entry.action == "draft.regenerate" and entry.after["instructions"] == "もっと短く、敬語で"


def test_a_stale_version_shows_the_fresh_draft_and_keeps_the_edit(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    draft_id = store_draft(runtime, text=SAFE_REPLY)
    hana, ken = person("agent", "hana"), person("agent", "ken")
    with runtime.db.session() as s:  # ken's edit lands first (as a concurrent reviewer's would)
        row = s.get(Draft, draft_id)
        assert row is not None
        row.text, row.version = "ken の修正した返信です。", 2
    mine = SAFE_REPLY + "（hana の修正）"
    res = hana.post(f"/drafts/{draft_id}/approve", data={"version": 1, "text": mine, "csrf_token": hana.csrf})
    assert res.status_code == 409
    assert textarea(res.text) == mine  # the reviewer's edit, never lost
    assert 'data-testid="stale"' in res.text and "ken の修正した返信です。" in res.text
    assert 'name="version" value="2"' in res.text  # the form now carries the fresh version
    assert "now version 2" in res.text
    again = hana.post(
        f"/drafts/{draft_id}/approve",
        data={"version": 2, "text": mine, "csrf_token": hana.csrf},
        follow_redirects=False,
    )
    assert again.status_code == 303 and draft_row(runtime, draft_id).text == mine
    assert ken.get(f"/drafts/{draft_id}").status_code == 200


def test_a_stale_reject_keeps_the_edit_too(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, text=SAFE_REPLY, version=3)
    hana = person("agent")
    res = hana.post(
        f"/drafts/{draft_id}/reject", data={"version": 2, "reason": "tone", "text": "編集中", "csrf_token": hana.csrf}
    )
    assert res.status_code == 409 and textarea(res.text) == "編集中"


def test_two_person_rule(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, flame_risk=80, text=SAFE_REPLY)
    hana, ken = person("agent", "hana"), person("agent", "ken")
    assert 'data-testid="two-person"' in hana.get(f"/drafts/{draft_id}").text
    first = hana.post(
        f"/drafts/{draft_id}/approve", data={"version": 1, "csrf_token": hana.csrf}, follow_redirects=False
    )
    assert first.headers["location"].endswith("done=approved_first")
    page = hana.get(first.headers["location"]).text
    assert status_of(page) == "pending" and "First approval by hana" in page and 'data-testid="you-approved"' in page
    version = draft_row(runtime, draft_id).version
    twice = hana.post(f"/drafts/{draft_id}/approve", data={"version": version, "csrf_token": hana.csrf})
    assert twice.status_code == 409 and "a different person" in twice.text
    second = ken.post(
        f"/drafts/{draft_id}/approve", data={"version": version, "csrf_token": ken.csrf}, follow_redirects=False
    )
    assert second.headers["location"].endswith("done=approved")
    assert [a["by"] for a in draft_row(runtime, draft_id).approvals] == ["hana", "ken"]
    assert actions(runtime, draft_id) == [("draft.approve_first", "hana"), ("draft.approve", "ken")]


def test_mark_sent_on_the_manual_channel(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime)
    hana = person("agent", "hana")
    hana.post(f"/drafts/{draft_id}/approve", data={"version": 1, "csrf_token": hana.csrf})
    page = hana.get(f"/drafts/{draft_id}").text
    assert 'data-testid="mark-sent"' in page and 'data-testid="approve"' not in page
    res = hana.post(
        f"/drafts/{draft_id}/mark-sent",
        data={"url": "https://x.example/our/1", "csrf_token": hana.csrf},
        follow_redirects=False,
    )
    assert res.status_code == 303
    assert status_of(hana.get(f"/drafts/{draft_id}").text) == "sent"
    again = hana.post(f"/drafts/{draft_id}/mark-sent", data={"csrf_token": hana.csrf})
    assert again.status_code == 409


def test_like_only_is_approved_as_a_like(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, action="like_only", text="", post_text="KAMADO最高！毎日使ってます")
    hana = person("agent")
    page = hana.get(f"/drafts/{draft_id}").text
    assert "Approve as a like" in page and 'id="draft-text"' not in page
    res = hana.post(f"/drafts/{draft_id}/approve", data={"version": 1, "csrf_token": hana.csrf}, follow_redirects=False)
    assert res.status_code == 303
    row = draft_row(runtime, draft_id)
    assert (row.status, row.action, row.text) == ("approved", "like_only", "")


def test_a_decided_draft_cannot_be_decided_again(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, status="rejected")
    hana = person("agent")
    res = hana.post(f"/drafts/{draft_id}/approve", data={"version": 1, "csrf_token": hana.csrf})
    assert res.status_code == 409 and "rejected already" in res.text


@pytest.mark.parametrize("path", ["/drafts/999999", "/drafts/0", "/drafts/abc"])
def test_a_missing_draft_is_a_page_not_json(person: Callable[..., Person], path: str) -> None:
    res = person("agent").get(path)
    assert res.status_code in (404, 422)
    assert res.headers["content-type"].startswith("text/html") and 'data-testid="error-detail"' in res.text


def test_the_draft_page_in_japanese(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime)
    page = person("agent", headers={"Accept-Language": "ja"}).get(f"/drafts/{draft_id}").text
    assert "返信文" in page and "承認" in page and "却下" in page and "再生成" in page
