"""Sending alerts: a Slack/Teams-compatible webhook (faked with respx) and mail to a real local SMTP server; an
alert is stored before it is sent, every attempt is recorded, failures are retried, nothing is lost."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import respx
from sqlalchemy import select

from agent.posts.models import Post
from kizuki.core import audit
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from reports.alerts import Alert, AlertStatus, scan, send_pending, send_test
from tests.reports.alert_fixtures import at, background, burst, use_profile
from tests.reports.smtp_server import PASSWORD, USER, smtp_server

HOOK = "https://hooks.example.test/services/T000/B000/secret-token"


def _runtime(bare_runtime: Runtime, **over: object) -> Runtime:
    values = bare_runtime.settings.model_dump()
    values.update(
        alerts_webhook_url=HOOK,
        alerts_send_max_age_hours=10_000,  # the synthetic posts are "old": send them anyway
        webhook_timeout_s=2.0,
    )
    values.update(over)
    return Runtime(Settings(**values), db=bare_runtime.db)


def _raise(rt: Runtime) -> list[int]:
    use_profile(rt)
    background(rt, range(0, 9))
    burst(rt, day=8, hour=14, n=20)
    report = scan(rt, since=at(8, 0), now=at(8, 15))
    assert report.raised
    return report.raised


def test_webhook_and_mail_carry_the_explained_redacted_alert(bare_runtime: Runtime, tmp_path: Path) -> None:
    with smtp_server(tmp_path) as (port, ca, inbox):
        rt = _runtime(
            bare_runtime,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_user=USER,
            smtp_password=PASSWORD,
            smtp_from="alerts@example.com",
            alerts_mail_to=["lead@example.com"],
            smtp_ca_file=ca,
        )
        raised = _raise(rt)
        with rt.db.reading() as s:  # stored before anything is sent
            stored = list(s.scalars(select(Alert).where(Alert.id.in_(raised))))
            assert {a.status for a in stored} == {AlertStatus.PENDING}
            assert all(set(a.deliveries) == {"webhook", "email"} for a in stored)
        with respx.mock(assert_all_called=True) as mock:
            route = mock.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
            report = send_pending(rt.db, rt.settings, now=at(8, 15, 1))
        assert sorted(report.sent) == sorted(raised)
        assert route.call_count == len(raised)
        assert len(inbox.messages) == len(raised)

    bodies = [json.loads(c.request.content) for c in route.calls]
    assert len(bodies) == 1  # one burst, one message: its product and term alerts are folded into it
    neg = bodies[0]
    assert "Negative surge" in neg["text"] and "product:Tsuki Fan (20)" in neg["text"]
    assert neg["blocks"][0]["type"] == "header"
    flat = json.dumps(neg, ensure_ascii=False)
    assert "〔電話番号/phone〕" in flat and "090-1234" not in flat and "@friend" not in flat
    assert "発火" in flat  # a top term
    assert "negative 20" in neg["text"]

    _, rcpts, msg = inbox.messages[0]
    assert str(msg["Subject"]).startswith("[Kizuki] 【ネガティブ急増 / Negative surge】")
    assert rcpts == ["lead@example.com"]
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "090-1234" not in text.get_content() + html.get_content()
    assert "投稿例" in text.get_content() and "<li>#" in html.get_content()
    assert "Also / 関連: " in text.get_content() and "term:発火" in text.get_content()

    with rt.db.reading() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.id.in_(raised))))
        assert {a.status for a in alerts} == {AlertStatus.SENT}
        for a in alerts:
            assert a.deliveries["webhook"]["status"] == "sent" and a.deliveries["webhook"]["attempts"] == 1
            assert a.deliveries["email"]["status"] == "sent"
        assert len(audit.search(s, action="alert.sent", limit=1000)) == len(raised)
    # nothing is sent twice
    with respx.mock(assert_all_called=False) as mock:
        again = mock.post(HOOK).mock(return_value=httpx.Response(200))
        assert send_pending(rt.db, rt.settings, now=at(8, 16)).sent == []
        assert again.call_count == 0


def test_a_failing_webhook_is_retried_until_it_takes_the_alert(bare_runtime: Runtime) -> None:
    rt = _runtime(bare_runtime)
    raised = _raise(rt)
    with respx.mock() as mock:
        mock.post(HOOK).mock(return_value=httpx.Response(503))
        first = send_pending(rt.db, rt.settings, now=at(8, 15, 1))
    assert sorted(first.retrying) == sorted(raised)
    with rt.db.reading() as s:
        a = s.get(Alert, raised[0])
        assert a is not None and a.status == AlertStatus.PENDING
        state = a.deliveries["webhook"]
        assert state["attempts"] == 1 and state["error"] == "webhook answered HTTP 503"
        assert "secret-token" not in json.dumps(a.deliveries)  # the URL holds a secret: never recorded
    with respx.mock(assert_all_called=False) as mock:  # before the back-off: not tried
        early = mock.post(HOOK).mock(return_value=httpx.Response(200))
        assert send_pending(rt.db, rt.settings, now=at(8, 15, 1) + timedelta(seconds=10)).sent == []
        assert early.call_count == 0
    with respx.mock() as mock:
        mock.post(HOOK).mock(side_effect=[httpx.ConnectError("refused")] + [httpx.Response(200)] * 50)
        second = send_pending(rt.db, rt.settings, now=at(8, 20))
    assert len(second.retrying) == 1 and len(second.sent) == len(raised) - 1
    with respx.mock() as mock:
        mock.post(HOOK).mock(return_value=httpx.Response(200))
        third = send_pending(rt.db, rt.settings, now=at(8, 23))
    assert third.sent == second.retrying
    with rt.db.reading() as s:
        assert {a.status for a in s.scalars(select(Alert).where(Alert.id.in_(raised)))} == {AlertStatus.SENT}


def test_a_channel_that_never_works_ends_failed_and_stays_listed(bare_runtime: Runtime) -> None:
    rt = _runtime(bare_runtime, alerts_send_max_attempts=2)
    raised = _raise(rt)
    with respx.mock() as mock:
        mock.post(HOOK).mock(return_value=httpx.Response(404))
        send_pending(rt.db, rt.settings, now=at(8, 15, 1))
        last = send_pending(rt.db, rt.settings, now=at(8, 18))
    assert sorted(last.failed) == sorted(raised)
    with rt.db.reading() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.id.in_(raised))))
        assert {a.status for a in alerts} == {AlertStatus.FAILED}
        assert all(a.deliveries["webhook"]["attempts"] == 2 for a in alerts)
        assert len(audit.search(s, action="alert.failed", limit=1000)) == len(raised)


def test_two_senders_never_send_the_same_alert(bare_runtime: Runtime) -> None:
    """A claimed alert (another worker is sending it) is skipped until its claim runs out."""
    rt = _runtime(bare_runtime)
    raised = _raise(rt)
    with rt.db.session() as s:
        for a in s.scalars(select(Alert).where(Alert.id.in_(raised))):
            a.send_lease_until = at(8, 16)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(200))
        assert send_pending(rt.db, rt.settings, now=at(8, 15, 30)).sent == []
        assert route.call_count == 0
        assert sorted(send_pending(rt.db, rt.settings, now=at(8, 16, 1)).sent) == sorted(raised)


def test_test_send_reports_each_channel(bare_runtime: Runtime) -> None:
    rt = _runtime(
        bare_runtime,
        smtp_host="127.0.0.1",
        smtp_port=1,
        smtp_to=["lead@example.com"],
        smtp_from="alerts@example.com",
        smtp_starttls=False,
    )
    with respx.mock() as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(200))
        results = send_test(rt.settings)
    assert results["webhook"] == "sent" and route.call_count == 1
    assert json.loads(route.calls[0].request.content)["text"].startswith("【テスト / Test】")
    assert results["email"].startswith("mail not sent")


def test_old_news_is_stored_but_not_sent(bare_runtime: Runtime) -> None:
    """A late import: yesterday's burst and a post from three days ago are flagged, listed, and page no one."""
    from tests.reports.alert_fixtures import post

    rt = _runtime(bare_runtime, alerts_send_max_age_hours=24)
    use_profile(rt)
    background(rt, range(0, 9))
    ids = burst(rt, day=7, hour=14, n=20)
    with rt.db.session() as s:
        for p in s.scalars(select(Post).where(Post.id.in_(ids))):
            p.received_at = at(8, 20)
        s.add(post(at(5, 10), "くも家電の炎上まとめ", reposts=5000, received=at(8, 20)))
    report = scan(rt, since=at(8, 19), now=at(8, 20, 5))
    with rt.db.reading() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.id.in_(report.raised))))
    assert {a.kind for a in alerts} == {"negative", "spread"}
    assert {a.status for a in alerts} == {AlertStatus.NOT_SENT}
    assert all(a.deliveries == {"note": "about posts too old to send"} for a in alerts)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(HOOK).mock(return_value=httpx.Response(200))
        send_pending(rt.db, rt.settings, now=at(8, 20, 6))
    assert route.call_count == 0
