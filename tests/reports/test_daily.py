"""The daily report (日報): its numbers against counts straight from the database, HTML with SVG charts, Markdown
and CSV in Japanese and English, the CLI, REST, the scheduled job, and mail to a local SMTP server."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from agent.posts.privacy import Redactor
from kizuki.core.db import Database
from kizuki.core.jobs import Job, JobKind
from kizuki.runtime import Runtime
from reports.daily import build_daily, daily_report_handlers, render, schedule_daily_report
from tests.reports.smtp_server import PASSWORD, USER, smtp_server
from tests.reports.test_aggregates import TOKYO
from tests.reports.test_aggregates import _seed as seed_day
from tests.reports.test_explore_data import DAY_START_UTC, PROFILE, raw_count

DAY = date(2026, 12, 1)


def _report(db: Database, lang: str = "ja"):  # type: ignore[no-untyped-def]
    with db.reading() as s:
        return build_daily(
            s,
            day=DAY,
            tz=TOKYO,
            dialect=db.dialect,
            profile=PROFILE,
            redactor=Redactor(),
            lang=lang,  # type: ignore[arg-type]
        )


def test_numbers_match_counts_straight_from_the_database(db: Database) -> None:
    seed_day(db)
    report = _report(db)
    a, b = DAY_START_UTC, DAY_START_UTC + timedelta(days=1)
    window = "{t} >= :a AND {t} < :b"
    assert report.received == raw_count(db, window, a=a, b=b) == 7
    assert report.dropped == raw_count(db, window + " AND status = 'dropped'", a=a, b=b) == 1
    assert report.kept == raw_count(db, window + " AND status <> 'dropped'", a=a, b=b) == 6
    negative = raw_count(db, window + " AND status <> 'dropped' AND {sentiment} = 'negative'", a=a, b=b)
    assert report.negative.negative == negative == 3
    assert dict(report.sentiment)["negative"] == negative
    # each local hour against its own count
    for hour, n in report.volume_by_hour:
        h0 = a + timedelta(hours=hour)
        assert n == raw_count(db, "{t} >= :a AND {t} < :b AND status <> 'dropped'", a=h0, b=h0 + timedelta(hours=1))
    assert sum(n for _, n in report.volume_by_hour) == report.kept
    assert dict(report.products) == {"Cooker K-3": 4} and dict(report.competitors) == {"Acme": 1}


def test_html_has_svg_charts_and_the_numbers_in_both_languages(db: Database) -> None:
    seed_day(db)
    ja = render(_report(db, "ja"), "html")
    en = render(_report(db, "en"), "html")
    assert "日報 2026-12-01" in ja and "時間帯別の件数" in ja and "ネガティブの割合" in ja
    assert "Daily report 2026-12-01" in en and "Volume by hour" in en
    for html in (ja, en):
        assert html.count("<svg") == 4  # volume by hour, sentiment split, top topics, competitors
        assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
        assert 'data-testid="kpi-kept"' in html and "<b>6</b>" in html and "50.0%" in html
        for svg in html.split("<svg")[1:]:
            ElementTree.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # noqa: S314 - our own output
    assert "Cooker K-3" in en and "Acme" in en


def test_markdown_and_csv(db: Database) -> None:
    seed_day(db)
    report = _report(db, "en")
    md = render(report, "md")
    assert md.startswith("# Daily report 2026-12-01") and "| Posts about us | 6 |" in md
    rows = list(csv.reader(io.StringIO(render(report, "csv").lstrip("\ufeff"))))
    values = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert values[("totals", "kept")] == "6" and values[("totals", "negative")] == "3"
    assert values[("sentiment", "negative")] == "3" and values[("products", "Cooker K-3")] == "4"
    assert sum(int(v) for (sec, _), v in values.items() if sec == "volume_by_hour") == 6


def test_example_posts_are_redacted(db: Database) -> None:
    from tests.reports.test_explore_data import add_post

    with db.session() as s:
        add_post(
            s,
            "p1",
            "K-3が壊れた。090-1234-5678に電話ください",
            DAY_START_UTC + timedelta(hours=2),
            sentiment="negative",
            handle="hanako_88",
            flame_risk=90,
        )
        add_post(
            s,
            "p2",
            "<script>alert(1)</script> K-3 | 最悪",
            DAY_START_UTC + timedelta(hours=3),
            sentiment="negative",
            flame_risk=80,
        )
    report = _report(db)
    html = render(report, "html")
    assert "090-1234-5678" not in html and "hanako_88" not in html and "〔電話番号/phone〕" in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # customer text is escaped, never markup
    md = render(report, "md")
    assert "<script>" not in md and "K-3 \\| 最悪" in md


def test_cli_writes_the_three_files(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kizuki.cli import app

    seed_day(runtime.db)
    monkeypatch.setenv("KIZUKI_DATABASE_URL", runtime.db.url)
    monkeypatch.setenv("KIZUKI_HOME", str(runtime.settings.home))
    result = CliRunner().invoke(
        app, ["report", "daily", "--date", "2026-12-01", "--lang", "en", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["daily-2026-12-01-en.csv", "daily-2026-12-01-en.html", "daily-2026-12-01-en.md"]
    assert "<b>6</b>" in (tmp_path / "out" / "daily-2026-12-01-en.html").read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, ["report", "daily", "--date", "12/01", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_cli_mails_the_report(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kizuki.cli import app

    seed_day(runtime.db)
    with smtp_server(tmp_path) as (port, ca, inbox):
        for name, value in {
            "DATABASE_URL": runtime.db.url,
            "HOME": str(runtime.settings.home),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_USER": USER,
            "SMTP_PASSWORD": PASSWORD,
            "SMTP_FROM": "reports@example.com",
            "SMTP_CA_FILE": str(ca),
        }.items():
            monkeypatch.setenv(f"KIZUKI_{name}", value)
        args = ["report", "daily", "--date", "2026-12-01", "--out", str(tmp_path / "out"), "--mail"]
        result = CliRunner().invoke(app, [*args, "--to", "lead@example.com"])
    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 1
    _, rcpts, msg = inbox.messages[0]
    assert rcpts == ["lead@example.com"] and msg["Subject"] == "日報 2026-12-01"
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "<svg" in html.get_content()
    assert [a.get_filename() for a in msg.iter_attachments()] == ["daily-2026-12-01.csv"]


def test_rest_formats_and_bad_dates(runtime: Runtime, client: TestClient) -> None:
    seed_day(runtime.db)
    html = client.get("/v1/reports/daily", params={"date": "2026-12-01"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    md = client.get("/v1/reports/daily", params={"date": "2026-12-01", "format": "md", "lang": "en"})
    assert md.headers["content-type"].startswith("text/markdown") and "| Posts about us | 6 |" in md.text
    data = client.get("/v1/reports/daily", params={"date": "2026-12-01", "format": "json"}).json()
    assert data["kept"] == 6 and data["negative"] == 3 and len(data["volume_by_hour"]) == 24
    assert client.get("/v1/reports/daily", params={"date": "2999-01-01"}).status_code == 422
    assert client.get("/v1/reports/daily", params={"date": "yesterday"}).status_code == 422
    assert client.get("/v1/reports/daily", params={"format": "pdf"}).status_code == 422


def test_scheduled_job_writes_the_report_and_queues_the_next_day(runtime: Runtime) -> None:
    seed_day(runtime.db)
    first = schedule_daily_report(runtime.db, runtime.settings, day=DAY)
    again = schedule_daily_report(runtime.db, runtime.settings, day=DAY)
    assert first is not None and again is not None and first.id == again.id  # once a day, however many callers
    assert first.run_after == DAY_START_UTC + timedelta(days=1, minutes=10)
    handler = daily_report_handlers(runtime)[JobKind.REPORT_DAILY]
    assert JobKind.REPORT_DAILY in runtime.job_handlers()
    asyncio.run(handler({"date": "2026-12-01"}, False, None))  # type: ignore[arg-type]
    out = Path(runtime.settings.home) / "reports" / "daily-2026-12-01-ja.html"
    assert out.is_file() and "<b>6</b>" in out.read_text(encoding="utf-8")
    with runtime.db.reading() as s:
        keys = set(s.scalars(select(Job.dedupe_key).where(Job.kind == JobKind.REPORT_DAILY)))
    assert keys == {"report_daily:2026-12-01", "report_daily:2026-12-02"}


def test_scheduled_run_mails_the_report_when_recipients_are_set(runtime: Runtime, tmp_path: Path) -> None:
    seed_day(runtime.db)
    with smtp_server(tmp_path) as (port, ca, inbox):
        settings = runtime.settings.model_copy(
            update={
                "report_mail_to": ["lead@example.com", "quality@example.jp"],
                "report_lang": "en",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_user": USER,
                "smtp_password": SecretStr(PASSWORD),
                "smtp_from": "reports@example.com",
                "smtp_ca_file": ca,
            }
        )
        rt = Runtime(settings, db=runtime.db)
        handler = daily_report_handlers(rt)[JobKind.REPORT_DAILY]
        asyncio.run(handler({"date": "2026-12-01"}, False, None))  # type: ignore[arg-type]
    assert len(inbox.messages) == 1
    _, rcpts, msg = inbox.messages[0]
    assert rcpts == ["lead@example.com", "quality@example.jp"] and msg["Subject"] == "Daily report 2026-12-01"
    assert (Path(settings.home) / "reports" / "daily-2026-12-01-en.md").is_file()
