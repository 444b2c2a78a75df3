"""Eval fixtures: model requests blocked, settings sharing the session's embedding cache, a broken model variant."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import models
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from agent.llm.offline import offline_model
from kizuki.core.settings import Settings


@pytest.fixture(autouse=True)
def _block_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """No eval test reaches a model over the network."""
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", False)


@pytest.fixture
def eval_settings(tmp_path: Path, embedding_cache: Path) -> Settings:
    return Settings(home=tmp_path / "eval-base", cache_home=embedding_cache)


_DM_SENTENCE = re.compile(r"[^。.!?]*(?:DM|direct message)[^。.!?]*[。.!?]?", re.IGNORECASE)


def no_dm_model() -> FunctionModel:
    """A deliberately broken drafting variant: the offline model with the DM redirect dropped.

    It stands for a prompt change that forgets "move personal data and order matters to DM": every
    final answer loses `needs_dm`, `reply_and_dm` becomes `reply`, and sentences inviting a DM go.
    """
    inner = offline_model()

    async def turn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        response = await inner.function(messages, info)  # type: ignore[misc]
        output_tools = {t.name for t in info.output_tools}
        parts: list[Any] = []
        for part in response.parts:
            if isinstance(part, ToolCallPart) and part.tool_name in output_tools:
                args = part.args_as_dict()
                args["needs_dm"] = False
                if args.get("action") == "reply_and_dm":
                    args["action"] = "reply"
                args["text"] = _DM_SENTENCE.sub("", str(args.get("text", ""))).strip()
                part = ToolCallPart(part.tool_name, args, tool_call_id=part.tool_call_id)
            parts.append(part)
        return ModelResponse(parts=parts, model_name="offline-no-dm")

    return FunctionModel(turn, model_name="offline-no-dm")


@pytest.fixture
def broken_dm_model() -> FunctionModel:
    return no_dm_model()
