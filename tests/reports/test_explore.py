"""Exploring posts: every filter, paging, streamed exports, redaction by role, and 422s with a reason."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from agent.org.service import save_profile
from agent.posts.privacy import Redactor
from kizuki.core.db import Database
from kizuki.core.errors import InvalidInput
from kizuki.runtime import Runtime
from reports.explore import MAX_RANGE_DAYS, PostFilter, RowContext, export_lines, iter_rows, page
from tests.reports.test_explore_data import PROFILE, add_post

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _seed(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    with db.session() as s:
        ids["ja_neg"] = add_post(
            s,
            "1",
            "炊飯器K-3から発煙しました。電話は090-1234-5678です",
            T0,
            sentiment="negative",
            intent="complaint",
            topics=("Cooker K-3",),
            sensitive=("safety",),
            flame_risk=80,
            draft={"status": "pending", "escalate_to": "quality"},
        ).id
        ids["en_pos"] = add_post(
            s,
            "2",
            "Love my Kettle P-1, better than Acme",
            T0 + timedelta(hours=1),
            sentiment="positive",
            intent="praise",
            topics=("Kettle P-1",),
            competitors=("Acme",),
            lang="en",
            handle="jane_doe",
            name="Jane Doe",
            draft={"status": "sent"},
        ).id
        ids["dropped"] = add_post(s, "3", "今日はいい天気", T0 + timedelta(hours=2), status="dropped")
        ids["dropped"] = ids["dropped"].id  # type: ignore[attr-defined]
        ids["other_source"] = add_post(
            s,
            "4",
            "値段が高すぎる",
            T0 + timedelta(hours=3),
            sentiment="negative",
            source="instagram",
            intent="complaint",
        ).id
        ids["old"] = add_post(s, "5", "古い投稿", T0 - timedelta(days=40), sentiment="negative").id
        # no posted_at: the time is when it was received
        ids["no_date"] = add_post(s, "6", "no date given", None, received_at=T0 + timedelta(hours=4), lang="en").id
    return ids


def _ids(db: Database, profile: object = None, **flt: object) -> set[int]:
    f = PostFilter(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1), **flt)  # type: ignore[arg-type]
    with db.reading() as s:
        return {r.id for r in page(s, f, RowContext(profile, None), dialect=db.dialect, limit=200).items}  # type: ignore[arg-type]


def test_each_filter_selects_the_posts_it_names(db: Database) -> None:
    ids = _seed(db)
    everything = {ids[k] for k in ("ja_neg", "en_pos", "dropped", "other_source", "no_date")}
    assert _ids(db) == everything  # the old post is outside the window
    assert _ids(db, sentiment="negative") == {ids["ja_neg"], ids["other_source"]}
    assert _ids(db, intent="praise") == {ids["en_pos"]}
    assert _ids(db, source="instagram") == {ids["other_source"]}
    assert _ids(db, lang="en") == {ids["en_pos"], ids["no_date"]}
    assert _ids(db, topic="Cooker K-3") == {ids["ja_neg"]}
    assert _ids(db, PROFILE, product="k-3") == {ids["ja_neg"]}  # an alias, any case, names the product
    assert _ids(db, competitor="Acme") == {ids["en_pos"]}
    assert _ids(db, kept=False) == {ids["dropped"]}
    assert _ids(db, kept=True) == everything - {ids["dropped"]}
    assert _ids(db, has_draft=True) == {ids["ja_neg"], ids["en_pos"]}
    assert _ids(db, has_draft=False) == everything - {ids["ja_neg"], ids["en_pos"]}
    assert _ids(db, draft_status="sent") == {ids["en_pos"]}
    assert _ids(db, sentiment="negative", source="x") == {ids["ja_neg"]}


def test_pages_are_newest_first_with_the_total(db: Database) -> None:
    _seed(db)
    f = PostFilter(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1))
    with db.reading() as s:
        first = page(s, f, RowContext(None, None), dialect=db.dialect, limit=2)
        second = page(s, f, RowContext(None, None), dialect=db.dialect, limit=2, offset=2)
    assert first.total == second.total == 5
    times = [r.time for r in first.items + second.items]
    assert times == sorted(times, reverse=True)
    assert first.items[0].text == "no date given" and first.items[0].time == T0 + timedelta(hours=4)
    assert not {r.id for r in first.items} & {r.id for r in second.items}


def test_export_streams_every_match_in_batches_without_repeats(db: Database) -> None:
    with db.session() as s:  # many posts at one instant: the keyset must break ties by id
        for i in range(23):
            add_post(s, f"e{i}", f"同時刻の投稿 {i}", T0 + timedelta(minutes=i // 10), handle=f"user{i}")
    f = PostFilter(since=T0, until=T0 + timedelta(hours=1))
    rows = list(iter_rows(db, f, RowContext(None, None), batch=4))
    assert len(rows) == 23 and len({r.id for r in rows}) == 23
    assert [(r.time, r.id) for r in rows] == sorted(((r.time, r.id) for r in rows), reverse=True)
    lines = list(export_lines(iter(rows), "csv"))
    parsed = list(csv.DictReader(io.StringIO("".join(lines).lstrip("\ufeff"))))
    assert len(parsed) == 23 and parsed[0]["text"].startswith("同時刻の投稿")
    jsonl = [json.loads(line) for line in export_lines(iter(rows), "jsonl")]
    assert [j["id"] for j in jsonl] == [r.id for r in rows]


def test_redaction_removes_handles_names_urls_and_personal_data(db: Database) -> None:
    ids = _seed(db)
    f = PostFilter(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1), sentiment="negative", source="x")
    with db.reading() as s:
        shown = page(s, f, RowContext(None, None), dialect=db.dialect).items[0]
        hidden = page(s, f, RowContext(None, Redactor()), dialect=db.dialect).items[0]
    assert shown.id == hidden.id == ids["ja_neg"]
    assert shown.author_handle == "taro_123" and "090-1234-5678" in shown.text and not shown.redacted
    assert hidden.author_handle is None and hidden.author_name is None and hidden.url is None and hidden.redacted
    assert "090-1234-5678" not in hidden.text and "〔電話番号/phone〕" in hidden.text
    assert hidden.departments == ["quality"] and hidden.escalate_to == "quality"


def test_filter_validation() -> None:
    with pytest.raises(ValidationError, match="until must be after since"):
        PostFilter(since=T0, until=T0)
    with pytest.raises(ValidationError, match=f"at most {MAX_RANGE_DAYS} days"):
        PostFilter(since=T0 - timedelta(days=MAX_RANGE_DAYS + 1), until=T0)
    with pytest.raises(ValidationError):
        PostFilter(sentiment="angry")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="source"):
        PostFilter(source="X Twitter!")
    with pytest.raises(ValidationError):
        PostFilter(colour="red")  # type: ignore[call-arg]
    naive = PostFilter(since=datetime(2026, 12, 1), until=datetime(2026, 12, 2))  # naive on purpose
    assert naive.since is not None and naive.since.tzinfo is UTC
    # only `until`: the default window is 30 days before it, and a lone `since` far back is capped too
    since, until = PostFilter(until=T0).window()
    assert until - since == timedelta(days=30)
    with pytest.raises(InvalidInput, match="at most"):
        PostFilter(since=T0 - timedelta(days=MAX_RANGE_DAYS + 5)).window(now=T0)


# -- REST ---------------------------------------------------------------------------------------------------------


def _window() -> dict[str, str]:
    return {"since": (T0 - timedelta(days=1)).isoformat(), "until": (T0 + timedelta(days=1)).isoformat()}


def test_rest_list_redacts_for_agents_and_not_for_admins(
    runtime: Runtime, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    _seed(runtime.db)
    params = {**_window(), "sentiment": "negative", "source": "x"}
    admin = client.get("/v1/posts", params=params)
    agent = client_as("agent").get("/v1/posts", params=params)
    assert admin.status_code == agent.status_code == 200, agent.text
    assert admin.json()["items"][0]["author_handle"] == "taro_123"
    item = agent.json()["items"][0]
    assert item["author_handle"] is None and "090-1234-5678" not in item["text"]
    assert client_as("editor").get("/v1/posts", params=params).status_code == 403


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"sentiment": "angry"}, "sentiment"),
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until must be after since"),
        ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "at most 400 days"),
        ({"department": "astrology"}, "unknown department"),
        ({"product": "Nothing"}, "unknown product"),
        ({"limit": "0"}, "limit"),
        ({"format": "xml"}, "format"),
        ({"source": "bad source"}, "source"),
        ({"until": "0001-01-01T00:00:00Z"}, "between 1970 and 2199"),
        ({"since": "9999-12-31T23:59:59+14:00"}, "between 1970 and 2199"),
    ],
)
def test_rest_bad_filters_are_422_with_a_reason(
    runtime: Runtime, client: TestClient, params: dict[str, str], reason: str
) -> None:
    with runtime.db.session() as s:
        save_profile(s, runtime.org, PROFILE, edited_version=None, actor="test")
    r = client.get("/v1/posts", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"] in ("ValidationError", "InvalidInput") and reason in r.json()["detail"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rest_export_streams_a_file(runtime: Runtime, client_as: Callable[..., TestClient], fmt: str) -> None:
    ids = _seed(runtime.db)
    r = client_as("agent").get("/v1/posts", params={**_window(), "kept": "true", "format": fmt})
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    body = r.content.decode("utf-8").lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body))) if fmt == "csv" else [json.loads(x) for x in body.splitlines()]
    assert {int(r["id"]) for r in rows} == {ids[k] for k in ("ja_neg", "en_pos", "other_source", "no_date")}
    assert "taro_123" not in body and "090-1234-5678" not in body


def test_cli_export_reads_dates_in_the_report_zone_and_redacts_by_default(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kizuki.cli import app

    with runtime.db.session() as s:  # 2026-12-01 in Tokyo: from 2026-11-30 15:00 UTC
        inside = add_post(s, "t1", "東京の12月1日 0時5分 090-1234-5678", datetime(2026, 11, 30, 15, 5, tzinfo=UTC)).id
        add_post(s, "t2", "東京ではまだ11月30日", datetime(2026, 11, 30, 14, 55, tzinfo=UTC))
    monkeypatch.setenv("KIZUKI_DATABASE_URL", runtime.db.url)
    monkeypatch.setenv("KIZUKI_HOME", str(runtime.settings.home))
    out = tmp_path / "day.csv"
    args = ["export", "posts", "--since", "2026-12-01", "--until", "2026-12-02", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert [int(r["id"]) for r in rows] == [inside]
    assert rows[0]["author_handle"] == "" and "090-1234-5678" not in rows[0]["text"]
    result = CliRunner().invoke(app, [*args, "--with-personal-data", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["author_handle"] == "taro_123" and "090-1234-5678" in row["text"]
    bad = CliRunner().invoke(app, ["export", "posts", "--sentiment", "angry", "--out", str(out)])
    assert bad.exit_code == 2 and "sentiment" in bad.output
