"""Console follow-ups: sign-out ends the session on the server, triage hints (do-not-engage suggestion, flame-risk
parts), delivery (the sent post's link; by hand: copy, open the post, mark sent) and languages beyond ja/en."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from agent.intake.models import DoNotEngageEntry
from agent.intake.service import save_watch_rules
from agent.posts.models import Draft, Post
from agent.schemas import PostIn
from api.app import create_app
from api.auth import find_token, revoke_token
from api.console.auth import make_cookie, session_id
from api.console.models import ConsoleSessionRow
from kizuki.core import audit
from kizuki.core.audit import AuditEntry
from kizuki.core.orm import utcnow
from kizuki.runtime import Runtime
from tests.conftest import make_token
from tests.console.conftest import Person, sign_in, store_draft

STATIC = Path(__file__).resolve().parents[2] / "api" / "console" / "static"


def _patch(rt: Runtime, draft_id: int, *, triage: dict[str, Any] | None = None, **fields: Any) -> None:
    """Give a stored draft's post more triage (merged) or connector facts (`raw`), and the draft other fields."""
    raw = fields.pop("raw", None)
    with rt.db.session() as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None
        post = s.get(Post, draft.post_id)
        assert post is not None
        if triage is not None:
            post.triage = {**(post.triage or {}), **triage}
        if raw is not None:
            post.raw = raw
        for name, value in fields.items():
            setattr(draft, name, value)


def _row(rt: Runtime, cookie: str) -> ConsoleSessionRow:
    with rt.db.reading() as s:
        row = s.get(ConsoleSessionRow, session_id(cookie))
        assert row is not None
        s.expunge(row)
        return row


def _signed_out(client: TestClient) -> bool:
    res = client.get("/queue", follow_redirects=False)
    return res.status_code == 303 and res.headers["location"].startswith("/signin")


# -- 1. sessions end on the server ---------------------------------------------------------------------------------


def test_signout_ends_the_session_for_a_copied_cookie_too(
    runtime: Runtime, app: FastAPI, person: Callable[..., Person]
) -> None:
    hana = person("agent", "hana")
    cookie = hana.cookies["kizuki_session"]
    with TestClient(app) as thief:
        thief.cookies.set("kizuki_session", cookie)
        assert thief.get("/queue").status_code == 200  # a copy works while the session lasts
        res = hana.post("/signout", data={"csrf_token": hana.csrf}, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/signin"
        assert _row(runtime, cookie).ended_at is not None
        assert _signed_out(thief)  # the copy, still sent by its browser, no longer signs in
        refused = thief.post("/signout", data={"csrf_token": hana.csrf}, follow_redirects=False)
        assert refused.status_code == 303 and refused.headers["location"].startswith("/signin")
    again = person("agent", "hana2")  # signing in again gives a new session that works
    assert again.get("/queue").status_code == 200


def test_a_well_signed_cookie_without_a_session_row_is_signed_out(
    runtime: Runtime, app: FastAPI, person: Callable[..., Person]
) -> None:
    """The HMAC alone is not enough: a cookie this server never started (or a pre-migration one) signs nobody in."""
    hana = person("agent", "hana")
    key: bytes = app.state.console_session_key
    token_id = int(hana.cookies["kizuki_session"].split(".")[1])
    with TestClient(app) as other:
        other.cookies.set("kizuki_session", make_cookie(key, token_id))
        assert _signed_out(other)
    assert hana.get("/queue").status_code == 200


def test_revoking_the_token_still_signs_its_sessions_out(
    runtime: Runtime, app: FastAPI, person: Callable[..., Person]
) -> None:
    ken = person("agent", "ken")
    cookie = ken.cookies["kizuki_session"]
    with runtime.db.session() as s:
        revoke_token(s, find_token(s, ken.token), actor="test", allow_last_admin=True)
    assert _signed_out(ken)
    assert _row(runtime, cookie).ended_at is None  # ended by the token, not by a sign-out


def test_sessions_expire_after_their_life_and_when_idle(runtime: Runtime, person: Callable[..., Person]) -> None:
    old, idle, fresh = person("agent", "old"), person("agent", "idle"), person("agent", "fresh")
    now = utcnow()
    with runtime.db.session() as s:
        s.execute(
            update(ConsoleSessionRow)
            .where(ConsoleSessionRow.id == session_id(old.cookies["kizuki_session"]))
            .values(created_at=now - timedelta(hours=12, minutes=1))
        )
        s.execute(
            update(ConsoleSessionRow)
            .where(ConsoleSessionRow.id == session_id(idle.cookies["kizuki_session"]))
            .values(last_seen_at=now - timedelta(hours=2, minutes=1))
        )
    assert _signed_out(old) and _signed_out(idle)
    assert fresh.get("/queue").status_code == 200


def test_use_keeps_a_session_alive_without_a_write_on_every_request(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    hana = person("agent", "hana")
    cookie = hana.cookies["kizuki_session"]
    seen = _row(runtime, cookie).last_seen_at
    assert hana.get("/queue").status_code == 200
    assert _row(runtime, cookie).last_seen_at == seen  # within a minute: not written again
    earlier = utcnow() - timedelta(minutes=90)
    with runtime.db.session() as s:
        s.execute(
            update(ConsoleSessionRow).where(ConsoleSessionRow.id == session_id(cookie)).values(last_seen_at=earlier)
        )
    assert hana.get("/queue").status_code == 200
    assert _row(runtime, cookie).last_seen_at > earlier + timedelta(minutes=89)


def test_the_session_table_keeps_no_cookie(runtime: Runtime, person: Callable[..., Person]) -> None:
    hana = person("agent", "hana")
    cookie = hana.cookies["kizuki_session"]
    nonce = cookie.split(".")[3]
    row = _row(runtime, cookie)
    assert nonce not in row.id and cookie not in row.id and len(row.id) == 64


# -- 2. triage hints ----------------------------------------------------------------------------------------------

SUGGESTION = {"count": 5, "window_hours": 24.0, "reason": "5 complaints in 24 h"}
PARTS = [
    {"name": "negativity", "value": 0.9, "reason": "swearing: クソ"},
    {"name": "reach", "value": 0.75, "reason": "15,400 followers"},
    {"name": "velocity", "value": 0.5, "reason": "48 reposts"},
    {"name": "floor", "value": 1.0, "reason": "hostile post to a wide audience"},
]


def test_queue_row_suggests_do_not_engage_and_explains_the_risk(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    hinted = store_draft(runtime, author="serial_1", post_text="マジでクソ…金返せ。二度と買わねえ", flame_risk=72)
    _patch(runtime, hinted, triage={"suggest_do_not_engage": SUGGESTION, "flame_parts": PARTS})
    plain = store_draft(runtime, author="calm_2", post_text="The kettle's lid is loose, how do I fix it?")
    hana = person("agent", "hana")
    page = hana.get("/queue").text
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(r'data-draft-id="(\d+)".*?</tr>', page, re.S)}
    assert 'data-testid="queue-dne"' in rows[hinted] and "5 complaints in 24 h" in rows[hinted]
    assert 'data-testid="queue-dne-add"' in rows[hinted]
    assert f'action="/drafts/{hinted}/do-not-engage"' in rows[hinted]
    assert 'data-testid="queue-dne"' not in rows[plain] and "do-not-engage" not in rows[plain]
    # the risk's parts, with their reasons, in the row's expandable explanation
    assert 'data-testid="flame-parts"' in rows[hinted] and 'data-name="floor"' in rows[hinted]
    assert "swearing: クソ" in rows[hinted] and 'value="0.75"' in rows[hinted]
    hana.cookies.set("kizuki_lang", "ja")
    ja = hana.get("/queue").text
    assert "対応不要の提案: 24時間で苦情5件" in ja and "攻撃性" not in ja and "影響範囲" in ja


def test_adding_the_author_to_do_not_engage_from_the_queue(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, author="Serial_1")
    _patch(runtime, draft_id, triage={"suggest_do_not_engage": SUGGESTION})
    hana = person("agent", "hana")
    res = hana.post(
        f"/drafts/{draft_id}/do-not-engage",
        data={"csrf_token": hana.csrf, "back": "/queue?risk=high"},
        follow_redirects=False,
    )
    assert res.status_code == 303 and res.headers["location"] == "/queue?risk=high&done=do_not_engage"
    with runtime.db.reading() as s:
        entry = s.scalars(select(DoNotEngageEntry)).one()
        assert (entry.handle, entry.added_by) == ("serial_1", "hana")
        assert "5 complaints in 24 h" in entry.reason
        logged = s.scalars(select(AuditEntry).where(AuditEntry.action == "do_not_engage.add")).one()
        assert (logged.actor, logged.subject) == ("hana", "handle:serial_1")  # the same audit entry as REST
    page = hana.get("/queue?done=do_not_engage").text
    assert "added to the do-not-engage list" in page
    assert 'data-testid="queue-dne-listed"' in page and 'data-testid="queue-dne-add"' not in page


def test_do_not_engage_needs_csrf_and_a_role_that_may(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, author="serial_1")
    _patch(runtime, draft_id, triage={"suggest_do_not_engage": SUGGESTION})
    hana, eva = person("agent", "hana"), person("evaluator", "eva")
    assert hana.post(f"/drafts/{draft_id}/do-not-engage", data={}).status_code == 403
    assert hana.post(f"/drafts/{draft_id}/do-not-engage", data={"csrf_token": "0" * 40}).status_code == 403
    assert eva.post(f"/drafts/{draft_id}/do-not-engage", data={"csrf_token": eva.csrf}).status_code == 403
    assert hana.post("/drafts/999999/do-not-engage", data={"csrf_token": hana.csrf}).status_code == 404
    with runtime.db.reading() as s:
        assert s.scalars(select(DoNotEngageEntry)).all() == []


def test_draft_page_shows_the_suggestion_with_a_reason_field_and_the_risk_parts(
    runtime: Runtime, person: Callable[..., Person], client: TestClient
) -> None:
    draft_id = store_draft(runtime, author="serial_1", flame_risk=72)
    _patch(runtime, draft_id, triage={"suggest_do_not_engage": SUGGESTION, "flame_parts": PARTS})
    hana = person("agent", "hana")
    page = hana.get(f"/drafts/{draft_id}").text
    assert 'data-testid="dne-badge"' in page and 'data-testid="dne-suggestion"' in page
    assert "@serial_1 sent 5 complaints in 24 hours" in page
    flame = page[page.index('data-testid="flame-risk"') :]
    assert "hostile post to a wide audience" in flame and "48 reposts" in flame
    res = hana.post(
        f"/drafts/{draft_id}/do-not-engage",
        data={"csrf_token": hana.csrf, "reason": "毎日同じ苦情（5件）"},
        follow_redirects=False,
    )
    assert res.headers["location"] == f"/drafts/{draft_id}?done=do_not_engage"
    after = hana.get(res.headers["location"]).text
    assert 'data-testid="dne-listed"' in after and 'data-testid="dne-suggestion"' not in after
    listed = client.get("/v1/do-not-engage").json()  # what REST sees
    assert [(e["handle"], e["reason"], e["added_by"]) for e in listed] == [("serial_1", "毎日同じ苦情（5件）", "hana")]


def test_a_draft_without_hints_shows_the_old_reasons(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, reasons=["negative tone"])
    page = person("agent").get(f"/drafts/{draft_id}").text
    assert "negative tone" in page
    assert 'data-testid="dne-suggestion"' not in page and 'data-testid="flame-parts"' not in page


# -- 3. delivery ------------------------------------------------------------------------------------------------------

MASTODON = {"connector": {"name": "masto", "kind": "mastodon", "delivery": "auto", "ref": "109"}}
X_SEARCH = {"connector": {"name": "xsearch", "kind": "x", "delivery": "manual"}}


def test_a_reply_sent_through_a_connector_links_to_the_sent_post(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    draft_id = store_draft(runtime, channel="mastodon", url="https://masto.example/@taro/109")
    _patch(runtime, draft_id, raw=MASTODON, status="sent", delivery_status="sent")
    receipt = {"sent": [{"action": "reply", "id": "110", "url": "https://masto.example/@brand/110"}]}
    with runtime.db.session() as s:
        audit.record(s, actor="outbox", action="draft.sent", subject=f"draft:{draft_id}", after={"receipt": receipt})
    page = person("agent").get(f"/drafts/{draft_id}").text
    sent = page[page.index('data-testid="delivery-sent"') :]
    assert 'href="https://masto.example/@brand/110"' in sent and 'data-testid="sent-url"' in sent
    assert '<code data-testid="sent-id">110</code>' in sent and "mastodon:masto" in sent
    assert 'data-testid="delivery-manual"' not in page and 'data-testid="mark-sent"' not in page


def test_by_hand_delivery_offers_copy_open_and_mark_sent(runtime: Runtime, person: Callable[..., Person]) -> None:
    text = "ご不便をおかけしております。詳しくはDMでお知らせください。"
    draft_id = store_draft(runtime, text=text, url="https://x.example/taro_123/status/77")
    _patch(runtime, draft_id, raw=X_SEARCH)
    hana, ken = person("agent", "hana"), person("agent", "ken")
    pending = hana.get(f"/drafts/{draft_id}").text
    assert 'data-testid="delivery-manual"' not in pending  # nothing to post before approval
    approved = hana.post(f"/drafts/{draft_id}/approve", data={"version": 1, "csrf_token": hana.csrf})
    assert approved.status_code == 200, approved.text[:300]
    queue = ken.get("/queue?status=approved").text
    assert queue.count('data-testid="queue-by-hand"') == 1 and "post by hand" in queue  # findable in the queue
    page = ken.get(f"/drafts/{draft_id}").text
    manual = page[page.index('data-testid="delivery-manual"') :]
    copy = re.search(r'<textarea id="copy-text"[^>]*readonly[^>]*>(.*?)</textarea>', manual, re.S)
    assert copy and html.unescape(copy.group(1)) == text
    assert 'data-copy-target="copy-text"' in manual and 'data-testid="copy"' in manual
    assert 'href="https://x.example/taro_123/status/77"' in manual and 'data-testid="open-post"' in manual
    assert "x:xsearch" in manual and 'data-testid="mark-sent"' in page
    assert "<script>" not in page  # copying is done by /static/console.js (the CSP allows no inline script)
    assert "data-copy-target" in (STATIC / "console.js").read_text(encoding="utf-8")
    res = ken.post(
        f"/drafts/{draft_id}/mark-sent",
        data={"url": "https://x.example/brand/status/78", "csrf_token": ken.csrf},
        follow_redirects=False,
    )
    assert res.status_code == 303
    done = ken.get(f"/drafts/{draft_id}").text
    assert 'data-testid="delivery-manual"' not in done
    assert 'href="https://x.example/brand/status/78"' in done[done.index('data-testid="delivery-sent"') :]


def test_manual_channel_without_a_connector_still_gets_copy_and_mark_sent(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    draft_id = store_draft(runtime, url="https://rss.example/news/1")
    _patch(runtime, draft_id, status="approved", delivery_status="awaiting_manual", version=2)
    page = person("agent").get(f"/drafts/{draft_id}").text
    assert 'data-testid="delivery-manual"' in page and 'href="https://rss.example/news/1"' in page
    assert 'data-testid="mark-sent"' in page


# -- 4. languages beyond ja and en ----------------------------------------------------------------------------------


def test_another_language_is_named_and_its_escalation_explained(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    escalated = store_draft(
        runtime, language="fr", action="escalate", escalate_to="support", text="", post_text="Ma bouilloire fuit !"
    )
    answered = store_draft(runtime, language="ko", post_text="주전자가 고장났어요", text="불편을 드려 죄송합니다.")
    japanese = store_draft(runtime)
    hana = person("agent")
    page = hana.get(f"/drafts/{escalated}").text
    assert 'data-testid="draft-language" lang="fr">French<' in page
    note = page[page.index('data-testid="language-escalation"') :]
    assert "This post is in French (fr)" in note and "only Japanese and English" in note[:400]
    ko = hana.get(f"/drafts/{answered}").text
    assert 'data-testid="language-note"' in ko and "Korean (ko)" in ko and "language-escalation" not in ko
    ja = hana.get(f"/drafts/{japanese}").text
    assert "language-escalation" not in ja and "language-note" not in ja
    hana.cookies.set("kizuki_lang", "ja")
    ja_page = hana.get(f"/drafts/{escalated}").text
    assert "この投稿はフランス語（fr）です" in ja_page and ">フランス語<" in ja_page


def test_an_unnamed_language_shows_its_code(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, language="sw", action="escalate", text="", post_text="Birika langu limevunjika")
    page = person("agent").get(f"/drafts/{draft_id}").text
    assert 'data-testid="draft-language" lang="sw">sw<' in page
    assert "This post is in sw (sw)" in page


def test_a_french_post_through_the_offline_pipeline_shows_its_escalation(bare_runtime: Runtime) -> None:
    """End to end: intake detects French, the offline model escalates, the draft page says why."""
    with bare_runtime.db.session() as s:
        save_watch_rules(s, bare_runtime.watch_rules, {"brand": ["Minato"]}, edited_version=None, actor="t")
    post = PostIn.model_validate(
        {
            "source": "x",
            "external_id": "fr-1",
            "author": {"handle": "marie", "followers": 300},
            "text": "Bonjour, mon aspirateur Minato ne marche plus depuis hier. Que dois-je faire ?",
        }
    )
    (out,) = bare_runtime.pipeline.ingest([post])
    assert out.draft is not None
    assert (out.draft.language, out.draft.action) == ("fr", "escalate")
    with TestClient(create_app(bare_runtime)) as browser:
        assert sign_in(browser, make_token(bare_runtime, "agent", "hana")).status_code == 303
        page = browser.get(f"/drafts/{out.draft.id}").text
    assert 'data-testid="language-escalation"' in page and "This post is in French (fr)" in page
