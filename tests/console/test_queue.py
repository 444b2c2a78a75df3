"""The queue page: priority order, filters, search, paging, the polled partial, quick approval, languages."""

from __future__ import annotations

import re
from collections.abc import Callable

from kizuki.runtime import Runtime
from tests.console.conftest import Person, store_draft


def row_ids(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'data-testid="queue-item" data-draft-id="(\d+)"', html)]


def test_queue_lists_pending_drafts_by_priority_with_their_columns(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    calm = store_draft(runtime, post_text="KAMADOの使い方を教えて", flame_risk=5, followers=30)
    hot = store_draft(
        runtime,
        post_text="最悪。KAMADOが発火した。拡散希望",
        flame_risk=85,
        urgency="critical",
        followers=54321,
        reasons=["safety: fire", "reach: 54,321 followers"],
        author="angry_user",
    )
    store_draft(runtime, status="approved")
    page = person("agent", "hana").get("/queue")
    assert page.status_code == 200
    assert row_ids(page.text) == [hot, calm]
    assert "最悪。KAMADOが発火した。拡散希望" in page.text
    assert "@angry_user" in page.text and "54,321" in page.text
    assert "safety: fire" in page.text and "reach: 54,321 followers" in page.text  # the reasons, on expand
    assert page.text.count('data-testid="status"') == 2
    assert 'hx-trigger="every 15s' in page.text  # refreshes without a full reload
    for key in ("<kbd>j</kbd>", "<kbd>k</kbd>", "<kbd>a</kbd>", "<kbd>r</kbd>", "<kbd>Enter</kbd>"):
        assert key in page.text  # the shortcuts are documented on the page


def test_long_posts_are_clipped_and_html_is_escaped(runtime: Runtime, person: Callable[..., Person]) -> None:
    store_draft(runtime, post_text="<script>alert(1)</script>" + "長" * 300)
    page = person("agent").get("/queue").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "長" * 200 not in page and "…" in page


def test_filters_by_channel_language_department_risk_and_status(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    x_ja = store_draft(runtime, channel="x", language="ja", flame_risk=10)
    ig_en = store_draft(runtime, channel="instagram", language="en", flame_risk=50, post_text="My KAMADO broke")
    legal = store_draft(runtime, escalate_to="legal", flame_risk=90, action="escalate")
    rejected = store_draft(runtime, status="rejected")
    hana = person("agent")
    assert row_ids(hana.get("/queue?channel=instagram").text) == [ig_en]
    assert row_ids(hana.get("/queue?language=en").text) == [ig_en]
    assert row_ids(hana.get("/queue?department=legal").text) == [legal]
    assert row_ids(hana.get("/queue?risk=high").text) == [legal]
    assert row_ids(hana.get("/queue?risk=medium").text) == [ig_en]
    assert row_ids(hana.get("/queue?risk=low").text) == [x_ja]
    assert row_ids(hana.get("/queue?status=rejected").text) == [rejected]
    assert set(row_ids(hana.get("/queue?status=all").text)) == {x_ja, ig_en, legal, rejected}
    bad = hana.get("/queue?risk=extreme")
    assert bad.status_code == 422 and "risk" in bad.text  # a reason, as a page


def test_search_matches_post_author_and_reply_in_any_script(runtime: Runtime, person: Callable[..., Person]) -> None:
    ja = store_draft(runtime, post_text="炊飯器のふたが閉まらない", author="hanako")
    en = store_draft(runtime, post_text="The LID won't close", author="bob", text="Sorry to hear that!")
    hana = person("agent")
    assert row_ids(hana.get("/queue", params={"q": "ふた"}).text) == [ja]
    assert row_ids(hana.get("/queue", params={"q": "lid"}).text) == [en]
    assert row_ids(hana.get("/queue", params={"q": "HANAKO"}).text) == [ja]
    assert row_ids(hana.get("/queue", params={"q": "sorry"}).text) == [en]
    assert row_ids(hana.get("/queue", params={"q": "100%_"}).text) == []  # LIKE wildcards are literal


def test_ignore_drafts_stay_out_of_the_pending_list_unless_asked(
    runtime: Runtime, person: Callable[..., Person]
) -> None:
    reply = store_draft(runtime)
    ignored = store_draft(runtime, action="ignore", text="")
    hana = person("agent")
    assert row_ids(hana.get("/queue").text) == [reply]
    assert set(row_ids(hana.get("/queue?ignored=1").text)) == {reply, ignored}


def test_paging(runtime: Runtime, person: Callable[..., Person]) -> None:
    ids = [store_draft(runtime, flame_risk=0) for _ in range(27)]
    hana = person("agent")
    first = hana.get("/queue")
    assert row_ids(first.text) == ids[:25]
    assert "27 drafts" in first.text and "Page 1 of 2" in first.text
    assert 'href="/queue?page=2"' in first.text
    second = hana.get("/queue?page=2")
    assert row_ids(second.text) == ids[25:]
    assert 'data-testid="page-prev"' in second.text and 'data-testid="page-next"' not in second.text


def test_the_partial_keeps_the_filters_for_polling(runtime: Runtime, person: Callable[..., Person]) -> None:
    en = store_draft(runtime, language="en", post_text="broken")
    store_draft(runtime, language="ja")
    hana = person("agent")
    page = hana.get("/queue?language=en").text
    assert 'hx-get="/queue/items?language=en"' in page
    partial = hana.get("/queue/items?language=en", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert row_ids(partial.text) == [en]


def test_quick_approve_from_the_queue(runtime: Runtime, person: Callable[..., Person]) -> None:
    first, second = store_draft(runtime), store_draft(runtime)
    hana = person("agent", "hana")
    res = hana.post(
        f"/queue/{first}/approve",
        data={"version": 1, "back": "", "csrf_token": hana.csrf},
        headers={"HX-Request": "true"},
    )
    assert res.status_code == 200
    assert row_ids(res.text) == [second]  # the refreshed list, without the approved draft
    assert f"Approved. (#{first})" in res.text
    assert 'data-testid="status">approved' in hana.get(f"/drafts/{first}").text


def test_quick_approve_of_a_draft_needing_more_explains_why(runtime: Runtime, person: Callable[..., Person]) -> None:
    """Warnings must be acknowledged on the draft page: the queue shows the reason and approves nothing."""
    warn = store_draft(runtime, text="必ず明日までに直します。")
    hana = person("agent")
    res = hana.post(
        f"/queue/{warn}/approve", data={"version": 1, "csrf_token": hana.csrf}, headers={"HX-Request": "true"}
    )
    assert res.status_code == 200 and "The reply has warnings" in res.text
    assert row_ids(res.text) == [warn]
    plain = hana.post(f"/queue/{warn}/approve", data={"version": 1, "csrf_token": hana.csrf}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/drafts/{warn}"


def test_language_follows_the_browser_and_the_switch(runtime: Runtime, person: Callable[..., Person]) -> None:
    store_draft(runtime)
    ja_browser = person("agent", headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"})
    page = ja_browser.get("/queue").text
    assert '<html lang="ja">' in page and "レビューキュー" in page and "承認待ち" in page
    en_browser = person("agent", headers={"Accept-Language": "en-US,en;q=0.9"})
    page = en_browser.get("/queue").text
    assert '<html lang="en">' in page and "Review queue" in page
    switched = en_browser.get("/lang/ja?next=/queue", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/queue"
    page = en_browser.get("/queue").text
    assert '<html lang="ja">' in page and "レビューキュー" in page  # the cookie overrides Accept-Language
    assert en_browser.get("/lang/xx?next=https://evil.example").headers.get("location") is None  # followed to /
    assert '<html lang="ja">' in en_browser.get("/queue").text  # an unknown language changes nothing
