"""Departments: routing terms from the profile, the SQL filter agreeing with the rule, the digest, and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agent.org.service import save_profile
from agent.posts.privacy import Redactor
from kizuki.core.db import Database
from kizuki.core.errors import InvalidInput
from kizuki.runtime import Runtime
from reports.departments import department_condition, department_names, department_terms, departments_of, digest
from reports.explore import PostFilter, RowContext, iter_rows
from tests.reports.test_explore_data import DAY_START_UTC, PROFILE, add_post

D = DAY_START_UTC


def _seed(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {
            "smoke_ja": add_post(s, "1", "炊飯器から発煙しました", D + timedelta(hours=1), sentiment="negative").id,
            "smoke_en": add_post(s, "2", "My kettle gave off SMOKE", D + timedelta(hours=2), lang="en").id,
            "safety_topic": add_post(s, "3", "危ない", D + timedelta(hours=3), sensitive=("safety",)).id,
            "price": add_post(s, "4", "値段が高い", D + timedelta(hours=4), intent="request").id,
            "escalated": add_post(
                s,
                "5",
                "弁護士に相談します",
                D + timedelta(hours=5),
                sentiment="negative",
                draft={"status": "pending", "escalate_to": "legal"},
            ).id,
            "nothing": add_post(s, "6", "配送はいつ？", D + timedelta(hours=6)).id,
        }


def test_terms_come_from_the_profile_descriptions() -> None:
    terms = department_terms(PROFILE)
    assert terms["quality"] == ["heat", "smoke", "発煙", "発火", "safety"]
    assert terms["sales"] == ["price", "値段", "discount"]
    assert department_names(PROFILE)[:2] == ["quality", "sales"] and "legal" in department_names(PROFILE)
    assert departments_of(PROFILE, text="炊飯器から発煙", topics=[]) == ["quality"]
    assert departments_of(PROFILE, text="Too much Smoke and the PRICE", topics=[]) == ["quality", "sales"]
    assert departments_of(PROFILE, text="危ない", topics=["safety"], escalate_to="pr") == ["pr", "quality"]
    assert departments_of(None, text="smoke", topics=[]) == []


def test_the_sql_filter_agrees_with_the_rule(db: Database) -> None:
    ids = _seed(db)
    window = {"since": D, "until": D + timedelta(days=1)}
    for name, expected in {
        "quality": {ids["smoke_ja"], ids["smoke_en"], ids["safety_topic"]},
        "sales": {ids["price"]},
        "legal": {ids["escalated"]},
        "pr": set(),
    }.items():
        rows = list(iter_rows(db, PostFilter(**window, department=name), RowContext(PROFILE, None)))
        assert {r.id for r in rows} == expected, name
        assert all(name in r.departments for r in rows)
    every = list(iter_rows(db, PostFilter(**window), RowContext(PROFILE, None)))
    for r in every:  # the rule in Python and in SQL say the same for every post
        for name in r.departments:
            assert r.id in {
                x.id for x in iter_rows(db, PostFilter(**window, department=name), RowContext(PROFILE, None))
            }
    with pytest.raises(InvalidInput, match="unknown department"):
        department_condition("astrology", db.dialect, PROFILE)


def test_digest_per_department(db: Database) -> None:
    _seed(db)
    with db.reading() as s:
        rows = {
            d.department: d
            for d in digest(
                s, dialect=db.dialect, profile=PROFILE, since=D, until=D + timedelta(days=1), redactor=Redactor()
            )
        }
    assert (rows["quality"].posts, rows["quality"].negative) == (3, 1)
    assert rows["legal"].escalated_pending == 1 and rows["legal"].posts == 1
    assert rows["sales"].posts == 1 and rows["pr"].posts == 0 and rows["pr"].examples == []
    assert rows["quality"].examples and all("text" in e for e in rows["quality"].examples)


def test_cli_digest_and_department_export(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kizuki.cli import app

    ids = _seed(runtime.db)
    with runtime.db.session() as s:
        save_profile(s, runtime.org, PROFILE, edited_version=None, actor="test")
    monkeypatch.setenv("KIZUKI_DATABASE_URL", runtime.db.url)
    monkeypatch.setenv("KIZUKI_HOME", str(runtime.settings.home))
    window = ["--since", D.isoformat(), "--until", (D + timedelta(days=1)).isoformat()]
    result = CliRunner().invoke(app, ["departments", "digest", *window, "--json"])
    assert result.exit_code == 0, result.output
    items = {i["department"]: i for i in json.loads(result.stdout)["items"]}
    assert items["quality"]["posts"] == 3 and items["legal"]["escalated_pending"] == 1
    out = tmp_path / "quality.jsonl"
    args = ["export", "posts", *window, "--department", "quality", "--format", "jsonl", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    got = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()}
    assert got == {ids["smoke_ja"], ids["smoke_en"], ids["safety_topic"]}
    bad = CliRunner().invoke(app, ["export", "posts", "--department", "astrology", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown department" in bad.output


def test_rest_department_filter_and_digest(runtime: Runtime, client: TestClient) -> None:
    ids = _seed(runtime.db)
    with runtime.db.session() as s:
        save_profile(s, runtime.org, PROFILE, edited_version=None, actor="test")
    window = {"since": D.isoformat(), "until": (D + timedelta(days=1)).isoformat()}
    r = client.get("/v1/posts", params={**window, "department": "sales"})
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [ids["price"]]
    r = client.get("/v1/reports/departments", params=window)
    assert r.status_code == 200
    assert {i["department"]: i["posts"] for i in r.json()["items"]}["quality"] == 3
