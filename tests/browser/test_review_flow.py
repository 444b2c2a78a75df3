"""A reviewer's day in a real browser: sign in, the queue, a draft refused/approved/rejected/regenerated, two people
approving a risky draft, a stale page, sign out; and the HTML routes' CSRF and role checks."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import POSTS, Server, click_and_load, sign_in

POST_TEXT = {p["external_id"]: p["text"] for p in POSTS}


def open_draft(page: Page, server: Server, external_id: str) -> int:
    draft_id = server.draft_id(external_id)
    page.goto(f"{server.url}/drafts/{draft_id}")
    expect(page.get_by_test_id("draft-text")).to_be_visible()
    return draft_id


def edit(page: Page, text: str) -> None:
    """Type a new reply text and wait for the page's live re-check of it (debounced) to come back."""
    with page.expect_response(lambda r: r.url.endswith("/check")):
        page.get_by_test_id("draft-text").fill(text)
    expect(page.get_by_test_id("preview")).to_contain_text(text[-12:])


def approve(page: Page) -> None:
    """Click approve, acknowledging warnings when the page asks for it."""
    ack = page.get_by_test_id("acknowledge")
    if ack.count():
        ack.check()
    click_and_load(page, page.get_by_test_id("approve"))


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf_token]").first.input_value()


def test_sign_in_with_a_token_and_sign_out(server: Server, new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{server.url}/queue")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fqueue$"))
    page.get_by_test_id("signin-token").fill("kz_not-a-real-token")
    click_and_load(page, page.get_by_test_id("signin-submit"))
    expect(page.get_by_test_id("signin-error")).to_be_visible()

    sign_in(page, server, "hana")
    expect(page).to_have_url(re.compile(r"/queue"))
    expect(page.get_by_test_id("who")).to_contain_text("hana")
    session = next(c for c in page.context.cookies() if c["name"] == "kizuki_session")
    assert session["httpOnly"] and session["sameSite"] in ("Strict", "Lax")
    assert server.tokens["hana"] not in session["value"]

    click_and_load(page, page.get_by_test_id("signout"))
    expect(page).to_have_url(re.compile(r"/signin"))
    page.goto(f"{server.url}/queue")
    expect(page).to_have_url(re.compile(r"/signin"))


def test_a_revoked_token_signs_its_sessions_out(server: Server, new_page: Callable[..., Page]) -> None:
    made = server.rest("POST", "/v1/tokens", json={"name": "temp-reviewer", "role": "agent"})
    page = new_page()
    page.goto(f"{server.url}/signin")
    page.get_by_test_id("signin-token").fill(made["token"])
    click_and_load(page, page.get_by_test_id("signin-submit"))
    expect(page.get_by_test_id("who")).to_contain_text("temp-reviewer")
    server.rest("DELETE", f"/v1/tokens/{made['id']}")
    page.reload()
    expect(page).to_have_url(re.compile(r"/signin"))


def test_queue_lists_pending_drafts_and_opens_one(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("hana")
    page.goto(f"{server.url}/queue")
    items = page.get_by_test_id("queue-item")
    expect(items.first).to_be_visible()
    row = items.filter(has_text="the battery will not charge")
    expect(row).to_have_count(1)
    click_and_load(page, row.get_by_test_id("queue-open"))
    draft_id = server.draft_id("queue")
    expect(page).to_have_url(re.compile(rf"/drafts/{draft_id}\b"))
    expect(page.get_by_test_id("draft-text")).to_have_value(server.draft(draft_id)["text"])
    expect(page.get_by_test_id("status")).to_contain_text(re.compile("pending", re.I))
    expect(page.get_by_text(POST_TEXT["queue"])).to_be_visible()


def test_queue_search_and_keyboard_approve_without_a_reload(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("hana")
    page.goto(f"{server.url}/queue")
    page.get_by_test_id("queue-search").fill("full charge")
    page.get_by_test_id("queue-search").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=full\+charge"))
    page.wait_for_load_state()  # the shortcuts' script is running
    row = page.get_by_test_id("queue-item")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("how long does a full charge")
    draft_id = server.draft_id("keys")
    expect(row).to_have_attribute("data-draft-id", str(draft_id))
    page.evaluate("document.documentElement.dataset.stillHere = '1'")  # gone if the page reloads

    page.keyboard.press("j")  # the first row
    expect(row).to_be_focused()
    page.keyboard.press("a")  # approve the focused row in place
    expect(page.get_by_test_id("flash")).to_contain_text(f"#{draft_id}")
    expect(page.get_by_test_id("queue-item")).to_have_count(0)  # no longer pending
    expect(page.locator("html")).to_have_attribute("data-still-here", "1")
    assert server.draft(draft_id)["status"] == "approved"

    page.goto(f"{server.url}/queue")
    expect(page.get_by_test_id("shortcuts")).to_contain_text("Enter")  # the keys are documented on the page
    first_id = page.get_by_test_id("queue-item").first.get_attribute("data-draft-id")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/drafts/{first_id}$"))


def test_queue_follows_the_browser_language(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("hana", locale="ja-JP")
    page.goto(f"{server.url}/queue")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    click_and_load(page, page.get_by_test_id("lang-en"))
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_an_edit_repeating_the_customers_phone_number_is_refused(
    server: Server, signed_in: Callable[..., Page]
) -> None:
    page = signed_in("hana")
    draft_id = open_draft(page, server, "phone")
    text = "ご不便をおかけしております。090-1234-5678にお電話しますね。"
    # nothing sent yet: the text is re-checked while typing, the finding shown at the number's offsets
    page.get_by_test_id("draft-text").fill(text)
    finding = page.locator("[data-testid=finding][data-category=pii_echo]")  # the customer's own number, repeated
    expect(finding.first).to_contain_text("090-1234-5678")
    start = int(finding.first.get_attribute("data-start") or -1)
    assert text[start : start + len("090-1234-5678")] == "090-1234-5678"
    expect(page.get_by_test_id("preview").locator("mark", has_text="090-1234-5678").first).to_be_visible()

    approve(page)
    expect(page.get_by_test_id("draft-error")).to_be_visible()
    expect(finding.first).to_be_visible()
    expect(page.get_by_test_id("draft-text")).to_have_value(text)  # the reviewer's edit is kept
    expect(page.get_by_test_id("status")).to_contain_text(re.compile("pending", re.I))
    refused = server.draft(draft_id)
    assert refused["status"] == "pending"
    assert "090-1234-5678" not in refused["text"]


def test_a_clean_edit_is_approved_then_marked_sent(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("hana")
    draft_id = open_draft(page, server, "approve")
    text = "お問い合わせありがとうございます。KZ-B36バッテリーは約4時間で満充電になります。"
    edit(page, text)
    approve(page)
    expect(page.get_by_test_id("status")).to_contain_text(re.compile("approved", re.I))
    approved = server.draft(draft_id)
    assert approved["status"] == "approved"
    assert approved["text"] == text
    assert [a["by"] for a in approved["approvals"]] == ["hana"]

    # delivery is manual here: the reviewer posts the reply by hand, then marks the draft sent
    page.locator("#sent-url").fill("https://x.example/kaze_help/status/1")
    click_and_load(page, page.get_by_test_id("mark-sent"))
    expect(page.get_by_test_id("status")).to_contain_text(re.compile("sent", re.I))
    assert server.draft(draft_id)["status"] == "sent"


def test_reject_with_a_reason(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("ken")
    draft_id = open_draft(page, server, "reject")
    page.get_by_test_id("reject-reason").select_option("tone")
    click_and_load(page, page.get_by_test_id("reject"))
    expect(page.get_by_test_id("status")).to_contain_text(re.compile("rejected", re.I))
    expect(page.get_by_test_id("approve")).to_have_count(0)  # decided: nothing left to approve
    rejected = server.draft(draft_id)
    assert rejected["status"] == "rejected"
    assert rejected["decision_reason"] == "tone"


@pytest.mark.postgres_too
def test_regenerate_with_instructions_makes_a_new_version(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("hana")
    first_id = open_draft(page, server, "regenerate")
    first_text = page.get_by_test_id("draft-text").input_value()
    page.get_by_test_id("instructions").fill("もっと短く")
    click_and_load(page, page.get_by_test_id("regenerate"))
    expect(page.get_by_test_id("status")).to_contain_text(re.compile("superseded", re.I))
    server.drain_jobs()  # the app's in-process worker drafts again
    second_id = server.draft_id("regenerate")
    assert second_id != first_id
    second = server.draft(second_id)
    assert second["status"] == "pending"
    assert second["instructions"] == "もっと短く"
    assert len(second["text"]) < len(first_text)  # the offline model followed "shorter"

    page.reload()  # the superseded draft links to the new one
    click_and_load(page, page.locator(f"a[href='/drafts/{second_id}']"))
    expect(page.get_by_test_id("draft-text")).to_have_value(second["text"])
    expect(page.get_by_test_id("status")).to_contain_text(re.compile("pending", re.I))


@pytest.mark.postgres_too
def test_two_people_approve_a_risky_draft(server: Server, signed_in: Callable[..., Page]) -> None:
    first, second = signed_in("hana"), signed_in("ken")
    draft_id = open_draft(first, server, "flame")
    assert server.draft(draft_id)["flame_risk"] >= server.runtime.settings.two_person_risk_threshold
    expect(first.get_by_test_id("two-person")).to_be_visible()  # the rule is shown before anyone approves
    approve(first)
    expect(first.get_by_test_id("first-approval")).to_contain_text("hana")
    expect(first.get_by_test_id("status")).to_contain_text(re.compile("pending", re.I))
    waiting = server.draft(draft_id)
    assert waiting["status"] == "pending"
    assert [a["by"] for a in waiting["approvals"]] == ["hana"]

    approve(first)  # the same person cannot be the second approver
    expect(first.get_by_test_id("draft-error")).to_be_visible()
    assert server.draft(draft_id)["status"] == "pending"

    open_draft(second, server, "flame")
    expect(second.get_by_test_id("first-approval")).to_contain_text("hana")
    approve(second)
    expect(second.get_by_test_id("status")).to_contain_text(re.compile("approved", re.I))
    done = server.draft(draft_id)
    assert done["status"] == "approved"
    assert [a["by"] for a in done["approvals"]] == ["hana", "ken"]


@pytest.mark.postgres_too
def test_a_page_decided_elsewhere_gets_a_clear_message_and_keeps_the_edit(
    server: Server, signed_in: Callable[..., Page]
) -> None:
    mine, theirs = signed_in("hana"), signed_in("ken")
    draft_id = open_draft(mine, server, "stale")
    open_draft(theirs, server, "stale")
    my_edit = "充電時間は約4時間です。ランプが緑になれば満充電です。"
    edit(mine, my_edit)

    approve(theirs)  # the other reviewer decides first, on the version both pages show
    expect(theirs.get_by_test_id("status")).to_contain_text(re.compile("approved", re.I))

    approve(mine)
    expect(mine.get_by_test_id("draft-error")).to_be_visible()
    expect(mine.get_by_test_id("draft-text")).to_have_value(my_edit)  # never a lost edit
    decided = server.draft(draft_id)
    assert decided["status"] == "approved"
    assert [a["by"] for a in decided["approvals"]] == ["ken"]
    assert decided["text"] != my_edit


@pytest.mark.postgres_too
def test_a_stale_version_shows_the_fresh_draft_and_keeps_the_edit(
    server: Server, signed_in: Callable[..., Page]
) -> None:
    mine, theirs = signed_in("hana"), signed_in("ken")
    draft_id = open_draft(mine, server, "stale-risky")
    open_draft(theirs, server, "stale-risky")
    my_edit = "ご不便をおかけしております。安全のため、すぐに充電を中止してください。詳しくはDMでお伺いします。"
    edit(mine, my_edit)

    approve(theirs)  # a first approval of a risky draft: the draft moves to its next version, still pending
    expect(theirs.get_by_test_id("first-approval")).to_contain_text("ken")
    fresh = server.draft(draft_id)
    assert fresh["status"] == "pending" and fresh["version"] > 1

    approve(mine)  # made on the version this page loaded
    expect(mine.get_by_test_id("draft-error")).to_be_visible()
    expect(mine.get_by_test_id("stale")).to_be_visible()
    expect(mine.get_by_test_id("current-text")).to_have_text(fresh["text"])  # the fresh draft, side by side
    expect(mine.get_by_test_id("draft-text")).to_have_value(my_edit)  # with the edit, never lost
    after = server.draft(draft_id)
    assert (after["text"], after["version"], [a["by"] for a in after["approvals"]]) == (
        fresh["text"],
        fresh["version"],
        ["ken"],
    )


def test_a_form_post_without_the_csrf_token_is_refused(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("hana")
    draft_id = open_draft(page, server, "csrf")
    form: dict[str, str | float | bool] = {"version": server.draft(draft_id)["version"], "acknowledge_warnings": True}
    url = f"{server.url}/drafts/{draft_id}/approve"
    missing = page.request.post(url, form=form, max_redirects=0)  # the session cookie, but no CSRF token
    assert missing.status == 403
    wrong = page.request.post(url, form={**form, "csrf_token": "forged"}, max_redirects=0)
    assert wrong.status == 403
    assert server.draft(draft_id)["status"] == "pending"
    # the same request with this session's token goes through: the token alone made the difference
    right = page.request.post(url, form={**form, "csrf_token": csrf_of(page)}, max_redirects=0)
    assert right.status == 303
    assert server.draft(draft_id)["status"] == "approved"


def test_an_editor_cannot_approve(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("eri")
    draft_id = server.draft_id("role")
    refused = page.goto(f"{server.url}/drafts/{draft_id}")
    assert refused is not None and refused.status == 403
    expect(page.get_by_test_id("approve")).to_have_count(0)
    page.goto(f"{server.url}/")  # a page an editor may use, for a valid CSRF token of this session
    version = str(server.draft(draft_id)["version"])
    res = page.request.post(
        f"{server.url}/drafts/{draft_id}/approve",
        form={"version": version, "csrf_token": csrf_of(page), "acknowledge_warnings": "true"},
        max_redirects=0,
    )
    assert res.status == 403
    assert server.draft(draft_id)["status"] == "pending"


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map(el => el.outerHTML.slice(0, 80))"""


def test_queue_and_draft_fit_a_tablet_and_label_every_field(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("hana", locale="ja-JP")
    draft_id = server.draft_id("queue")
    for width, height in ((1280, 800), (768, 1024)):
        page.set_viewport_size({"width": width, "height": height})
        for path in ("/queue", f"/drafts/{draft_id}"):
            page.goto(f"{server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, (path, width, scroll_width)  # never the whole page sideways
            assert page.evaluate(UNLABELLED) == [], path
