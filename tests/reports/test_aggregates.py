"""Aggregates: counts by dimension and over time (checked against SQL written by hand), the negative share, top
terms in Japanese and English with their change, median response times, and the REST endpoints."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from kizuki.core.db import Database
from kizuki.runtime import Runtime
from reports import aggregates
from reports.aggregates import terms_of
from reports.explore import PostFilter
from tests.reports.test_explore_data import DAY_START_UTC, PROFILE, add_post, raw_count

TOKYO = ZoneInfo("Asia/Tokyo")


def _seed(db: Database) -> None:
    """Day 1 (Tokyo): 7 posts; the day before: 2 posts. Sentiments, topics and competitors vary."""
    d = DAY_START_UTC
    with db.session() as s:
        add_post(
            s,
            "a1",
            "炊飯器K-3から発煙した。最悪",
            d + timedelta(minutes=5),
            sentiment="negative",
            intent="complaint",
            topics=("Cooker K-3", "warranty and repair"),
        )
        add_post(
            s,
            "a2",
            "炊飯器K-3の蓋が壊れた",
            d + timedelta(minutes=50),
            sentiment="negative",
            intent="complaint",
            topics=("Cooker K-3",),
        )
        add_post(
            s,
            "a3",
            "The rice cooker K-3 is great",
            d + timedelta(hours=3),
            sentiment="positive",
            intent="praise",
            topics=("Cooker K-3",),
            lang="en",
        )
        add_post(
            s,
            "a4",
            "Acmeより炊飯器が良い",
            d + timedelta(hours=3, minutes=10),
            sentiment="positive",
            intent="praise",
            competitors=("Acme",),
        )
        add_post(
            s,
            "a5",
            "配送はいつですか",
            d + timedelta(hours=23, minutes=59),
            intent="question",
            topics=("delivery",),
            draft={
                "status": "sent",
                "decided_at": d + timedelta(hours=24, minutes=9),
                "delivered_at": d + timedelta(hours=24, minutes=19),
            },
        )
        add_post(s, "a6", "広告です", d + timedelta(hours=5), status="dropped")
        add_post(
            s,
            "a7",
            "発煙がこわい smoke",
            d + timedelta(hours=6),
            sentiment="negative",
            intent="complaint",
            topics=("Cooker K-3",),
            draft={"status": "approved", "decided_at": d + timedelta(hours=6, minutes=30)},
        )
        # the day before, and the day after (outside)
        add_post(s, "b1", "炊飯器K-3を買った", d - timedelta(hours=2), topics=("Cooker K-3",))
        add_post(s, "b2", "炊飯器の蓋", d - timedelta(hours=20))
        add_post(s, "c1", "翌日の投稿", d + timedelta(days=1, minutes=1), sentiment="negative")


def _day() -> PostFilter:
    return PostFilter(since=DAY_START_UTC, until=DAY_START_UTC + timedelta(days=1), kept=True)


def test_totals_match_a_count_straight_from_the_database(db: Database) -> None:
    _seed(db)
    since, until = DAY_START_UTC, DAY_START_UTC + timedelta(days=1)
    with db.reading() as s:
        by_sentiment = dict(aggregates.totals(s, _day(), "sentiment", dialect=db.dialect))
        by_topic = dict(aggregates.totals(s, _day(), "topic", dialect=db.dialect))
        by_product = dict(aggregates.totals(s, _day(), "product", dialect=db.dialect, profile=PROFILE))
        by_competitor = dict(aggregates.totals(s, _day(), "competitor", dialect=db.dialect))
        by_status = dict(aggregates.totals(s, PostFilter(since=since, until=until), "status", dialect=db.dialect))
    for sentiment in ("negative", "positive", "neutral"):
        expected = raw_count(
            db, "{t} >= :a AND {t} < :b AND status <> 'dropped' AND {sentiment} = :s", a=since, b=until, s=sentiment
        )
        assert by_sentiment.get(sentiment, 0) == expected
    assert by_sentiment == {"negative": 3, "positive": 2, "neutral": 1}
    assert by_topic == {"Cooker K-3": 4, "warranty and repair": 1, "delivery": 1}
    assert by_product == {"Cooker K-3": 4}
    assert by_competitor == {"Acme": 1}
    assert by_status == {"drafted": 6, "dropped": 1}
    assert sum(by_status.values()) == raw_count(db, "{t} >= :a AND {t} < :b", a=since, b=until)


def test_series_fold_into_local_hours_and_days_with_zeros(db: Database) -> None:
    _seed(db)
    with db.reading() as s:
        hours = aggregates.series(s, _day(), bucket="hour", dialect=db.dialect, tz=TOKYO)
        by_sentiment = aggregates.series(s, _day(), "sentiment", bucket="hour", dialect=db.dialect, tz=TOKYO)
        days = aggregates.series(
            s,
            PostFilter(since=DAY_START_UTC - timedelta(days=1), until=DAY_START_UTC + timedelta(days=2), kept=True),
            bucket="day",
            dialect=db.dialect,
            tz=TOKYO,
        )
    assert len(hours) == 24 and hours[0].start == datetime(2026, 12, 1, tzinfo=TOKYO)
    assert [p.count for p in hours][:4] == [2, 0, 0, 2] and hours[23].count == 1 and sum(p.count for p in hours) == 6
    neg0 = [p.count for p in by_sentiment if p.key == "negative" and p.start.hour == 0]
    assert neg0 == [2]
    assert [(p.start.date().isoformat(), p.count) for p in days] == [
        ("2026-11-30", 2),
        ("2026-12-01", 6),
        ("2026-12-02", 1),
    ]


def test_negative_share(db: Database) -> None:
    _seed(db)
    with db.reading() as s:
        share = aggregates.negative_share(s, _day(), dialect=db.dialect)
    assert (share.negative, share.total) == (3, 6) and share.share == 0.5


def test_top_terms_in_japanese_and_english_with_the_change(db: Database) -> None:
    _seed(db)
    with db.reading() as s:
        terms = {t.term: t for t in aggregates.top_terms(s, _day(), dialect=db.dialect, limit=50)}
    assert terms["炊飯器"].count == 3 and terms["炊飯器"].previous == 2 and terms["炊飯器"].change == 1
    assert terms["発煙"].count == 2 and terms["発煙"].previous == 0 and terms["発煙"].ratio is None
    assert terms["cooker"].count == 1 and "smoke" in terms
    assert "the" not in terms and "です" not in terms
    with db.reading() as s:
        without = {t.term for t in aggregates.top_terms(s, _day(), dialect=db.dialect, exclude=["炊飯器"])}
    assert "炊飯器" not in without


def test_terms_of_skips_urls_handles_and_placeholders() -> None:
    terms = terms_of("@taro_1 炊飯器が壊れた https://example.com/x 〔電話番号/phone〕 Broken cooker!")
    assert terms == {"炊飯器", "broken", "cooker"}


def test_median_response_times(db: Database) -> None:
    _seed(db)
    with db.reading() as s:
        r = aggregates.response_times(s, _day(), dialect=db.dialect)
    # approved: 10 min (a5) and 30 min (a7); sent: 20 min (a5)
    assert (r.approved_n, r.approved_median_s) == (2, 1200.0)
    assert (r.sent_n, r.sent_median_s) == (1, 1200.0)


def test_rest_stats(runtime: Runtime, client: TestClient) -> None:
    _seed(runtime.db)
    window = {"since": DAY_START_UTC.isoformat(), "until": (DAY_START_UTC + timedelta(days=1)).isoformat()}
    r = client.get("/v1/stats/totals", params={**window, "dimension": "sentiment", "kept": "true"})
    assert r.status_code == 200, r.text
    assert {i["key"]: i["count"] for i in r.json()["items"]} == {"negative": 3, "positive": 2, "neutral": 1}
    r = client.get("/v1/stats/counts", params={**window, "bucket": "hour", "kept": "true"})
    assert r.status_code == 200 and r.json()["zone"] == "Asia/Tokyo"
    assert sum(p["count"] for p in r.json()["points"]) == 6 and len(r.json()["points"]) == 24
    r = client.get("/v1/stats/negative-share", params={**window, "kept": "true"})
    assert r.json() == {"negative": 3, "total": 6, "share": 0.5}
    r = client.get("/v1/stats/top-terms", params={**window, "kept": "true", "limit": 3})
    assert r.status_code == 200 and [i["term"] for i in r.json()["items"][:2]] == [
        "k-3",
        "炊飯器",
    ]  # 3 each; k-3 rose more
    r = client.get("/v1/stats/response-times", params={**window, "kept": "true"})
    assert r.json()["approved_median_s"] == 1200.0
    assert client.get("/v1/stats/totals", params={"dimension": "colour"}).status_code == 422
    assert client.get("/v1/stats/counts", params={"bucket": "week"}).status_code == 422
    long = client.get("/v1/stats/counts", params={"bucket": "hour", "since": "2026-01-01T00:00:00Z"})
    assert long.status_code == 422 and "bucket=day" in long.json()["detail"]
    assert client.get("/v1/stats/counts", params={"bucket": "day", "since": "2026-01-01T00:00:00Z"}).status_code == 200
    bad = client.get("/v1/stats/counts", params={"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert bad.status_code == 422 and "400 days" in bad.json()["detail"]
