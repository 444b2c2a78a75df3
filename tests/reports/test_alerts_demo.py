"""The demo company through intake and a first scan, as `kizuki up` runs it: its burst of login complaints and its
fast-spreading post are flagged and listed by default, though the posts are weeks old; its ordinary hours raise no
surge."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.postfile import read_posts
from agent.posts.models import Post
from kizuki.runtime import Runtime
from kizuki.seed import demo, load_company
from reports.alerts import AlertStatus, scan


def test_the_demo_spreading_post_is_flagged(runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    rt = runtime
    company = demo()
    load_company(rt, company, actor="demo", knowledge=False)
    posts = [r.post for r in read_posts(company.posts_file) if r.post is not None]
    rt.pipeline.ingest(posts, actor="demo")
    report = scan(rt)  # the first scan: posts received in the last week, judged at the hour they were posted
    with rt.db.reading() as s:
        viral = s.scalars(select(Post).where(Post.external_id == "demo-016")).one()
    assert report.raised, report.as_dict()
    body = client_as("agent").get("/v1/alerts").json()  # default: raised in the last 7 days counts too
    kinds = [(a["kind"], a["scope"], a["subject"], a["status"]) for a in body]
    spread = [a for a in body if a["kind"] == "spread"]
    assert [(a["subject"], a["count"]) for a in spread] == [(str(viral.id), 800)], kinds
    alert = spread[0]
    assert alert["status"] == AlertStatus.NOT_SENT
    assert alert["window_start"].startswith("2026-11-20")
    assert alert["explanation"]["examples"][0]["post_id"] == viral.id
    # The login burst (16 posts within an hour on 2026-11-21): one negative surge of the brand leads; the brand's
    # volume and the product's and term's alerts of that hour are folded into it. No other hour is flagged.
    leads = [a for a in body if a["kind"] != "spread" and a["status"] != AlertStatus.RELATED]
    assert [(a["kind"], a["scope"]) for a in leads] == [("negative", "brand")], kinds
    assert all(a["window_start"].startswith("2026-11-21") for a in body if a["kind"] != "spread"), kinds
    assert leads[0]["count"] >= 12
