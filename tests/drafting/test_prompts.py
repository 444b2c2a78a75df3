"""Prompt selection: `draft_reply(prompt=...)` picks the system prompt file and records its version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, SystemPromptPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

import agent.prompts as prompts
from agent.drafting import draft_reply
from agent.drafting.agent import agent_for, drafting_agent
from agent.prompts import load_prompt, render
from tests.drafting.conftest import MemoryRetriever, make_post, triage_for

POST = make_post("SoraBuds 2の右耳から音が出ません")
TEST_PROMPT = "---\nversion: draft-test-7\n---\nYou are the test prompt.\n"


@pytest.fixture
def test_prompt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = prompts._read
    monkeypatch.setattr(prompts, "_read", lambda name: TEST_PROMPT if name == "draft-test" else real(name))
    load_prompt.cache_clear()
    agent_for.cache_clear()
    yield
    load_prompt.cache_clear()
    agent_for.cache_clear()


def recording_model() -> tuple[FunctionModel, list[str]]:
    systems: list[str] = []

    async def fn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        first = messages[0]
        assert isinstance(first, ModelRequest)
        systems.extend(p.content for p in first.parts if isinstance(p, SystemPromptPart))
        args = {"text": "SoraBuds 2の件、確認中です。", "language": "ja", "citations": [], "needs_dm": True}
        args |= {"action": "escalate"}
        args["escalate_to"] = "support"
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, args)])

    return FunctionModel(fn, model_name="recording"), systems


async def test_default_prompt_is_draft_v3() -> None:
    model, systems = recording_model()
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model)
    assert out.prompt_version == load_prompt("draft-v3").version == "draft-v3"
    assert systems == [render(load_prompt("draft-v3"), None)]  # no profile: neutral words in every slot
    assert "like_only" in systems[0] and "{{" not in systems[0]


async def test_prompt_selects_the_file_and_its_version(test_prompt: None) -> None:
    model, systems = recording_model()
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model, prompt="draft-test")
    assert out.prompt_version == "draft-test-7"
    assert systems == ["You are the test prompt.\n"]
    # one agent per prompt, cached; the default agent is untouched
    assert agent_for("draft-test") is agent_for("draft-test")
    assert agent_for("draft-test") is not agent_for("draft-v3")
    model2, systems2 = recording_model()
    again = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model2, prompt="draft-v3")
    assert again.prompt_version == "draft-v3" and systems2 == [render(load_prompt("draft-v3"), None)]


async def test_offline_model_works_with_a_named_prompt(test_prompt: None) -> None:
    out = await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), prompt="draft-test")
    assert out.model == "offline" and out.prompt_version == "draft-test-7" and out.draft.text


@pytest.mark.parametrize("name", ["../secrets", "Draft V1", "", "a/b"])
async def test_invalid_prompt_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid prompt name"):
        await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), prompt=name)


async def test_unknown_prompt_is_refused_before_any_model_call() -> None:
    model, systems = recording_model()
    with pytest.raises(FileNotFoundError):
        await draft_reply(POST, triage_for(POST), retriever=MemoryRetriever(), model=model, prompt="draft-v999")
    assert systems == []


def test_module_level_agent_is_the_default_prompt_agent() -> None:
    assert drafting_agent.name == "kizuki-drafting"
