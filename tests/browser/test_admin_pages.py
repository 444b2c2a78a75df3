"""Knowledge, watch rules and audit pages in a real browser: an edit becomes a revision in the history and a diff."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from knowledge import repository
from tests.browser.conftest import Server


@pytest.mark.postgres_too  # the revision is taken under a row lock: worth running on both databases
def test_a_knowledge_edit_creates_a_revision_visible_in_the_history(
    server: Server, signed_in: Callable[..., Page]
) -> None:
    page = signed_in("eri")  # an editor
    page.goto(f"{server.url}/knowledge")
    expect(page.get_by_test_id("kb-item").first).to_be_visible()
    page.get_by_test_id("kb-new").click()
    page.get_by_test_id("kb-key").fill("c2-rain-cover")
    page.get_by_test_id("kb-title").fill("雨の日に乗れますか？")
    page.get_by_test_id("kb-body").fill("防水ですが、大雨の日は乗らないでください。\n充電口のカバーを閉めてください。")
    page.get_by_test_id("kb-tags").fill("weather, 雨")
    page.get_by_test_id("kb-save").click()
    expect(page).to_have_url(re.compile(r"/knowledge/c2-rain-cover\?saved=1$"))
    expect(page.get_by_test_id("kb-revision")).to_have_count(1)

    page.get_by_test_id("kb-body").fill("防水ですが、台風の日は乗らないでください。\n充電口のカバーを閉めてください。")
    page.get_by_test_id("kb-note").fill("大雨→台風")
    page.get_by_test_id("kb-save").click()
    expect(page.get_by_test_id("kb-saved")).to_contain_text("revision 2")
    expect(page.get_by_test_id("kb-current-revision")).to_have_text("revision 2")
    expect(page.get_by_test_id("kb-revision")).to_have_count(2)

    page.get_by_test_id("kb-all-revisions").click()
    rows = page.get_by_test_id("kb-revision")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("eri")
    expect(rows.first).to_contain_text("大雨→台風")
    page.get_by_test_id("kb-compare").click()  # revision 1 against 2, the default choice
    diff = page.get_by_test_id("kb-diff")
    expect(diff.locator("td.old mark")).to_have_text(["大雨"])
    expect(diff.locator("td.new mark")).to_have_text(["台風"])

    with server.runtime.db.reading() as s:
        revisions = repository.revisions(s, "c2-rain-cover")
    assert [(r.revision, r.changed_by, r.changed_fields) for r in revisions] == [
        (1, "eri", ["created"]),
        (2, "eri", ["body"]),
    ]


def test_invalid_watch_rules_keep_the_edit_and_an_admin_sees_the_log(
    server: Server, signed_in: Callable[..., Page]
) -> None:
    page = signed_in("eri")
    page.goto(f"{server.url}/watch-rules")
    editor = page.get_by_test_id("watch-yaml")
    original = editor.input_value()
    broken = original + "\nrequire: brand_or_everything\n"
    editor.fill(broken)
    page.get_by_test_id("watch-save").click()
    expect(page.get_by_test_id("watch-error")).to_contain_text("require")
    assert page.get_by_test_id("watch-yaml").input_value() == broken.replace("\r\n", "\n")

    version = page.get_by_test_id("watch-version").inner_text()
    page.get_by_test_id("watch-yaml").fill(original)
    page.get_by_test_id("watch-save").click()
    expect(page.get_by_test_id("watch-saved")).to_be_visible()
    expect(page.get_by_test_id("watch-version")).not_to_have_text(version)

    admin = signed_in("admin", locale="ja-JP")
    admin.goto(f"{server.url}/audit?subject=watch_rules")
    expect(admin.locator("h1")).to_have_text("監査ログ")
    entry = admin.get_by_test_id("audit-entry").last
    expect(entry).to_contain_text("watch_rules.update")
    expect(entry).to_contain_text("eri")


def test_pages_fit_a_tablet(server: Server, signed_in: Callable[..., Page]) -> None:
    """At 768 px the pages scroll inside their tables, never the whole page sideways."""
    pages = {
        "eri": ("/knowledge", "/knowledge/charge-time-ja", "/knowledge/charge-time-ja/revisions", "/watch-rules"),
        "admin": ("/audit", "/profile"),
        "eve": ("/evals",),
    }
    for name, paths in pages.items():
        page = signed_in(name, locale="ja-JP")
        page.set_viewport_size({"width": 768, "height": 1024})
        for path in paths:
            page.goto(f"{server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 768, (path, width)
