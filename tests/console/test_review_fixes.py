"""What a reading of the console found: a cleared editor, a missing reason, links that are not web addresses,
dates outside the reports' years, a second sign-in, and a live check after the session ended."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import select

from api.console.models import ConsoleSessionRow
from kizuki.runtime import Runtime
from tests.conftest import make_token
from tests.console.conftest import Person, sign_in, store_draft
from tests.console.test_draft import SAFE_REPLY, draft_row, textarea


def test_a_cleared_editor_is_refused_not_replaced_by_the_drafts_text(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    draft_id = store_draft(runtime, text=SAFE_REPLY)
    hana = person("agent")
    for blank in ("", "  \r\n "):
        res = hana.post(
            f"/drafts/{draft_id}/approve",
            data={"version": 1, "text": blank, "has_text": "true", "csrf_token": hana.csrf},
        )
        assert res.status_code == 422 and 'data-testid="draft-error"' in res.text
        assert textarea(res.text) == blank.replace("\r\n", "\n")  # what the reviewer had is what they get back
    assert draft_row(runtime, draft_id).status == "pending"


def test_a_reject_without_a_reason_keeps_the_edit(runtime: Runtime, person: Callable[..., Person]) -> None:
    draft_id = store_draft(runtime, text=SAFE_REPLY)
    hana = person("agent")
    edit = "確認いたします。少々お待ちください。"
    res = hana.post(f"/drafts/{draft_id}/reject", data={"version": 1, "text": edit, "csrf_token": hana.csrf})
    assert res.status_code == 422 and textarea(res.text) == edit
    assert draft_row(runtime, draft_id).status == "pending"


def test_only_web_addresses_become_links(runtime: Runtime, person: Callable[..., Person]) -> None:
    evil = store_draft(runtime, url="javascript:alert(1)")
    fine = store_draft(runtime, url="https://x.example/taro_123/status/9")
    hana = person("agent")
    page = hana.get(f"/drafts/{evil}").text
    assert "javascript:" not in page and 'data-testid="post-url"' not in page
    assert 'href="https://x.example/taro_123/status/9"' in hana.get(f"/drafts/{fine}").text


def test_dates_outside_the_reports_years_are_a_4xx_page(person: Callable[..., Person]) -> None:
    hana = person("agent")
    for path in (
        "/alerts?since=0001-01-01",
        "/posts?since=0001-01-01",
        "/posts?until=9999-12-31",
        "/posts/export?until=9999-12-31",
        "/departments?since=0001-01-01&until=0001-01-02",
    ):
        res = hana.get(path)
        assert res.status_code == 422, (path, res.status_code)
        assert "1970-2199" in res.text


def test_signing_in_again_ends_the_session_the_browser_had(runtime: Runtime, app: FastAPI) -> None:
    token = make_token(runtime, "agent", "twice")
    with Person(app) as first_browser:
        assert sign_in(first_browser, token).status_code == 303
        first = first_browser.cookies.get("kizuki_session")
    assert first
    with Person(app) as browser:
        form = browser.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf
        browser.cookies.set("kizuki_session", first)
        res = browser.post(
            "/signin", data={"token": token, "next": "/queue", "csrf_token": csrf.group(1)}, follow_redirects=False
        )
        assert res.status_code == 303
        assert "kizuki_session=" in res.headers["set-cookie"] and first not in res.headers["set-cookie"]
    with runtime.db.reading() as s:
        rows = s.scalars(select(ConsoleSessionRow).order_by(ConsoleSessionRow.created_at)).all()
        assert [r.ended_at is not None for r in rows][-2:] == [True, False]
    with Person(app) as copy:
        copy.cookies.set("kizuki_session", first)
        assert copy.get("/queue", follow_redirects=False).status_code == 303  # the old cookie no longer works


def test_a_live_check_after_the_session_ended_stays_on_the_page(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    draft_id = store_draft(runtime)
    hana = person("agent")
    csrf = hana.csrf
    hana.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    hana.cookies.clear()
    res = hana.post(
        f"/drafts/{draft_id}/check",
        data={"text": "下書き"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
        follow_redirects=False,
    )
    assert res.status_code in (401, 403) and "HX-Redirect" not in res.headers
    decided = hana.post(
        f"/drafts/{draft_id}/approve",
        data={"version": 1, "csrf_token": csrf},
        headers={"Referer": f"http://testserver/drafts/{draft_id}"},
        follow_redirects=False,
    )
    assert decided.status_code in (303, 403)
    if decided.status_code == 303:
        assert decided.headers["location"] == f"/signin?next=%2Fdrafts%2F{draft_id}"
