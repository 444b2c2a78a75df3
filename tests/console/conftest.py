"""Console fixtures: people signed in through the sign-in form, and drafts stored as the pipeline stores them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.posts.lifecycle import priority_of
from agent.posts.models import Draft, Post
from kizuki.runtime import Runtime
from tests.conftest import make_token

_seq = itertools.count(1)
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class Person(TestClient):
    """A browser-like client signed in to the console; `csrf` is its session's CSRF token."""

    csrf: str
    token: str


def sign_in(client: TestClient, token: str, next_: str = "/queue") -> Any:
    """Sign in through the form as a browser does (GET the form, POST it with its CSRF value)."""
    form = client.get("/signin", params={"next": next_})
    match = _CSRF.search(form.text)
    assert match, form.text[:500]
    return client.post(
        "/signin", data={"token": token, "next": next_, "csrf_token": match.group(1)}, follow_redirects=False
    )


def csrf_of(client: TestClient, page: str = "/") -> str:
    match = _CSRF.search(client.get(page).text)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def person(runtime: Runtime, app: FastAPI) -> Iterator[Callable[..., Person]]:
    """`person("agent", "hana")`: a client signed in with a new token of that role and name."""
    opened: list[TestClient] = []

    def _make(role: str, name: str | None = None, *, headers: dict[str, str] | None = None) -> Person:
        token = make_token(runtime, role, name or f"{role}-{next(_seq)}")
        client = Person(app, headers=headers)
        opened.append(client)
        res = sign_in(client, token)
        assert res.status_code == 303, res.text
        client.token = token
        client.csrf = csrf_of(client, "/queue")  # every page (a 403 page too) has the sign-out form
        return client

    yield _make
    for c in opened:
        c.close()


def store_draft(
    rt: Runtime,
    *,
    text: str = "お問い合わせありがとうございます。確認いたします。",
    post_text: str = "KAMADOの調子が悪いです",
    status: str = "pending",
    channel: str = "x",
    language: str = "ja",
    flame_risk: int = 10,
    urgency: str = "normal",
    action: str = "reply",
    escalate_to: str | None = None,
    author: str = "taro_123",
    followers: int = 1200,
    url: str | None = "https://x.example/taro_123/status/1",
    reasons: list[str] | None = None,
    citations: list[dict[str, Any]] | None = None,
    approvals: list[dict[str, Any]] | None = None,
    version: int = 1,
) -> int:
    """A post and its draft, as the pipeline stores them (the fields the console reads)."""
    n = next(_seq)
    triage = {
        "language": language,
        "sentiment": "negative",
        "sentiment_score": -0.5,
        "intent": "complaint",
        "urgency": urgency,
        "flame_risk": flame_risk,
        "flame_reasons": reasons if reasons is not None else ["negative tone"],
    }
    with rt.db.session() as s:
        post = Post(
            source=channel,
            external_id=f"c-{n}",
            author_handle=author,
            author_name="Taro",
            author_followers=followers,
            text=post_text,
            url=url,
            lang=language,
            channel=channel,
            status="drafted",
            metrics={},
            raw={},
            triage=triage,
        )
        s.add(post)
        s.flush()
        draft = Draft(
            post_id=post.id,
            generation=1,
            version=version,
            status=status,
            text=text,
            original_text=text,
            language=language,
            channel=channel,
            action=action,
            escalate_to=escalate_to,
            flame_risk=flame_risk,
            urgency=urgency,
            priority=priority_of(urgency, flame_risk),
            citations=citations or [],
            approvals=approvals or [],
            model="offline",
            prompt_version="test",
        )
        s.add(draft)
        s.flush()
        return draft.id
