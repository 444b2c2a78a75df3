"""End to end on 127.0.0.1: a fake Mastodon and a feed server, `kizuki connectors set`, `kizuki listen --once`,
approval, delivery: the reply reaches the fake Mastodon as a reply to the right status, exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agent.posts.models import Draft, Post
from kizuki.cli import app
from kizuki.core.settings import get_settings
from kizuki.runtime import Runtime
from review.schemas import ApproveRequest
from review.service import approve
from tests.connectors.conftest import DEMO
from tests.connectors.fakes import FakeMastodon, FeedServer

runner = CliRunner()

FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>掲示板</title>
<link>https://bbs.example/</link>
<item><guid isPermaLink="false">bbs-1</guid><title>KAMADO K-3 がE03で止まった</title>
<link>https://bbs.example/t/1</link><description>炊飯中に止まる。故障？</description></item>
<item><guid isPermaLink="false">bbs-2</guid><title>今日の天気</title><link>https://bbs.example/t/2</link>
<description>晴れ</description></item></channel></rss>"""


def _cli(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture
def env(kb_runtime: Runtime, monkeypatch: pytest.MonkeyPatch, embedding_cache: Path) -> Runtime:
    """The CLI's processes use the same database, home and rules as `kb_runtime` (the demo company)."""
    settings = kb_runtime.settings
    monkeypatch.setenv("KIZUKI_HOME", str(settings.home))
    monkeypatch.setenv("KIZUKI_DATABASE_URL", kb_runtime.db.url)
    monkeypatch.setenv("KIZUKI_CACHE_HOME", str(embedding_cache))
    monkeypatch.setenv("KIZUKI_RULES_FILE", str(DEMO / "rules.yaml"))
    monkeypatch.setenv("KIZUKI_CONNECTOR_MASTO_TOKEN", "fake-token")
    get_settings.cache_clear()
    return kb_runtime


def test_listen_approve_and_reply_in_place_exactly_once(env: Runtime, tmp_path: Path) -> None:
    with FakeMastodon(token="fake-token") as masto, FeedServer(FEED) as feed:
        masto.add(101, "今日のごはん", "hana", ["kamado"])  # names no brand: dropped by the watch rules
        masto.add(103, "KAMADOでE03が出て炊けない、困った", "taro", ["kamado"])
        config = tmp_path / "connectors.yaml"
        config.write_text(
            f"- name: masto\n  kind: mastodon\n  base_url: {masto.url}\n  interval_s: 60\n"
            "  options: {hashtags: [kamado], search: []}\n"
            f"- name: bbs\n  kind: rss\n  options:\n    feeds: ['{feed.url}']\n",
            encoding="utf-8",
        )
        code, out, err = _cli("connectors", "set", str(config))
        assert code == 0, err
        assert "2 connector(s), 2 enabled" in out

        code, out, err = _cli("listen", "--once", "--json")
        assert code == 0, err
        reports = {r["name"]: r for r in map(json.loads, out.splitlines())}
        assert (reports["masto"]["fetched"], reports["masto"]["ingested"], reports["masto"]["dropped"]) == (2, 1, 1)
        assert (reports["bbs"]["fetched"], reports["bbs"]["ingested"], reports["bbs"]["skipped"]) == (2, 1, 1)

        with env.db.reading() as s:
            rows = s.execute(select(Draft.id, Post.source, Post.external_id, Post.url).join(Post)).all()
        drafts = {(source, ext): (draft_id, url) for draft_id, source, ext, url in rows}
        assert set(drafts) == {("masto", "103"), ("bbs", "bbs-1")}  # drafted by `listen --once`
        assert drafts[("masto", "103")][1] == f"{masto.url}/@taro/103"
        masto_draft, _ = drafts[("masto", "103")]
        bbs_draft, _ = drafts[("bbs", "bbs-1")]
        for draft_id in (masto_draft, bbs_draft):
            approve(env, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")

        for _ in range(2):  # delivery runs twice: the reply is sent once
            code, out, err = _cli("listen", "--once", "--json")
            assert code == 0, err
        assert [(p.body["in_reply_to_id"], p.idempotency_key) for p in masto.posted] == [
            ("103", f"kizuki-draft-{masto_draft}-g1:reply")
        ]
        with env.db.reading() as s:
            reply_text = s.get(Draft, masto_draft).text  # type: ignore[union-attr]
            statuses = dict(s.execute(select(Draft.id, Draft.status)).all())
            delivery = dict(s.execute(select(Draft.id, Draft.delivery_status)).all())
        assert masto.posted[0].body["status"] == f"@taro {reply_text}"
        assert statuses[masto_draft] == "sent"
        assert (statuses[bbs_draft], delivery[bbs_draft]) == ("approved", "awaiting_manual")  # a person posts it
        assert feed.requests == 3 and masto.favourited == []

        code, out, err = _cli("connectors", "status", "--json")
        assert code == 0, err
        status = {r["name"]: r for r in map(json.loads, out.splitlines())}
        assert status["masto"]["fetched_total"] == 2 and status["masto"]["errors_total"] == 0
        assert status["bbs"]["last_error"] is None and status["bbs"]["budget"]["reads"] == 2

        code, out, _ = _cli("connectors", "show")
        assert code == 0 and out.startswith("# connectors v1\n") and "kind: mastodon" in out


def test_listen_without_once_polls_on_schedule_until_stopped(env: Runtime) -> None:
    import os
    import signal
    import threading
    import time

    with FeedServer(FEED) as feed:
        config = f"- name: bbs\n  kind: rss\n  interval_s: 10\n  options: {{feeds: ['{feed.url}']}}\n"
        with env.db.session() as s:
            from delivery.connectors import service

            entries = [c.model_dump(mode="json") for c in service.parse_connectors_yaml(config)]
            service.save(s, entries, edited_version=None, actor="test")

        def stop_when_polled() -> None:
            deadline = time.monotonic() + 60
            while feed.requests < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # let the run store its posts
            os.kill(os.getpid(), signal.SIGINT)

        stopper = threading.Thread(target=stop_when_polled)
        stopper.start()
        code, _, err = _cli("listen")
        stopper.join()
        assert code == 0, err
        assert feed.requests == 1
        with env.db.reading() as s:
            assert s.scalars(select(Post.external_id)).all() == ["bbs-1"]
