"""Alerts on a real database (SQLite and PostgreSQL): a burst raises explained, redacted alerts; a quiet day does
not; a second scan adds nothing; the cool-down suppresses a repeat; each alert is an audit entry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from kizuki.core import audit
from kizuki.runtime import Runtime
from reports.alerts import Alert, AlertPublic, AlertStatus, list_alerts, scan
from reports.surge import PRESETS
from tests.reports.alert_fixtures import PRODUCT, at, background, burst, post, use_profile


def _alerts(rt: Runtime, *, suppressed: bool = True) -> list[Alert]:
    with rt.db.reading() as s:
        return sorted(list_alerts(s, include_suppressed=suppressed, limit=1000), key=lambda a: a.id)


def test_a_burst_is_flagged_and_explains_itself(bare_runtime: Runtime) -> None:
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 9))
    ids = burst(rt, day=8, hour=14, n=20)
    report = scan(rt, since=at(8, 0), now=at(8, 15, 10))
    alerts = _alerts(rt)
    assert sorted(report.raised + report.related) == [a.id for a in alerts] and not report.suppressed
    by_subject = {(a.kind, a.scope, a.subject): a for a in alerts}
    # one burst, one alert to act on: the strongest leads, the rest of its posts' alerts are folded into it
    assert len(report.raised) == 1
    lead = next(a for a in alerts if a.id == report.raised[0])
    assert lead.scope == "brand" and lead.status == AlertStatus.NOT_SENT
    assert {a.status for a in alerts if a.id != lead.id} == {AlertStatus.RELATED}
    assert {a.repeat_of for a in alerts if a.id != lead.id} == {lead.id}
    assert sorted(r["id"] for r in lead.explanation["related"]) == sorted(report.related)
    # the brand, its negative posts, the product and its negative posts, and the burst's own words
    assert {("volume", "brand", "*"), ("negative", "brand", "*"), ("volume", "product", PRODUCT)} <= set(by_subject)
    assert ("negative", "product", PRODUCT) in by_subject
    assert ("volume", "term", "発火") in by_subject
    assert all(a.window_start == at(8, 14) and a.window_end == at(8, 15) for a in alerts)

    neg = by_subject[("negative", "product", PRODUCT)]
    assert neg.count == 20 and sorted(neg.post_ids) == sorted(ids)
    assert neg.baseline == 0.5 and neg.score > 5  # no negative posts before: the floor
    assert neg.preset == "4sigma"
    ex = neg.explanation
    assert ex["sentiment"] == {"negative": 20, "neutral": 0, "positive": 0}
    assert "発火" in [t["term"] for t in ex["top_terms"]]
    assert len(ex["examples"]) == 3 and {e["post_id"] for e in ex["examples"]} <= set(ids)
    for e in ex["examples"]:  # personal data never leaves redacted
        assert "090-1234" not in e["text"] and "@friend" not in e["text"]
        assert "〔電話番号/phone〕" in e["text"]
    vol = by_subject[("volume", "brand", "*")]
    assert vol.count == 22 and vol.baseline == 2.0  # 2 background posts an hour
    assert vol.explanation["sentiment"] == {"negative": 20, "neutral": 2, "positive": 0}
    assert lead.deliveries == {"note": "no channel configured"}  # stored and listed, nothing to send

    with rt.db.reading() as s:
        entries = audit.search(s, action="alert.raised", limit=1000)
        assert [e.subject for e in entries] == [f"alert:{lead.id}"]
        related = audit.search(s, action="alert.related", limit=1000)
        assert sorted(e.subject for e in related) == sorted(f"alert:{i}" for i in report.related)
        assert not audit.verify(s)
    dumped = AlertPublic.of(neg).model_dump(mode="json")
    assert "090-1234" not in str(dumped)


def test_quiet_days_and_ordinary_hours_raise_nothing(bare_runtime: Runtime) -> None:
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 7))
    background(rt, range(8, 10), per_hour=3)  # day 7 silent (a holiday), then a slightly busier normal
    with rt.db.session() as s:  # the morning after the holiday: a few more than usual, still ordinary
        s.add_all(post(at(8, 9, m), "くも家電の店に行った") for m in (10, 30))
    for name in PRESETS:
        report = scan(rt, since=at(0, 0), now=at(10, 0), preset=PRESETS[name])
        assert report.raised == [] and report.buckets > 40, name
    assert _alerts(rt) == []


def test_a_second_scan_adds_nothing(bare_runtime: Runtime) -> None:
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 9))
    burst(rt, day=8, hour=14, n=20)
    first = scan(rt, since=at(8, 0), now=at(8, 15))
    again = scan(rt, since=at(8, 0), now=at(8, 16))
    stored = len(first.raised) + len(first.related)
    assert first.raised and again.raised == again.related == again.suppressed == []
    assert again.duplicates == stored
    with rt.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == stored
        assert len(audit.search(s, action="alert.raised", limit=1000)) == len(first.raised)


def test_the_cool_down_suppresses_a_repeat_and_lets_a_later_one_through(bare_runtime: Runtime) -> None:
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 10))
    burst(rt, day=8, hour=14, n=20)
    first = scan(rt, since=at(8, 0), now=at(8, 15))
    burst(rt, day=8, hour=17, n=40)  # three hours later: inside the 6 h cool-down
    second = scan(rt, since=at(8, 15), now=at(8, 18))
    alerts = {a.id: a for a in _alerts(rt)}
    repeat = [alerts[i] for i in second.suppressed]
    assert repeat and second.raised == second.related == []
    first_ids = first.raised + first.related
    first_by_subject = {(alerts[i].kind, alerts[i].scope, alerts[i].subject): i for i in first_ids}
    for a in repeat:
        assert a.status == AlertStatus.SUPPRESSED and a.window_start == at(8, 17)
        assert a.repeat_of == first_by_subject[(a.kind, a.scope, a.subject)]
        assert a.deliveries == {}
    # the default listing leaves repeats out
    assert {a.id for a in _alerts(rt, suppressed=False)} == set(first_ids)
    burst(rt, day=9, hour=14, n=60)  # a day later: a new episode
    third = scan(rt, since=at(8, 18), now=at(9, 15))
    assert third.raised and ("volume", "brand", "*") in _kinds(rt, third.raised + third.related)
    with rt.db.reading() as s:
        assert len(audit.search(s, action="alert.suppressed", limit=1000)) == len(repeat)


def _kinds(rt: Runtime, ids: list[int]) -> list[tuple[str, str, str]]:
    with rt.db.reading() as s:
        return [(a.kind, a.scope, a.subject) for a in s.scalars(select(Alert).where(Alert.id.in_(ids)))]


def test_a_post_spreading_fast_is_flagged_once(bare_runtime: Runtime) -> None:
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 2))
    with rt.db.session() as s:
        fast = post(
            at(1, 10), "くも家電の対応が最悪 call 090-9876-5432", sentiment="negative", reposts=300, received=at(1, 12)
        )
        slow = post(at(1, 10), "くも家電のセール情報", reposts=40, received=at(1, 12))  # 20 an hour
        s.add_all([fast, slow])
        s.flush()
        fast_id = fast.id
    report = scan(rt, since=at(1, 11), now=at(1, 12, 5))
    spread = [a for a in _alerts(rt) if a.kind == "spread"]
    assert [a.subject for a in spread] == [str(fast_id)] and spread[0].id in report.raised
    assert spread[0].score == 150.0 and spread[0].count == 300
    assert "090-9876" not in spread[0].explanation["examples"][0]["text"]
    again = scan(rt, since=at(1, 11), now=at(1, 13))
    assert again.raised == [] and again.duplicates >= 1


def test_dropped_posts_do_not_count(bare_runtime: Runtime) -> None:
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 2))
    with rt.db.session() as s:
        s.add_all(post(at(1, 14, i), "流星群がきれい", status="dropped") for i in range(40))
    assert scan(rt, since=at(1, 0), now=at(1, 15)).raised == []


def test_a_late_import_is_judged_at_the_hour_it_was_posted(bare_runtime: Runtime) -> None:
    """Posts received today that were posted last week are counted in last week's hour (and alerted there)."""
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 9))
    ids = burst(rt, day=3, hour=9, n=20)
    with rt.db.session() as s:
        for p in s.scalars(select(Alert)):  # nothing yet
            raise AssertionError(p)
        from agent.posts.models import Post

        for p in s.scalars(select(Post).where(Post.id.in_(ids))):
            p.received_at = at(8, 20)
    report = scan(rt, since=at(8, 19), now=at(8, 21))
    alerts = _alerts(rt)
    assert report.raised and all(a.window_start == at(3, 9) for a in alerts)
    assert {a.status for a in alerts} == {AlertStatus.NOT_SENT, AlertStatus.RELATED}
    assert all(a.detected_at - a.window_end > timedelta(days=5) for a in alerts)


def test_two_scans_at_once_store_each_alert_once(bare_runtime: Runtime) -> None:
    """Two workers (threads here, each with its own connections) scanning the same hours at the same moment."""
    import threading

    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 9))
    burst(rt, day=8, hour=14, n=20)
    burst(rt, day=8, hour=4, n=30)
    reports = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            reports.append(scan(rt, since=at(8, 0), now=at(8, 15)))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    stored = {a.dedupe_key for a in _alerts(rt)}
    assert len(stored) == len(_alerts(rt))
    assert sum(len(r.raised) + len(r.related) for r in reports) == len(stored)
    assert len([a for a in _alerts(rt) if a.status == AlertStatus.NOT_SENT]) == 2  # one lead per burst
    with rt.db.reading() as s:
        assert not audit.verify(s)
