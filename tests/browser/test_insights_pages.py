"""A support lead in a real browser: the day's report (日報) under the console's CSP, the alerts, a CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import ConsoleMessage, Page, expect

from kizuki.core.orm import utcnow
from reports.alerts import Alert, AlertStatus
from reports.daily import report_zone
from tests.browser.conftest import Server
from tests.reports.test_explore_data import raw_count


def _csp_violations(page: Page) -> list[str]:
    """Messages Chromium prints when the page's Content-Security-Policy blocks something."""
    seen: list[str] = []

    def _on(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text:
            seen.append(msg.text)

    page.on("console", _on)
    return seen


def _store_alert(server: Server) -> int:
    """A negative surge about the seeded posts, as the scan stores one (explanation with a redacted example)."""
    from agent.posts.models import Post

    now = utcnow()
    with server.runtime.db.session() as s:
        post_id = s.query(Post.id).filter(Post.external_id == "phone").scalar()
        alert = Alert(
            dedupe_key=f"negative:brand:*:browser-{now.timestamp()}",
            kind="negative",
            scope="brand",
            subject="*",
            window_start=now - timedelta(hours=1),
            window_end=now,
            count=14,
            baseline=1.2,
            score=6.4,
            p_value=1e-10,
            preset="4sigma",
            status=AlertStatus.SENT,
            title="【ネガティブ急増 / Negative surge】brand — 14 posts",
            explanation={
                "method": "Poisson tail against max(recent 6 h, same hour 1 day and 7 days before)",
                "top_terms": [{"term": "バッテリー", "count": 9, "baseline": 1}],
                "sentiment": {"negative": 12, "neutral": 2, "positive": 0},
                "examples": [
                    {"post_id": post_id, "text": "バッテリーが充電できない。〔電話番号/phone〕に電話ください"}
                ],
            },
            post_ids=[post_id],
            deliveries={"webhook": {"status": "sent", "attempts": 1, "at": now.isoformat(), "error": None}},
            detected_at=now,
            updated_at=now,
        )
        s.add(alert)
        s.flush()
        return alert.id


def test_a_lead_opens_the_days_report_then_the_alerts(server: Server, signed_in: Callable[..., Page]) -> None:
    alert_id = _store_alert(server)
    tz = report_zone(server.runtime.settings)
    day = (utcnow() - timedelta(hours=1)).astimezone(tz).date()  # the seeded posts were written an hour ago
    start = (utcnow() - timedelta(hours=1)).astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    kept = raw_count(
        server.runtime.db, "{t} >= :a AND {t} < :b AND status != 'dropped'", a=start, b=start + timedelta(days=1)
    )
    assert kept >= 10

    page = signed_in("hana")
    violations = _csp_violations(page)
    page.goto(f"{server.url}/queue")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page).to_have_url(re.compile(r"/reports/daily$"))
    # The date picker: the day of the seeded posts.
    page.get_by_test_id("report-date").fill(day.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("report-title")).to_have_text(f"Daily report {day.isoformat()}")
    expect(page.get_by_test_id("kpi-kept")).to_contain_text(str(kept))
    expect(page.get_by_test_id("chart-hours")).to_be_visible()
    expect(page.get_by_test_id("chart-sentiment")).to_be_visible()
    expect(page.get_by_test_id("example-post").first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("090-1234-5678")  # redacted for an agent
    with page.expect_download() as download:
        page.get_by_test_id("report-csv").click()
    rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(download.value.path().read_text("utf-8-sig")))}
    assert rows[("totals", "kept")] == str(kept)

    page.get_by_test_id("lang-ja").click()
    expect(page.get_by_test_id("report-title")).to_have_text(f"日報 {day.isoformat()}")

    page.get_by_role("link", name="アラート").first.click()
    item = page.locator(f'[data-testid="alert-item"][data-alert-id="{alert_id}"]')
    expect(item).to_be_visible()
    expect(item.get_by_test_id("alert-status")).to_have_text("送信済み")
    item.get_by_test_id("alert-open").click()
    expect(page.get_by_test_id("alert-title")).to_contain_text("14 posts")
    expect(page.get_by_test_id("alert-example")).to_contain_text("〔電話番号/phone〕")
    expect(page.get_by_test_id("alert-terms")).to_contain_text("バッテリー")
    page.get_by_test_id("alert-example-draft").click()
    expect(page).to_have_url(re.compile(rf"/drafts/{server.draft_id('phone')}$"))
    assert violations == []


def test_a_lead_exports_the_negative_posts_the_page_shows(server: Server, signed_in: Callable[..., Page]) -> None:
    page = signed_in("ken")
    page.goto(f"{server.url}/posts")
    page.locator("#p-sentiment").select_option("negative")
    page.get_by_role("button", name="Apply").click()
    rows = page.get_by_test_id("post-row")
    expect(rows.first).to_be_visible()
    expect(page).to_have_url(re.compile(r"sentiment=negative"))
    shown = [int(i) for i in rows.evaluate_all("rows => rows.map(r => r.dataset.postId)")]
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8-sig"))))
    assert [int(r["id"]) for r in exported] == shown
    assert {r["sentiment"] for r in exported} == {"negative"}
    assert all(r["author_handle"] == "" for r in exported)  # an agent's export is redacted
