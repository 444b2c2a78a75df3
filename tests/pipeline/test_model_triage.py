"""With a real model configured, the draft job triages the post with it (respx fakes the provider)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx
from pydantic_ai import models

from agent.posts.models import Draft, Post
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from tests.pipeline.conftest import make_post

URL = "http://llm.test/v1/chat/completions"
MODEL_TRIAGE = {
    "language": "ja",
    "sentiment": "negative",
    "sentiment_score": -0.8,
    "intent": "complaint",
    "urgency": "critical",
    "flame_risk": 88,
    "flame_reasons": ["angry customer with a large audience"],
    "topics": ["KAMADO K-3"],
    "sensitive": [],
}
DRAFT = {
    "text": "ご不便をおかけし申し訳ございません。詳しくお伺いしたいので、DMでご連絡いただけますか。",
    "language": "ja",
    "citations": [],
    "needs_dm": True,
    "action": "reply_and_dm",
    "escalate_to": None,
    "rationale": "angry complaint: move to DM",
}


def _call(tool: str, args: dict[str, Any], n: int) -> httpx.Response:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": f"c{n}", "type": "function", "function": {"name": tool, "arguments": json.dumps(args)}}],
    }
    return httpx.Response(
        200,
        json={
            "id": f"r{n}",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    )


def _model_runtime(kb_runtime: Runtime, settings: Settings) -> Runtime:
    update = {"model": "openai/gpt-4.1-mini", "api_base": "http://llm.test/v1", "model_max_retries": 0}
    return Runtime(settings.model_copy(update=update), db=kb_runtime.db)


def test_the_models_triage_replaces_the_rules_and_sets_the_priority(
    kb_runtime: Runtime, settings: Settings, monkeypatch: Any
) -> None:
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    rt = _model_runtime(kb_runtime, settings)
    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.post(URL).mock(
            side_effect=[_call("final_result", MODEL_TRIAGE, 1), _call("final_result", DRAFT, 2)]
        )
        (out,) = rt.pipeline.ingest([make_post("KAMADO K-3、買って一週間で炊けなくなった。最悪")])
    assert out.outcome == "drafted", out.reason
    assert route.call_count == 2
    first = json.loads(route.calls[0].request.content)
    assert any(t["function"]["name"] == "final_result" for t in first["tools"])
    assert "flame_risk" in json.dumps(first["tools"])  # the triage schema, not the draft's
    with rt.db.session() as s:
        post = s.get(Post, out.post_id)
        assert post is not None and post.triage is not None
        assert post.triage["method"] == "openai/gpt-4.1-mini"
        assert post.triage["urgency"] == "critical"
        (draft,) = s.query(Draft).filter(Draft.post_id == post.id).all()
        assert draft.flame_risk == 88
        assert draft.priority == 3 * 1000 + 88 * 10


def test_a_failing_triage_model_leaves_the_rules_triage_and_still_drafts(
    kb_runtime: Runtime, settings: Settings, monkeypatch: Any
) -> None:
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    rt = _model_runtime(kb_runtime, settings)
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(URL).mock(side_effect=[httpx.Response(500, text="overloaded"), _call("final_result", DRAFT, 2)])
        (out,) = rt.pipeline.ingest([make_post("KAMADO K-3が炊けない")])
    assert out.outcome == "drafted", out.reason
    with rt.db.session() as s:
        post = s.get(Post, out.post_id)
        assert post is not None and post.triage is not None
        assert post.triage["method"].startswith("rules")


def test_model_triage_can_be_switched_off(kb_runtime: Runtime, settings: Settings, monkeypatch: Any) -> None:
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    rt = _model_runtime(kb_runtime, settings.model_copy(update={"model_triage": False}))
    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.post(URL).mock(side_effect=[_call("final_result", DRAFT, 1)])
        (out,) = rt.pipeline.ingest([make_post("KAMADO K-3が炊けない")])
    assert out.outcome == "drafted" and route.call_count == 1
