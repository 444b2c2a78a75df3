"""Console pages for support leads: the daily report, alerts, the posts explorer with exports, departments."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from agent.org.service import save_profile
from agent.posts.models import Draft
from kizuki.runtime import Runtime
from reports.alerts import Alert, AlertStatus
from tests.console.conftest import Person
from tests.console.test_admin_support import texts_of
from tests.reports.test_explore_data import DAY_START_UTC, PROFILE, add_post, raw_count

D = DAY_START_UTC  # 2026-12-01 00:00 in Tokyo (the report's default time zone)
DAY = "2026-12-01"
People = Callable[..., Person]


def _seed(rt: Runtime) -> dict[str, int]:
    """One Tokyo day of posts (Japanese and English), a dropped one, one the day before, a pending escalation."""
    with rt.db.session() as s:
        save_profile(s, rt.org, PROFILE, edited_version=None, actor="test")
        ids = {
            "smoke": add_post(
                s,
                "1",
                "炊飯器K-3から発煙しました。090-1234-5678に電話ください",
                D + timedelta(hours=1),
                sentiment="negative",
                intent="complaint",
                topics=("Cooker K-3",),
                flame_risk=80,
                draft={"status": "pending", "text": "ご迷惑をおかけしております。", "original_text": ""},
            ).id,
            "price": add_post(s, "2", "The price is too high", D + timedelta(hours=2), lang="en", intent="request").id,
            "praise": add_post(s, "3", "K-3 のご飯がおいしい", D + timedelta(hours=3), sentiment="positive").id,
            "legal": add_post(
                s,
                "4",
                "弁護士に相談します",
                D + timedelta(hours=4),
                sentiment="negative",
                draft={"status": "pending", "escalate_to": "legal", "text": "DMでお伺いします。", "original_text": ""},
            ).id,
            "dropped": add_post(s, "5", "関係ない話", D + timedelta(hours=5), status="dropped").id,
            "before": add_post(s, "6", "昨日の話です、発煙", D - timedelta(hours=2), sentiment="negative").id,
        }
    return ids


def _alert(rt: Runtime, *, n: int, hour: int, status: str = AlertStatus.NOT_SENT, **fields: object) -> int:
    start = D + timedelta(hours=hour)
    values: dict[str, object] = {
        "dedupe_key": f"negative:brand:*:{n}",
        "kind": "negative",
        "scope": "brand",
        "subject": "*",
        "window_start": start,
        "window_end": start + timedelta(hours=1),
        "count": 16,
        "baseline": 1.5,
        "score": 6.2,
        "p_value": 1e-9,
        "preset": "4sigma",
        "status": status,
        "title": f"【ネガティブ急増 / Negative surge】brand — alert {n}",
        "explanation": {"method": "Poisson tail", "top_terms": [], "sentiment": {}, "examples": []},
        "post_ids": [],
        "deliveries": {},
        "detected_at": start + timedelta(minutes=70),
        "updated_at": start + timedelta(minutes=70),
        **fields,
    }
    with rt.db.session() as s:
        alert = Alert(**values)
        s.add(alert)
        s.flush()
        return alert.id


def _draft_of(rt: Runtime, post_id: int) -> int:
    with rt.db.reading() as s:
        return int(s.scalars(select(Draft.id).where(Draft.post_id == post_id)).one())


def _ja(client: Person) -> Person:
    client.cookies.set("kizuki_lang", "ja")
    return client


# -- the daily report ------------------------------------------------------------------------------------------


def test_the_daily_report_page_shows_the_days_numbers_under_the_console_csp(runtime: Runtime, person: People) -> None:
    ids = _seed(runtime)
    agent = person("agent")
    res = agent.get("/reports/daily", params={"date": DAY})
    assert res.status_code == 200, res.text
    page = res.text
    kept = raw_count(runtime.db, "{t} >= :a AND {t} < :b AND status != 'dropped'", a=D, b=D + timedelta(days=1))
    assert kept == 4
    assert texts_of(page, "kpi-kept") == [f"Posts about us{kept}"]
    assert "50.0%" in texts_of(page, "kpi-negative")[0]  # 2 of 4 kept posts are negative
    assert "Posts received5" in texts_of(page, "kpi-received")[0]
    # The charts are inline SVG and nothing needs an inline style or script (the console's CSP forbids both).
    assert 'data-testid="chart-hours"' in page and 'data-testid="chart-sentiment"' in page
    assert "style=" not in page and "<style" not in page
    assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", page))
    assert "style-src 'self'" in res.headers["content-security-policy"]
    # The riskiest negative post, redacted for an agent (no phone number, no handle), links to its draft.
    (example, *_) = texts_of(page, "example-post")
    assert "発煙" in example and "090-1234-5678" not in example and "taro_123" not in page
    assert f'href="/drafts/{_draft_of(runtime, ids["smoke"])}" data-testid="example-draft"' in page


def test_the_daily_report_follows_the_console_language(runtime: Runtime, person: People) -> None:
    _seed(runtime)
    page = _ja(person("agent")).get("/reports/daily", params={"date": DAY}).text
    assert texts_of(page, "report-title") == [f"日報 {DAY}"]
    assert "対象の投稿4" in texts_of(page, "kpi-kept")
    assert "ダウンロード" in page and "時間帯別の件数" in page


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-13-01", "not a calendar date"),
        ("yesterday", "YYYY-MM-DD"),
        ("２０２６-１２-０１", "YYYY-MM-DD"),  # full-width digits are not a date field's value
        ("2199-01-01", "in the future"),
        ("2999-01-01", "outside the years 1970-2199"),
        ("2020-01-01", "more than 400 days ago"),
    ],
)
def test_a_bad_report_date_is_a_page_with_the_reason(person: People, value: str, reason: str) -> None:
    res = person("agent").get("/reports/daily", params={"date": value})
    assert res.status_code == 422
    assert reason in texts_of(res.text, "error-detail")[0]


def test_the_report_downloads_as_markdown_and_csv_with_the_same_numbers(runtime: Runtime, person: People) -> None:
    _seed(runtime)
    agent = person("agent")
    md = agent.get("/reports/daily/download", params={"date": DAY, "format": "md"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.headers["content-disposition"] == f'attachment; filename="daily-{DAY}-en.md"'
    assert "090-1234-5678" not in md.text
    res = agent.get("/reports/daily/download", params={"date": DAY, "format": "csv"})
    rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(res.text.removeprefix("\ufeff")))}
    assert rows[("totals", "kept")] == "4" and rows[("totals", "dropped")] == "1"
    ja = _ja(agent).get("/reports/daily/download", params={"date": DAY, "format": "html"})
    assert 'filename="daily-2026-12-01-ja.html"' in ja.headers["content-disposition"]
    assert "日報" in ja.text and "sandbox" in ja.headers["content-security-policy"]
    bad = agent.get("/reports/daily/download", params={"date": DAY, "format": "pdf"})
    assert bad.status_code == 422 and "format" in texts_of(bad.text, "error-detail")[0]


# -- alerts ------------------------------------------------------------------------------------------------------


def test_alerts_are_listed_newest_first_and_repeats_only_on_request(runtime: Runtime, person: People) -> None:
    older = _alert(runtime, n=1, hour=3)
    newer = _alert(runtime, n=2, hour=9, status=AlertStatus.SENT)
    repeat = _alert(runtime, n=3, hour=11, status=AlertStatus.SUPPRESSED, repeat_of=newer)
    agent = person("agent")
    since = {"since": "2026-11-30"}
    page = agent.get("/alerts", params=since).text
    assert re.findall(r'data-testid="alert-item" data-alert-id="(\d+)"', page) == [str(newer), str(older)]
    assert "送信済み" not in page and "sent" in texts_of(page, "alert-status")
    page = agent.get("/alerts", params={**since, "all": "true"}).text
    assert re.findall(r'data-testid="alert-item" data-alert-id="(\d+)"', page) == [str(repeat), str(newer), str(older)]
    # An editor reads alerts too (as in REST); a bad date is refused with the reason.
    assert person("editor").get("/alerts", params=since).status_code == 200
    bad = agent.get("/alerts", params={"since": "30/11/2026"})
    assert bad.status_code == 422 and "since" in texts_of(bad.text, "error-detail")[0]


def test_an_alert_explains_itself_and_links_to_the_drafts_behind_it(runtime: Runtime, person: People) -> None:
    ids = _seed(runtime)
    lead = _alert(
        runtime,
        n=1,
        hour=1,
        status=AlertStatus.FAILED,
        post_ids=[ids["smoke"], ids["praise"]],
        explanation={
            "method": "Poisson tail against max(recent 6 h, same hour 1 day and 7 days before)",
            "baselines": {"recent": 1.0, "day": 0.5, "week": 0.0},
            "top_terms": [{"term": "発煙", "count": 9, "baseline": 0}, {"term": "smoke", "count": 4, "baseline": 1}],
            "sentiment": {"negative": 12, "neutral": 3, "positive": 1},
            "examples": [{"post_id": ids["smoke"], "text": "炊飯器K-3から発煙しました。〔電話番号/phone〕"}],
        },
        deliveries={
            "webhook": {"status": "sent", "attempts": 1, "at": "2026-12-01T01:10:00+00:00", "error": None},
            "mail": {"status": "failed", "attempts": 8, "at": "2026-12-01T09:00:00+00:00", "error": "SMTP 550"},
        },
    )
    folded = _alert(
        runtime, n=2, hour=1, kind="volume", status=AlertStatus.RELATED, repeat_of=lead, title="product K-3 surge"
    )
    agent = person("agent")
    page = agent.get(f"/alerts/{lead}").text
    assert texts_of(page, "alert-terms")[0].count("発煙") == 1 and "smoke" in texts_of(page, "alert-terms")[0]
    assert texts_of(page, "alert-sentiment") == ["negative 12 · neutral 3 · positive 1"]
    (example,) = texts_of(page, "alert-example")
    assert "〔電話番号/phone〕" in example
    draft_id = _draft_of(runtime, ids["smoke"])
    assert f'href="/drafts/{draft_id}" data-testid="alert-example-draft"' in page
    deliveries = dict(
        re.findall(r'data-testid="alert-delivery" data-channel="(\w+)">\s*<td>\w+</td>\s*<td>(\w+)', page)
    )
    assert deliveries == {"webhook": "sent", "mail": "failed"} and "SMTP 550" in page
    assert f'href="/alerts/{folded}"' in page  # the alert folded into it
    back = agent.get(f"/alerts/{folded}").text
    assert f'href="/alerts/{lead}" data-testid="alert-lead"' in back
    # An editor sees the alert but no link to a draft page it may not open.
    editor_page = person("editor").get(f"/alerts/{lead}").text
    assert "alert-example-draft" not in editor_page and "〔電話番号/phone〕" in editor_page
    missing = agent.get("/alerts/999999")
    assert missing.status_code == 404 and "no alert 999999" in texts_of(missing.text, "error-detail")[0]


# -- posts ---------------------------------------------------------------------------------------------------


def _row_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="post-row" data-post-id="(\d+)"', page)]


def test_posts_are_filtered_and_each_row_links_to_its_draft(runtime: Runtime, person: People) -> None:
    ids = _seed(runtime)
    agent = person("agent")
    day = {"since": DAY, "until": DAY}
    page = agent.get("/posts", params=day).text
    assert _row_ids(page) == [ids["dropped"], ids["legal"], ids["praise"], ids["price"], ids["smoke"]]  # newest first
    negative = agent.get("/posts", params={**day, "sentiment": "negative", "kept": "true"}).text
    assert _row_ids(negative) == [ids["legal"], ids["smoke"]]
    assert len(re.findall(r'href="/drafts/\d+" data-testid="post-draft"', negative)) == 2
    assert _row_ids(agent.get("/posts", params={**day, "department": "quality"}).text) == [ids["smoke"]]
    assert _row_ids(agent.get("/posts", params={**day, "product": "K-3"}).text) == [ids["smoke"]]
    assert _row_ids(agent.get("/posts", params={**day, "lang": "en"}).text) == [ids["price"]]
    assert _row_ids(agent.get("/posts", params={**day, "kept": "false"}).text) == [ids["dropped"]]
    assert _row_ids(agent.get("/posts", params={**day, "has_draft": "false", "kept": "true"}).text) == [
        ids["praise"],
        ids["price"],
    ]
    # Dates are local days: the post at 23:00 Tokyo the day before is not in the day, but in a two-day range.
    two_days = agent.get("/posts", params={"since": "2026-11-30", "until": DAY, "sentiment": "negative"}).text
    assert _row_ids(two_days) == [ids["legal"], ids["smoke"], ids["before"]]
    # The agent sees no handle and no phone number.
    assert "taro_123" not in page and "090-1234-5678" not in page and "〔電話番号/phone〕" in page


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"sentiment": "angry"}, "sentiment: 'angry' is not one of positive, neutral, negative"),
        ({"since": "2026-02-30"}, "since: '2026-02-30' is not a calendar date"),
        ({"since": "2026-12-05", "until": "2026-12-01"}, "until must be after since"),
        ({"since": "2024-01-01", "until": "2026-01-01"}, "at most 400 days"),
        ({"department": "占い"}, "unknown department"),
        ({"product": "Toaster"}, "unknown product 'Toaster'; the profile names: Cooker K-3, Kettle P-1"),
        ({"kept": "maybe"}, "kept: 'maybe' must be true, false or empty"),
        ({"draft_status": "done"}, "draft_status: 'done' is not one of"),
        ({"source": "X Japan"}, "source must be"),
    ],
)
def test_a_bad_filter_is_refused_with_the_reason_and_the_form_kept(
    runtime: Runtime, person: People, params: dict[str, str], reason: str
) -> None:
    _seed(runtime)
    agent = person("agent")
    res = agent.get("/posts", params=params)
    assert res.status_code == 422
    assert reason in texts_of(res.text, "filter-error")[0]
    assert 'data-testid="post-filters"' in res.text and "post-row" not in res.text
    export = agent.get("/posts/export", params={**params, "format": "csv"})
    assert export.status_code == 422 and reason in texts_of(export.text, "error-detail")[0]


def test_the_export_has_the_filters_of_the_page_and_redacts_as_rest(runtime: Runtime, person: People) -> None:
    ids = _seed(runtime)
    agent = person("agent")
    params = {"since": "2026-11-30", "until": DAY, "sentiment": "negative"}
    page = agent.get("/posts", params=params).text
    link = re.search(r'href="(/posts/export\?[^"]+)" download data-testid="export-csv"', page)
    assert link, page
    res = agent.get(link.group(1).replace("&amp;", "&"))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert res.headers["content-disposition"].startswith('attachment; filename="posts-')
    rows = list(csv.DictReader(io.StringIO(res.text.removeprefix("\ufeff"))))
    assert [int(r["id"]) for r in rows] == _row_ids(page) == [ids["legal"], ids["smoke"], ids["before"]]
    assert all(r["author_handle"] == "" and r["redacted"] == "True" for r in rows)
    assert "090-1234-5678" not in res.text and "〔電話番号/phone〕" in res.text
    admin = person("admin")
    lines = admin.get("/posts/export", params={**params, "format": "jsonl"}).text.splitlines()
    items = [json.loads(line) for line in lines]
    assert [i["id"] for i in items] == [ids["legal"], ids["smoke"], ids["before"]]
    assert {i["author_handle"] for i in items} == {"taro_123"} and "090-1234-5678" in items[1]["text"]


def test_the_weeks_negative_posts_are_one_link_away(runtime: Runtime, person: People) -> None:
    agent = person("agent")
    page = agent.get("/posts").text
    link = re.search(r'href="/posts\?([^"]+)" data-testid="week-negative"', page)
    assert link
    query = link.group(1).replace("&amp;", "&")
    assert "sentiment=negative" in query and "kept=true" in query
    since = re.search(r"since=(\d{4}-\d{2}-\d{2})", query)
    until = re.search(r"until=(\d{4}-\d{2}-\d{2})", query)
    assert since and until
    span = datetime.fromisoformat(until.group(1)) - datetime.fromisoformat(since.group(1))
    assert span == timedelta(days=6)  # seven local days, today included
    assert agent.get(f"/posts?{query}").status_code == 200


# -- departments and access ------------------------------------------------------------------------------------


def test_departments_show_counts_and_escalated_drafts(runtime: Runtime, person: People) -> None:
    ids = _seed(runtime)
    page = person("agent").get("/departments", params={"since": DAY, "until": DAY}).text
    quality = re.search(r'data-department="quality".*?</article>', page, re.S)
    legal = re.search(r'data-department="legal".*?</article>', page, re.S)
    assert quality and legal
    assert texts_of(quality.group(0), "department-posts") == ["Posts1"]
    assert texts_of(legal.group(0), "department-escalated") == ["Escalated, pending1"]
    draft_id = _draft_of(runtime, ids["legal"])
    assert f'<a href="/drafts/{draft_id}">' in legal.group(0)
    assert 'href="/queue?department=legal" data-testid="department-queue"' in legal.group(0)
    bad = person("agent").get("/departments", params={"since": "2026-12-05", "until": "2026-12-01"})
    assert bad.status_code == 422 and "until must not be before since" in texts_of(bad.text, "error-detail")[0]


PAGES = ["/reports/daily", "/reports/daily/download?format=csv", "/posts", "/posts/export", "/departments"]


@pytest.mark.parametrize("path", PAGES)
def test_report_pages_are_for_agents_and_admins(person: People, path: str) -> None:
    assert person("agent").get(path).status_code == 200
    assert person("admin").get(path).status_code == 200
    for role in ("editor", "evaluator"):
        res = person(role).get(path)
        assert res.status_code == 403 and "agent" in res.text


def test_alert_pages_are_for_agents_and_editors(runtime: Runtime, person: People) -> None:
    alert = _alert(runtime, n=1, hour=1)
    for path in ("/alerts", f"/alerts/{alert}"):
        assert person("evaluator").get(path).status_code == 403
        assert person("editor").get(path).status_code == 200


def test_signed_out_people_are_sent_to_sign_in(app: object) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as anon:  # type: ignore[arg-type]
        for path in ("/reports/daily?date=2026-12-01", "/alerts", "/posts/export?format=csv"):
            res = anon.get(path)
            assert res.status_code == 303 and res.headers["location"].startswith("/signin?next=")


def test_the_navigation_shows_reports_and_alerts_to_the_roles_that_read_them(person: People) -> None:
    agent = person("agent").get("/reports/daily").text
    assert 'href="/reports/daily"' in agent and 'href="/alerts"' in agent
    editor = _ja(person("editor")).get("/alerts").text
    assert ">アラート</a>" in editor and 'href="/reports/daily"' not in editor


def test_the_pages_add_no_unprotected_unsafe_route(person: People) -> None:
    """Every page here only reads: a POST is not a way in (405), and no form posts without a CSRF token."""
    agent = person("agent")
    for path in ("/reports/daily", "/alerts", "/posts", "/departments"):
        assert agent.post(path, headers={"X-CSRF-Token": agent.csrf}).status_code == 405
        page = agent.get(path).text
        forms = re.findall(r'<form method="post"[^>]*>(.*?)</form>', page, re.S)
        assert all('name="csrf_token"' in f for f in forms)  # the only one is sign-out
