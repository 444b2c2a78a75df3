"""Alerts through their surfaces: REST (agent+ read), the `kizuki alerts` commands, and the scheduled job."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from kizuki.core.jobs import Job, JobKind, JobStatus
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from reports.alerts import Alert, alert_handlers, scan, schedule_scan
from tests.reports.alert_fixtures import at, background, burst, post, use_profile


def _raise(rt: Runtime) -> list[int]:
    use_profile(rt)
    background(rt, range(0, 9))
    burst(rt, day=8, hour=14, n=20)
    return scan(rt, since=at(8, 0), now=at(8, 15)).raised


def test_rest_lists_and_shows_alerts_to_agents(
    runtime: Runtime, client_as: Callable[..., TestClient], anon_client: TestClient
) -> None:
    raised = _raise(runtime)
    agent = client_as("agent")
    res = agent.get("/v1/alerts", params={"since": "2026-11-09T00:00:00+09:00"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(raised) <= {a["id"] for a in body} and {a["status"] for a in body} == {"not_sent", "related"}
    assert body[0]["score"] >= body[-1]["score"]
    one = agent.get(f"/v1/alerts/{raised[0]}")
    assert one.status_code == 200 and one.json()["explanation"]["examples"]
    assert "090-1234" not in one.text
    assert agent.get("/v1/alerts").json() == []  # default: the last 7 days (these posts are older)
    assert agent.get("/v1/alerts/999999").json()["error"] == "AlertNotFound"
    assert agent.get("/v1/alerts/999999").status_code == 404
    naive = agent.get("/v1/alerts", params={"since": "2026-11-09T00:00:00"})
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]
    assert agent.get("/v1/alerts", params={"limit": 0}).status_code == 422
    assert client_as("editor").get("/v1/alerts").status_code == 200
    assert client_as("evaluator").get("/v1/alerts").status_code == 403
    assert anon_client.get("/v1/alerts").status_code == 401


def test_cli_scan_and_list(db_url_env: Runtime) -> None:
    from kizuki.cli import app

    rt = db_url_env
    use_profile(rt)
    background(rt, range(0, 2))
    now = utcnow().replace(minute=30, second=0, microsecond=0)
    with rt.db.session() as s:  # a burst an hour ago, received just now
        s.add_all(
            post(
                now - timedelta(hours=1, minutes=i),
                f"くも家電のツキファンが止まった {i}",
                sentiment="negative",
                topics=["Tsuki Fan"],
                received=now,
            )
            for i in range(25)
        )
    runner = CliRunner()
    res = runner.invoke(app, ["alerts", "scan", "--since", "2h", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["raised"] and report["sent"] == []  # no channel configured
    res = runner.invoke(app, ["alerts", "--json"])
    listed = [json.loads(line) for line in res.stdout.splitlines()]
    assert sorted(a["id"] for a in listed) == sorted(report["raised"] + report["related"])
    assert {a["status"] for a in listed} == {"not_sent", "related"}
    res = runner.invoke(app, ["alerts"])
    assert res.exit_code == 0 and "Tsuki Fan" in res.stdout
    again = json.loads(runner.invoke(app, ["alerts", "scan", "--since", "2h", "--json"]).stdout)
    assert again["raised"] == [] and again["duplicates"] == len(report["raised"] + report["related"])
    bad = runner.invoke(app, ["alerts", "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since" in bad.stderr
    assert runner.invoke(app, ["alerts", "scan", "--sensitivity", "9sigma"]).exit_code == 2
    none = runner.invoke(app, ["alerts", "test-send"])
    assert none.exit_code == 2 and "no channel is configured" in none.stderr


@pytest.fixture
def db_url_env(bare_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """The CLI builds its own runtime from the environment: point it at the test database."""
    monkeypatch.setenv("KIZUKI_DATABASE_URL", bare_runtime.db.url)
    monkeypatch.setenv("KIZUKI_HOME", str(bare_runtime.settings.home))
    return bare_runtime


def test_the_scan_job_runs_queues_the_next_and_scans_from_where_it_left(bare_runtime: Runtime) -> None:
    rt = bare_runtime
    use_profile(rt)
    background(rt, range(0, 2))
    now = utcnow()
    job = schedule_scan(rt.db, rt.settings, now=now)
    assert job is not None
    assert schedule_scan(rt.db, rt.settings, now=now).id == job.id  # once per interval, however many processes
    with rt.db.session() as s:
        s.add_all(
            post(now - timedelta(minutes=i), "ツキファンが熱い", sentiment="negative", topics=["Tsuki Fan"])
            for i in range(1, 30)
        )
    handlers = alert_handlers(rt)
    worker = Worker(rt, handlers=handlers)
    assert asyncio.run(worker.drain()) == 1
    with rt.db.reading() as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == JobKind.ALERTS_SCAN).order_by(Job.id)))
        assert [j.status for j in jobs] == [JobStatus.DONE, JobStatus.QUEUED]
        nxt = jobs[1]
        assert nxt.run_after >= now + timedelta(minutes=rt.settings.alerts_scan_minutes) - timedelta(seconds=1)
        assert "since" in nxt.payload
        assert s.scalars(select(Alert)).first() is not None


def test_scans_off_queue_nothing(bare_runtime: Runtime) -> None:
    values = bare_runtime.settings.model_dump()
    values["alerts_scan_minutes"] = 0
    rt = Runtime(Settings(**values), db=bare_runtime.db)
    assert schedule_scan(rt.db, rt.settings) is None


def test_the_runtime_registers_the_scan_job(bare_runtime: Runtime) -> None:
    assert JobKind.ALERTS_SCAN in bare_runtime.job_handlers()


def test_a_stored_alert_reads_back_the_same(runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    from tests.reports.alert_fixtures import stored_alert

    alert_id = stored_alert(runtime)
    body = client_as("agent").get(f"/v1/alerts/{alert_id}").json()
    assert body["id"] == alert_id and body["count"] == 22 and body["status"] == "not_sent"
    assert body["window_start"].startswith("2026-11-09T14:00:00")
