"""Listening: posts through the pipeline's intake, the cursor stored only after them, status, budget, backoff."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from agent.posts.models import Post
from delivery.connectors import service
from delivery.connectors.base import ConnectorConfig
from delivery.connectors.models import ConnectorState
from kizuki.runtime import Runtime
from tests.connectors.conftest import set_connectors
from tests.connectors.test_mastodon import BASE, status

MASTODON = {"name": "masto", "kind": "mastodon", "base_url": BASE, "options": {"hashtags": ["kamado"], "search": []}}
TAG = f"{BASE}/api/v1/timelines/tag/kamado"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUKI_CONNECTOR_MASTO_TOKEN", "tok-1")


def _state(rt: Runtime, name: str = "masto") -> ConnectorState:
    with rt.db.reading() as s:
        row = s.get(ConnectorState, name)
        assert row is not None
        s.expunge(row)
        return row


def _posts(rt: Runtime) -> list[Post]:
    with rt.db.reading() as s:
        rows = list(s.scalars(select(Post).order_by(Post.id)))
        for r in rows:
            s.expunge(r)
        return rows


@respx.mock
async def test_posts_go_through_intake_and_the_cursor_follows_them(runtime: Runtime) -> None:
    set_connectors(runtime, [MASTODON])
    route = respx.get(TAG)
    route.side_effect = [
        httpx.Response(
            200,
            json=[
                status(12, "<p>KAMADOが壊れた、困った</p>"),
                status(11, "<p>晴れた日の空がきれい</p>"),  # names no brand term the rules know
            ],
        ),
        httpx.Response(200, json=[status(13, "<p>My KAMADO shows E03</p>", acct="ken@other.example")]),
    ]
    (first,) = await service.listen_once(runtime)
    assert (first.status, first.fetched, first.ingested, first.dropped) == ("ok", 2, 1, 1)
    assert _state(runtime).cursor == {"tag:kamado": "12"}
    (second,) = await service.listen_once(runtime)
    assert (second.fetched, second.ingested) == (1, 1)
    assert route.calls[1].request.url.params["min_id"] == "12"
    posts = _posts(runtime)
    assert [(p.source, p.external_id, p.status) for p in posts] == [
        ("masto", "11", "dropped"),
        ("masto", "12", "queued"),
        ("masto", "13", "queued"),
    ]
    assert posts[2].url == f"{BASE}/@ken@other.example/13"
    assert posts[2].author_handle == "ken@other.example"
    assert posts[2].raw["connector"] == {
        "name": "masto",
        "kind": "mastodon",
        "ref": {"id": "13", "acct": "ken@other.example", "visibility": "public"},
        "author_url": f"{BASE}/@ken@other.example",
        "delivery": "auto",
    }
    state = _state(runtime)
    assert (state.fetched_total, state.last_fetched, state.errors_total) == (3, 1, 0)


@respx.mock
async def test_a_crash_before_the_cursor_is_stored_reads_the_batch_again_without_duplicates(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connectors(runtime, [MASTODON])
    respx.get(TAG).respond(json=[status(21, "<p>KAMADO 1</p>"), status(20, "<p>KAMADO 2</p>")])
    real_intake = runtime.pipeline.intake
    calls = {"n": 0}

    def dying_intake(post: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the process died here")
        return real_intake(post, **kw)

    monkeypatch.setattr(runtime.pipeline, "intake", dying_intake)
    with pytest.raises(RuntimeError):
        await service.listen_once(runtime)
    with runtime.db.reading() as s:
        assert s.get(ConnectorState, "masto") is None  # no cursor: the batch was not all stored
    monkeypatch.setattr(runtime.pipeline, "intake", real_intake)
    (report,) = await service.listen_once(runtime)
    assert (report.ingested, report.duplicates) == (1, 1)
    assert sorted(p.external_id for p in _posts(runtime)) == ["20", "21"]
    assert _state(runtime).cursor == {"tag:kamado": "21"}


@respx.mock
async def test_do_not_engage_authors_are_recorded_not_drafted(runtime: Runtime) -> None:
    from agent.intake.service import add_do_not_engage

    with runtime.db.session() as s:
        add_do_not_engage(s, "troll@masto.example", "harassment", None, actor="test")
    set_connectors(runtime, [MASTODON])
    respx.get(TAG).respond(json=[status(5, "<p>KAMADO is bad</p>", acct="troll")])
    (report,) = await service.listen_once(runtime)
    assert report.dropped == 1
    assert [p.status for p in _posts(runtime)] == ["no_engage"]


@respx.mock
async def test_a_long_rate_limit_pauses_the_connector_and_says_so(runtime: Runtime) -> None:
    set_connectors(runtime, [MASTODON])
    route = respx.get(TAG).respond(429, headers={"retry-after": "600"})
    (report,) = await service.listen_once(runtime)
    assert report.status == "error" and "429" in (report.error or "")
    state = _state(runtime)
    assert state.paused_until is not None and state.errors_total == 1 and state.cursor == {}
    (again,) = await service.listen_once(runtime)
    assert again.status == "paused" and route.call_count == 1  # the network said wait: no request
    with runtime.db.reading() as s:
        (st,) = service.statuses(s)
    assert st.last_error is not None and "429" in st.last_error and st.consecutive_errors == 1


@respx.mock
async def test_a_missing_token_is_an_error_in_the_status_not_a_crash(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KIZUKI_CONNECTOR_MASTO_TOKEN")
    set_connectors(runtime, [MASTODON])
    (report,) = await service.listen_once(runtime)
    assert report.status == "error" and "KIZUKI_CONNECTOR_MASTO_TOKEN" in (report.error or "")


@respx.mock
async def test_the_monthly_read_budget_caps_the_reads_and_then_stops_them(runtime: Runtime) -> None:
    set_connectors(runtime, [{**MASTODON, "budget": {"monthly_reads": 3}}])
    route = respx.get(TAG)
    route.side_effect = [
        httpx.Response(200, json=[status(i, f"<p>KAMADO {i}</p>") for i in (32, 31)]),
        httpx.Response(200, json=[status(33, "<p>KAMADO 33</p>")]),
    ]
    (first,) = await service.listen_once(runtime)
    assert first.reads_left == 1
    (second,) = await service.listen_once(runtime)
    assert second.fetched == 1 and second.reads_left == 0
    assert route.calls[1].request.url.params["limit"] == "1"
    (third,) = await service.listen_once(runtime)
    assert third.status == "budget_exhausted" and route.call_count == 2
    with runtime.db.reading() as s:
        (st,) = service.statuses(s)
    assert (st.budget.reads, st.budget.reads_left, st.budget.monthly_reads) == (3, 0, 3)


def test_a_dollar_budget_turns_into_reads_at_the_networks_price() -> None:
    from delivery.connectors.models import ConnectorUsage

    config = ConnectorConfig.model_validate({**MASTODON, "budget": {"monthly_usd": 1.0, "monthly_reads": 50}})
    status_ = service.budget_status(
        config, ConnectorUsage(name="masto", month="2026-12", reads=10, writes=0, usd=0.0), "2026-12"
    )
    assert status_.reads_left == 40 and status_.usd_left == 1.0  # Mastodon reads are free: the read cap decides


async def test_unknown_connector_names_are_refused(runtime: Runtime) -> None:
    from kizuki.core.errors import NotFound

    set_connectors(runtime, [MASTODON])
    with pytest.raises(NotFound):
        await service.listen_once(runtime, ["nope"])


@respx.mock
async def test_the_listen_job_runs_the_connector_and_queues_its_next_run(runtime: Runtime) -> None:
    from kizuki.core import jobs
    from kizuki.core.worker import Worker

    set_connectors(runtime, [MASTODON])
    respx.get(TAG).respond(json=[status(40, "<p>KAMADO</p>")])
    worker = Worker(runtime, kinds=(jobs.JobKind.LISTEN,), handlers=runtime.job_handlers())
    await worker.drain()
    assert [p.external_id for p in _posts(runtime)] == ["40"]
    with runtime.db.reading() as s:
        listen = s.scalars(select(jobs.Job).where(jobs.Job.kind == jobs.JobKind.LISTEN).order_by(jobs.Job.id)).all()
        assert [j.status for j in listen] == ["done", "queued"]
        gap = (listen[1].run_after - listen[0].run_after).total_seconds()
        assert 299 <= gap <= 330  # the default interval_s (300)
