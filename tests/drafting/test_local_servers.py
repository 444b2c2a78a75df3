"""Local OpenAI-compatible servers (llama.cpp's llama-server, vLLM, Ollama) over the wire, faked with respx.

With `KIZUKI_OUTPUT_MODE=native` the draft comes back as JSON text under a `response_format` JSON schema
(the server enforces it by grammar or guided decoding) instead of a required tool call, which small local
models ramble under.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic_ai import models

from agent.drafting import draft_reply
from agent.llm.litellm_model import LiteLLMModel, import_litellm
from agent.llm.routing import build_model
from kizuki.core.settings import Settings
from tests.drafting.conftest import MemoryRetriever, make_post, triage_for

DRAFT = {
    "text": "Sorry for the trouble with the lid. Close it until it clicks, then start the cooker again.",
    "language": "en",
    "citations": [],
    "needs_dm": False,
    "action": "reply",
    "escalate_to": None,
    "rationale": "lid sensor; a general step",
}
POST = make_post("My cooker shows an error when I start it, what should I do?")


@pytest.fixture(autouse=True)
def _wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These tests fake the server's HTTP, so model requests are allowed here and only here."""
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", True)
    litellm = import_litellm()
    litellm.in_memory_llm_clients_cache.flush_cache()
    yield
    litellm.in_memory_llm_clients_cache.flush_cache()


def _text_reply(content: str, n: int = 1) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": 1_790_000_000,
            "model": "local",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
        },
    )


def _settings(tmp_path: Any, model: str, api_base: str) -> Settings:
    return Settings(home=tmp_path, model=model, api_base=api_base, output_mode="native", model_max_retries=0)


@pytest.mark.parametrize(
    ("model_id", "api_base", "url"),
    [
        (
            "openai/qwen2.5-1.5b",
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8080/v1/chat/completions",
        ),  # llama-server
        ("hosted_vllm/qwen2.5", "http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/chat/completions"),  # vLLM
    ],
)
@respx.mock(assert_all_mocked=True)
async def test_native_output_sends_the_json_schema_and_reads_json_text(
    respx_mock: respx.MockRouter, tmp_path: Any, model_id: str, api_base: str, url: str
) -> None:
    route = respx_mock.post(url).mock(return_value=_text_reply(json.dumps(DRAFT)))
    settings = _settings(tmp_path, model_id, api_base)
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model_id, settings=settings)
    assert out.draft.text == DRAFT["text"]
    assert out.draft.action == "reply"
    body = json.loads(route.calls[0].request.content)
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "final_result"
    assert {"text", "language", "action", "needs_dm"} <= set(fmt["json_schema"]["schema"]["properties"])
    assert body.get("tool_choice") != "required"  # the search tool stays optional; no output tool is forced
    assert all(t["function"]["name"] != "final_result" for t in body.get("tools", []))


@respx.mock(assert_all_mocked=True)
async def test_ollama_gets_the_schema_as_its_format(respx_mock: respx.MockRouter, tmp_path: Any) -> None:
    route = respx_mock.post("http://127.0.0.1:11434/api/chat").mock(
        return_value=httpx.Response(
            200,
            json={
                "model": "qwen2.5",
                "created_at": "2026-12-06T10:00:00Z",
                "message": {"role": "assistant", "content": json.dumps(DRAFT)},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 50,
                "eval_count": 20,
            },
        )
    )
    settings = _settings(tmp_path, "ollama_chat/qwen2.5", "http://127.0.0.1:11434")
    out = await draft_reply(
        POST, triage_for(POST), retriever=MemoryRetriever(), model="ollama_chat/qwen2.5", settings=settings
    )
    assert out.draft.text == DRAFT["text"]
    body = json.loads(route.calls[0].request.content)
    assert body["format"]["properties"]["action"]  # litellm passes the JSON schema as Ollama's `format`


@respx.mock(assert_all_mocked=True)
async def test_native_output_that_breaks_the_schema_is_sent_back_and_fixed(
    respx_mock: respx.MockRouter, tmp_path: Any
) -> None:
    url = "http://127.0.0.1:8080/v1/chat/completions"
    route = respx_mock.post(url).mock(
        side_effect=[_text_reply('{"text": "Thanks!", "action": "shout"}', 1), _text_reply(json.dumps(DRAFT), 2)]
    )
    settings = _settings(tmp_path, "openai/local", "http://127.0.0.1:8080/v1")
    out = await draft_reply(
        POST, triage_for(POST), retriever=MemoryRetriever(), model="openai/local", settings=settings
    )
    assert out.draft.text == DRAFT["text"]
    assert route.call_count == 2
    retry = json.loads(route.calls[1].request.content)["messages"]
    assert any("action" in (m.get("content") or "") for m in retry if m["role"] in ("user", "tool"))


def test_tool_mode_stays_the_default_for_hosted_models(tmp_path: Any) -> None:
    assert Settings(home=tmp_path).output_mode == "tool"
    model = build_model("openai/gpt-4.1-mini", Settings(home=tmp_path, model="openai/gpt-4.1-mini"))
    assert isinstance(model, LiteLLMModel) and model.profile.get("supports_json_schema_output") is True
