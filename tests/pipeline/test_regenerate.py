"""Regenerate through the review queue: another wording without instructions, and instructions take effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.posts.models import Draft
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from tests.pipeline.conftest import make_post


def _texts(rt: Runtime, post_id: int) -> list[str]:
    with rt.db.session() as s:
        rows = s.scalars(select(Draft).where(Draft.post_id == post_id).order_by(Draft.generation)).all()
        return [r.text for r in rows]


def _regenerate(rt: Runtime, client: TestClient, post_id: int, instructions: str | None) -> str:
    with rt.db.session() as s:
        latest = s.scalars(select(Draft).where(Draft.post_id == post_id).order_by(Draft.generation.desc())).first()
        assert latest is not None
        draft_id = latest.id
    body = {"instructions": instructions} if instructions else {}
    res = client.post(f"/v1/drafts/{draft_id}/regenerate", json=body)
    assert res.status_code == 202, res.text
    asyncio.run(Worker(rt, concurrency=1).drain())
    return _texts(rt, post_id)[-1]


def test_regenerate_words_it_anew_and_follows_instructions(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    for text in ("KAMADO K-3でE03が出て炊けません。どうすればいいですか？", "My KAMADO K-3 shows E03, what do I do?"):
        (out,) = kb_runtime.pipeline.ingest([make_post(text)])
        assert out.draft is not None and out.post_id is not None
        first = out.draft.text
        agent = client_as("agent")
        again = _regenerate(kb_runtime, agent, out.post_id, None)
        assert again and again != first  # another wording, not byte-identical
        shorter = _regenerate(kb_runtime, agent, out.post_id, "shorter" if text.isascii() else "もっと短く")
        assert len(shorter) < len(again)
        with kb_runtime.db.session() as s:
            newest = s.scalars(select(Draft).where(Draft.post_id == out.post_id).order_by(Draft.generation)).all()[-1]
            assert newest.generation == 3
            assert newest.citations  # still grounded in the entry
