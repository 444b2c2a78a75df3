"""A post in another language with a real model (respx fakes the provider): the draft request carries the post's
language and tells the model to answer in it; the rules' language survives a model triage that fails."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from pydantic_ai import models

from agent.intake.service import save_watch_rules
from agent.posts.models import Post
from agent.schemas import PostIn
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime

URL = "http://llm.test/v1/chat/completions"
FRENCH = "Bonjour, mon aspirateur Minato Nami R2 ne marche plus depuis hier. Que dois-je faire ?"


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


@pytest.fixture
def model_runtime(bare_runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    with bare_runtime.db.session() as s:
        save_watch_rules(s, bare_runtime.watch_rules, {"brand": ["Minato", "Nami R2"]}, edited_version=None, actor="t")
    update = {"model": "openai/gpt-4.1-mini", "api_base": "http://llm.test/v1", "model_max_retries": 0}
    return Runtime(settings.model_copy(update=update), db=bare_runtime.db)


def _post() -> PostIn:
    return PostIn.model_validate(
        {"source": "x", "external_id": "fr-1", "author": {"handle": "marie", "followers": 300}, "text": FRENCH}
    )


def test_a_french_post_is_drafted_in_french_by_a_real_model(model_runtime: Runtime) -> None:
    triaged = {
        "language": "fr",
        "sentiment": "negative",
        "sentiment_score": -0.5,
        "intent": "bug_report",
        "urgency": "normal",
        "flame_risk": 10,
    }
    draft = {
        "text": "Bonjour, nous sommes désolés. Pouvez-vous nous écrire en message privé ?",
        "language": "fr",
        "citations": [],
        "needs_dm": True,
        "action": "reply_and_dm",
        "escalate_to": None,
        "rationale": "panne: DM",
    }
    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.post(URL).mock(side_effect=[_call("final_result", triaged, 1), _call("final_result", draft, 2)])
        (out,) = model_runtime.pipeline.ingest([_post()])
    assert out.outcome == "drafted", out.reason
    assert out.draft is not None and out.draft.language == "fr" and out.draft.text.startswith("Bonjour")
    drafting = json.dumps(json.loads(route.calls[1].request.content), ensure_ascii=False)
    assert "Answer in the post's language" in drafting
    assert '\\"language\\": \\"fr\\"' in drafting or '"language": "fr"' in drafting


def test_intake_detects_french_before_any_model(model_runtime: Runtime) -> None:
    out = model_runtime.pipeline.intake(_post())
    assert out.outcome == "queued"
    with model_runtime.db.session() as s:
        row = s.get(Post, out.post_id)
        assert row is not None and row.lang == "fr"
        assert row.triage is not None and row.triage["language"] == "fr" and row.triage["noise"] is None
